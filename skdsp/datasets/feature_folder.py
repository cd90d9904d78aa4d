"""Per-video feature files (``.npy`` / ``.npz``), one per video, labelled by folder or CSV.

Features computed by another model (I3D, CLIP, a two-stream network...) are usually
stored one file per video, an array ``(n_frames, n_features)``. This loader turns such a
folder into the collection of videos every skdsp step takes, without copying the
arrays into memory where the file format allows it.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile

import numpy as np
from sklearn.utils import Bunch

from skdsp.datasets.video_folder import _UCF_GROUP, _find_videos

__all__ = ["load_feature_folder", "FEATURE_EXTENSIONS"]

FEATURE_EXTENSIONS = (".npy", ".npz")


def _read_features(path, key, mmap):
    """The array of one feature file, memory-mapped when it is a ``.npy`` file."""
    try:
        loaded = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} could not be read as a NumPy file: {exc}") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded as archive:
        names = list(archive.files)
        if key is None and len(names) != 1:
            raise ValueError(
                f"{path!r} holds {len(names)} arrays {names[:8]}; pass key=... to say "
                "which one holds the features."
            )
        if key is not None and key not in names:
            raise ValueError(f"{path!r} has no array {key!r}; it holds {names[:8]}.")
        try:
            return archive[names[0] if key is None else key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path!r} could not be read as a NumPy file: {exc}") from exc


def _check_features(arr, path, reference):
    """Check one video's array against ``reference``, the ``(path, n_features)`` of the
    first file; errors name the file. Returns its number of features."""
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(
            f"{path!r} holds an array of dtype {arr.dtype}; expected numeric frame "
            "features."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{path!r} holds an array of shape {arr.shape}; a video's features must be a "
            "2-D array (n_frames, n_features), time first."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{path!r} is empty: its array has shape {arr.shape}.")
    if reference is not None and arr.shape[1] != reference[1]:
        raise ValueError(
            f"{path!r} has {arr.shape[1]} features per frame, but {reference[0]!r} has "
            f"{reference[1]}."
        )
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            frame, feature = np.argwhere(bad)[0]
            raise ValueError(
                f"{path!r} has a non-finite value ({arr[frame, feature]}) at frame "
                f"{frame}, feature {feature}."
            )
    return arr.shape[1]


def _labels_from_csv(csv_path, root, columns, extensions):
    """``(relative path, label)`` of every row of a label file, in its order."""
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"Label file not found: {csv_path!r}.")
    file_column, label_column = columns
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in (file_column, label_column) if c not in header]
        if missing:
            raise ValueError(
                f"{csv_path!r} has no column(s) {missing}; its header is {header}. Pass "
                "columns=(<file column>, <label column>)."
            )
        rows, seen = [], {}
        for lineno, row in enumerate(reader, 2):
            name = (row[file_column] or "").strip().replace("\\", "/")
            label = (row[label_column] or "").strip()
            if not name or not label:
                raise ValueError(f"{csv_path}:{lineno}: empty file name or label.")
            rel = _resolve(root, name, extensions, f"{csv_path}:{lineno}")
            if rel in seen:
                raise ValueError(
                    f"{csv_path}:{lineno}: {rel!r} is listed twice (first on line "
                    f"{seen[rel]})."
                )
            seen[rel] = lineno
            rows.append((rel, label))
    if not rows:
        raise ValueError(f"{csv_path!r} lists no videos.")
    return rows


def _resolve(root, name, extensions, where):
    """The file under ``root`` a label file names, with or without its extension."""
    if name.lower().endswith(extensions):
        candidates = [name]
    else:
        candidates = [name + ext for ext in extensions]
    existing = [c for c in candidates if os.path.isfile(os.path.join(root, *c.split("/")))]
    if not existing:
        raise FileNotFoundError(
            f"{where}: no feature file {' or '.join(repr(c) for c in candidates)} under "
            f"{root!r}."
        )
    if len(existing) > 1:
        raise ValueError(
            f"{where}: {name!r} matches several files {existing}; name one with its "
            "extension."
        )
    return existing[0]


def _sorted_labels(labels):
    """Class names in order: numerically when every label is an integer."""
    unique = set(labels)
    if all(re.fullmatch(r"[+-]?\d+", s) for s in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def load_feature_folder(
    root,
    *,
    labels=None,
    columns=("file", "label"),
    key=None,
    mmap=True,
    extensions=FEATURE_EXTENSIONS,
    return_X_y=False,
):
    """Load per-video feature files, one ``(n_frames, n_features)`` array per video.

    For features computed elsewhere (I3D, CLIP, two-stream CNNs and the like), stored
    one NumPy file per video. Labels come from the folder layout, ``root/<class>/
    <video>.npy`` (files may sit in sub-folders of a class folder), or from a CSV
    file. ``.npy`` files are memory-mapped: an array is read from disk when a step
    uses it, so a data set larger than memory can be loaded.

    Parameters
    ----------
    root : str or path-like
        The folder of feature files.
    labels : str or path-like, default=None
        None: one sub-folder of ``root`` per class. Otherwise a CSV file with a header
        row; each row names a feature file (relative to ``root``, with or without its
        extension) and its label. Only the files the CSV lists are loaded, in its
        order.
    columns : tuple of (str, str), default=("file", "label")
        The CSV's columns holding the file name and the label.
    key : str, default=None
        The array to read from ``.npz`` files. None: each ``.npz`` file must hold
        exactly one array.
    mmap : bool, default=True
        Memory-map ``.npy`` files (read-only) instead of reading them into memory.
        ``.npz`` files are always read into memory.
    extensions : tuple of str, default=(".npy", ".npz")
        File name endings counted as feature files (case-insensitive).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        - ``data`` : list of ndarray of shape (n_frames_i, n_features), one per video,
          in the file's own dtype; memory-mapped for ``.npy`` files when ``mmap``.
        - ``target`` : ndarray of shape (n_videos,), integer class of each video.
        - ``target_names`` : list of str, class names (folder names, or the CSV's
          labels, sorted, numerically when all are integers).
        - ``paths`` : list of str, shape (n_videos,), absolute paths of the files.
        - ``groups`` : ndarray of shape (n_videos,) or None. UCF-101's group number
          when every file name has one (``v_ApplyEyeMakeup_g08_c01.npy``): clips of
          one group come from one longer video, so keep them on one side of a split
          (``GroupKFold``).
    (data, target) : tuple
        If ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If ``root`` or the label file does not exist, or the label file names a file
        that is not under ``root``.
    ValueError
        If there are no class folders or feature files, the label file is malformed,
        or a file cannot be read, is not a numeric 2-D array, is empty, holds NaN or
        inf, or has a different number of features than the others. The message
        names the file.

    Notes
    -----
    Every array is checked once when it is loaded, which reads it from disk (in the
    page cache, not in the process's memory when memory-mapped).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdsp.datasets import load_feature_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for cls, n_frames in (("run", 5), ("walk", 7)):
    ...     os.makedirs(os.path.join(tmp.name, cls))
    ...     np.save(os.path.join(tmp.name, cls, "video1.npy"), np.ones((n_frames, 3)))
    >>> data = load_feature_folder(tmp.name)
    >>> data.target_names, data.target
    (['run', 'walk'], array([0, 1]))
    >>> [video.shape for video in data.data]
    [(5, 3), (7, 3)]
    >>> tmp.cleanup()
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Feature folder not found: {root!r}.")
    extensions = tuple(e.lower() for e in extensions)
    if labels is None:
        classes, found = _find_videos(root, extensions)
        if not found:
            raise ValueError(
                f"No feature files with extensions {extensions} in the class folders of "
                f"{root!r}."
            )
        index = {c: i for i, c in enumerate(classes)}
        rows = sorted(found.items(), key=lambda item: (index[item[1]], item[0]))
        target_names = list(classes)
    else:
        if len(columns) != 2:
            raise ValueError(f"columns must name two CSV columns, got {columns!r}.")
        rows = _labels_from_csv(os.fspath(labels), root, tuple(columns), extensions)
        target_names = _sorted_labels(label for _, label in rows)
        index = {c: i for i, c in enumerate(target_names)}

    paths = [os.path.abspath(os.path.join(root, *rel.split("/"))) for rel, _ in rows]
    videos, reference = [], None
    for path in paths:
        arr = _read_features(path, key, mmap)
        n = _check_features(arr, path, reference)
        reference = reference or (path, n)
        videos.append(arr)
    target = np.array([index[label] for _, label in rows], dtype=np.intp)
    group_matches = [_UCF_GROUP.search(rel) for rel, _ in rows]
    groups = (
        np.array([int(m.group(1)) for m in group_matches]) if all(group_matches) else None
    )
    if return_X_y:
        return videos, target
    return Bunch(
        data=videos, target=target, target_names=target_names, paths=paths, groups=groups
    )
