"""Input validation, devices and seeding shared by every skdsp estimator."""

from skdsp.utils.validation import check_labels, check_videos, stack_videos
from skdsp.utils.device import resolve_device, to_numpy
from skdsp.utils.random import torch_generator

__all__ = [
    "check_labels",
    "check_videos",
    "stack_videos",
    "resolve_device",
    "to_numpy",
    "torch_generator",
]
