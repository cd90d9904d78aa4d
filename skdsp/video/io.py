"""Decoding video files into RGB frames with PyAV."""

from __future__ import annotations

import numbers
import os
from fractions import Fraction

import numpy as np

__all__ = [
    "read_video",
    "iter_video_frames",
    "write_video",
    "check_sampling",
    "VideoReadError",
]


class VideoReadError(ValueError):
    """A file exists but cannot be decoded as a video (corrupt, truncated, no frames)."""


def _import_av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is in the video extra
        raise ImportError(
            "Reading video files needs PyAV: pip install av (or pip install "
            "'skdsp[video]')."
        ) from exc
    return av


def _is_positive_int(value):
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    )


def check_sampling(fps=None, step=None, max_frames=None, size=None):
    """Validate the frame sampling arguments shared by the readers and the extractor.

    Returns
    -------
    fps : float or None
    step : int or None
    max_frames : int or None
    size : tuple of (int, int) or None
    """
    if fps is not None and step is not None:
        raise ValueError(
            f"Pass either fps={fps!r} (a target frame rate) or step={step!r} (keep every "
            "step-th frame), not both."
        )
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not fps > 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        fps = float(fps)
    if step is not None:
        if not _is_positive_int(step):
            raise ValueError(f"step must be a positive integer, got {step!r}.")
        step = int(step)
    if max_frames is not None:
        if not _is_positive_int(max_frames):
            raise ValueError(f"max_frames must be a positive integer, got {max_frames!r}.")
        max_frames = int(max_frames)
    if size is not None:
        try:
            height, width = size
            ok = _is_positive_int(height) and _is_positive_int(width)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"size must be a pair of positive integers (height, width), got {size!r}."
            )
        size = (int(height), int(width))
    return fps, step, max_frames, size


def _open(path):
    av = _import_av()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such video file: {path!r}.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a video file.")
    try:
        container = av.open(path, mode="r")
    except av.error.FFmpegError as exc:
        raise VideoReadError(
            f"Could not open {path!r} as a video: {exc}. The file may be corrupt, "
            "truncated or not a video."
        ) from exc
    if not container.streams.video:
        container.close()
        raise VideoReadError(f"{path!r} has no video stream.")
    return container, path


def _stream_rate(stream):
    return stream.average_rate or stream.guessed_rate


def _frame_time(frame, index, stream):
    if frame.time is not None:
        return float(frame.time)
    rate = _stream_rate(stream)
    return index / float(rate) if rate else float(index)


def iter_video_frames(
    path, *, fps=None, step=None, max_frames=None, size=None, shorter_side=None
):
    """Yield the sampled frames of a video file one at a time.

    Parameters are as in :func:`read_video`; frames are yielded as uint8 arrays of
    shape ``(height, width, 3)``, RGB. Decoding stops as soon as ``max_frames`` frames
    have been yielded. ``shorter_side`` (instead of ``size``) resizes frames so that
    their shorter side has this many pixels, keeping the aspect ratio.
    """
    av = _import_av()
    fps, step, max_frames, size = check_sampling(fps, step, max_frames, size)
    if size is not None and shorter_side is not None:
        raise ValueError("Pass either size or shorter_side, not both.")
    container, path = _open(path)
    stream = container.streams.video[0]
    reformat = {"format": "rgb24"}
    if shorter_side is not None:
        from skdsp.video.preprocess import resize_shorter_side

        height, width = stream.height, stream.width
        if height and width:
            size = resize_shorter_side(height, width, int(shorter_side))
            # Area averaging when shrinking avoids aliasing; bicubic when enlarging.
            shrink = size[0] * size[1] < height * width
            reformat["interpolation"] = "AREA" if shrink else "BICUBIC"
    if size is not None:
        reformat.update(height=size[0], width=size[1])
    n_yielded = 0
    index = -1
    try:
        stream.thread_type = "AUTO"  # frame + slice threads; output is identical
        start = None
        last_slot = -1
        decoded = container.decode(stream)
        finished = False
        while max_frames is None or n_yielded < max_frames:
            try:
                frame = next(decoded)
            except StopIteration:
                finished = True
                break
            except av.error.FFmpegError as exc:
                raise VideoReadError(
                    f"Decoding {path!r} failed after {index + 1} frame(s): {exc}. The "
                    "file may be corrupt or truncated."
                ) from exc
            index += 1
            if step is not None and index % step:
                continue
            if fps is not None:
                t = _frame_time(frame, index, stream)
                if start is None:
                    start = t
                # Slot k covers [k / fps, (k + 1) / fps); the first frame in each slot
                # is kept. The tolerance absorbs rounding in the timestamps.
                slot = int(np.floor((t - start) * fps + 1e-6))
                if slot <= last_slot:
                    continue
                last_slot = slot
            yield frame.to_ndarray(**reformat)
            n_yielded += 1
        n_indexed = stream.frames
    finally:
        container.close()
    if index < 0:
        raise VideoReadError(f"{path!r} has a video stream but no frames could be decoded.")
    if finished and n_indexed and index + 1 < n_indexed:
        # The container's index promises more frames than the data holds: the usual
        # sign of a file cut short after its header.
        raise VideoReadError(
            f"{path!r} is truncated or corrupt: its index lists {n_indexed} frames but "
            f"only {index + 1} could be decoded."
        )


