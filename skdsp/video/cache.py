"""A resumable on-disk cache of per-video features.

Each video's features are stored in their own ``.npy`` file, named by a hash of the
video's content (the file's bytes, or an array's bytes, shape and dtype) inside a
folder named by a hash of the extraction settings (backbone and weights, layer,
sampling, preprocessing, precision). Files are written to a temporary name in the same
folder and moved into place with :func:`os.replace`, which is atomic: a run killed at
any moment leaves only complete entries (and perhaps a stray temporary file), so the
next run picks up where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings

import numpy as np

__all__ = ["FeatureCache", "hash_file", "hash_array", "hash_settings", "file_digest"]

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
    """

    def __init__(self, root, settings):
        self.root = os.fspath(root)
        self.settings = settings
        self.folder = os.path.join(self.root, hash_settings(settings))

    def path(self, key):
        return os.path.join(self.folder, f"{key}.npy")

    def __contains__(self, key):
        return os.path.exists(self.path(key))

    def load(self, key):
        """The cached features for ``key``, or None if absent or unreadable."""
        path = self.path(key)
        if not os.path.exists(path):
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            # Atomic writes make this unlikely (a disk error, a hand-edited file);
            # recomputing is always safe.
            warnings.warn(
                f"Ignoring unreadable cache entry {path!r} ({exc}); it will be "
                "recomputed.",
                RuntimeWarning,
                stacklevel=2,
            )
            return None

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
