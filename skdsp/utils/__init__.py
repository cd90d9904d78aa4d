"""Input validation, devices, seeding and overflow-safe numerics shared by every skdsp
estimator."""

from skdsp.utils.validation import check_labels, check_videos, stack_videos
from skdsp.utils.device import resolve_device, to_numpy
from skdsp.utils.numerics import l2_normalize, power_of_four_scale, stable_mean, stable_std
from skdsp.utils.random import torch_generator, video_seeds

__all__ = [
    "check_labels",
    "check_videos",
    "stack_videos",
    "resolve_device",
    "to_numpy",
    "torch_generator",
    "video_seeds",
    "l2_normalize",
    "stable_mean",
    "stable_std",
    "power_of_four_scale",
]
