"""Checks for estimators whose input is a collection of videos.

scikit-learn's ``check_estimator`` feeds 2-D arrays and so cannot exercise an estimator
that takes a list of ``(n_frames, n_features)`` videos. These checks do the same job for
skdsp's sequence estimators: each takes an unfitted estimator and raises
``AssertionError`` (or lets an unexpected exception through) when a contract of
scikit-learn citizenship is broken.

Use :func:`parametrize_with_sequence_checks` in a test module::

    @parametrize_with_sequence_checks([AveragePooling(), MaxPooling()])
    def test_sequence_estimator(estimator, check):
        check(estimator)
"""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

__all__ = [
    "make_videos",
    "check_init_stores_params",
    "check_clone",
    "check_fit_returns_self",
    "check_not_fitted",
    "check_deterministic",
    "check_pickle_roundtrip",
    "check_transform_keeps_state",
    "check_array_and_list_agree",
    "check_feature_size_mismatch",
    "check_bad_videos",
    "check_feature_names_out",
    "citizenship_checks",
    "sequence_checks",
    "check_sequence_estimator",
    "parametrize_with_sequence_checks",
]


def make_videos(
    n_videos=8,
    n_features=5,
    *,
    min_frames=6,
    max_frames=12,
    n_classes=2,
    random_state=0,
):
    """A small labelled collection of ragged videos whose classes differ.

    Each class has its own mean direction and a drift over time, so that a classifier on
    pooled features can tell them apart.

    Parameters
    ----------
    n_videos : int, default=8
    n_features : int, default=5
    min_frames, max_frames : int, default=6, 12
        Range of video lengths (inclusive).
    n_classes : int, default=2
    random_state : int, default=0

    Returns
    -------
    videos : list of ndarray of shape (n_frames_i, n_features)
    y : ndarray of shape (n_videos,)
    """
    rng = np.random.default_rng(random_state)
    centres = rng.normal(size=(n_classes, n_features))
    drifts = rng.normal(size=(n_classes, n_features))
    y = np.arange(n_videos) % n_classes
    videos = []
    for label in y:
        n = int(rng.integers(min_frames, max_frames + 1))
        t = np.linspace(0.0, 1.0, n)[:, None]
        videos.append(
            centres[label] + t * drifts[label] + 0.3 * rng.normal(size=(n, n_features))
        )
    return videos, y


def _equal_length(videos):
    n = min(v.shape[0] for v in videos)
    return [v[:n] for v in videos]


def _fit(estimator, X, y):
    return estimator.fit(X, y)


