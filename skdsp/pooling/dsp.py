"""Discriminative subspace pooling as a scikit-learn transformer."""

from __future__ import annotations

import itertools
import numbers

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skdsp.bags import check_bags
from skdsp.descriptor import descriptor_feature_names, pack_descriptors
from skdsp.pooling.solve import (
    check_negative_range,
    resolve_dtype,
    solve_validated,
    warn_deficient,
)
from skdsp.utils.device import resolve_device
from skdsp.utils.numerics import l2_normalize
from skdsp.utils.random import video_seeds

__all__ = ["DiscriminativeSubspacePooling"]


def _solve_chunk(videos, negatives, seeds, reverse, settings):
    """Solve one chunk in a worker: one torch thread, so that workers do not compete."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return solve_validated(videos, negatives, seeds=seeds, reverse=reverse, **settings)
    finally:
        torch.set_num_threads(threads)


class DiscriminativeSubspacePooling(TransformerMixin, BaseEstimator):
    """Pool each video into the subspace that separates its frames from negatives.

    For every video, ``n_components`` orthonormal hyperplanes (a point on the Stiefel
    manifold) are learned that put the video's L2-normalised frames on their positive
    side and its negatives on the negative side, while the frames' energy in the
    subspace grows over time (see :func:`~skdsp.pooling.dsp_objective`). The subspace
    is the video's descriptor; with ``bidirectional=True`` a second one is learned for
    the time-reversed video. Each row of the output holds a video's subspaces in the
    layout of :mod:`skdsp.descriptor`, which :class:`~skdsp.SubspaceKernel` reads back.

    Parameters
    ----------
    n_components : int, default=3
        Hyperplanes per subspace, ``p``.
    eta : float, default=1e-3
        Margin of the temporal order constraints.
    order_weight : float, default=0.5
        Weight of the temporal term, ``min(C, lambda / 2)`` of the published objective
        (0.5 for its ``C = lambda = 1``).
    margin : float, default=1.0
        Margin of the bag hinge (1 in the published objective).
    reduction : {"sum", "mean"}, default="sum"
        ``"sum"`` is the published objective; ``"mean"`` averages each term over its
        samples and pairs.
    bidirectional : bool, default=True
        Also learn a subspace for the time-reversed video.
    negatives : {"random"}, default="random"
        Negatives of plain videos: as many unit-norm Gaussian noise vectors as the
        video has frames, drawn from ``random_state``. A :class:`~skdsp.Bags` input
        brings its own negatives, which are used instead.
    include_mean : bool, default=True
        Also put the mean of each video's L2-normalised frames in its row, for
        :class:`~skdsp.SubspaceKernel` to weigh beside the subspaces. A subspace of
        unit-norm frames is a sign-free second-order statistic that drops the mean;
        on the shipped data sets, cross-validated on their training splits, adding it
        back was the largest gain over the published method (the user guide's results
        page has the measurements). The published method is ``include_mean=False``.
    max_iter : int, default=100
        Riemannian conjugate gradient iterations per video.
    n_init : int, default=2
        Starting points per video and direction, each a sign pattern of the PCA
        subspace's directions: the one of lowest bag term, then the same with the
        dominant direction reversed, and so on; each runs a few iterations and every
        video continues from its best one. See :func:`~skdsp.pooling.solve_dsp`.
    solver : {"batched", "pymanopt"}, default="batched"
        See :func:`~skdsp.pooling.solve_dsp`.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where to solve; ``"auto"`` picks CUDA when available. Resolved in ``fit``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the solver.
    batch_size : int, default=1024
        Problems (a video in one direction from one of its starts) solved together,
        so ``batch_size // (2 n_init)`` videos at a time when bidirectional; bounds
        memory. A video's directions and starts share its data.
    n_jobs : int, default=None
        Parallel joblib jobs over chunks of videos on the CPU (each with one torch
        thread); ``None`` means one unless a :func:`joblib.parallel_config` context says
        otherwise (for instance the ``"dask"`` backend). Ignored on a CUDA device, where
        all work stays in this process.
    random_state : int, RandomState instance or None, default=None
        Seeds the random negatives and the completion of starting subspaces of videos
        with fewer than ``n_components`` independent frames, per video, together with
        the video's content (see :func:`skdsp.utils.video_seeds`): an int gives
        a video the same output on every call, whatever else is in the call.
    verbose : int, default=0
        Show a progress bar over chunks of videos when positive.

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in ``fit``.
    device_ : str
        The device solves run on.

    See Also
    --------
    skdsp.pooling.solve_dsp : The functional form, which also reports diagnostics.
    skdsp.SubspaceKernel : Kernels between the subspaces this returns.

    Notes
    -----
    ``fit`` learns nothing from the data beyond its number of features: each video's
    descriptor is computed from that video alone in ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import DiscriminativeSubspacePooling
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(size=(int(n), 16)) for n in (10, 14, 12)]
    >>> dsp = DiscriminativeSubspacePooling(n_components=2, max_iter=20,
    ...                                     device="cpu", random_state=0)
    >>> X = dsp.fit_transform(videos)
    >>> X.shape  # 4 header + 16 mean + 2 directions * 16 features * 2 components
    (3, 84)
    >>> from skdsp.descriptor import unpack_descriptors
    >>> U = unpack_descriptors(X).subspaces
    >>> U.shape
    (3, 2, 16, 2)
    >>> bool(np.allclose(U[0, 0].T @ U[0, 0], np.eye(2), atol=1e-5))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "eta": [Interval(numbers.Real, 0, None, closed="left")],
        "order_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "reduction": [StrOptions({"sum", "mean"})],
        "bidirectional": ["boolean"],
        "negatives": [StrOptions({"random"})],
        "include_mean": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "solver": [StrOptions({"batched", "pymanopt"})],
        "device": [str, torch.device],
        "dtype": [StrOptions({"float32", "float64"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=3,
        *,
        eta=1e-3,
        order_weight=0.5,
        margin=1.0,
        reduction="sum",
        bidirectional=True,
        negatives="random",
        include_mean=True,
        max_iter=100,
        n_init=2,
        solver="batched",
        device="auto",
        dtype="float32",
        batch_size=1024,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.eta = eta
        self.order_weight = order_weight
        self.margin = margin
        self.reduction = reduction
        self.bidirectional = bidirectional
        self.negatives = negatives
        self.include_mean = include_mean
        self.max_iter = max_iter
        self.n_init = n_init
        self.solver = solver
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Validate the videos, record their number of features and resolve the device.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), ndarray of shape \
(n_videos, n_frames, n_features), or Bags
            Videos, time first, or positive and negative bags.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        positive, _ = check_bags(X)
        d = positive[0].shape[1]
        if self.n_components > d:
            raise ValueError(
                f"n_components={self.n_components} exceeds the {d} features of the "
                "videos: a subspace of R^d has at most d orthonormal directions."
            )
        self.n_features_in_ = d
        self.device_ = str(resolve_device(self.device))
        return self

    def transform(self, X):
        """Learn the subspace(s) of each video.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), ndarray of shape \
(n_videos, n_frames, n_features), or Bags
            Videos, time first, with the number of features seen in ``fit``.

        Returns
        -------
        X_out : ndarray of shape (n_videos, 4 + n_directions * n_features * n_components)
            One row per video (plus ``n_features`` mean columns with
            ``include_mean=True``), laid out as :func:`skdsp.descriptor.pack_descriptors`
            describes; ``n_directions`` is 2 when ``bidirectional``, else 1.
        """
        check_is_fitted(self, ["n_features_in_", "device_"])
        positive, negative = check_bags(X, n_features=self.n_features_in_)
        # Normalised here, in the input's dtype and safely for any magnitude, so that
        # frames beyond the range of the solver's dtype (1e300 in float32) survive the
        # cast to it; the solver's own normalisation is then a no-op.
        positive = [l2_normalize(v) for v in positive]
        subspaces = self._solve(positive, negative)
        mean = np.stack([v.mean(axis=0) for v in positive]) if self.include_mean else None
        return pack_descriptors(subspaces, mean=mean)

    def _random_negatives(self, positive, seeds):
        return [
            l2_normalize(np.random.default_rng(seed).standard_normal(video.shape)).astype(
                video.dtype, copy=False
            )
            for video, seed in zip(positive, seeds)
        ]

    def _solve(self, positive, negative):
        n_videos = len(positive)
        # Two streams per video (its negatives, its starting point), seeded by the
        # video itself so that its subspace does not depend on the rest of the call.
        neg_seeds, init_seeds = video_seeds(self.random_state, positive, n_seeds=2).T
        if negative is None:
            negative = self._random_negatives(positive, neg_seeds)
        else:
            check_negative_range(positive, negative, resolve_dtype(self.dtype), "X.negative")
        n_dir = 2 if self.bidirectional else 1
        # Both directions of a video are solved together, sharing its data.
        reverse = np.tile(np.arange(n_dir) == 1, (n_videos, 1))
        device = torch.device(self.device_)
        settings = {
            "n_components": self.n_components,
            "eta": self.eta,
            "order_weight": self.order_weight,
            "margin": self.margin,
            "reduction": self.reduction,
            "max_iter": self.max_iter,
            "n_init": self.n_init,
            "tol": 1e-6,
            "solver": self.solver,
            "device": device,
            "dtype": resolve_dtype(self.dtype),
            "batch_size": self.batch_size,
        }
        n_jobs = 1 if device.type == "cuda" else effective_n_jobs(self.n_jobs)
        if n_jobs == 1 or n_videos == 1:
            result, deficient = solve_validated(
                positive, negative, seeds=init_seeds, reverse=reverse,
                verbose=self.verbose, **settings,
            )
            subspaces = result.subspaces
        else:
            n_chunks = min(n_videos, max(n_jobs, -(-n_videos // self.batch_size)))
            bounds = np.linspace(0, n_videos, n_chunks + 1).astype(int)
            parts = Parallel(n_jobs=self.n_jobs, return_as="generator")(
                delayed(_solve_chunk)(
                    positive[a:b], negative[a:b], init_seeds[a:b], reverse[a:b], settings
                )
                for a, b in itertools.pairwise(bounds)
            )
            if self.verbose:
                from tqdm.auto import tqdm

                parts = tqdm(parts, total=n_chunks, desc="DSP", unit="chunk")
            parts = list(parts)
            subspaces = np.concatenate([r.subspaces for r, _ in parts])
            deficient = np.concatenate([dfc for _, dfc in parts])
        if deficient.any():
            warn_deficient(np.flatnonzero(deficient), self.n_components)
        finite = np.isfinite(subspaces).all(axis=(2, 3))  # (n_videos, n_dir)
        if not finite.all():
            # Never hand on a silent NaN: on valid input this is a solver failure.
            video, direction = np.argwhere(~finite)[0]
            raise RuntimeError(
                f"The solver returned a non-finite subspace for X[{video}] "
                f"({('forward', 'backward')[direction]} direction, "
                f"{positive[video].shape[0]} frame(s)); this is a bug in skdsp, please "
                "report it with the video."
            )
        return np.ascontiguousarray(subspaces, dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : None
            Ignored; the columns are named after their role and indices.

        Returns
        -------
        names : ndarray of str of shape (n_columns,)
        """
        check_is_fitted(self, "n_features_in_")
        return descriptor_feature_names(
            2 if self.bidirectional else 1,
            self.n_features_in_,
            self.n_components,
            self.include_mean,
            prefix="discriminativesubspacepooling",
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags
