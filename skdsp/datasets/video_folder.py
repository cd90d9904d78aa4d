"""Video data sets stored one folder per class, with UCF-101 and HMDB-51 split files."""

from __future__ import annotations

import os
import re

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_video_folder", "VIDEO_EXTENSIONS"]

VIDEO_EXTENSIONS = (
    ".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
)

_UCF_LIST = re.compile(r"^(train|test)list(\d+)\.txt$", re.IGNORECASE)
_HMDB_LIST = re.compile(r"^(?P<cls>.+)_test_split(?P<split>\d+)\.txt$", re.IGNORECASE)
_UCF_GROUP = re.compile(r"_g(\d+)_c\d+\.[^.]+$")
_HMDB_CODES = {"0": "unused", "1": "train", "2": "test"}


def _find_videos(root, extensions):
    classes = sorted(
        d for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
    )
    if not classes:
        raise ValueError(
            f"{root!r} has no class folders; expected one sub-folder per class holding "
            "that class's videos."
        )
    found = {}
    for cls in classes:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, cls)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith(extensions) and not name.startswith("."):
                    rel = os.path.relpath(os.path.join(dirpath, name), root)
                    found[rel.replace(os.sep, "/")] = cls
    return classes, found


def _split_files(split_file, split):
    """Expand ``split_file`` (a file, a folder, or a list) into a list of files."""
    if isinstance(split_file, (str, os.PathLike)):
        path = os.fspath(split_file)
        if os.path.isdir(path):
            number = 1 if split is None else int(split)
            names = sorted(os.listdir(path))
            chosen = [
                n for n in names
                if (m := _UCF_LIST.match(n)) and int(m.group(2)) == number
            ] or [
                n for n in names
                if (m := _HMDB_LIST.match(n)) and int(m.group("split")) == number
            ]
            if not chosen:
                raise ValueError(
                    f"No split files for split {number} in {path!r}: expected "
                    "trainlistNN.txt / testlistNN.txt (UCF-101) or "
                    "<class>_test_splitN.txt (HMDB-51)."
                )
            return [os.path.join(path, n) for n in chosen]
        files = [path]
    else:
        files = [os.fspath(p) for p in split_file]
    if split is not None:
        raise ValueError("split selects files in a split folder; pass split_file=<folder>.")
    return files


