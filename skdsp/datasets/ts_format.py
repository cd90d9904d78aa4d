"""A reader for the ``.ts`` text format of the UEA & UCR time series archive.

A ``.ts`` file has comment lines (``#``), a header of ``@``-tags, then one case per line
after ``@data``::

    @problemName GunPoint
    @univariate true
    @equalLength true
    @seriesLength 150
    @classLabel true 1 2
    @data
    -0.64,-0.64,...,-0.65:2
    x_1,x_2,...:y_1,y_2,...:label      # a multivariate case: dimensions split by ':'

Within a case, dimensions are separated by ``:`` and values by ``,``; the last field is
the class label (or the regression target). ``?`` marks a missing value. The format is
described at https://www.timeseriesclassification.com and in the archive papers
(Bagnall et al., 2018, arXiv:1811.00075; Dau et al., 2019, IEEE/CAA JAS 6(6)).
"""

from __future__ import annotations

import io
import os

import numpy as np

__all__ = ["read_ts"]

_BOOL_TAGS = ("timestamps", "missing", "univariate", "equallength")


def _parse_bool(value, tag, lineno):
    value = value.strip().lower()
    if value not in ("true", "false"):
        raise ValueError(
            f"line {lineno}: @{tag} must be 'true' or 'false', got {value!r}."
        )
    return value == "true"


def _open_text(path_or_file):
    if isinstance(path_or_file, (str, os.PathLike)):
        return open(path_or_file, encoding="utf-8"), True, os.fspath(path_or_file)
    if hasattr(path_or_file, "read"):
        name = getattr(path_or_file, "name", "<file>")
        if isinstance(path_or_file, io.TextIOBase):
            return path_or_file, False, name
        return io.TextIOWrapper(path_or_file, encoding="utf-8"), False, name
    raise TypeError(
        "path_or_file must be a path or an open file, got "
        f"{type(path_or_file).__name__}."
    )


def _parse_values(text, case, dim, lineno, missing):
    text = text.strip()
    if not text:
        raise ValueError(
            f"line {lineno}: case {case}, dimension {dim} has no values."
        )
    if text.startswith("("):
        raise ValueError(
            f"line {lineno}: case {case} uses time stamps '(t,value)', which read_ts "
            "does not support."
        )
    if "?" in text:
        if missing == "raise":
            raise ValueError(
                f"line {lineno}: case {case}, dimension {dim} has a missing value '?'; "
                "pass missing='nan' to read it as NaN."
            )
        text = text.replace("?", "nan")
    try:
        return np.array(text.split(","), dtype=np.float64)
    except ValueError as exc:
        raise ValueError(
            f"line {lineno}: case {case}, dimension {dim} holds a value that is not a "
            f"number ({exc})."
        ) from None


