"""Baseline poolings of frame features into one vector per video.

The poolings the paper compares discriminative subspace pooling against: average and
max pooling, rank pooling (Fernando et al., 2015) and SVM pooling (Wang and Cherian,
2018). They take the same input as :class:`~skdsp.DiscriminativeSubspacePooling` (a
collection of videos ``(n_frames, n_features)``, time first) and return a 2-D array
``(n_videos, n_outputs)`` for any scikit-learn estimator to follow.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skdsp.bags import Bags, check_bags
from skdsp.pooling._rank import rank_pool, smooth_frames
from skdsp.utils.device import resolve_device, to_numpy
from skdsp.utils.numerics import l2_normalize, power_of_four_scale, stable_mean, stable_std
from skdsp.utils.random import draw_seed
from skdsp.utils.validation import check_videos, stack_videos

__all__ = ["AveragePooling", "MaxPooling", "RankPooling", "SVMPooling", "PPVPooling"]

# Videos are padded and solved in chunks of at most this many values, so that a large
# collection never needs one (n_videos, n_frames, n_features) block in memory.
_CHUNK_VALUES = 2**24
# liblinear's regularisation weights are kept in this range. Outside it its trust
# region Newton solver can loop forever in C (it never returns, and ignores Ctrl-C);
# inside it, on data of unit magnitude, the solution is already linear in C below the
# range (rank pooling scales it back exactly) and no longer changes above it, to
# float64 precision (a relative 1e-8 at 10,000 frames).
_LIBLINEAR_C = (1e-12, 1e12)


class _VideoPooling(TransformerMixin, BaseEstimator):
    """Shared fit / validation / naming of poolings with one vector per video."""

    _parameter_constraints: dict = {}

    def _check_input(self, X, *, reset):
        videos = check_videos(X, n_features=None if reset else self.n_features_in_)
        if reset:
            self.n_features_in_ = videos[0].shape[1]
        return videos

    def fit(self, X, y=None):
        """Validate the videos and record their number of features.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
            Videos, time first.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_input(X, reset=True)
        return self

    def transform(self, X):
        """Pool each video into one vector.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
            Videos, time first, with the number of features seen in ``fit``.

        Returns
        -------
        X_out : ndarray of shape (n_videos, n_outputs)
        """
        check_is_fitted(self, "n_features_in_")
        return self._pool(self._check_input(X, reset=False))

    def _blocks(self):
        return [""]

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str of shape (n_features,), default=None
            Names of the frame features; ``f0, f1, ...`` by default.

        Returns
        -------
        names : ndarray of str of shape (n_outputs,)
        """
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            input_features = [f"f{j}" for j in range(self.n_features_in_)]
        elif len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names, but the videos seen "
                f"in fit have {self.n_features_in_} features."
            )
        prefix = type(self).__name__.lower()
        return np.asarray(
            [
                f"{prefix}_{block}{name}"
                for block in self._blocks()
                for name in input_features
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


class AveragePooling(_VideoPooling):
    """Mean of each video's frames.

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import AveragePooling
    >>> videos = [np.array([[0., 2.], [2., 4.]]), np.array([[1., 1.]])]
    >>> AveragePooling().fit_transform(videos)
    array([[1., 3.],
           [1., 1.]])
    """

    def _pool(self, videos):
        return np.stack([stable_mean(v) for v in videos]).astype(np.float64, copy=False)


class MaxPooling(_VideoPooling):
    """Feature-wise maximum over each video's frames.

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import MaxPooling
    >>> videos = [np.array([[0., 5.], [2., 4.]]), np.array([[1., -1.]])]
    >>> MaxPooling().fit_transform(videos)
    array([[ 2.,  5.],
           [ 1., -1.]])
    """

    def _pool(self, videos):
        return np.stack([v.max(axis=0) for v in videos]).astype(np.float64, copy=False)


class PPVPooling(_VideoPooling):
    """Proportion of positive values of each feature over each video's frames.

    MiniRocket's pooling (Dempster, Schmidt and Webb, 2021): on the frames of
    :class:`~skdsp.RandomConvolutionFrames` (either output), feature ``j`` of a video
    is the fraction of its frames where the response exceeds the bias, which is
    exactly MiniRocket's feature for that kernel, dilation and bias (a kernel without
    padding counts the frames where it overhangs an end as not positive, so its
    value is MiniRocket's times the fraction of frames where it fits).

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import PPVPooling
    >>> videos = [np.array([[1., -1.], [2., 0.], [-3., 5.], [4., 6.]])]
    >>> PPVPooling().fit_transform(videos)
    array([[0.75, 0.5 ]])
    """

    def _pool(self, videos):
        return np.stack([np.count_nonzero(v > 0, axis=0) / v.shape[0] for v in videos])


def _chunks(videos):
    """Index ranges of consecutive videos whose padded block stays small."""
    start = 0
    while start < len(videos):
        stop, longest = start, 0
        while stop < len(videos):
            longest = max(longest, videos[stop].shape[0])
            if stop > start and (stop - start + 1) * longest * videos[0].shape[1] > _CHUNK_VALUES:
                break
            stop += 1
        yield start, stop
        start = stop


class RankPooling(_VideoPooling):
    """Rank pooling: the parameters of a function that orders a video's frames in time.

    Fernando et al. (2015) smooth the frames into vectors ``V_t`` (the time-varying
    mean ``(1/t) sum_{tau <= t} x_tau``, optionally passed through a signed square root
    and L2-normalised), then fit a linear function ``w^T V_t + b`` to the frame index
    ``t = 1 .. n_frames``. The weight vector ``w`` is the video's descriptor; with
    ``bidirectional=True`` the same is done on the time-reversed video and both are
    concatenated (forward, then backward).

    Parameters
    ----------
    C : float, default=1.0
        Weight of the data term against ``||w||^2 / 2``.
    smoothing : {"time_varying_mean", "none"}, default="time_varying_mean"
        How frames are smoothed before the regression.
    nonlinearity : {None, "ssr"}, default=None
        ``"ssr"``: signed square root ``sign(v) sqrt(|v|)`` of the smoothed vectors.
    normalize : bool, default=True
        L2-normalise each smoothed vector ``V_t`` (after the nonlinearity).
    bidirectional : bool, default=True
        Also pool the time-reversed video.
    solver : {"ridge", "svr"}, default="ridge"
        ``"ridge"``: the squared loss ``(C/2) sum_t (w^T V_t + b - t)^2``, solved in
        closed form for all videos at once in torch (on ``device``). ``"svr"``: a
        linear support vector regression, as in the original paper: liblinear's
        L2-regularised, L2-loss SVR (scikit-learn's :class:`~sklearn.svm.LinearSVR`
        with ``loss="squared_epsilon_insensitive"``, ``epsilon=0.1``, solved in the
        primal, which converges reliably), one video at a time (``n_jobs`` in
        parallel). ``V_t`` and ``t`` are centred per video in place of an intercept.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the ridge solve runs. Results are returned as NumPy arrays.
    n_jobs : int, default=None
        Parallel jobs for ``solver="svr"``.

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.

    Notes
    -----
    A one-frame video has no order to fit and gets a zero descriptor. The targets are
    the raw frame indices, so the norm of ``w`` grows with the inverse of a video's
    rate of change; standardise the descriptors before a kernel classifier.

    Frames of any finite magnitude are pooled: each video is divided by a power of 4
    near its largest value (exactly) and the regression rescaled to match, so that
    ``w`` is that of the frames as given. With ``solver="svr"``, liblinear is given a
    weight ``C`` within ``[1e-12, 1e12]`` (outside it liblinear can loop forever); below
    that range the solution is scaled from its lower end, where it is linear in ``C``,
    and above it the solution no longer changes in float64.

    References
    ----------
    B. Fernando, E. Gavves, J. Oramas, A. Ghodrati and T. Tuytelaars, "Modeling video
    evolution for action recognition", CVPR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import RankPooling
    >>> t = np.arange(20.0)[:, None]
    >>> video = t * np.array([[1.0, 0.0, 0.0]])          # a linear trend along e0
    >>> w = RankPooling(normalize=False, device="cpu").fit_transform([video])
    >>> w.shape
    (1, 6)
    >>> bool(w[0, 0] > 0), bool(w[0, 3] < 0)             # forward up, backward down
    (True, True)
    """

    _parameter_constraints: dict = {
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "smoothing": [StrOptions({"time_varying_mean", "none"})],
        "nonlinearity": [None, StrOptions({"ssr"})],
        "normalize": ["boolean"],
        "bidirectional": ["boolean"],
        "solver": [StrOptions({"ridge", "svr"})],
        "device": [str, torch.device, None],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        *,
        C=1.0,
        smoothing="time_varying_mean",
        nonlinearity=None,
        normalize=True,
        bidirectional=True,
        solver="ridge",
        device="auto",
        n_jobs=None,
    ):
        self.C = C
        self.smoothing = smoothing
        self.nonlinearity = nonlinearity
        self.normalize = normalize
        self.bidirectional = bidirectional
        self.solver = solver
        self.device = device
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Validate the videos and the parameters.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
            Videos, time first.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        super().fit(X)
        resolve_device(self.device)
        return self

    def _blocks(self):
        return ["forward_", "backward_"] if self.bidirectional else ["forward_"]

    def _pool(self, videos):
        directions = [videos]
        if self.bidirectional:
            # A copy, not ascontiguousarray: a one-frame view counts as contiguous
            # while keeping its negative stride, which torch refuses.
            directions.append([v[::-1].copy() for v in videos])
        return np.concatenate([self._pool_direction(d) for d in directions], axis=1)

    def _smooth(self, padded, mask):
        return smooth_frames(
            padded,
            mask,
            smoothing=self.smoothing,
            nonlinearity=self.nonlinearity,
            normalize=self.normalize,
        )

    def _gain(self, scale):
        """What the smoothed vectors of ``video / scale`` are multiplied by to give
        those of ``video`` (``scale`` is a power of 4, so this is exact)."""
        if self.normalize:
            return 1.0
        return np.sqrt(scale) if self.nonlinearity == "ssr" else scale

    def _pool_direction(self, videos):
        # Each video is divided by a power of 4 near its largest magnitude, so that
        # the smoothing and the regression see values near 1 whatever the frames'
        # magnitude; the magnitude is put back exactly in the solution.
        scales = [power_of_four_scale(v) for v in videos]
        videos = [v / s for v, s in zip(videos, scales)]
        gains = np.array([self._gain(s) for s in scales])
        if self.solver == "svr":
            return np.stack(
                Parallel(n_jobs=self.n_jobs)(
                    delayed(self._svr_one)(v, g) for v, g in zip(videos, gains)
                )
            )
        device = resolve_device(self.device)
        out = []
        for start, stop in _chunks(videos):
            padded, mask = stack_videos(videos[start:stop])
            padded = torch.as_tensor(padded, dtype=torch.float64, device=device)
            mask = torch.as_tensor(mask, device=device)
            scale = torch.as_tensor(gains[start:stop], dtype=torch.float64, device=device)
            V = self._smooth(padded, mask)
            out.append(to_numpy(rank_pool(V, mask, C=self.C, scale=scale)))
        return np.concatenate(out, axis=0)

    def _svr_one(self, video, gain):
        """The SVR weights of one video, whose regressors are ``gain`` times the
        smoothed vectors of ``video``."""
        padded = torch.as_tensor(video[None], dtype=torch.float64)
        mask = torch.ones(padded.shape[:2], dtype=torch.bool)
        V = to_numpy(self._smooth(padded, mask)[0])
        if V.shape[0] < 2:
            return np.zeros(V.shape[1])
        # With w = w' / gain the problem on gain * V is the one on V with C gain^2.
        gain = float(gain)  # Python floats: c may overflow to inf without a warning
        c = self.C * gain * gain
        low, high = _LIBLINEAR_C
        svr = LinearSVR(
            C=min(max(c, low), high),
            epsilon=0.1,
            loss="squared_epsilon_insensitive",
            fit_intercept=False,
            dual=False,
            max_iter=10_000,
            random_state=0,
        )
        # Centring stands in for an intercept, which liblinear would penalise.
        t = np.arange(1, V.shape[0] + 1, dtype=np.float64)
        svr.fit(V - V.mean(axis=0), t - t.mean())
        # Below the range the solution is linear in C: scale it to c.
        factor = self.C * gain / low if c < low else 1.0 / gain
        return svr.coef_.astype(np.float64) * factor


class SVMPooling(_VideoPooling):
    """SVM pooling: the normal of a hyperplane separating a video's frames from noise.

    Wang and Cherian (2018) train, per video, a linear SVM that separates its frames
    (label +1) from a bag of negatives (label -1); the unit-norm weight vector, pointing
    towards the frames, is the video's descriptor.

    Parameters
    ----------
    C : float, default=1.0
        SVM regularisation. The SVM is scikit-learn's :class:`~sklearn.svm.LinearSVC`
        with an intercept, classes weighted to balance, and the squared hinge loss
        (an L2-SVM): liblinear then solves whichever of the primal and dual is
        smaller and converges reliably, where the dual of the plain hinge often
        stops at its iteration limit on bags that are not separable. liblinear solves
        the same problem on the frames and negatives divided by a power of 4 near
        their largest value, with ``C`` scaled to match and kept within ``[1e-12,
        1e12]`` (beyond which the direction of the normal no longer changes), so
        that frames of any finite magnitude are pooled.
    negatives : {"auto", "random", "bags"}, default="auto"
        ``"random"``: every video is separated from one shared bag of Gaussian noise
        features, drawn with the per-feature mean and standard deviation of the frames
        seen in ``fit`` (so that the noise looks like generic frames rather than a far
        away point, which would make every descriptor the same). ``"bags"``: the input
        must be :class:`~skdsp.Bags` and each video's negative bag is used (e.g. from
        :class:`~skdsp.AdversarialBagger`). ``"auto"``: ``"bags"`` for Bags input,
        ``"random"`` otherwise.
    n_negatives : int, default=100
        Size of the noise bag.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise bag. Fixed in ``fit``: every later ``transform`` uses the same
        bag, so training and test videos are pooled against the same negatives.
    n_jobs : int, default=None
        Videos pooled in parallel (joblib).

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.
    noise_mean_ : ndarray of shape (n_features,)
        Mean of the frames seen in ``fit``.
    noise_scale_ : ndarray of shape (n_features,)
        Their standard deviation (1 where it is 0).
    noise_seed_ : int
        Seed of the noise bag.

    References
    ----------
    J. Wang and A. Cherian, "Learning discriminative video representations using
    adversarial perturbations", ECCV 2018; J. Wang, A. Cherian, F. Porikli and
    S. Gould, "Video representation learning using discriminative pooling", CVPR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import SVMPooling
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(size=(30, 4)) + 3 * np.eye(4)[k] for k in range(4)]
    >>> desc = SVMPooling(random_state=0).fit_transform(videos)
    >>> desc.shape, bool(np.all(desc.argmax(axis=1) == np.arange(4)))
    ((4, 4), True)
    """

    _parameter_constraints: dict = {
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "negatives": [StrOptions({"auto", "random", "bags"})],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, *, C=1.0, negatives="auto", n_negatives=100, random_state=None,
                 n_jobs=None):
        self.C = C
        self.negatives = negatives
        self.n_negatives = n_negatives
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_input(self, X, *, reset):
        n_features = None if reset else self.n_features_in_
        if self.negatives == "bags" and not isinstance(X, Bags):
            raise TypeError(
                "negatives='bags' needs Bags input (e.g. from AdversarialBagger), got "
                f"{type(X).__name__}; use negatives='random' for plain videos."
            )
        positive, negative = check_bags(X, n_features=n_features)
        if self.negatives == "random":
            negative = None
        if reset:
            self.n_features_in_ = positive[0].shape[1]
        return positive, negative

    def fit(self, X, y=None):
        """Validate the videos and fix the noise bag.

        Parameters
        ----------
        X : Bags, or list of array-like of shape (n_frames_i, n_features), or ndarray \
