"""Preprocessing of frame features, one video at a time."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skdsp.utils.numerics import l2_normalize, stable_mean, stable_std
from skdsp.utils.validation import check_videos

__all__ = ["FrameScaler", "FrameNormalizer"]


class _FrameTransformer(TransformerMixin, BaseEstimator):
    """A transformer applied to each frame of each video independently."""

    def _frames(self, video):
        raise NotImplementedError

    def transform(self, X):
        """Transform every frame of every video.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features)

        Returns
        -------
        videos : list of ndarray of shape (n_frames_i, n_features)
        """
        check_is_fitted(self)
        videos = check_videos(X, n_features=self.n_features_in_)
        out = []
        for i, video in enumerate(videos):
            with np.errstate(over="ignore"):
                frames = self._frames(video).astype(video.dtype, copy=False)
            bad = ~np.isfinite(frames)
            if bad.any():
                raise ValueError(
                    f"X[{i}] overflows {frames.dtype} when transformed (first at frame "
                    f"{np.argwhere(bad)[0][0]}): its values are too far from the "
                    "statistics learned in fit."
                )
            out.append(frames)
        return out


class FrameScaler(_FrameTransformer):
    """Standardise frame features with statistics pooled over all training frames.

    Sensor channels and CNN feature maps often differ in scale by orders of magnitude;
    an L2 normalisation of each frame (as the :class:`~skdsp.AdversarialBagger` does)
    then sees only the largest channels. This scaler is scikit-learn's
    ``StandardScaler`` for collections of videos: the mean and standard deviation of
    each feature are computed over every frame of every training video, and applied to
    each frame.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean frame.
    with_std : bool, default=True
        Divide by the standard deviation of each feature (features with zero variance
        are left unscaled).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.preprocessing import FrameScaler
    >>> videos = [np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[4.0, 50.0]])]
    >>> scaled = FrameScaler().fit_transform(videos)
    >>> np.round(scaled[1], 3)
    array([[1.225, 1.225]])
    """

    _parameter_constraints = {"with_mean": ["boolean"], "with_std": ["boolean"]}

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Compute the per-feature mean and scale over all frames.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features)
            Training videos.
        y : ignored

        Returns
        -------
        self : FrameScaler
        """
        self._validate_params()
        videos = check_videos(X)
        frames = np.concatenate(videos, axis=0)
        self.n_features_in_ = frames.shape[1]
        self.mean_ = stable_mean(frames) if self.with_mean else np.zeros(frames.shape[1])
        std = stable_std(frames)
        self.scale_ = np.where(std > 0, std, 1.0) if self.with_std else np.ones(frames.shape[1])
        return self

    def _frames(self, video):
        return (video - self.mean_) / self.scale_


class FrameNormalizer(_FrameTransformer):
    """Scale every frame to unit L2 norm.

    On unit-norm frames a pooled descriptor describes the *shape* of the frames rather
    than their energy, which is what the subspace of
    :class:`~skdsp.DiscriminativeSubspacePooling` sees; the baselines are measured both
    ways. Frames of zero norm are left at zero.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.preprocessing import FrameNormalizer
    >>> FrameNormalizer().fit_transform([np.array([[3.0, 4.0], [0.0, 0.0]])])[0]
    array([[0.6, 0.8],
           [0. , 0. ]])
    """

    def fit(self, X, y=None):
        """Record the number of features.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features)
        y : ignored

        Returns
        -------
        self : FrameNormalizer
        """
        self.n_features_in_ = check_videos(X)[0].shape[1]
        return self

    def _frames(self, video):
        return l2_normalize(video)
