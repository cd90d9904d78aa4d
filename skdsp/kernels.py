"""Kernels between videos represented by subspaces, for a precomputed-kernel SVM.

:class:`~skdsp.DiscriminativeSubspacePooling` describes a video by one orthonormal
basis ``U`` (``n_features x n_components``) per direction (forward and, optionally,
time-reversed). A subspace is a point on the Grassmann manifold; its basis is only
defined up to a rotation ``U -> U Q``. Every kernel here depends on ``U`` only through
the projection matrix ``U U^T``, and so is invariant to that rotation.

The functional layer (:func:`projection_kernel`, :func:`projection_distance`,
:func:`projection_rbf_kernel`, :func:`mean_rbf_kernel`) works on batches of bases as
NumPy arrays or torch tensors (on any device); :class:`SubspaceKernel` wraps it for
scikit-learn.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skdsp.descriptor import unpack_descriptors
from skdsp.utils.numerics import stable_mean, stable_std
from skdsp.utils.validation import check_labels

__all__ = [
    "projection_kernel",
    "projection_distance",
    "projection_rbf_kernel",
    "mean_rbf_kernel",
    "kernel_target_alignment",
    "SubspaceKernel",
]

#: Mixing weights tried by ``SubspaceKernel(mean_weight="auto")``.
MEAN_WEIGHT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))

# Pairs of bases are compared in row blocks of at most this many entries of U^T V.
_BLOCK_VALUES = 2**24
# Largest |U^T U - I| accepted from a descriptor row: float32 solves reach about 1e-6.
_ORTHONORMALITY_TOL = 1e-3


def _as_tensor(a):
    if isinstance(a, torch.Tensor):
        return a, False
    a = np.asarray(a)
    if any(step < 0 for step in a.strides):  # a reversed view: torch cannot wrap it
        a = a.copy()
    return torch.as_tensor(a), True


def _float_dtype(A, B):
    """The common dtype of two tensors, float64 when it is not a floating type."""
    dtype = torch.promote_types(A.dtype, B.dtype)
    return dtype if dtype.is_floating_point else torch.float64


def _bases(U, V, name_u="U", name_v="V"):
    """Bring bases to shape (n, n_directions, n_features, n_components) tensors."""
    U, numpy_out = _as_tensor(U)
    V = U if V is None else _as_tensor(V)[0]
    out = []
    for name, B in ((name_u, U), (name_v, V)):
        if B.ndim == 3:
            B = B.unsqueeze(1)
        if B.ndim != 4:
            raise ValueError(
                f"{name} must have shape (n, n_features, n_components) or "
                f"(n, n_directions, n_features, n_components), got {tuple(B.shape)}."
            )
        out.append(B)
    U, V = out
    if U.shape[1:] != V.shape[1:]:
        raise ValueError(
            f"{name_u} has bases of shape {tuple(U.shape[1:])} (n_directions, n_features, "
            f"n_components) but {name_v} has {tuple(V.shape[1:])}; they must match."
        )
    dtype = _float_dtype(U, V)
    return U.to(dtype), V.to(device=U.device, dtype=dtype), numpy_out


def _overlap(U, V):
    """sum over directions of ||U_k^T V_k||_F^2, shape (n_u, n_v), in row blocks."""
    n_u, n_dir, d, p = U.shape
    n_v = V.shape[0]
    # (n_dir, d, n_v * p): every V basis side by side, one matrix product per block.
    # A view when V is laid out by _side_by_side (training bases), a copy otherwise.
    Vm = V.permute(1, 2, 0, 3).reshape(n_dir, d, n_v * p)
    rows = max(1, _BLOCK_VALUES // max(1, n_dir * p * n_v * p))
    out = []
    for start in range(0, n_u, rows):
        Ub = U[start : start + rows]
        b = Ub.shape[0]
        Um = Ub.permute(1, 0, 3, 2).reshape(n_dir, b * p, d)
        M = (Um @ Vm).reshape(n_dir, b, p, n_v, p)
        out.append(M.square().sum(dim=(0, 2, 4)))
    return torch.cat(out, dim=0)


def _side_by_side(subspaces):
    """A float64 copy of bases whose memory :func:`_overlap` reads without copying.

    Shape (n, n_directions, n_features, n_components), as given; the memory is ordered
    (n_directions, n_features, n, n_components), so that each direction's
    ``(n_features, n * n_components)`` matrix of all bases side by side is a view. With
    many features per frame, that saves a copy of every training basis per kernel
    evaluation.
    """
    n, n_dir, d, p = subspaces.shape
    store = np.empty((n_dir, d, n, p), dtype=np.float64)
    store[...] = subspaces.transpose(1, 2, 0, 3)
    return store.transpose(2, 0, 1, 3)


def _check_orthonormal(subspaces):
    """Refuse descriptor rows whose bases are not orthonormal (the kernels assume it)."""
    U = np.asarray(subspaces, dtype=np.float64)
    p = U.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.abs(np.swapaxes(U, -1, -2) @ U - np.eye(p)).max(axis=(-1, -2))
    bad = np.argwhere(~(error <= _ORTHONORMALITY_TOL))  # NaN from inf * 0 counts too
    if bad.size:
        row, direction = bad[0]
        raise ValueError(
            f"X[{row}] holds a basis (direction {direction}) that is not orthonormal "
            f"(max |U^T U - I| = {error[row, direction]:.3g}); the rows must come "
            "unchanged from DiscriminativeSubspacePooling.transform."
        )


def _finish(K, numpy_out):
    return K.cpu().numpy() if numpy_out else K


def projection_kernel(U, V=None, *, normalize=False):
    """Projection kernel ``k(U, V) = sum over directions of ||U^T V||_F^2``.

    ``||U^T V||_F^2 = <U U^T, V V^T>_F`` is the Frobenius inner product of the
    projection matrices, so the kernel is the Gram matrix of an embedding of the
    Grassmann manifold in a Euclidean space: symmetric positive semi-definite, and
    invariant to ``U -> U Q`` for any orthogonal ``Q``. It equals the sum of the
    squared cosines of the principal angles between the subspaces.

    Parameters
    ----------
    U : ndarray or Tensor of shape (n_u, n_directions, n_features, n_components) or \