def read_video(path, *, fps=None, step=None, max_frames=None, size=None):
    """Decode a video file into an array of RGB frames.

    Parameters
    ----------
    path : str or path-like
        The video file (any container and codec FFmpeg reads: mp4, avi, mkv, webm...).
    fps : float, default=None
        Target frame rate: keep the first frame and then the first frame at or after
        each multiple of ``1 / fps`` seconds. A rate at or above the file's own keeps
        every frame (frames are never repeated). Cannot be combined with ``step``.
    step : int, default=None
        Keep every ``step``-th frame (frames 0, step, 2 * step, ...). Cannot be
        combined with ``fps``.
    max_frames : int, default=None
        Stop after this many kept frames.
    size : tuple of (int, int), default=None
        ``(height, width)`` to resize every frame to (with FFmpeg's scaler); the
        file's own size by default.

    Returns
    -------
    frames : ndarray of shape (n_frames, height, width, 3), dtype uint8
        RGB frames, time first.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VideoReadError
        (a subclass of ``ValueError``) if the file cannot be opened or decoded as a
        video, has no video stream, or has no frames. The message names the file.
    ValueError
        If both ``fps`` and ``step`` are given, or an argument is out of range.

    Examples
    --------
    >>> frames = read_video("clip.mp4", fps=5, size=(112, 112))  # doctest: +SKIP
    >>> frames.shape  # doctest: +SKIP
    (25, 112, 112, 3)
    """
    frames = list(iter_video_frames(path, fps=fps, step=step, max_frames=max_frames, size=size))
    if not frames:  # pragma: no cover - iter_video_frames raises first
        raise VideoReadError(f"{os.fspath(path)!r} has no frames.")
    return np.stack(frames)


def video_frame_rate(path):
    """The average frame rate of a video file's first video stream, as a Fraction."""
    container, _ = _open(path)
    try:
        rate = _stream_rate(container.streams.video[0])
        return Fraction(rate) if rate else None
    finally:
        container.close()


_LOSSLESS = {".mkv": ("ffv1", "bgr0"), ".avi": ("ffv1", "bgr0")}


def write_video(path, frames, *, fps=25, codec=None, pix_fmt=None):
    """Encode RGB frames into a video file with PyAV.

    Parameters
    ----------
    path : str or path-like
        Output file; the container is chosen from its extension.
    frames : array-like of shape (n_frames, height, width, 3), dtype uint8
        RGB frames, time first.
    fps : int or Fraction, default=25
        Frame rate written into the file.
    codec : str, default=None
        FFmpeg encoder name. By default lossless FFV1 for ``.mkv`` and ``.avi`` and
        H.264 (``libx264``) otherwise.
    pix_fmt : str, default=None
        Pixel format of the encoded stream (the codec's usual one by default).

    Returns
    -------
    path : str
    """
    av = _import_av()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(
            f"frames must have shape (n_frames, height, width, 3) with n_frames >= 1, "
            f"got {frames.shape}."
        )
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB, got dtype {frames.dtype}.")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    default_codec, default_pix = _LOSSLESS.get(ext, ("libx264", "yuv420p"))
    codec = codec or default_codec
    pix_fmt = pix_fmt or (default_pix if codec == default_codec else "yuv420p")
    height, width = frames.shape[1:3]
    if pix_fmt == "yuv420p" and (height % 2 or width % 2):
        raise ValueError(
            f"{codec} with yuv420p needs an even height and width, got {height}x{width}."
        )
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for frame in frames:
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
