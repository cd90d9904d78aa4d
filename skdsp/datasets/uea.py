"""Real labelled sequence data that ships with skdsp, from the UEA & UCR archive.

Three problems of the UEA & UCR Time Series Classification archive
(https://www.timeseriesclassification.com) are bundled, unchanged, in the archive's
``.ts`` format, with the archive's official train/test splits. Each loader returns
``(X_train, y_train, X_test, y_test)``: ``X`` is a list of float64 arrays of shape
``(n_frames, n_features)``, time first, the same collection of "videos" every skdsp
pooling step accepts; ``y`` is an array of str labels.

Sources to cite: A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom,
P. Southam and E. Keogh, "The UEA multivariate time series classification archive,
2018", arXiv:1811.00075; H. A. Dau, A. Bagnall, K. Kamgar, C.-C. M. Yeh, Y. Zhu,
S. Gharghabi, C. A. Ratanamahatana and E. Keogh, "The UCR time series archive",
IEEE/CAA Journal of Automatica Sinica 6(6), 2019.

Licence: the archive distributes its data freely for research and asks users to cite
the archive papers and the original donors; it publishes no formal licence beyond
that. JapaneseVowels originates at the UCI Machine Learning Repository, which lists it
under CC BY 4.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from skdsp.datasets.ts_format import read_ts

__all__ = [
    "load_basic_motions",
    "load_gunpoint",
    "load_japanese_vowels",
    "load_dataset",
    "delay_embedding",
    "GUNPOINT_EMBEDDING_DIM",
    "GUNPOINT_DELAY",
]

#: Default delay-embedding dimension of :func:`load_gunpoint` (frames of 16 values).
GUNPOINT_EMBEDDING_DIM = 16
#: Default delay (in samples) of :func:`load_gunpoint`.
GUNPOINT_DELAY = 2


@dataclass(frozen=True)
class _Published:
    """Shapes published by the archive, checked on every load."""

    name: str
    n_train: int
    n_test: int
    n_dimensions: int
    min_length: int
    max_length: int
    classes: tuple


_PUBLISHED = {
    "basicmotions": _Published(
        "BasicMotions", 40, 40, 6, 100, 100, ("Badminton", "Running", "Standing", "Walking")
    ),
    "gunpoint": _Published("GunPoint", 50, 150, 1, 150, 150, ("1", "2")),
    "japanesevowels": _Published(
        "JapaneseVowels", 270, 370, 12, 7, 29, tuple(str(k) for k in range(1, 10))
    ),
}


@lru_cache(maxsize=None)
def _read_shipped(name, split):
    ref = resources.files("skdsp.datasets") / "data" / f"{name}_{split}.ts"
    with ref.open("r", encoding="utf-8") as fh:
        X, y = read_ts(fh, missing="raise")
    return tuple(X), y


def _check_published(spec, X_train, y_train, X_test, y_test):
    def fail(msg):
        raise RuntimeError(
            f"The bundled {spec.name} data does not match the archive's published "
            f"shape: {msg}. The package data may be damaged; reinstall skdsp."
        )

    if (len(X_train), len(X_test)) != (spec.n_train, spec.n_test):
        fail(f"{len(X_train)}/{len(X_test)} train/test cases, expected "
             f"{spec.n_train}/{spec.n_test}")
    lengths = [x.shape[0] for x in (*X_train, *X_test)]
    if min(lengths) < spec.min_length or max(lengths) > spec.max_length:
        fail(f"lengths {min(lengths)}..{max(lengths)}, expected "
             f"{spec.min_length}..{spec.max_length}")
    if any(x.shape[1] != spec.n_dimensions for x in (*X_train, *X_test)):
        fail(f"expected {spec.n_dimensions} dimension(s)")
    if tuple(np.unique(y_train)) != spec.classes or not set(y_test) <= set(spec.classes):
        fail(f"classes {sorted(set(y_train) | set(y_test))}, expected {list(spec.classes)}")


def _load_shipped(key):
    spec = _PUBLISHED[key]
    X_train, y_train = _read_shipped(spec.name, "TRAIN")
    X_test, y_test = _read_shipped(spec.name, "TEST")
    _check_published(spec, X_train, y_train, X_test, y_test)
    # Fresh copies, so a caller editing its arrays cannot alter the next load.
    return (
        [x.copy() for x in X_train],
        y_train.copy(),
        [x.copy() for x in X_test],
        y_test.copy(),
    )


def delay_embedding(series, embedding_dim, delay=1):
    """Turn a series into frames of delayed copies of itself (Takens embedding).

    Parameters
    ----------
    series : array-like of shape (n_timepoints,) or (n_timepoints, n_channels)
        One series, time first.
    embedding_dim : int
        Number of delayed copies per frame (m).
    delay : int, default=1
        Samples between copies (tau).

    Returns
    -------
    frames : ndarray of shape (n_timepoints - (m - 1) * tau, m * n_channels)
        Frame ``t`` is ``[x_t, x_{t+tau}, ..., x_{t+(m-1)tau}]``; for several channels,
        column ``k * n_channels + c`` holds channel ``c`` at lag ``k``.

    Raises
    ------
    ValueError
        If the series is shorter than the embedding window ``(m - 1) * tau + 1``.

    Examples
    --------
    >>> from skdsp.datasets.uea import delay_embedding
    >>> delay_embedding([0., 1., 2., 3., 4.], embedding_dim=2, delay=2)
    array([[0., 2.],
           [1., 3.],
           [2., 4.]])
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"series must be 1-D or 2-D (n_timepoints, n_channels), got shape {x.shape}."
        )
    m, tau = _check_embedding(embedding_dim, delay)
    window = (m - 1) * tau + 1
    n_frames = x.shape[0] - window + 1
    if n_frames < 1:
        raise ValueError(
            f"a series of {x.shape[0]} time points is shorter than the embedding window "
            f"(embedding_dim - 1) * delay + 1 = {window}."
        )
    return np.concatenate([x[k * tau : k * tau + n_frames] for k in range(m)], axis=1)


