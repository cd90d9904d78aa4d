"""Fusing streams of the same videos by a weighted sum of per-stream kernels.

Two-stream video models describe each video twice, by its appearance (RGB frames) and
by its motion (optical flow), pool each stream on its own, and combine the two at the
kernel: ``K = w_rgb K_rgb + w_flow K_flow``. :class:`StreamUnion` does that for any
number of named streams: each stream has its own pipeline ending in a kernel against
the training videos (:class:`~skdsp.SubspaceKernel` after DSP, :class:`RBFKernel`
after a pooling into vectors), and the union sums the kernels with weights given or
chosen on the training videos. A non-negative combination of positive semi-definite
kernels is one too, so ``SVC(kernel="precomputed")`` follows.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import check_cv, cross_val_score
from sklearn.svm import SVC
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted, validate_data

from skdsp.kernels import kernel_target_alignment, mean_rbf_kernel
from skdsp.streams import Streams
from skdsp.utils.validation import check_labels

__all__ = [
    "StreamUnion",
    "RBFKernel",
    "kernel_weight_grid",
    "align_kernel_weights",
    "cv_kernel_weights",
]


def kernel_weight_grid(n_kernels, step=0.1):
    """Weights on a regular grid of the simplex: non-negative, summing to one.

    Parameters
    ----------
    n_kernels : int
    step : float, default=0.1
        Spacing; ``1 / step`` must be an integer.

    Returns
    -------
    weights : ndarray of shape (n_weightings, n_kernels)

    Examples
    --------
    >>> from skdsp.fusion import kernel_weight_grid
    >>> kernel_weight_grid(2, step=0.5)
    array([[0. , 1. ],
           [0.5, 0.5],
           [1. , 0. ]])
    """
    n_steps = int(round(1.0 / step))
    if n_steps < 1 or abs(n_steps * step - 1.0) > 1e-9:
        raise ValueError(f"1 / step must be a positive integer, got step={step!r}.")
    rows = [
        c for c in itertools.product(range(n_steps + 1), repeat=n_kernels)
        if sum(c) == n_steps
    ]
    return np.array(rows, dtype=np.float64) / n_steps


def _best(scores, n_kernels):
    """The weighting with the best score; ties go to the one nearest equal weights."""
    uniform = 1.0 / n_kernels
    best = max(scores, key=lambda w: (scores[w], -max(abs(v - uniform) for v in w), w))
    return np.array(best)


def _weighted(kernels, w):
    return sum(wk * Kk for wk, Kk in zip(w, kernels))


def align_kernel_weights(kernels, y, *, step=0.1):
    """Kernel weights that maximise the kernel-target alignment of their sum.

    Every weighting of :func:`kernel_weight_grid` is scored by
    :func:`~skdsp.kernels.kernel_target_alignment` of ``sum_s w_s K_s`` with the
    labels; ties go to the weighting nearest to equal weights.

    Parameters
    ----------
    kernels : sequence of ndarray of shape (n_videos, n_videos)
        Gram matrices of the same videos.
    y : array-like of shape (n_videos,)
        Labels.
    step : float, default=0.1
        Spacing of the grid of weights.

    Returns
    -------
    weights : ndarray of shape (n_kernels,)
    scores : dict of tuple to float
        The alignment of every weighting tried.
    """
    kernels = [np.asarray(K, dtype=np.float64) for K in kernels]
    scores = {
        tuple(float(v) for v in w): kernel_target_alignment(_weighted(kernels, w), y)
        for w in kernel_weight_grid(len(kernels), step)
    }
    return _best(scores, len(kernels)), scores


def cv_kernel_weights(kernels, y, *, estimator=None, cv=3, step=0.1):
    """Kernel weights that maximise the cross-validated accuracy of a kernel classifier.

    Every weighting of :func:`kernel_weight_grid` is scored by the mean accuracy of
    ``estimator`` (``SVC(kernel="precomputed")`` by default) in a cross-validation on
    the given Gram matrices, which are sliced, not recomputed; ties go to the
    weighting nearest to equal weights.

    Parameters
    ----------
    kernels : sequence of ndarray of shape (n_videos, n_videos)
        Gram matrices of the same videos.
    y : array-like of shape (n_videos,)
        Labels.
    estimator : classifier, default=None
        A classifier on precomputed kernels.
    cv : int or cross-validation generator, default=3
        As in :func:`~sklearn.model_selection.cross_val_score` (stratified folds for
        an int).
    step : float, default=0.1
        Spacing of the grid of weights.

    Returns
    -------
    weights : ndarray of shape (n_kernels,)
    scores : dict of tuple to float
        The mean accuracy of every weighting tried.
    """
    kernels = [np.asarray(K, dtype=np.float64) for K in kernels]
    estimator = SVC(kernel="precomputed") if estimator is None else estimator
    cv = check_cv(cv, y, classifier=True)
    scores = {
        tuple(float(v) for v in w): float(
            np.mean(cross_val_score(clone(estimator), _weighted(kernels, w), y, cv=cv))
        )
        for w in kernel_weight_grid(len(kernels), step)
    }
    return _best(scores, len(kernels)), scores


class StreamUnion(TransformerMixin, _BaseComposition):
    """Per-stream pipelines whose kernels are summed with learned or given weights.

    Each stream of the videos (e.g. ``"rgb"`` and ``"flow"`` of a
    :class:`~skdsp.Streams`) goes through its own transformer, typically a pipeline
    such as ``AdversarialBagger -> DiscriminativeSubspacePooling -> SubspaceKernel``,
    whose output is a kernel against the training videos. The union returns
    ``sum_s w_s K_s``, shape ``(n_videos, n_train_videos)``, for
    ``SVC(kernel="precomputed")``.

    Parameters
    ----------
    streams : list of (str, transformer)
        Stream name and the transformer for that stream. On the training videos,
        ``fit_transform`` of each transformer must return their Gram matrix
        ``(n_train_videos, n_train_videos)``, and ``transform`` the kernel against
        them: end each pipeline with :class:`~skdsp.SubspaceKernel` or
        :class:`RBFKernel`. Parameters are reachable as ``<name>__<param>``, as in a
        :class:`~sklearn.pipeline.FeatureUnion`.
    weights : {"cv", "alignment"} or sequence of float or dict of str to float, \