(n_u, n_features, n_components)
        Orthonormal bases.
    V : ndarray or Tensor of the same trailing shape as ``U``, default=None
        Second set of bases; ``U`` when None.
    normalize : bool, default=False
        Divide by ``n_directions * n_components``, so that values lie in ``[0, 1]``
        and ``k(U, U) = 1``.

    Returns
    -------
    K : ndarray or Tensor of shape (n_u, n_v)
        A NumPy array when ``U`` is one, a tensor on ``U``'s device otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.kernels import projection_kernel
    >>> e = np.eye(3)
    >>> U = np.stack([e[:, :2], e[:, 1:]])      # span(e0, e1) and span(e1, e2)
    >>> projection_kernel(U)
    array([[2., 1.],
           [1., 2.]])
    """
    U, V, numpy_out = _bases(U, V)
    K = _overlap(U, V)
    if normalize:
        K = K / (U.shape[1] * U.shape[3])
    return _finish(K, numpy_out)


def projection_distance(U, V=None, *, squared=False, normalize=False):
    """Projection distance between subspaces, summed over directions.

    ``d^2(U, V) = sum over directions of (p - ||U^T V||_F^2)
    = (1/2) sum over directions of ||U U^T - V V^T||_F^2``, the sum of the squared
    sines of the principal angles (``p = n_components``). It is half the squared
    Euclidean distance between the embedded projection matrices.

    Parameters
    ----------
    U : ndarray or Tensor of shape (n_u, n_directions, n_features, n_components) or \
