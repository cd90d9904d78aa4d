"""Seeding: every random step draws from a generator made from ``random_state``.

Anything random in a ``transform`` is seeded per video by :func:`video_seeds`, from
``random_state`` and the video's own content, never from its position in the call: a
video then gets the same output whatever else is in the call.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["torch_generator", "draw_seed", "video_seeds"]


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


def _content_words(video):
    """Digest of a video's shape and of the sign (-, 0, +) of each of its values."""
    video = np.asarray(video)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(video.shape).encode())
    h.update(np.ascontiguousarray(np.sign(video), dtype=np.int8).tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint32)


def video_seeds(random_state, videos, n_seeds=1):
    """Seeds for the random steps of each video, from ``random_state`` and the video.

    A video's seeds depend on ``random_state`` and on the video's content only: not on
    its position, nor on the other videos. The content is the video's shape and the
    sign of each value, which neither a change of dtype nor a positive rescaling of
    the frames alters (rounding can change the bytes of rescaled or cast frames, never
    their signs), so steps that are invariant to those, such as a pooling of
    L2-normalised frames, stay invariant with their randomness included.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        An int gives the same seeds on every call; a RandomState instance advances
        once per call.
    videos : list of ndarray of shape (n_frames_i, n_features)
    n_seeds : int, default=1
        Independent seeds per video (one per random step).

    Returns
    -------
    seeds : ndarray of shape (n_videos, n_seeds), dtype uint32

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.utils import video_seeds
    >>> a, b = np.ones((4, 3)), -np.ones((5, 3))
    >>> s = video_seeds(0, [a, b], n_seeds=2)
    >>> s.shape
    (2, 2)
    >>> bool(np.array_equal(video_seeds(0, [b, 2.5 * a])[::-1], s[:, :1]))
    True
    """
    entropy = draw_seed(random_state)
    seeds = np.empty((len(videos), n_seeds), dtype=np.uint32)
    for i, video in enumerate(videos):
        sequence = np.random.SeedSequence([entropy, *_content_words(video).tolist()])
        seeds[i] = sequence.generate_state(n_seeds)
    return seeds
