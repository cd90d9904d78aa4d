"""Dense optical flow between consecutive frames, and flow fields as images.

Flow comes from OpenCV (``opencv-python-headless``, in the ``video`` extra):

- ``"dis"``: Dense Inverse Search (Kroeger et al., ECCV 2016), OpenCV's
  ``DISOpticalFlow`` with one of its presets (``"ultrafast"``, ``"fast"``,
  ``"medium"``). The default: fast and good enough for motion descriptors.
- ``"farneback"``: polynomial expansion (Farneback, SCIA 2003), dense and smooth,
  about ten times slower than DIS ``"fast"``.
- ``"tvl1"``: the TV-L1 variational method (Zach, Pock and Bischof, 2007), which
  the two-stream literature used to make flow images. It lives in OpenCV's contrib
  modules (``opencv-contrib-python-headless``, installed *instead of*
  ``opencv-python-headless``) and is slow on a CPU: of the order of a second per
  320 x 240 pair.

A flow field is a float32 array ``(height, width, 2)`` holding, for each pixel of
the earlier frame, its displacement ``(dx, dy)`` in pixels to the later frame (x to
the right, y down).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FLOW_METHODS",
    "DIS_PRESETS",
    "available_flow_methods",
    "optical_flow",
    "flow_to_image",
]

#: Every flow method skdsp knows; see :func:`available_flow_methods` for the ones
#: this installation can run.
FLOW_METHODS = ("dis", "farneback", "tvl1")

#: Presets of the DIS method, from fastest to most accurate.
DIS_PRESETS = ("ultrafast", "fast", "medium")

# Farneback's settings: a 3-level pyramid halving each time, a 15-pixel averaging
# window, 3 iterations per level, and polynomials fitted over 5 x 5 neighbourhoods
# with the smoothing OpenCV's documentation pairs with that size.
_FARNEBACK = {
    "pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3,
    "poly_n": 5, "poly_sigma": 1.1, "flags": 0,
}


def _import_cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - cv2 is in the video extra
        raise ImportError(
            "Optical flow needs OpenCV: pip install opencv-python-headless (or pip "
            "install 'skdsp[video]')."
        ) from exc
    return cv2


def _has_tvl1(cv2):
    return hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create")


def available_flow_methods():
    """The flow methods this installation can run.

    ``"dis"`` and ``"farneback"`` come with ``opencv-python-headless``; ``"tvl1"``
    needs ``opencv-contrib-python-headless``.

    Returns
    -------
    methods : tuple of str
    """
    cv2 = _import_cv2()
    return tuple(m for m in FLOW_METHODS if m != "tvl1" or _has_tvl1(cv2))


def check_flow_method(method, preset):
    """Validate ``method`` and ``preset``; raise a clear error if unusable here."""
    if method not in FLOW_METHODS:
        raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}.")
    if method == "dis" and preset not in DIS_PRESETS:
        raise ValueError(f"preset must be one of {DIS_PRESETS} for DIS, got {preset!r}.")
    cv2 = _import_cv2()
    if method == "tvl1" and not _has_tvl1(cv2):
        raise ImportError(
            "method='tvl1' needs OpenCV's contrib modules: pip uninstall "
            "opencv-python-headless && pip install opencv-contrib-python-headless "
            "(the two packages provide the same cv2 module and must not be installed "
            "together). 'dis' and 'farneback' work without them."
        )
    return cv2


def _flow_function(method, preset, cv2):
    """A function ``(gray0, gray1) -> flow`` for one pair of uint8 grayscale frames."""
    if method == "dis":
        code = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }[preset]
        solver = cv2.DISOpticalFlow_create(code)
        return lambda a, b: solver.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, **_FARNEBACK)
    solver = cv2.optflow.DualTVL1OpticalFlow_create()
    return lambda a, b: solver.calc(a, b, None)


def _gray(frame, index, cv2):
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(f"Frame {index} has dtype {frame.dtype}; frames must be uint8.")
    if frame.ndim == 3 and frame.shape[-1] == 3:
        return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    raise ValueError(
        f"Frame {index} has shape {frame.shape}; expected (height, width, 3) RGB or "
        "(height, width) grayscale."
    )


def optical_flow(frames, *, method="dis", preset="fast"):
    """Dense optical flow between each pair of consecutive frames.

    Parameters
    ----------
    frames : ndarray of shape (n_frames, height, width, 3) or (n_frames, height, width), \
