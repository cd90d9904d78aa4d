"""A resumable on-disk cache of per-video features.

Each video's features are stored in their own ``.npy`` file, named by a hash of the
video's content (the file's bytes, or an array's bytes, shape and dtype) inside a
folder named by a hash of the extraction settings (backbone and weights, layer,
sampling, preprocessing, precision). Files are written to a temporary name in the same
folder and moved into place with :func:`os.replace`, which is atomic: a run killed at
any moment leaves only complete entries (and perhaps a stray temporary file), so the
next run picks up where it stopped. An entry is returned only if it has the shape and
dtype that its settings give and holds finite values; anything else (a file put there by
hand, a disk error) is reported and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings

import numpy as np

__all__ = [
    "FeatureCache",
    "cached_features",
    "hash_file",
    "hash_array",
    "hash_settings",
    "file_digest",
]

_TMP_PREFIX = ".tmp-"


def file_digest(path, *, digest_size=20, chunk_size=1 << 20):
    """BLAKE2b hex digest of a file's bytes, read in chunks."""
    h = hashlib.blake2b(digest_size=digest_size)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def hash_file(path, *, chunk_size=1 << 20):
    """Hex digest of a file's bytes."""
    return "f" + file_digest(path, chunk_size=chunk_size)


def hash_array(array):
    """Hex digest of an array's dtype, shape and bytes."""
    array = np.ascontiguousarray(array)
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(memoryview(array).cast("B"))
    return "a" + h.hexdigest()


