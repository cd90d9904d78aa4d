"""Seeding: every random step draws from a generator made from ``random_state``."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["torch_generator", "draw_seed"]


def draw_seed(random_state):
    """Draw an integer seed from ``random_state`` (None, int or RandomState).

    An int always gives the same seed; a RandomState instance advances, as in
    scikit-learn.
    """
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def torch_generator(random_state, device="cpu"):
    """A seeded :class:`torch.Generator` on ``device``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        Same meaning as in scikit-learn. An int gives the same generator every time.
    device : torch.device or str, default="cpu"

    Returns
    -------
    generator : torch.Generator
    """
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(draw_seed(random_state))
    return gen