or sequence of such frames
        uint8 frames, RGB or grayscale, time first. All frames must have the same size.
    method : {"dis", "farneback", "tvl1"}, default="dis"
        The flow algorithm (see the module's description); ``"tvl1"`` needs
        ``opencv-contrib-python-headless``.
    preset : {"ultrafast", "fast", "medium"}, default="fast"
        Speed/accuracy preset of DIS; ignored by the other methods.

    Returns
    -------
    flow : ndarray of shape (n_frames - 1, height, width, 2), dtype float32
        ``flow[t]`` moves frame ``t`` onto frame ``t + 1``: ``(dx, dy)`` in pixels.
        Empty (zero pairs) for a single frame.

    Raises
    ------
    ValueError
        If frames are not uint8, have the wrong shape, or differ in size (the message
        names the first frame that differs).

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.video.flow import optical_flow
    >>> rng = np.random.default_rng(0)
    >>> image = rng.integers(0, 256, size=(64, 80), dtype=np.uint8)
    >>> frames = np.stack([image[4:52, 4:68], image[4:52, 6:70]])   # content moves left
    >>> flow = optical_flow(frames)
    >>> flow.shape
    (1, 48, 64, 2)
    """
    cv2 = check_flow_method(method, preset)
    if isinstance(frames, np.ndarray) and frames.ndim not in (3, 4):
        raise ValueError(
            f"frames has shape {frames.shape}; expected (n_frames, height, width, 3) or "
            "(n_frames, height, width)."
        )
    gray = []
    for t, frame in enumerate(frames):
        g = _gray(frame, t, cv2)
        if gray and g.shape != gray[0].shape:
            raise ValueError(
                f"Frame {t} is {g.shape[0]} x {g.shape[1]} (height x width) but frame 0 "
                f"is {gray[0].shape[0]} x {gray[0].shape[1]}; optical flow needs frames "
                "of one size."
            )
        gray.append(g)
    if not gray:
        raise ValueError("frames is empty.")
    height, width = gray[0].shape
    out = np.empty((len(gray) - 1, height, width, 2), dtype=np.float32)
    if len(gray) > 1:
        flow = _flow_function(method, preset, cv2)
        for t in range(len(gray) - 1):
            out[t] = flow(gray[t], gray[t + 1])
    return out


def flow_to_image(flow, *, bound=20.0):
    """Flow fields as uint8 RGB images, the input of a CNN on the motion stream.

    The x and y displacements are clipped to ``[-bound, bound]`` pixels and mapped
    linearly to ``[0, 255]`` (no motion is mid-grey, 127.5 rounded to 128) in the first
    two channels, as in the two-stream literature; the third channel is the magnitude,
    clipped to ``[0, bound]`` and mapped to ``[0, 255]``.

    Parameters
    ----------
    flow : ndarray of shape (..., height, width, 2)
        Flow fields in pixels.
    bound : float, default=20.0
        Displacement, in pixels, mapped to the ends of the range.

    Returns
    -------
    images : ndarray of shape (..., height, width, 3), dtype uint8

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.video.flow import flow_to_image
    >>> flow_to_image(np.array([[[[0.0, 0.0], [20.0, -40.0]]]], dtype=np.float32))
    array([[[[128, 128,   0],
             [255,   0, 255]]]], dtype=uint8)
    """
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim < 3 or flow.shape[-1] != 2:
        raise ValueError(f"flow must have shape (..., height, width, 2), got {flow.shape}.")
    if not bound > 0:
        raise ValueError(f"bound must be positive, got {bound!r}.")
    scale = np.float32(255.0 / (2.0 * bound))
    xy = (np.clip(flow, -bound, bound) + np.float32(bound)) * scale
    magnitude = np.minimum(np.hypot(flow[..., 0], flow[..., 1]), bound) * (2 * scale)
    images = np.concatenate([xy, magnitude[..., None]], axis=-1)
    return np.rint(images).astype(np.uint8)