default="cv"
        Weight of each stream's kernel (a dict by stream name), or how to choose them
        on the training videos from a grid on the simplex (steps of
        ``weight_step``), with the labels passed to ``fit``:

        - ``"cv"``: the weights under which ``weight_estimator`` is most accurate in
          a ``cv``-fold cross-validation on the training Gram matrices
          (:func:`cv_kernel_weights`). Cheap: the kernels are sliced, not
          recomputed.
        - ``"alignment"``: the weights whose sum has the best kernel-target
          alignment (:func:`align_kernel_weights`), as
          ``SubspaceKernel(mean_weight="auto")`` chooses its mixing weight.

        Ties go to the weights nearest to equal. The default was chosen by
        measurement: on the camera-motion videos, alignment gave all the weight to
        the stream that separates the most classes (motion) and lost what the other
        stream knows about the rest (see the user guide on two-stream video).
    weight_step : float, default=0.1
        Spacing of the grid of weights searched.
    weight_estimator : classifier, default=None
        ``weights="cv"``: the classifier on precomputed kernels that scores the
        weightings; ``SVC(kernel="precomputed")`` when None.
    cv : int or cross-validation generator, default=3
        ``weights="cv"``: the folds (stratified for an int). The folds reuse Gram
        matrices of streams fitted on all training videos, so the scores are
        optimistic; they only rank the weightings.

    Attributes
    ----------
    streams_ : list of (str, transformer)
        The fitted transformers (clones of those given).
    weights_ : dict of str to float
        The weight of each stream's kernel.
    weight_scores_ : dict of tuple to float or None
        With ``weights="cv"`` or ``"alignment"``: the score of every weighting tried
        (weights in the order of ``streams``).
    n_train_videos_ : int
        Columns of the output.

    Notes
    -----
    Input ``X`` is a :class:`~skdsp.Streams`, and each transformer receives the
    stream of its name. Any other collection is handed whole to every transformer:
    streams that start from the same videos (say a
    :class:`~skdsp.FrameFeatureExtractor` and a
    :class:`~skdsp.FlowFeatureExtractor` on the same files) can then share one
    input. Streams whose weight is 0 are not computed in ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import SVC
    >>> from skdsp import AveragePooling, RBFKernel, StreamUnion, Streams
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = Streams(
    ...     a=[rng.normal(size=(6, 3)) + label for label in y],  # informative
    ...     b=[rng.normal(size=(6, 4)) for label in y],          # noise
    ... )
    >>> union = StreamUnion([
    ...     ("a", make_pipeline(AveragePooling(), RBFKernel())),
    ...     ("b", make_pipeline(AveragePooling(), RBFKernel())),
    ... ])
    >>> clf = make_pipeline(union, SVC(kernel="precomputed")).fit(X, y)
    >>> clf[0].weights_["a"] > clf[0].weights_["b"]
    True
    """

    _parameter_constraints: dict = {
        "streams": [list],
        "weights": [StrOptions({"cv", "alignment"}), list, tuple, np.ndarray, dict],
        "weight_step": [Interval(numbers.Real, 0, 1, closed="right")],
        "weight_estimator": [None, HasMethods(["fit", "predict"])],
        "cv": ["cv_object"],
    }

    def __init__(
        self, streams, *, weights="cv", weight_step=0.1, weight_estimator=None, cv=3
    ):
        self.streams = streams
        self.weights = weights
        self.weight_step = weight_step
        self.weight_estimator = weight_estimator
        self.cv = cv

    # Routing of <stream>__<param>, as FeatureUnion does it.
    def get_params(self, deep=True):
        return self._get_params("streams", deep=deep)

    def set_params(self, **params):
        self._set_params("streams", **params)
        return self

    def _check_streams(self):
        if not self.streams:
            raise ValueError("streams must name at least one (name, transformer) pair.")
        for item in self.streams:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(
                    f"Each stream must be a (name, transformer) pair, got {item!r}."
                )
            if not hasattr(item[1], "fit_transform") or not hasattr(item[1], "transform"):
                raise TypeError(
                    f"Stream {item[0]!r}: {type(item[1]).__name__} is not a transformer "
                    "(it needs fit_transform and transform)."
                )
        names = [name for name, _ in self.streams]
        self._validate_names(names)
        return names

    def _given_weights(self, names):
        if isinstance(self.weights, dict):
            unknown = set(self.weights) - set(names)
            missing = set(names) - set(self.weights)
            if unknown or missing:
                raise ValueError(
                    f"weights names streams {sorted(self.weights)}, but the streams are "
                    f"{names}."
                )
            w = np.array([self.weights[n] for n in names], dtype=np.float64)
        else:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.shape != (len(names),):
                raise ValueError(
                    f"weights has shape {w.shape}; it needs one weight per stream "
                    f"({len(names)}: {names})."
                )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(
                f"weights must be finite, non-negative and not all 0, got {w.tolist()}."
            )
        return w

    def _stream_input(self, X, name):
        if isinstance(X, Streams):
            if name not in X.names:
                raise ValueError(
                    f"X has no stream {name!r}; its streams are {list(X.names)}."
                )
            return X[name]
        if isinstance(X, dict):
            raise TypeError(
                "X is a dict; wrap the streams as skdsp.Streams(rgb=..., flow=...) so "
                "that cross-validation can split them by video."
            )
        return X

    def fit(self, X, y=None):
        """Fit every stream's transformer and settle the kernel weights.

        Parameters
        ----------
        X : Streams or collection of videos
            The training videos (see Notes).
        y : array-like of shape (n_videos,), default=None
            Labels, passed to every stream; choosing the weights needs them.

        Returns
        -------
        self : StreamUnion
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit, and return the weighted training Gram matrix.

        Parameters
        ----------
        X : Streams or collection of videos
        y : array-like of shape (n_videos,), default=None

        Returns
        -------
        K : ndarray of shape (n_videos, n_videos)
        """
        self._validate_params()
        names = self._check_streams()
        given = None if isinstance(self.weights, str) else self._given_weights(names)
        if given is None and y is None:
            raise ValueError(
                f"weights={self.weights!r} chooses the weights from the labels: pass y "
                "to fit (a Pipeline does), or give the weights."
            )
        fitted, kernels = [], []
        for name, transformer in self.streams:
            est = clone(transformer)
            K = np.asarray(est.fit_transform(self._stream_input(X, name), y))
            if K.ndim != 2 or K.shape[0] != K.shape[1]:
                raise ValueError(
                    f"Stream {name!r} returned an array of shape {K.shape} on its "
                    "training videos, not their Gram matrix (n_videos, n_videos); end "
                    "its pipeline with a kernel step such as SubspaceKernel or RBFKernel."
                )
            if kernels and K.shape != kernels[0].shape:
                raise ValueError(
                    f"Stream {name!r} returned a {K.shape} kernel but stream "
                    f"{names[0]!r} a {kernels[0].shape} one: do the streams hold the "
                    "same videos?"
                )
            fitted.append((name, est))
            kernels.append(K)
        self.weight_scores_ = None
        if given is None:
            y = check_labels(y, kernels[0].shape[0])
            if self.weights == "cv":
                w, self.weight_scores_ = cv_kernel_weights(
                    kernels, y, estimator=self.weight_estimator, cv=self.cv,
                    step=self.weight_step,
                )
            else:
                w, self.weight_scores_ = align_kernel_weights(
                    kernels, y, step=self.weight_step
                )
        else:
            w = given
        self.streams_ = fitted
        self.weights_ = {name: float(v) for name, v in zip(names, w)}
        self.n_train_videos_ = kernels[0].shape[0]
        return _weighted(kernels, w)

    def transform(self, X):
        """Weighted sum of the streams' kernels against the training videos.

        Parameters
        ----------
        X : Streams or collection of videos
            Videos with the streams seen in ``fit``.

        Returns
        -------
        K : ndarray of shape (n_videos, n_train_videos)
        """
        check_is_fitted(self, "streams_")
        K = 0.0
        for name, est in self.streams_:
            if self.weights_[name] == 0:
                continue
            K_s = np.asarray(est.transform(self._stream_input(X, name)))
            if K_s.ndim != 2 or K_s.shape[1] != self.n_train_videos_:
                raise ValueError(
                    f"Stream {name!r} returned shape {K_s.shape}; expected "
                    f"(n_videos, {self.n_train_videos_}), a kernel against the training "
                    "videos."
                )
            K = K + self.weights_[name] * K_s
        return K

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: one per training video.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str of shape (n_train_videos,)
        """
        check_is_fitted(self, "streams_")
        return np.asarray(
            [f"streamunion_train{i}" for i in range(self.n_train_videos_)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


class RBFKernel(TransformerMixin, BaseEstimator):
    """Gaussian kernel between vector descriptors and those of the training videos.

    The counterpart of :class:`~skdsp.SubspaceKernel` for poolings that give one vector
    per video (:class:`~skdsp.AveragePooling`, :class:`~skdsp.RankPooling`, ...), so
    that their streams can be fused by :class:`StreamUnion`:
    ``k(x, x') = exp(-gamma ||x - x'||^2)`` against the rows seen in ``fit``.
    After a :class:`~sklearn.preprocessing.StandardScaler` and with
    ``gamma="scale"``, it is the kernel of ``SVC(kernel="rbf")``.

    Parameters
    ----------
    gamma : "scale" or float, default="scale"
        Width; ``"scale"`` is ``1 / (n_features * X.var())`` on the training rows, as
        in :class:`~sklearn.svm.SVC`. The value used is ``gamma_``.

    Attributes
    ----------
    X_fit_ : ndarray of shape (n_train_videos, n_features)
        The training rows.
    gamma_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import RBFKernel
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> RBFKernel(gamma=1.0).fit(X[:2]).transform(X).round(3)
    array([[1.   , 0.368],
           [0.368, 1.   ],
           [0.018, 0.007]])
    """

    _parameter_constraints: dict = {
        "gamma": [StrOptions({"scale"}), Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, gamma="scale"):
        self.gamma = gamma

    def fit(self, X, y=None):
        """Keep the training rows and settle the width.

        Parameters
        ----------
        X : array-like of shape (n_train_videos, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : RBFKernel
        """
        self._validate_params()
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=True)
        self.X_fit_ = np.array(X, dtype=np.float64)
        if self.gamma == "scale":
            var = self.X_fit_.var()
            self.gamma_ = float(1.0 / (X.shape[1] * var)) if var > 0 else 1.0
        else:
            self.gamma_ = float(self.gamma)
        return self

    def transform(self, X):
        """Kernel against the training rows.

        Parameters
        ----------
        X : array-like of shape (n_videos, n_features)

        Returns
        -------
        K : ndarray of shape (n_videos, n_train_videos)
        """
        check_is_fitted(self, "X_fit_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return mean_rbf_kernel(np.asarray(X, dtype=np.float64), self.X_fit_, gamma=self.gamma_)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: one per training video.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str of shape (n_train_videos,)
        """
        check_is_fitted(self, "X_fit_")
        return np.asarray(
            [f"rbfkernel_train{i}" for i in range(self.X_fit_.shape[0])], dtype=object
        )