(n_u, n_features, n_components)
        Orthonormal bases.
    V : ndarray or Tensor of the same trailing shape as ``U``, default=None
        Second set of bases; ``U`` when None.
    squared : bool, default=False
        Return ``d^2`` instead of ``d``.
    normalize : bool, default=False
        Divide ``d^2`` by ``n_directions * n_components``, so that it lies in
        ``[0, 1]``.

    Returns
    -------
    D : ndarray or Tensor of shape (n_u, n_v)

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.kernels import projection_distance
    >>> e = np.eye(3)
    >>> projection_distance(np.stack([e[:, :1], e[:, 1:2]]), squared=True)
    array([[0., 1.],
           [1., 0.]])
    """
    U, V, numpy_out = _bases(U, V)
    n_dir, p = U.shape[1], U.shape[3]
    # Rounding can push ||U^T V||^2 a hair above p.
    D2 = (n_dir * p - _overlap(U, V)).clamp_min(0.0)
    if normalize:
        D2 = D2 / (n_dir * p)
    return _finish(D2 if squared else D2.sqrt(), numpy_out)


def projection_rbf_kernel(U, V=None, *, gamma=1.0, normalize=False):
    """Gaussian kernel on the projection distance, ``exp(-gamma * d^2(U, V))``.

    ``d^2`` is (half) a squared Euclidean distance between embedded projection
    matrices (see :func:`projection_distance`), so by Schoenberg's theorem the kernel
    is positive definite for every ``gamma > 0``. (A Gaussian on the geodesic distance
    of the Grassmann manifold is not, in general.)

    Parameters
    ----------
    U, V : ndarray or Tensor
        Bases, as in :func:`projection_kernel`.
    gamma : float, default=1.0
        Width; larger is narrower.
    normalize : bool, default=False
        Use the normalised ``d^2`` (divided by ``n_directions * n_components``).

    Returns
    -------
    K : ndarray or Tensor of shape (n_u, n_v)
    """
    D2 = projection_distance(U, V, squared=True, normalize=normalize)
    return np.exp(-gamma * D2) if isinstance(D2, np.ndarray) else torch.exp(-gamma * D2)


def mean_rbf_kernel(A, B=None, *, gamma=1.0):
    """Gaussian kernel ``exp(-gamma ||a - b||^2)`` between rows (e.g. mean frames).

    Parameters
    ----------
    A : ndarray or Tensor of shape (n_a, n_features)
    B : ndarray or Tensor of shape (n_b, n_features), default=None
    gamma : float, default=1.0

    Returns
    -------
    K : ndarray or Tensor of shape (n_a, n_b)
    """
    A, numpy_out = _as_tensor(A)
    B = A if B is None else _as_tensor(B)[0].to(device=A.device)
    dtype = _float_dtype(A, B)
    A, B = A.to(dtype), B.to(dtype)
    D2 = torch.cdist(A, B).square()
    return _finish(torch.exp(-gamma * D2), numpy_out)


def kernel_target_alignment(K, y):
    """Centred alignment between a Gram matrix and the labels.

    ``A(K, y) = <K_c, Y_c>_F / (||K_c||_F ||Y_c||_F)`` with ``Y_ij = [y_i = y_j]`` and
    ``K_c = H K H``, ``H = I - 11^T / n`` (Cortes, Mohri and Rostamizadeh, 2012). It is
    1 when the kernel groups the videos exactly by class.

    Parameters
    ----------
    K : ndarray of shape (n_videos, n_videos)
    y : array-like of shape (n_videos,)

    Returns
    -------
    alignment : float in [-1, 1]
    """
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square Gram matrix, got shape {K.shape}.")
    y = check_labels(y, K.shape[0])
    Y = (y[:, None] == y[None, :]).astype(np.float64)

    def centre(M):
        return M - M.mean(axis=0) - M.mean(axis=1)[:, None] + M.mean()

    Kc, Yc = centre(K), centre(Y)
    denom = np.linalg.norm(Kc) * np.linalg.norm(Yc)
    return float((Kc * Yc).sum() / denom) if denom > 0 else 0.0


class SubspaceKernel(TransformerMixin, BaseEstimator):
    """Kernel between subspace descriptors and those of the training videos.

    Placed after :class:`~skdsp.DiscriminativeSubspacePooling` and before
    ``SVC(kernel="precomputed")``: ``fit`` keeps the training videos' subspaces (and
    mean frames), ``transform`` returns the kernel between the given videos and the
    training videos, shape ``(n_videos, n_train_videos)``. On the training videos
    themselves that is the Gram matrix the SVM is fitted on.

    With ``p = n_components`` and the sum over directions (forward, time-reversed):

    - ``"projection"``: ``k = sum ||U^T V||_F^2``, the Frobenius inner product of the
      projection matrices ``U U^T``, ``V V^T``; positive semi-definite as a Gram matrix.
    - ``"projection_rbf"``: ``k = exp(-gamma d^2)``, ``d^2 = sum (p - ||U^T V||_F^2)
      = (1/2) sum ||U U^T - V V^T||_F^2``; positive definite by Schoenberg's theorem,
      since ``d^2`` is a squared Euclidean distance between embedded projection
      matrices.

    Both depend on a basis only through ``U U^T``: rotating a basis, ``U -> U Q`` with
    ``Q`` orthogonal, changes nothing.

    With ``mean_weight = a > 0``, the kernel is ``(1 - a) k_subspace + a k_mean``,
    with ``k_mean = exp(-mean_gamma ||m - m'||^2)`` on the videos' mean frames
    (descriptors made with ``include_mean=True``), each feature of the means
    standardised with the training means' statistics: ``k_mean`` is then the kernel an
    RBF SVM uses on standardised average pooling. A convex combination of positive
    (semi-)definite kernels is one too. ``mean_weight="auto"`` picks ``a`` on the
    training videos from ``0, 0.1, ..., 1`` by
    :func:`~skdsp.kernels.kernel_target_alignment` with
    the labels passed to ``fit``: the subspace kernel keeps the weight that the data
    give it, and average pooling takes over where the subspaces carry nothing.

    Parameters
    ----------
    kernel : {"projection_rbf", "projection"}, default="projection_rbf"
        The kernel on subspaces.
    gamma : float, default=None
        Width of ``"projection_rbf"``. None: ``1 / mean(d^2)`` over pairs of distinct
        training videos (1 if they all coincide), so that a typical pair has kernel
        value ``exp(-1)``; stored in ``gamma_``.
    mean_weight : float in [0, 1] or "auto", default="auto"
        Weight of the kernel on mean frames; ``"auto"`` chooses it by kernel-target
        alignment (needs ``y`` in ``fit``), and is 0 when the descriptors carry no
        means. The weight used is ``mean_weight_``. The default was chosen by
        cross-validation on the training splits of the shipped data sets (see the
        user guide's results page); the published method is ``mean_weight=0``.
    mean_gamma : float, default=None
        Width of the kernel on standardised mean frames. None: ``1 / n_features`` (as
        scikit-learn's ``gamma="scale"`` on standardised data); stored in
        ``mean_gamma_``.
    normalize : bool, default=True
        Divide ``||U^T V||_F^2`` and ``d^2`` by ``n_directions * n_components``, so the
        projection kernel lies in ``[0, 1]`` with ones on its diagonal, and ``d^2`` in
        ``[0, 1]``: an explicit ``gamma`` (or an SVM's ``C``) then means the same for
        any ``n_components``, which a grid search over it needs.

    Attributes
    ----------
    subspaces_ : ndarray of shape (n_train_videos, n_directions, n_features, n_components)
        Training subspaces.
    means_ : ndarray of shape (n_train_videos, n_features) or None
        Standardised training mean frames (kept only when the mean kernel is used).
    mean_center_, mean_scale_ : ndarray of shape (n_features,) or None
        Statistics that standardise the mean frames.
    mean_weight_ : float
        The weight of the mean kernel in use.
    alignments_ : dict of float to float or None
        With ``mean_weight="auto"``: the alignment of each weight tried.
    gamma_ : float or None
        The width used by ``"projection_rbf"``.
    mean_gamma_ : float or None
        The width used on mean frames, when ``mean_weight > 0``.
    n_features_in_ : int
        Columns of the descriptor rows seen in ``fit``.

    See Also
    --------
    projection_kernel, projection_distance, projection_rbf_kernel : the functions.

    References
    ----------
    J. Hamm and D. D. Lee, "Grassmann discriminant analysis: a unifying view on
    subspace-based learning", ICML 2008; S. Jayasumana, R. Hartley, M. Salzmann, H. Li
    and M. Harandi, "Kernel methods on Riemannian manifolds with Gaussian RBF kernels",
    IEEE TPAMI 37(12), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import SubspaceKernel
    >>> from skdsp.descriptor import pack_descriptors
    >>> rng = np.random.default_rng(0)
    >>> bases = np.linalg.qr(rng.normal(size=(6, 1, 5, 2)))[0]   # 6 videos, p = 2
    >>> X = pack_descriptors(bases)
    >>> K = SubspaceKernel().fit(X[:4]).transform(X)
    >>> K.shape, bool(np.allclose(np.diag(K[:4]), 1.0))
    ((6, 4), True)
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"projection_rbf", "projection"})],
        "gamma": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "mean_weight": [Interval(numbers.Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "mean_gamma": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "normalize": ["boolean"],
    }

    def __init__(
        self,
        kernel="projection_rbf",
        *,
        gamma=None,
        mean_weight="auto",
        mean_gamma=None,
        normalize=True,
    ):
        self.kernel = kernel
        self.gamma = gamma
        self.mean_weight = mean_weight
        self.mean_gamma = mean_gamma
        self.normalize = normalize

    def _unpack(self, X, *, reset):
        X = check_array(X, dtype=(np.float64, np.float32))
        desc = unpack_descriptors(X)
        _check_orthonormal(desc.subspaces)
        if not reset:
            fitted = self.subspaces_.shape[1:]
            if desc.subspaces.shape[1:] != fitted:
                raise ValueError(
                    "X holds subspaces of shape (n_directions, n_features, "
                    f"n_components) = {desc.subspaces.shape[1:]}, but those seen in fit "
                    f"have {fitted}; transform needs descriptors made like the "
                    "training ones."
                )
        if self.mean_weight not in (0, "auto") and desc.mean is None:
            raise ValueError(
                f"mean_weight={self.mean_weight!r} needs the videos' mean frames, but the "
                "descriptors carry none; make them with "
                "DiscriminativeSubspacePooling(include_mean=True), or set mean_weight=0."
            )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return desc

    def fit(self, X, y=None):
        """Keep the training subspaces and settle the kernel widths and weights.

        Parameters
        ----------
        X : array-like of shape (n_train_videos, n_descriptor_columns)
            Rows of :meth:`DiscriminativeSubspacePooling.transform`.
        y : array-like of shape (n_train_videos,), default=None
            Labels; needed only by ``mean_weight="auto"``.

        Returns
        -------
        self : object
        """
        self._validate_params()
        desc = self._unpack(X, reset=True)
        self.subspaces_ = _side_by_side(desc.subspaces)
        self.gamma_ = None
        if self.kernel == "projection_rbf":
            if self.gamma is not None:
                self.gamma_ = float(self.gamma)
            else:
                D2 = projection_distance(self.subspaces_, squared=True, normalize=self.normalize)
                n = D2.shape[0]
                mean = D2.sum() / (n * (n - 1)) if n > 1 else 0.0
                self.gamma_ = float(1.0 / mean) if mean > 1e-12 else 1.0
        self.means_ = self.mean_center_ = self.mean_scale_ = self.mean_gamma_ = None
        self.alignments_ = None
        self.mean_weight_ = 0.0 if self.mean_weight == "auto" else float(self.mean_weight)
        if self.mean_weight != 0 and desc.mean is not None:
            means = np.array(desc.mean, dtype=np.float64)
            self.mean_center_ = stable_mean(means)
            std = stable_std(means)
            self.mean_scale_ = np.where(std > 1e-12, std, 1.0)
            self.means_ = (means - self.mean_center_) / self.mean_scale_
            self.mean_gamma_ = (
                float(self.mean_gamma) if self.mean_gamma is not None
                else 1.0 / self.means_.shape[1]
            )
        if self.mean_weight == "auto" and desc.mean is not None:
            if y is None:
                raise ValueError(
                    'mean_weight="auto" chooses the weight from the labels: pass y to '
                    "fit (a Pipeline does), or give a number."
                )
            y = check_labels(y, self.subspaces_.shape[0])
            K_sub = self._subspace_kernel(self.subspaces_)
            K_mean = mean_rbf_kernel(self.means_, gamma=self.mean_gamma_)
            self.alignments_ = {
                float(a): kernel_target_alignment((1 - a) * K_sub + a * K_mean, y)
                for a in MEAN_WEIGHT_GRID
            }
            # Ties go to the smaller weight: the subspace kernel is the method.
            self.mean_weight_ = max(self.alignments_, key=lambda a: (self.alignments_[a], -a))
        return self

    def _subspace_kernel(self, U):
        if self.kernel == "projection":
            return projection_kernel(U, self.subspaces_, normalize=self.normalize)
        return projection_rbf_kernel(U, self.subspaces_, gamma=self.gamma_, normalize=self.normalize)

    def transform(self, X):
        """Kernel between the given videos and the training videos.

        Parameters
        ----------
        X : array-like of shape (n_videos, n_descriptor_columns)
            Rows of :meth:`DiscriminativeSubspacePooling.transform`, made like the
            training rows.

        Returns
        -------
        K : ndarray of shape (n_videos, n_train_videos)
        """
        check_is_fitted(self, "subspaces_")
        desc = self._unpack(X, reset=False)
        K = self._subspace_kernel(np.asarray(desc.subspaces, dtype=np.float64))
        if self.mean_weight_ > 0:
            means = (np.asarray(desc.mean, dtype=np.float64) - self.mean_center_) / self.mean_scale_
            K_mean = mean_rbf_kernel(means, self.means_, gamma=self.mean_gamma_)
            K = (1.0 - self.mean_weight_) * K + self.mean_weight_ * K_mean
        return K

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: one per training video.

        Parameters
        ----------
        input_features : None
            Ignored; the columns are training videos, not input features.

        Returns
        -------
        names : ndarray of str of shape (n_train_videos,)
        """
        check_is_fitted(self, "subspaces_")
        return np.asarray(
            [f"subspacekernel_train{i}" for i in range(self.subspaces_.shape[0])],
            dtype=object,
        )
