"""The sequence checks must catch the defects they are named after.

Each broken estimator below breaks exactly one contract; the real estimators are run
through the same checks in their own test modules.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skdsp.utils import check_videos
from skdsp.utils.estimator_checks import (
    check_bad_videos,
    check_deterministic,
    check_feature_size_mismatch,
    check_init_stores_params,
    check_not_fitted,
    check_sequence_estimator,
    check_transform_keeps_state,
    make_videos,
)


class MeanPool(TransformerMixin, BaseEstimator):
    """A correct minimal sequence transformer."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        X = check_videos(X)
        self.n_features_in_ = X[0].shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = check_videos(X, n_features=self.n_features_in_)
        return self.scale * np.stack([v.mean(axis=0) for v in X])

    def get_feature_names_out(self, input_features=None):
        return np.array([f"mean{i}" for i in range(self.n_features_in_)], dtype=object)


class WorkInInit(MeanPool):
    def __init__(self, scale=1.0):
        self.scale = float(scale) * 1.0 + 0.0
        self.ready_ = True


class Unseeded(MeanPool):
    def transform(self, X):
        return super().transform(X) + np.random.default_rng().normal()


class NoValidation(MeanPool):
    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X[0]).shape[-1]
        return self

    def transform(self, X):
        return np.stack([np.mean(v, axis=0) for v in X])


class StatefulTransform(MeanPool):
    def transform(self, X):
        self.last_output_ = super().transform(X)
        return self.last_output_


def test_correct_estimator_passes():
    check_sequence_estimator(MeanPool())


@pytest.mark.parametrize(
    "broken, check",
    [
        (WorkInInit(scale=2), check_init_stores_params),
        (Unseeded(), check_deterministic),
        (NoValidation(), check_not_fitted),
        (NoValidation(), check_feature_size_mismatch),
        (NoValidation(), check_bad_videos),
        (StatefulTransform(), check_transform_keeps_state),
    ],
)
def test_checks_catch_defects(broken, check):
    X, y = make_videos()
    with pytest.raises(AssertionError):
        check(broken, X, y)


def test_make_videos_is_seeded_and_ragged():
    X1, y1 = make_videos(random_state=3)
    X2, y2 = make_videos(random_state=3)
    assert all(np.array_equal(a, b) for a, b in zip(X1, X2))
    assert len({v.shape[0] for v in X1}) > 1
    assert set(y1) == {0, 1} and np.array_equal(y1, y2)