def _parse_split_file(path):
    """Yield ``(relative path or file name, role, label or None)`` for each entry."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Split file not found: {path!r}.")
    name = os.path.basename(path)
    ucf, hmdb = _UCF_LIST.match(name), _HMDB_LIST.match(name)
    if not (ucf or hmdb):
        raise ValueError(
            f"Split file {path!r} is not recognised: expected trainlistNN.txt / "
            "testlistNN.txt (UCF-101) or <class>_test_splitN.txt (HMDB-51)."
        )
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if ucf:
                role = ucf.group(1).lower()
                if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
                    raise ValueError(f"{path}:{lineno}: expected '<class>/<file> [label]'.")
                label = int(parts[1]) if len(parts) == 2 else None
                entries.append((parts[0].replace("\\", "/"), role, label))
            else:
                if len(parts) != 2 or parts[1] not in _HMDB_CODES:
                    raise ValueError(
                        f"{path}:{lineno}: expected '<file> <0|1|2>' (0 unused, 1 train, "
                        "2 test)."
                    )
                rel = f"{hmdb.group('cls')}/{parts[0]}"
                entries.append((rel, _HMDB_CODES[parts[1]], None))
    return entries


def _class_index(split_files):
    """UCF-101's classInd.txt ("1 ApplyEyeMakeup" ...) next to the split files, if any."""
    for path in split_files:
        ind = os.path.join(os.path.dirname(path), "classInd.txt")
        if os.path.isfile(ind):
            order = {}
            with open(ind, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[0].isdigit():
                        order[parts[1]] = int(parts[0])
            return order
    return None


def load_video_folder(
    root,
    *,
    split_file=None,
    split=None,
    extensions=VIDEO_EXTENSIONS,
    return_X_y=False,
):
    """List the videos of a class-per-folder data set, with an official split.

    The layout is ``root/<class>/<video>`` (files may sit in sub-folders of a class
    folder), as UCF-101 and HMDB-51 are distributed. Nothing is decoded: the result
    holds paths, to give to :class:`~skdsp.FrameFeatureExtractor`.

    Parameters
    ----------
    root : str or path-like
        The data set's folder.
    split_file : str, path-like, list of them, or a folder, default=None
        Official split files, recognised by name:

        - UCF-101: ``trainlist01.txt`` (lines ``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``,
          the label being 1-based) and ``testlist01.txt`` (paths only). Pass both.
        - HMDB-51: ``<class>_test_split1.txt`` (lines ``<file> <0|1|2>``, 1 = train,
          2 = test, 0 = unused), one file per class.

        A folder holding them selects the files of split number ``split`` (1 by
        default). Videos on disk that no split file mentions are ``"unused"``.
    split : int, default=None
        Split number, when ``split_file`` is a folder.
    extensions : tuple of str
        File name endings counted as videos (case-insensitive).
    return_X_y : bool, default=False
        Return ``(paths, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        - ``paths`` : list of str, shape (n_videos,), absolute paths, sorted by class
          then file.
        - ``target`` : ndarray of shape (n_videos,), integer class of each video.
        - ``target_names`` : list of str, class folder names (in ``classInd.txt``
          order when that UCF-101 file sits next to the split files, else sorted).
        - ``groups`` : ndarray of shape (n_videos,) or None. UCF-101's group number
          (``_g08_``: clips of one group come from one longer video, so they must
          not be spread across train and test), when every file name has one.
        - ``split`` : ndarray of str of shape (n_videos,), ``"train"``, ``"test"`` or
          ``"unused"`` (only with ``split_file``).
        - ``train``, ``test`` : ndarray of int, indices of the training and test
          videos (only with ``split_file``).
    (paths, target) : tuple
        If ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If ``root`` or a split file does not exist, or a split file lists a video
        that is not on disk.
    ValueError
        If there are no class folders or no videos, a split file is malformed or
        contradicts the folders (a label or class that does not match).
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Video folder not found: {root!r}.")
    extensions = tuple(e.lower() for e in extensions)
    classes, found = _find_videos(root, extensions)
    if not found:
        raise ValueError(
            f"No videos with extensions {extensions} in the class folders of {root!r}."
        )
    files = None
    order = None
    if split_file is not None:
        files = _split_files(split_file, split)
        order = _class_index(files)
    if order:
        missing = [c for c in classes if c not in order]
        if missing:
            raise ValueError(
                f"Class folders {missing[:5]} are not in classInd.txt next to the split "
                "files."
            )
        target_names = sorted(classes, key=order.__getitem__)
    else:
        target_names = list(classes)
    index = {c: i for i, c in enumerate(target_names)}
    rels = sorted(found, key=lambda r: (index[found[r]], r))
    paths = [os.path.join(root, *r.split("/")) for r in rels]
    paths = [os.path.abspath(p) for p in paths]
    target = np.array([index[found[r]] for r in rels], dtype=np.intp)
    group_matches = [_UCF_GROUP.search(r) for r in rels]
    groups = (
        np.array([int(m.group(1)) for m in group_matches])
        if all(group_matches) else None
    )
    data = Bunch(paths=paths, target=target, target_names=target_names, groups=groups)

    if files is not None:
        roles = np.array(["unused"] * len(rels), dtype=object)
        position = {r: i for i, r in enumerate(rels)}
        lower = {r.lower(): r for r in rels}
        absent = []
        for path in files:
            for rel, role, label in _parse_split_file(path):
                key = rel if rel in position else lower.get(rel.lower())
                if key is None:
                    absent.append((path, rel))
                    continue
                i = position[key]
                if roles[i] != "unused" and roles[i] != role:
                    raise ValueError(
                        f"{rel!r} is listed both as {roles[i]} and as {role} (in {path!r})."
                    )
                if label is not None and order and order.get(found[key]) != label:
                    raise ValueError(
                        f"{path}: {rel!r} has label {label}, but classInd.txt numbers "
                        f"its folder {found[key]!r} as {order.get(found[key])}."
                    )
                roles[i] = role
        if absent:
            split_path, rel = absent[0]
            raise FileNotFoundError(
                f"{len(absent)} video(s) listed in the split files are not under "
                f"{root!r} with extensions {extensions}; the first is {rel!r} (from "
                f"{split_path!r})."
            )
        data.split = roles.astype(str)
        data.train = np.flatnonzero(roles == "train")
        data.test = np.flatnonzero(roles == "test")
    if return_X_y:
        return data.paths, data.target
    return data
