"""One validator for every collection of videos that enters skdsp.

A *video* is a 2-D array ``(n_frames, n_features)``, time first. A *collection* is a
list (or tuple, or 1-D object array) of videos, ragged allowed, or a 3-D array
``(n_videos, n_frames, n_features)`` when all videos have the same length. Orientation is
never guessed: a 2-D array is refused as a collection, because it could be one video or
one frame per video.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_videos", "check_labels", "stack_videos"]


def _as_video_list(X, name):
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            return [X[i] for i in range(X.shape[0])]
        if X.ndim == 2:
            raise ValueError(
                f"{name} is a 2-D array of shape {X.shape}; a collection of videos is a "
                "list of 2-D arrays (n_frames, n_features) or a 3-D array "
                "(n_videos, n_frames, n_features). For a single video, pass [video]."
            )
        raise ValueError(
            f"{name} is a {X.ndim}-D array of shape {X.shape}; expected a list of 2-D "
            "arrays (n_frames, n_features) or a 3-D array (n_videos, n_frames, n_features)."
        )
    if isinstance(X, np.ndarray):  # object array
        if X.ndim != 1:
            raise ValueError(
                f"{name} is an object array of shape {X.shape}; expected a 1-D object "
                "array of videos."
            )
        return list(X)
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(
            f"{name} must be a list of 2-D arrays (n_frames, n_features) or a 3-D array, "
            f"got {type(X).__name__}."
        )
    if hasattr(X, "positive") and hasattr(X, "negative"):
        raise TypeError(
            f"{name} is a Bags object; this step expects plain videos. Put the step that "
            "makes bags (e.g. AdversarialBagger) directly before the pooling step."
        )
    return list(X)


def check_videos(
    X,
    *,
    n_features=None,
    min_frames=1,
    dtype=(np.float64, np.float32),
    name="X",
    fitted_with="fit",
):
    """Validate a collection of videos and return it as a list of 2-D float arrays.

    Parameters
    ----------
    X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
        The videos, time first. Ragged lengths are allowed in a list.
    n_features : int, default=None
        If given, every video must have this many features (the number seen in
        ``fit``); otherwise all videos must agree with the first one.
    min_frames : int, default=1
        Fewest frames a video may have.
    dtype : dtype or tuple of dtypes, default=(np.float64, np.float32)
        Accepted float dtypes; other inputs are converted to the first one.
    name : str, default="X"
        Name of the argument, used in error messages.
    fitted_with : str, default="fit"
        What ``n_features`` was learned from, used in error messages.

    Returns
    -------
    videos : list of ndarray of shape (n_frames_i, n_features)
        Finite float arrays, C-contiguous with positive strides (so that
        ``torch.from_numpy`` takes them). Arrays are copied only when needed.

    Raises
    ------
    ValueError
        If the collection is empty, a video is not 2-D, is empty, is shorter than
        ``min_frames``, is not real-valued (complex or non-numeric), holds NaN or inf
        (also after conversion to ``dtype``), or has a different number of features.
        The message names the video by its index (and the frame, for non-finite
        values).
    """
    videos = _as_video_list(X, name)
    if len(videos) == 0:
        raise ValueError(f"{name} is an empty collection: expected at least one video.")
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    out = []
    ref = n_features
    ref_from = fitted_with if n_features is not None else None
    for i, video in enumerate(videos):
        try:
            arr = np.asarray(video)
        except Exception as exc:  # ragged nested lists and the like
            raise ValueError(f"{name}[{i}] could not be read as an array: {exc}") from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise ValueError(
                f"{name}[{i}] has dtype {arr.dtype}; expected numeric frame features."
            )
        if np.iscomplexobj(arr):
            # A cast would drop the imaginary parts without a word.
            raise ValueError(
                f"{name}[{i}] has complex dtype {arr.dtype}; frame features must be "
                "real. Pass e.g. np.abs(video), or the real and imaginary parts side "
                "by side as features."
            )
        if arr.ndim != 2:
            raise ValueError(
                f"{name}[{i}] has shape {arr.shape}; each video must be a 2-D array "
                "(n_frames, n_features), time first."
            )
        if arr.shape[0] == 0:
            raise ValueError(f"{name}[{i}] is empty: it has no frames.")
        if arr.shape[0] < min_frames:
            raise ValueError(
                f"{name}[{i}] has {arr.shape[0]} frame(s); at least {min_frames} are needed."
            )
        if arr.shape[1] == 0:
            raise ValueError(f"{name}[{i}] has no features (shape {arr.shape}).")
        if ref is None:
            ref, ref_from = arr.shape[1], f"{name}[{i}]"
        elif arr.shape[1] != ref:
            raise ValueError(
                f"{name}[{i}] has {arr.shape[1]} features, but {ref_from} has {ref}."
            )
        if arr.dtype not in dtypes:
            arr = arr.astype(dtypes[0])
        bad = ~np.isfinite(arr)
        if bad.any():
            frame, feature = np.argwhere(bad)[0]
            raise ValueError(
                f"{name}[{i}] has a non-finite value ({arr[frame, feature]}) at frame "
                f"{frame}, feature {feature}; features must be finite."
            )
        arr = np.ascontiguousarray(arr)
        if any(step < 0 for step in arr.strides):
            # A reversed one-frame view counts as contiguous; torch cannot wrap it.
            arr = arr.copy()
        out.append(arr)
    return out


def check_labels(y, n_videos, *, name="y"):
    """Validate one label per video.

    Parameters
    ----------
    y : array-like of shape (n_videos,)
        Labels.
    n_videos : int
        Number of videos the labels must match.

    Returns
    -------
    y : ndarray of shape (n_videos,)
    """
    if y is None:
        raise ValueError(f"{name} is required: one label per video.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per video), got shape {y.shape}.")
    if y.shape[0] != n_videos:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but there are {n_videos} videos."
        )
    return y


def stack_videos(videos, *, n_frames=None):
    """Pad a ragged list of videos into one array with a mask.

    Parameters
    ----------
    videos : list of ndarray of shape (n_frames_i, n_features)
        Validated videos (see :func:`check_videos`), all of one dtype.
    n_frames : int, default=None
        Padded length; the longest video's length by default.

    Returns
    -------
    padded : ndarray of shape (n_videos, n_frames, n_features)
        Videos, zero-padded at the end.
    mask : ndarray of shape (n_videos, n_frames), dtype bool
        True where a frame is real.
    """
    lengths = np.array([v.shape[0] for v in videos])
    n_frames = int(lengths.max()) if n_frames is None else int(n_frames)
    if lengths.max() > n_frames:
        raise ValueError(f"n_frames={n_frames} is shorter than the longest video.")
    dtype = np.result_type(*[v.dtype for v in videos])
    padded = np.zeros((len(videos), n_frames, videos[0].shape[1]), dtype=dtype)
    for i, v in enumerate(videos):
        padded[i, : v.shape[0]] = v
    mask = np.arange(n_frames)[None, :] < lengths[:, None]
    return padded, mask
