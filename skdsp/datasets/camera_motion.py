"""Camera-motion videos made from real photographs, in time-reversed class pairs.

Each video is a virtual camera moving over one photograph: zooming in or out,
panning left or right, fading in from or out to black, or pulling focus in
(blurred to sharp) or out (sharp to blurred). The two classes of a pair hold the
same videos played forwards and backwards (video j of the second class is video j of
the first, reversed), so their frames, taken as an unordered set, are identical:
only the order of frames tells the classes of a pair apart. Average pooling of frame
features cannot separate them; a representation that keeps temporal order can.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from skdsp.utils.random import draw_seed

__all__ = ["make_camera_motion_videos", "CAMERA_MOTION_CLASSES", "PHOTOGRAPHS"]

#: Class names, in time-reversed pairs: class 2k+1 is class 2k played backwards.
CAMERA_MOTION_CLASSES = (
    "zoom_in", "zoom_out",
    "pan_right", "pan_left",
    "fade_in", "fade_out",
    "focus_in", "focus_out",
)

#: The photographs used, all shipped inside the scikit-learn and scikit-image wheels.
PHOTOGRAPHS = (
    "china", "flower",  # sklearn.datasets.load_sample_images
    "astronaut", "chelsea", "coffee", "rocket", "motorcycle", "hubble",  # skimage.data
)


def _load_photograph(name):
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    try:
        import skimage.data
    except ImportError as exc:
        raise ImportError(
            f"Photograph {name!r} comes with scikit-image (pip install scikit-image). "
            "Without it, pass photographs=('china', 'flower') to use scikit-learn's "
            "two sample photographs only."
        ) from exc
    loaders = {
        "astronaut": skimage.data.astronaut,
        "chelsea": skimage.data.chelsea,
        "coffee": skimage.data.coffee,
        "rocket": skimage.data.rocket,
        "motorcycle": lambda: skimage.data.stereo_motorcycle()[0],
        "hubble": skimage.data.hubble_deep_field,
    }
    return loaders[name]()


def _working_image(photo, size):
    """The photograph as a float tensor (3, H, W), shrunk with antialiasing so that
    its shorter side is twice the output's longer side (enough for the widest view,
    without aliasing when the window is resampled)."""
    x = torch.from_numpy(np.array(photo[..., :3])).permute(2, 0, 1).float()
    target = 2 * max(size)
    short = min(x.shape[1:])
    if short > target:
        scale = target / short
        new = (round(x.shape[1] * scale), round(x.shape[2] * scale))
        x = F.interpolate(x[None], size=new, mode="bilinear", antialias=True)[0]
    return x


def _render(image, centers, sides, size):
    """Crop a moving window from ``image`` and resample it to ``size``.

    ``centers`` (n_frames, 2) are (y, x) in pixels; ``sides`` (n_frames,) are the
    window heights in pixels (the width follows the output's aspect ratio).
    """
    _, height, width = image.shape
    out_h, out_w = size
    n = len(sides)
    theta = torch.zeros(n, 2, 3)
    # affine_grid maps output coordinates in [-1, 1] to input coordinates in [-1, 1].
    theta[:, 0, 0] = torch.as_tensor(sides * out_w / out_h / width, dtype=torch.float32)
    theta[:, 1, 1] = torch.as_tensor(sides / height, dtype=torch.float32)
    theta[:, 0, 2] = torch.as_tensor(2 * centers[:, 1] / width - 1, dtype=torch.float32)
    theta[:, 1, 2] = torch.as_tensor(2 * centers[:, 0] / height - 1, dtype=torch.float32)
    grid = F.affine_grid(theta, (n, 3, out_h, out_w), align_corners=False)
    return F.grid_sample(
        image[None].expand(n, -1, -1, -1), grid, mode="bilinear",
        padding_mode="border", align_corners=False,
    )


def _blur(frames, sigmas):
    """Gaussian blur of each frame (n, 3, h, w) with its own sigma (pixels)."""
    out = frames.clone()
    for i, sigma in enumerate(sigmas):
        if sigma < 0.2:
            continue
        radius = int(np.ceil(3 * sigma))
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / float(sigma)) ** 2)
        k = (k / k.sum()).to(frames.dtype)
        x = F.pad(frames[i : i + 1], (radius, radius, radius, radius), mode="replicate")
        x = F.conv2d(x, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
        x = F.conv2d(x, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
        out[i] = x[0]
    return out


def _ease(n_frames):
    return np.linspace(0.0, 1.0, n_frames)


def _static_view(image, size, rng, n_frames):
    """A fixed random window: 50-90 % of the largest window that fits."""
    _, height, width = image.shape
    aspect = size[1] / size[0]
    max_side = min(height, width / aspect)
    side = max_side * rng.uniform(0.5, 0.9)
    cy = rng.uniform(side / 2, height - side / 2)
    cx = rng.uniform(side * aspect / 2, width - side * aspect / 2)
    centers = np.tile([cy, cx], (n_frames, 1))
    return _render(image, centers, np.full(n_frames, side), size)


def _forward_video(kind, image, size, n_frames, rng):
    """The forward member of a pair: zoom in, pan right, fade in, focus in."""
    _, height, width = image.shape
    aspect = size[1] / size[0]
    max_side = min(height, width / aspect)
    s = _ease(n_frames)
    if kind == "zoom":
        start = max_side * rng.uniform(0.8, 1.0)
        end = start * rng.uniform(0.4, 0.55)
        # A fixed center, placed so that the widest (first) window fits.
        cy = rng.uniform(start / 2, height - start / 2)
        cx = rng.uniform(start * aspect / 2, width - start * aspect / 2)
        sides = start * (end / start) ** s  # geometric: constant apparent speed
        centers = np.tile([cy, cx], (n_frames, 1))
        return _render(image, centers, sides, size)
    if kind == "pan":
        side = max_side * rng.uniform(0.45, 0.6)
        half_w = side * aspect / 2
        travel = rng.uniform(0.5, 1.0) * (width - 2 * half_w)
        x0 = rng.uniform(half_w, width - half_w - travel)
        cy = rng.uniform(side / 2, height - side / 2)
        centers = np.stack([np.full(n_frames, cy), x0 + travel * s], axis=1)
        return _render(image, centers, np.full(n_frames, side), size)
    view = _static_view(image, size, rng, n_frames)
    if kind == "fade":
        gain = torch.as_tensor(s, dtype=torch.float32).view(-1, 1, 1, 1)
        return view * gain
    if kind == "focus":
        sigma_max = rng.uniform(3.0, 5.0) * max(size) / 112
        return _blur(view, sigma_max * (1 - s))
    raise ValueError(kind)  # pragma: no cover


def make_camera_motion_videos(
    n_per_class=8,
    *,
    n_frames=16,
    size=(112, 112),
    photographs=PHOTOGRAPHS,
    random_state=None,
    return_groups=False,
):
    """Labelled videos of camera motions over real photographs.

    Eight classes in four time-reversed pairs: ``zoom_in`` / ``zoom_out``,
    ``pan_right`` / ``pan_left``, ``fade_in`` (from black) / ``fade_out`` (to black),
    ``focus_in`` (blurred to sharp) / ``focus_out`` (sharp to blurred). Each video
    of the first class of a pair draws its own window position, scale and speed;
    video ``j`` of the second class is video ``j`` of the first played backwards, so
    the two classes hold exactly the same frames and differ only in their order. The
    photographs ship offline with scikit-learn (``china``, ``flower``) and
    scikit-image (``astronaut``, ``chelsea``, ``coffee``, ``rocket``,
    ``motorcycle``, ``hubble``).

    Every class uses the photographs in the same proportions: video ``j`` of each
    class shows photograph ``j % len(photographs)``, so holding out whole
    photographs (``GroupKFold`` on the groups) keeps the classes balanced.

    Parameters
    ----------
    n_per_class : int, default=8
        Videos per class.
    n_frames : int, default=16
        Frames per video (at least 2).
    size : tuple of (int, int), default=(112, 112)
        ``(height, width)`` of the frames.
    photographs : sequence of str, default=PHOTOGRAPHS
        Which photographs to use, from :data:`PHOTOGRAPHS`. All but ``"china"`` and
        ``"flower"`` need scikit-image.
    random_state : int, RandomState instance or None, default=None
        Seeds the windows and speeds. The same int gives the same videos.
    return_groups : bool, default=False
        Also return the photograph of each video.

    Returns
    -------
    videos : list of ndarray of shape (n_frames, height, width, 3), dtype uint8
        RGB frames, ``n_per_class`` videos of each class, class by class.
    y : ndarray of str of shape (n_videos,)
        Class names.
    groups : ndarray of str of shape (n_videos,)
        The photograph each video was made from (only if ``return_groups``).

    Examples
    --------
    >>> from skdsp.datasets import make_camera_motion_videos
    >>> videos, y = make_camera_motion_videos(2, n_frames=8, random_state=0)  # doctest: +SKIP
    >>> len(videos), videos[0].shape, y[:3]  # doctest: +SKIP
    (16, (8, 112, 112, 3), array(['zoom_in', 'zoom_in', 'zoom_out'], dtype='<U9'))
    """
    for name, value, low in (("n_per_class", n_per_class, 1), ("n_frames", n_frames, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    try:
        height, width = size
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 8
            for v in (height, width)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"size must be (height, width), each at least 8, got {size!r}.")
    size = (int(height), int(width))
    photographs = tuple(photographs)
    unknown = [p for p in photographs if p not in PHOTOGRAPHS]
    if unknown or not photographs:
        raise ValueError(
            f"photographs must be a non-empty selection of {PHOTOGRAPHS}, got "
            f"{photographs!r}."
        )
    images = {name: _working_image(_load_photograph(name), size) for name in photographs}
    rng = np.random.default_rng(draw_seed(random_state))

    videos, labels, groups = [], [], []
    for pair in range(len(CAMERA_MOTION_CLASSES) // 2):
        forward, backward = CAMERA_MOTION_CLASSES[2 * pair : 2 * pair + 2]
        kind = forward.split("_")[0]
        clips = []
        for j in range(n_per_class):
            photo = photographs[j % len(photographs)]
            frames = _forward_video(kind, images[photo], size, n_frames, rng)
            frames = frames.round().clamp(0, 255).to(torch.uint8)
            clips.append((frames.permute(0, 2, 3, 1).contiguous().numpy(), photo))
        for name, order in ((forward, slice(None)), (backward, slice(None, None, -1))):
            for frames, photo in clips:
                videos.append(np.ascontiguousarray(frames[order]))
                labels.append(name)
                groups.append(photo)
    y = np.array(labels)
    if return_groups:
        return videos, y, np.array(groups)
    return videos, y