def _check_embedding(embedding_dim, delay):
    for name, value in (("embedding_dim", embedding_dim), ("delay", delay)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(embedding_dim), int(delay)


def _embed_all(X, embedding_dim, delay, split):
    out = []
    for i, x in enumerate(X):
        try:
            out.append(delay_embedding(x, embedding_dim, delay))
        except ValueError as exc:
            raise ValueError(f"{split} case {i}: {exc}") from None
    return out


def _embed_splits(X_train, y_train, X_test, y_test, embedding_dim, delay):
    return (
        _embed_all(X_train, embedding_dim, delay, "train"),
        y_train,
        _embed_all(X_test, embedding_dim, delay, "test"),
        y_test,
    )


def load_basic_motions():
    """Load BasicMotions: four activities recorded by a smartwatch.

    Four people each performed four activities (standing, walking, running, playing
    badminton) five times while wearing a smartwatch; its 3-D accelerometer and 3-D
    gyroscope were sampled at 10 Hz for 10 seconds. Each recording is a "video" of
    100 frames of 6 features.

    ========================  ==========================================
    classes                   4 (Badminton, Running, Standing, Walking)
    frames per sequence       100
    features per frame        6 (accelerometer x, y, z; gyroscope x, y, z)
    train / test sequences    40 / 40 (10 per class in each)
    ========================  ==========================================

    Returns
    -------
    X_train : list of ndarray of shape (100, 6)
    y_train : ndarray of str of shape (40,)
    X_test : list of ndarray of shape (100, 6)
    y_test : ndarray of str of shape (40,)

    Notes
    -----
    The archive's official train/test split. Source: UEA & UCR Time Series
    Classification archive (https://www.timeseriesclassification.com); cite Bagnall
    et al., "The UEA multivariate time series classification archive, 2018",
    arXiv:1811.00075. The data were recorded in a student project at the University of
    East Anglia. Licence: distributed freely for research by the archive, which asks
    for citation; no formal licence is published.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.datasets import load_basic_motions
    >>> X_train, y_train, X_test, y_test = load_basic_motions()
    >>> len(X_train), X_train[0].shape, np.unique(y_train).tolist()
    (40, (100, 6), ['Badminton', 'Running', 'Standing', 'Walking'])
    """
    return _load_shipped("basicmotions")


def load_gunpoint(*, embedding_dim=GUNPOINT_EMBEDDING_DIM, delay=GUNPOINT_DELAY):
    """Load GunPoint: a hand's horizontal position while drawing a gun or pointing.

    Two actors (one female, one male) either draw a replica gun from a hip holster,
    aim it at a target for about a second and holster it again (class ``"1"``,
    Gun-Draw), or point at the target with the index finger and lower the hand
    (class ``"2"``, Point). The X coordinate of the centroid of the actor's right hand,
    tracked in video, gives one z-normalised series of 150 samples per motion.

    The series is univariate; to give pooling steps frames with several features,
    each series is turned into frames by delay embedding: frame ``t`` is
    ``[x_t, x_{t+delay}, ..., x_{t+(embedding_dim-1)*delay}]`` (see
    :func:`delay_embedding`). With the defaults (``embedding_dim=16``, ``delay=2``) a
    sequence has 150 - 15 * 2 = 120 frames of 16 features, each frame covering 31
    samples (a fifth of the motion). The defaults were chosen by cross-validation on
    the training split alone (5-fold, repeated), averaging four poolings (a PCA
    subspace with :class:`~skdsp.SubspaceKernel`, rank, SVM and average pooling,
    each followed by an SVM): windows of 20 to 45 samples did best, short windows
    (under 10 samples) close to chance.

    ========================  ==========================================
    classes                   2 ("1" Gun-Draw, "2" Point)
    samples per series        150
    frames per sequence       150 - (embedding_dim - 1) * delay
    features per frame        embedding_dim
    train / test sequences    50 / 150
    ========================  ==========================================

    Parameters
    ----------
    embedding_dim : int, default=16
        Samples per frame. ``embedding_dim=1`` returns the raw series as frames of
        one feature.
    delay : int, default=2
        Samples between the entries of a frame.

    Returns
    -------
    X_train : list of ndarray of shape (n_frames, embedding_dim)
    y_train : ndarray of str of shape (50,)
    X_test : list of ndarray of shape (n_frames, embedding_dim)
    y_test : ndarray of str of shape (150,)

    Notes
    -----
    The archive's official train/test split. Source: UEA & UCR Time Series
    Classification archive (https://www.timeseriesclassification.com); cite Dau et al.,
    "The UCR time series archive", IEEE/CAA Journal of Automatica Sinica 6(6), 2019, and
    C. A. Ratanamahatana and E. Keogh, "Everything you know about dynamic time warping
    is wrong", SIGKDD workshop on mining temporal and sequential data, 2004, who
    recorded it. Licence: distributed freely for research by the archive, which asks
    for citation; no formal licence is published.

    Examples
    --------
    >>> from skdsp.datasets import load_gunpoint
    >>> X_train, y_train, X_test, y_test = load_gunpoint(embedding_dim=4, delay=1)
    >>> len(X_train), len(X_test), X_train[0].shape
    (50, 150, (147, 4))
    """
    m, tau = _check_embedding(embedding_dim, delay)
    return _embed_splits(*_load_shipped("gunpoint"), m, tau)


def load_japanese_vowels():
    """Load JapaneseVowels: nine speakers saying the vowels /ae/.

    Nine male Japanese speakers uttered the vowels /a/ and /e/ in succession; a
    12-degree linear prediction analysis of each utterance gives, per analysis frame,
    12 LPC cepstrum coefficients. Utterances have 7 to 29 frames; the task is to
    recognise the speaker.

    ========================  ==========================================
    classes                   9 speakers ("1" .. "9")
    frames per sequence       7 to 29 (ragged)
    features per frame        12 LPC cepstrum coefficients
    train / test sequences    270 (30 per speaker) / 370 (24 to 88 per speaker)
    ========================  ==========================================

    Returns
    -------
    X_train : list of ndarray of shape (n_frames_i, 12)
    y_train : ndarray of str of shape (270,)
    X_test : list of ndarray of shape (n_frames_i, 12)
    y_test : ndarray of str of shape (370,)

    Notes
    -----
    The archive's official train/test split. Source: UEA & UCR Time Series
    Classification archive (https://www.timeseriesclassification.com); cite Bagnall
    et al., arXiv:1811.00075, and M. Kudo, J. Toyama and M. Shimbo, "Multidimensional
    curve classification using passing-through regions", Pattern Recognition Letters
    20(11-13), 1999, who donated it to the UCI Machine Learning Repository. Licence:
    the UCI repository lists it under CC BY 4.0; the archive asks for citation.

    Examples
    --------
    >>> from skdsp.datasets import load_japanese_vowels
    >>> X_train, y_train, X_test, y_test = load_japanese_vowels()
    >>> len(X_train), len(X_test), X_train[0].shape[1]
    (270, 370, 12)
    """
    return _load_shipped("japanesevowels")


_LOADERS = {
    "basicmotions": load_basic_motions,
    "gunpoint": load_gunpoint,
    "japanesevowels": load_japanese_vowels,
}


def load_dataset(name, *, data_dir=None, embedding_dim=None, delay=None):
    """Load a UEA & UCR archive problem by name, with its official train/test split.

    Parameters
    ----------
    name : str
        Problem name as the archive spells it (case and ``_``/``-`` are ignored for the
        bundled ones): ``"BasicMotions"``, ``"GunPoint"`` or ``"JapaneseVowels"``
        ship with skdsp. Any other problem needs ``data_dir``.
    data_dir : str or path-like, default=None
        A folder holding ``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` (directly or in a
        ``<name>/`` sub-folder), as downloaded from the archive. When given, the files
        there are read instead of the bundled ones and no published shapes are checked.
    embedding_dim, delay : int, default=None
        Delay embedding of each series into frames (see :func:`delay_embedding`).
        For GunPoint, ``None`` means the defaults of :func:`load_gunpoint`; for other
        problems, ``None`` means no embedding (``delay`` then defaults to 1).

    Returns
    -------
    X_train : list of ndarray of shape (n_frames_i, n_features)
    y_train : ndarray of shape (n_train,)
    X_test : list of ndarray of shape (n_frames_i, n_features)
    y_test : ndarray of shape (n_test,)

    Raises
    ------
    ValueError
        If the name is not bundled and no ``data_dir`` is given, or the files are not
        found there.

    Examples
    --------
    >>> from skdsp.datasets import load_dataset
    >>> X_train, y_train, X_test, y_test = load_dataset("BasicMotions")
    >>> X_train[0].shape
    (100, 6)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    key = name.lower().replace("_", "").replace("-", "")
    if data_dir is None:
        if key not in _LOADERS:
            raise ValueError(
                f"{name!r} does not ship with skdsp; bundled problems are "
                f"{[s.name for s in _PUBLISHED.values()]}. For another archive problem, "
                "download its .ts files and pass data_dir."
            )
        if key == "gunpoint":
            return load_gunpoint(
                embedding_dim=GUNPOINT_EMBEDDING_DIM if embedding_dim is None else embedding_dim,
                delay=GUNPOINT_DELAY if delay is None else delay,
            )
        X_train, y_train, X_test, y_test = _LOADERS[key]()
    else:
        X_train, y_train, X_test, y_test = _read_folder(name, Path(data_dir))
    if embedding_dim is None and delay is None:
        return X_train, y_train, X_test, y_test
    m, tau = _check_embedding(
        1 if embedding_dim is None else embedding_dim, 1 if delay is None else delay
    )
    return _embed_splits(X_train, y_train, X_test, y_test, m, tau)


def _read_folder(name, folder):
    out = []
    for split in ("TRAIN", "TEST"):
        candidates = [folder / f"{name}_{split}.ts", folder / name / f"{name}_{split}.ts"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise ValueError(
                f"No {name}_{split}.ts in {folder} (looked for "
                f"{[str(p) for p in candidates]})."
            )
        X, y = read_ts(path)
        out += [X, y]
    return tuple(out)