def hash_settings(settings):
    """Hex digest of a JSON-serialisable dict of settings (key order ignored)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class FeatureCache:
    """Features of videos, one ``.npy`` file per video, under one settings folder.

    Parameters
    ----------
    root : str or path-like
        The cache directory; created on first write.
    settings : dict
        Everything that changes the features (JSON-serialisable). Entries made with
        other settings live in other sub-folders and are never mixed up.
    n_features : int, default=None
        Features per frame that these settings give; entries with another number are
        refused. None checks only that entries are 2-D.
    dtype : dtype, default=None
        The dtype of the entries; others are refused.
    """

    def __init__(self, root, settings, *, n_features=None, dtype=None):
        self.root = os.fspath(root)
        self.settings = settings
        self.folder = os.path.join(self.root, hash_settings(settings))
        self.n_features = n_features
        self.dtype = None if dtype is None else np.dtype(dtype)

    def path(self, key):
        return os.path.join(self.folder, f"{key}.npy")

    def __contains__(self, key):
        return os.path.exists(self.path(key))

    def load(self, key, *, n_frames=None):
        """The cached features for ``key``, or None if absent, unreadable or invalid.

        Parameters
        ----------
        key : str
        n_frames : int, default=None
            The number of frames the entry must have, when the caller knows it.

        Returns
        -------
        features : ndarray of shape (n_frames, n_features) or None
        """
        path = self.path(key)
        if not os.path.exists(path):
            return None
        try:
            features = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            problem = f"unreadable cache entry {path!r} ({exc})"
        else:
            problem = self._invalid(features, n_frames)
            if problem is None:
                return features
            problem = f"invalid cache entry {path!r}: {problem}"
        # Atomic writes make this unlikely (a disk error, a file put there by hand);
        # recomputing is always safe.
        warnings.warn(
            f"Ignoring {problem}; it will be recomputed.", RuntimeWarning, stacklevel=2
        )
        return None

    def _invalid(self, features, n_frames):
        """What is wrong with a loaded entry, or None."""
        rows = features.shape[0] if features.ndim == 2 else None
        cols = features.shape[1] if features.ndim == 2 else None
        if (
            not rows
            or (n_frames is not None and rows != n_frames)
            or (self.n_features is not None and cols != self.n_features)
        ):
            return (
                f"shape {features.shape}, expected ({n_frames or 'n_frames'}, "
                f"{self.n_features or 'n_features'})"
            )
        if self.dtype is not None and features.dtype != self.dtype:
            return f"dtype {features.dtype}, expected {self.dtype}"
        if not np.issubdtype(features.dtype, np.number) or not np.isfinite(features).all():
            return "it holds values that are not finite numbers"
        return None

    def check_writable(self):
        """Create the folder and write a file in it, so that an unusable ``root``
        fails before any features are computed rather than when the first is saved.

        Raises
        ------
        OSError
            (``PermissionError``, ``NotADirectoryError``, ...) naming ``root``.
        """
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.folder)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"The feature cache cannot be written under {self.root!r} "
                f"({exc.strerror or exc}); pass a writable cache_dir, or cache_dir=None",
            ) from exc

    def save(self, key, features):
        """Write ``features`` for ``key`` atomically."""
        os.makedirs(self.folder, exist_ok=True)
        self._write_settings()
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".npy", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.ascontiguousarray(features), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _write_settings(self):
        # A human-readable record of what the folder holds.
        path = os.path.join(self.folder, "settings.json")
        if os.path.exists(path):
            return
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".json", dir=self.folder)
        with os.fdopen(fd, "w") as f:
            json.dump(self.settings, f, indent=2, sort_keys=True, default=str)
        os.replace(tmp, path)

    def keys(self):
        """Keys of the complete entries."""
        if not os.path.isdir(self.folder):
            return []
        return sorted(
            name[:-4]
            for name in os.listdir(self.folder)
            if name.endswith(".npy") and not name.startswith(_TMP_PREFIX)
        )

    def clean_temporary(self):
        """Remove temporary files left by interrupted writes; return how many."""
        if not os.path.isdir(self.folder):
            return 0
        n = 0
        for name in os.listdir(self.folder):
            if name.startswith(_TMP_PREFIX):
                try:
                    os.unlink(os.path.join(self.folder, name))
                    n += 1
                except OSError:
                    pass
        return n


def cached_features(items, cache, *, n_rows, compute_array, compute_files, verbose=0):
    """Features of every video: read from ``cache`` where it holds them, else computed.

    The loop both feature extractors run. Every video is looked up first, so that a
    cache that cannot be written fails before any work, and computed features are
    saved as soon as each video is done, so that an interrupted run resumes.

    Parameters
    ----------
    items : list of (str, object)
        ``("file", path)`` or ``("array", frames)`` per video, in output order.
    cache : FeatureCache or None
        None computes everything.
    n_rows : callable
        ``n_rows(frames)``: the number of feature rows of an array video, which a
        cached entry must have. (A file's is not known before decoding.)
    compute_array : callable
        ``compute_array(frames)``: the features of an array video.
    compute_files : callable
        ``compute_files(files, finish)`` with ``files`` a list of ``(index, path)``:
        computes the features of those files and calls ``finish(index, features)``
        for each.
    verbose : int, default=0
        A progress bar over the videos when positive.

    Returns
    -------
    features : list of ndarray of shape (n_rows_i, n_features)
    """
    out = [None] * len(items)
    keys = [None] * len(items)
    if cache is not None:
        for i, (kind, video) in enumerate(items):
            if kind == "file":
                keys[i], rows = hash_file(video), None
            else:
                keys[i], rows = hash_array(video), n_rows(video)
            out[i] = cache.load(keys[i], n_frames=rows)
    todo = [i for i in range(len(items)) if out[i] is None]
    if cache is not None and todo:
        cache.check_writable()
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(items), initial=len(items) - len(todo), desc="videos",
                        unit="video")

    def finish(i, features):
        if features.shape[0] == 0:
            raise ValueError(f"X[{i}]: no frames were kept.")
        out[i] = features
        if cache is not None:
            cache.save(keys[i], features)
        if progress is not None:
            progress.update(1)

    try:
        for i in todo:
            kind, video = items[i]
            if kind == "array":
                finish(i, compute_array(video))
        files = [(i, items[i][1]) for i in todo if items[i][0] == "file"]
        if files:
            compute_files(files, finish)
    finally:
        if progress is not None:
            progress.close()
    return out