def _outputs_equal(a, b, *, rtol=1e-6, atol=1e-8):
    """Compare transform outputs: arrays, lists of arrays, or bag-like objects."""
    if hasattr(a, "positive") and hasattr(a, "negative"):
        return _outputs_equal(a.positive, b.positive, rtol=rtol, atol=atol) and (
            _outputs_equal(a.negative, b.negative, rtol=rtol, atol=atol)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(
            _outputs_equal(x, z, rtol=rtol, atol=atol) for x, z in zip(a, b)
        )
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


def check_init_stores_params(estimator, X=None, y=None):
    """``__init__`` stores each parameter as given and does nothing else."""
    params = estimator.get_params(deep=False)
    rebuilt = type(estimator)(**params)
    for name, value in params.items():
        assert getattr(rebuilt, name) is value, f"__init__ changed parameter {name!r}"
    fitted = [k for k in vars(rebuilt) if k.endswith("_") and not k.startswith("__")]
    assert not fitted, f"__init__ set fitted-looking attributes {fitted}"


def check_clone(estimator, X, y):
    """A clone has the same parameters and is unfitted."""
    est = clone(estimator)
    assert est.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()
    _fit(est, X, y)
    again = clone(est)
    fitted = [k for k in vars(again) if k.endswith("_") and not k.startswith("__")]
    assert not fitted, f"clone kept fitted attributes {fitted}"


def check_fit_returns_self(estimator, X, y):
    est = clone(estimator)
    assert _fit(est, X, y) is est, "fit must return self"


def check_not_fitted(estimator, X, y):
    """Using an unfitted estimator raises NotFittedError."""
    est = clone(estimator)
    for method in ("transform", "predict"):
        if hasattr(est, method):
            try:
                getattr(est, method)(X)
            except NotFittedError:
                continue
            raise AssertionError(f"{method} before fit did not raise NotFittedError")


def check_deterministic(estimator, X, y):
    """Two fits with the same parameters give the same output."""
    out1 = _fit(clone(estimator), X, y).transform(X)
    out2 = _fit(clone(estimator), X, y).transform(X)
    assert _outputs_equal(out1, out2), "same parameters and seed, different output"


def check_pickle_roundtrip(estimator, X, y):
    """A fitted estimator pickles and gives the same output afterwards."""
    est = _fit(clone(estimator), X, y)
    before = est.transform(X)
    restored = pickle.loads(pickle.dumps(est))
    assert _outputs_equal(before, restored.transform(X)), "output changed after pickle"


def check_transform_keeps_state(estimator, X, y):
    """transform does not add or change fitted attributes."""
    est = _fit(clone(estimator), X, y)
    before = {k: v for k, v in vars(est).items() if k.endswith("_")}
    est.transform(X)
    after = {k: v for k, v in vars(est).items() if k.endswith("_")}
    assert before.keys() == after.keys(), (
        f"transform added attributes {sorted(after.keys() - before.keys())}"
    )
    for key in before:
        if isinstance(before[key], np.ndarray):
            assert before[key] is after[key] or np.array_equal(before[key], after[key]), (
                f"transform changed {key}"
            )


def check_array_and_list_agree(estimator, X, y):
    """A 3-D array and the list of its videos give the same output."""
    videos = _equal_length(X)
    est = _fit(clone(estimator), videos, y)
    out_list = est.transform(videos)
    out_array = est.transform(np.stack(videos))
    assert _outputs_equal(out_list, out_array), "3-D array and list inputs disagree"


def check_feature_size_mismatch(estimator, X, y):
    """Videos with a different number of features than in fit are refused clearly."""
    est = _fit(clone(estimator), X, y)
    wrong = [np.concatenate([v, v[:, :1]], axis=1) for v in X]
    try:
        est.transform(wrong)
    except ValueError as exc:
        assert "features" in str(exc), f"unclear error for a feature mismatch: {exc}"
        return
    raise AssertionError("transform accepted videos with a different feature size")


def check_bad_videos(estimator, X, y):
    """NaN, empty videos, 1-D videos and 2-D collections are refused, naming the video."""
    est = clone(estimator)
    nan_video = [v.copy() for v in X]
    nan_video[1][2, 0] = np.nan
    empty = list(X)
    empty[1] = X[1][:0]
    flat = list(X)
    flat[1] = X[1][0]
    cases = {
        "NaN": (nan_video, "X[1]"),
        "empty video": (empty, "X[1]"),
        "1-D video": (flat, "X[1]"),
        "2-D collection": (np.asarray(X[0]), "2-D"),
    }
    for what, (bad, expected) in cases.items():
        try:
            _fit(clone(est), bad, y)
        except ValueError as exc:
            assert expected in str(exc), f"error for {what} does not say {expected!r}: {exc}"
            continue
        raise AssertionError(f"fit accepted input with a {what}")


def check_feature_names_out(estimator, X, y):
    """get_feature_names_out matches the columns of a 2-D output."""
    est = _fit(clone(estimator), X, y)
    out = est.transform(X)
    if not (isinstance(out, np.ndarray) and out.ndim == 2):
        return
    names = est.get_feature_names_out()
    assert len(names) == out.shape[1], (
        f"{len(names)} feature names for {out.shape[1]} output columns"
    )
    assert len(set(names)) == len(names), "feature names are not unique"


def citizenship_checks():
    """The checks that hold for any input, whatever a video is (frame features, image
    frames, file paths), in the order they run."""
    return [
        check_init_stores_params,
        check_clone,
        check_fit_returns_self,
        check_not_fitted,
        check_deterministic,
        check_pickle_roundtrip,
        check_transform_keeps_state,
    ]


def sequence_checks():
    """The checks, in the order they run: :func:`citizenship_checks`, then those for
    videos of frame features."""
    return citizenship_checks() + [
        check_array_and_list_agree,
        check_feature_size_mismatch,
        check_bad_videos,
        check_feature_names_out,
    ]


def check_sequence_estimator(estimator, X=None, y=None):
    """Run every sequence check on ``estimator``.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted; its input is a collection of videos.
    X : list of ndarray of shape (n_frames_i, n_features), default=None
        Videos to use; :func:`make_videos` by default.
    y : ndarray of shape (n_videos,), default=None
    """
    if X is None:
        X, y = make_videos()
    for check in sequence_checks():
        check(estimator, X, y)


def parametrize_with_sequence_checks(estimators, X=None, y=None):
    """Pytest decorator giving ``(estimator, check)`` pairs, as scikit-learn's does.

    Parameters
    ----------
    estimators : list of estimator instances
    X, y : default=None
        Data passed to every check; :func:`make_videos` by default.
    """
    import pytest

    if X is None:
        X, y = make_videos()
    cases, ids = [], []
    for est in estimators:
        for check in sequence_checks():
            cases.append((est, partial(check, X=X, y=y)))
            ids.append(f"{type(est).__name__}-{check.__name__}")
    return pytest.mark.parametrize("estimator, check", cases, ids=ids)