of shape (n_videos, n_frames, n_features)
            Videos, time first, or their bags.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        positive, _ = self._check_input(X, reset=True)
        frames = np.concatenate(positive, axis=0)
        self.noise_mean_ = stable_mean(frames).astype(np.float64)
        scale = stable_std(frames).astype(np.float64)
        self.noise_scale_ = np.where(scale > 0, scale, 1.0)
        self.noise_seed_ = draw_seed(self.random_state)
        return self

    def transform(self, X):
        """Pool each video into the unit normal of its separating hyperplane.

        Parameters
        ----------
        X : Bags, or list of array-like of shape (n_frames_i, n_features), or ndarray \
of shape (n_videos, n_frames, n_features)
            Videos, time first, or their bags.

        Returns
        -------
        X_out : ndarray of shape (n_videos, n_features)
        """
        check_is_fitted(self, "noise_seed_")
        positive, negative = self._check_input(X, reset=False)
        if negative is None:
            noise = self._noise()
            negative = [noise] * len(positive)
        return np.stack(
            Parallel(n_jobs=self.n_jobs)(
                delayed(_svm_normal)(p, n, self.C) for p, n in zip(positive, negative)
            )
        )

    def _noise(self):
        rng = np.random.default_rng(self.noise_seed_)
        z = rng.standard_normal((self.n_negatives, self.n_features_in_))
        return self.noise_mean_ + self.noise_scale_ * z


def _svm_normal(positive, negative, C):
    X = np.concatenate([positive, negative], axis=0).astype(np.float64, copy=False)
    y = np.concatenate([np.ones(len(positive)), -np.ones(len(negative))])
    # The same problem on X / s (s a power of 4 near the largest magnitude, an exact
    # division): w = w' / s, so C becomes C s^2 and, as liblinear regularises the
    # intercept like a weight on a constant feature, that feature becomes 1 / s. Only
    # the direction of w is kept, which no longer changes outside the range of C.
    s = power_of_four_scale(X)
    low, high = _LIBLINEAR_C
    svm = LinearSVC(
        C=min(max(C * s * s, low), high),
        loss="squared_hinge",
        dual="auto",
        class_weight="balanced",
        fit_intercept=True,
        intercept_scaling=min(max(1.0 / s, 1e-6), 1e6),
        max_iter=10_000,
        random_state=0,
    )
    svm.fit(X / s, y)
    # classes_ is sorted, so coef_ points towards +1, the video's frames.
    return l2_normalize(svm.coef_[0].astype(np.float64))
