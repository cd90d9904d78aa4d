"""Image preprocessing for ImageNet backbones with plain torch ops.

Frames arrive as uint8 RGB, ``(n_frames, height, width, 3)``. They are resized so their
shorter side is ``resize`` pixels, center-cropped to ``crop`` x ``crop``, scaled to
floats and normalised with the backbone's per-channel mean and std (given on the 0-255
scale, so ``(x - mean) / std`` applies directly to pixel values).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "Preprocessing",
    "IMAGENET",
    "check_preprocessing",
    "preprocess_frames",
    "resize_shorter_side",
]


@dataclass(frozen=True)
class Preprocessing:
    """How a backbone expects its input images.

    Parameters
    ----------
    resize : int
        Length of the shorter side after resizing, in pixels.
    crop : int
        Side of the square center crop taken after resizing.
    mean, std : tuple of 3 floats
        Per-channel (RGB) mean and std on the 0-255 pixel scale.
    interpolation : {"bilinear", "bicubic"}
        Interpolation used for resizing (with antialiasing when shrinking).
    """

    resize: int = 256
    crop: int = 224
    mean: tuple = (0.485 * 255, 0.456 * 255, 0.406 * 255)
    std: tuple = (0.229 * 255, 0.224 * 255, 0.225 * 255)
    interpolation: str = "bilinear"

    def as_dict(self):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


#: torchvision's classification preprocessing for ImageNet models.
IMAGENET = Preprocessing()


def check_preprocessing(value, default):
    """Resolve the user's ``preprocessing`` argument against a backbone's default."""
    if value is None:
        return default
    if isinstance(value, Preprocessing):
        spec = value
    elif isinstance(value, dict):
        unknown = set(value) - set(asdict(default))
        if unknown:
            raise ValueError(
                f"preprocessing has unknown keys {sorted(unknown)}; allowed: "
                f"{sorted(asdict(default))}."
            )
        spec = Preprocessing(**{**asdict(default), **value})
    else:
        raise TypeError(
            "preprocessing must be None, a dict or a Preprocessing, got "
            f"{type(value).__name__}."
        )
    for key in ("resize", "crop"):
        v = getattr(spec, key)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"preprocessing {key} must be a positive integer, got {v!r}.")
    if spec.crop > spec.resize:
        raise ValueError(
            f"preprocessing crop={spec.crop} is larger than resize={spec.resize}."
        )
    for key in ("mean", "std"):
        v = np.asarray(getattr(spec, key), dtype=float)
        if v.shape != (3,) or not np.all(np.isfinite(v)):
            raise ValueError(f"preprocessing {key} must be 3 finite numbers, got {v!r}.")
    if np.any(np.asarray(spec.std, dtype=float) <= 0):
        raise ValueError(f"preprocessing std must be positive, got {spec.std!r}.")
    if spec.interpolation not in ("bilinear", "bicubic"):
        raise ValueError(
            "preprocessing interpolation must be 'bilinear' or 'bicubic', got "
            f"{spec.interpolation!r}."
        )
    return Preprocessing(
        resize=int(spec.resize),
        crop=int(spec.crop),
        mean=tuple(float(m) for m in spec.mean),
        std=tuple(float(s) for s in spec.std),
        interpolation=spec.interpolation,
    )


def resize_shorter_side(height, width, resize):
    """``(new_height, new_width)`` with the shorter side equal to ``resize``."""
    if height <= width:
        return resize, max(resize, int(math.floor(width * resize / height + 0.5)))
    return max(resize, int(math.floor(height * resize / width + 0.5))), resize


def preprocess_frames(frames, spec, *, device=None, dtype=torch.float32, channels_last=False):
    """Turn uint8 RGB frames into a normalised batch for a backbone.

    Parameters
    ----------
    frames : ndarray or Tensor of shape (n_frames, height, width, 3), dtype uint8
        RGB frames.
    spec : Preprocessing
        Resize, crop and normalisation to apply.
    device : torch.device, default=None
        Where to do the work (the frames' device by default). Moving uint8 frames
        before converting them keeps host-to-device copies small.
    dtype : torch.dtype, default=torch.float32
        Dtype of the returned batch.
    channels_last : bool, default=False
        Return the batch in channels-last memory format.

    Returns
    -------
    batch : Tensor of shape (n_frames, 3, crop, crop)
    """
    if isinstance(frames, np.ndarray) and not frames.flags.writeable:
        frames = frames.copy()  # torch refuses to wrap read-only memory silently
    x = torch.as_tensor(frames)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise ValueError(
            "frames must be uint8 RGB of shape (n_frames, height, width, 3), got "
            f"{tuple(x.shape)} {x.dtype}."
        )
    if device is not None:
        x = x.to(device, non_blocking=True)
    x = x.permute(0, 3, 1, 2)
    height, width = x.shape[-2:]
    new_h, new_w = resize_shorter_side(height, width, spec.resize)
    top = int(round((new_h - spec.crop) / 2.0))
    left = int(round((new_w - spec.crop) / 2.0))
    if (new_h, new_w) == (height, width):
        # Already at size (files are resized while decoding): crop before converting.
        x = x[..., top : top + spec.crop, left : left + spec.crop].float()
    else:
        # Resizing runs in float32 whatever the output dtype: interpolation in half
        # precision is not available on every device.
        x = F.interpolate(
            x.float(), size=(new_h, new_w), mode=spec.interpolation,
            align_corners=False, antialias=True,
        )
        if spec.interpolation == "bicubic":
            x = x.clamp_(0, 255)
        x = x[..., top : top + spec.crop, left : left + spec.crop]
    mean = torch.tensor(spec.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return x.to(dtype=dtype, memory_format=memory_format)