def read_ts(path_or_file, *, missing="nan", return_metadata=False):
    """Read a ``.ts`` file of the UEA & UCR time series archive.

    Parameters
    ----------
    path_or_file : str, path-like or file object
        The file to read (text or binary mode, UTF-8).
    missing : {"nan", "raise"}, default="nan"
        What to do with a missing value ``?``: read it as NaN, or raise a
        ``ValueError`` naming the line and case. skdsp's estimators refuse NaN, so
        series with missing values must be imputed before pooling.
    return_metadata : bool, default=False
        Also return the header as a dict.

    Returns
    -------
    X : list of ndarray of shape (n_timepoints_i, n_dimensions)
        One float64 array per case, time first. Lengths may differ between cases
        (``@equalLength false``).
    y : ndarray of shape (n_cases,)
        Class labels as str when ``@classLabel true``, float targets when
        ``@targetLabel true``, or None when the file has no labels.
    metadata : dict
        Only when ``return_metadata=True``: the header values, with keys
        ``problem_name``, ``timestamps``, ``missing``, ``univariate``,
        ``dimensions``, ``equal_length``, ``series_length``, ``class_labels``
        (list of str or None) and ``target_label`` (bool).

    Raises
    ------
    ValueError
        If the file is not UTF-8 text, the header is malformed, ``@data`` is
        missing, a case has the wrong number of dimensions, dimensions of one case
        differ in length, a length disagrees with ``@seriesLength``, a label is not
        among the declared ``@classLabel`` values, or a value is not a number.
        Messages name the file, and the line and the case.

    Examples
    --------
    >>> import io
    >>> from skdsp.datasets import read_ts
    >>> text = '''@problemName toy
    ... @univariate false
    ... @dimensions 2
    ... @equalLength false
    ... @classLabel true a b
    ... @data
    ... 1,2,3:4,5,6:a
    ... 7,8:9,10:b
    ... '''
    >>> X, y = read_ts(io.StringIO(text))
    >>> [x.shape for x in X], y.tolist()
    ([(3, 2), (2, 2)], ['a', 'b'])
    """
    if missing not in ("nan", "raise"):
        raise ValueError(f"missing must be 'nan' or 'raise', got {missing!r}.")
    fh, close, name = _open_text(path_or_file)
    try:
        lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{name}: not UTF-8 text, so not a .ts file ({exc.reason})."
        ) from None
    finally:
        if close:
            fh.close()

    meta = {
        "problem_name": None,
        "timestamps": False,
        "missing": False,
        "univariate": None,
        "dimensions": None,
        "equal_length": None,
        "series_length": None,
        "class_labels": None,
        "target_label": False,
    }
    has_labels = False
    data_start = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise ValueError(
                f"{name}, line {i + 1}: expected an @-tag or a comment before @data, "
                f"got {line[:40]!r}."
            )
        spelled, _, value = line[1:].partition(" ")
        tag = spelled.lower()
        if tag == "data":
            data_start = i + 1
            break
        if tag == "problemname":
            meta["problem_name"] = value.strip()
        elif tag in _BOOL_TAGS:
            key = {"timestamps": "timestamps", "equallength": "equal_length"}.get(tag, tag)
            meta[key] = _parse_bool(value, spelled, i + 1)
        elif tag in ("dimensions", "serieslength"):
            try:
                n = int(value)
            except ValueError:
                raise ValueError(
                    f"{name}, line {i + 1}: @{spelled} must be an integer, got {value!r}."
                ) from None
            meta["dimensions" if tag == "dimensions" else "series_length"] = n
        elif tag == "classlabel":
            parts = value.split()
            if not parts:
                raise ValueError(f"{name}, line {i + 1}: @classLabel needs true or false.")
            has_labels = _parse_bool(parts[0], spelled, i + 1)
            if has_labels:
                if len(parts) < 2:
                    raise ValueError(
                        f"{name}, line {i + 1}: @classLabel true must list the labels."
                    )
                meta["class_labels"] = parts[1:]
        elif tag == "targetlabel":
            meta["target_label"] = _parse_bool(value, spelled, i + 1)
            has_labels = meta["target_label"]
        # Other tags (e.g. @seriesLength variants of newer writers) carry nothing we use.
    if data_start is None:
        raise ValueError(f"{name}: no @data line; this is not a .ts file.")
    if meta["timestamps"]:
        raise ValueError(f"{name}: @timeStamps true is not supported by read_ts.")
    if meta["univariate"] and meta["dimensions"] is None:
        meta["dimensions"] = 1

    X, labels = [], []
    declared = set(meta["class_labels"]) if meta["class_labels"] else None
    for i in range(data_start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            continue
        lineno, case = i + 1, len(X)
        fields = line.split(":")
        if has_labels:
            if len(fields) < 2:
                raise ValueError(
                    f"{name}, line {lineno}: case {case} has no label after ':'."
                )
            label, fields = fields[-1].strip(), fields[:-1]
            if declared is not None and label not in declared:
                raise ValueError(
                    f"{name}, line {lineno}: case {case} has label {label!r}, which "
                    f"@classLabel does not declare ({sorted(declared)})."
                )
            labels.append(label)
        if meta["dimensions"] is not None and len(fields) != meta["dimensions"]:
            raise ValueError(
                f"{name}, line {lineno}: case {case} has {len(fields)} dimension(s), but "
                f"@dimensions is {meta['dimensions']}."
            )
        if X and len(fields) != X[0].shape[1]:
            raise ValueError(
                f"{name}, line {lineno}: case {case} has {len(fields)} dimension(s), but "
                f"case 0 has {X[0].shape[1]}."
            )
        dims = [_parse_values(f, case, j, lineno, missing) for j, f in enumerate(fields)]
        lengths = {len(d) for d in dims}
        if len(lengths) != 1:
            raise ValueError(
                f"{name}, line {lineno}: the dimensions of case {case} have different "
                f"lengths {[len(d) for d in dims]}; read_ts needs one length per case."
            )
        length = lengths.pop()
        if meta["equal_length"]:
            expected = meta["series_length"] or (X[0].shape[0] if X else length)
            if length != expected:
                raise ValueError(
                    f"{name}, line {lineno}: case {case} has {length} time points, but "
                    f"the header declares equal lengths of {expected}."
                )
        X.append(np.stack(dims, axis=1))
    if not X:
        raise ValueError(f"{name}: no cases after @data.")

    if not has_labels:
        y = None
    elif meta["target_label"]:
        try:
            y = np.asarray(labels, dtype=np.float64)
        except ValueError:
            raise ValueError(f"{name}: a regression target is not a number.") from None
    else:
        y = np.asarray(labels, dtype=str)
    if return_metadata:
        return X, y, meta
    return X, y
