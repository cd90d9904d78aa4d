"""The discriminative subspace pooling (DSP) objective, single-video and batched.

The objective of one video depends on the features only through their projections
``U^T S^T`` onto the subspace. :class:`DSPBatch` therefore splits the work into passes
over the features (``V^T S^T`` and ``G^T S``, the only operations that read them) and
cheap maths on the ``(p, n_rows)`` projections (cost and its gradient with respect to
them). The batched Riemannian conjugate gradient uses that split to evaluate many step
sizes of a line search without reading the features again; :func:`dsp_objective` is the
same code on a batch of one.

Projections are kept as ``(p, n_rows)`` (transposed): the reductions over the ``p``
hyperplanes then run over a leading axis, which is many times faster on the CPU than
reducing a trailing axis of length 3, and ``V^T S^T`` reads ``S`` in its stored order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from skdsp.pooling.temporal import order_term

__all__ = ["DSPBatch", "dsp_objective", "make_batch"]

_REDUCTIONS = ("sum", "mean")


@dataclass
class DSPBatch:
    """A padded batch of DSP problems (one per video), on one device and dtype.

    Rows ``0 .. n_max - 1`` of ``S`` hold the frames in temporal order (zero-padded at
    the end), rows ``n_max ..`` the negatives (zero-padded). Padded rows have label 0.

    Several problems may share a video's data (its directions, its starting points):
    with ``copies > 1``, problem ``i`` reads row ``i // copies`` of ``S`` (and of the
    Gram matrix), and the products with the data run one copy at a time, so that each
    problem's arithmetic is that of a batch of its own (see :meth:`repeat`).

    Attributes
    ----------
    S : Tensor of shape (n_problems // copies, n_max + m_max, n_features)
        Frames, then negatives.
    labels : Tensor of shape (n_problems, n_max + m_max)
        +1 for a real frame, -1 for a real negative, 0 for padding.
    n_frames : Tensor of shape (n_problems,), int64
        Frames per video.
    n_max : int
        Padded number of frames.
    order_sign : Tensor of shape (n_problems,)
        +1 for the forward temporal order, -1 for the time-reversed one.
    bag_weight, order_weight : Tensor of shape (n_problems,)
        Weights of the bag term and of the temporal term (``reduction`` folded in).
    eta, margin : float
    representation : {"auto", "features", "span"}, default="auto"
        How the solver holds its vectors (see :meth:`initial_state`); "auto" takes
        "span" when ``p + n_rows < n_features``.
    copies : int, default=1
        Consecutive problems that share each row of ``S``.
    """

    S: torch.Tensor
    labels: torch.Tensor
    n_frames: torch.Tensor
    n_max: int
    order_sign: torch.Tensor
    bag_weight: torch.Tensor
    order_weight: torch.Tensor
    eta: float
    margin: float
    representation: str = "auto"
    copies: int = 1
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        dt = self.S.dtype
        y = self.labels.to(dt)
        n_padded_rows = (y == 0).sum(dim=-1).to(dt)
        padding = torch.arange(self.n_max, device=self.S.device) >= self.n_frames[:, None]
        self._cache.update(
            y=y,
            pad_hinge=max(self.margin, 0.0) * n_padded_rows,
            order_sign=self.order_sign[:, None],
            bag_weight=self.bag_weight,
            order_weight=self.order_weight,
            # None when no video is padded: the temporal term then skips masking.
            padding=padding if bool(padding.any()) else None,
        )
        # The same, shaped for a candidate axis (the line search's calls).
        for name in ("pad_hinge", "order_sign", "bag_weight", "order_weight", "padding"):
            value = self._cache[name]
            self._cache[name + "_k"] = None if value is None else value[:, None]

    @property
    def n_videos(self):
        """Problems in the batch (videos, each in one direction from one start)."""
        return self.labels.shape[0]

    def take(self, index):
        """The sub-batch of the problems at ``index`` (a 1-D index tensor).

        Rows keep their layout (the solver carries projections of every row across the
        call), so a sub-batch is padded like the batch it came from. It holds its own
        copy of the data it needs (``copies=1``).
        """
        rows = index // self.copies
        sub = DSPBatch(
            S=self.S[rows],
            labels=self.labels[index],
            n_frames=self.n_frames[index],
            n_max=self.n_max,
            order_sign=self.order_sign[index],
            bag_weight=self.bag_weight[index],
            order_weight=self.order_weight[index],
            eta=self.eta,
            margin=self.margin,
            representation=self.representation,
        )
        # Derived data and the solver's representation follow the videos.
        if "gram" in self._cache:
            sub._cache["gram"] = self._cache["gram"][rows]
        for name in ("basis", "metric"):
            if name in self._cache:
                sub._cache[name] = self._cache[name][index]
        for name in ("span", "width"):
            if name in self._cache:
                sub._cache[name] = self._cache[name]
        return sub

    def repeat(self, copies, order_sign):
        """Each problem ``copies`` times over, sharing its data (no copy of ``S``).

        Parameters
        ----------
        copies : int
        order_sign : Tensor of shape (n_problems * copies,)
            The direction of every new problem.

        Returns
        -------
        batch : DSPBatch
            Problem ``i`` of this batch becomes problems ``i * copies`` to
            ``(i + 1) * copies - 1``.
        """
        if self.copies != 1 or "span" in self._cache:
            raise ValueError("only a batch of one problem per video, before solving, repeats.")
        sub = DSPBatch(
            S=self.S,
            labels=self.labels.repeat_interleave(copies, dim=0),
            n_frames=self.n_frames.repeat_interleave(copies, dim=0),
            n_max=self.n_max,
            order_sign=order_sign,
            bag_weight=self.bag_weight.repeat_interleave(copies, dim=0),
            order_weight=self.order_weight.repeat_interleave(copies, dim=0),
            eta=self.eta,
            margin=self.margin,
            representation=self.representation,
            copies=copies,
        )
        if self._gram_path():
            sub._cache["gram"] = self._gram()  # once per video, kept for later repeats
        return sub

    def _gram_path(self):
        """Whether the solver works from the Gram matrix (fewer rows than features)."""
        return self.S.shape[1] < self.S.shape[2]

    def _times_data(self, A, M):
        """``A[i] @ M[i // copies]`` for every problem ``i``.

        One product per copy, each over all videos: every problem's product then has
        the shapes it has in a batch without copies, and so its rounding.
        """
        if self.copies == 1:
            return A @ M
        parts = A.unflatten(0, (M.shape[0], self.copies))
        return torch.stack([parts[:, j] @ M for j in range(self.copies)], dim=1).flatten(0, 1)

    # -- passes over the features -------------------------------------------------
    def project(self, VT):
        """Projections ``V^T S^T`` of every row.

        Parameters
        ----------
        VT : Tensor of shape (n_videos, p, n_features)
            Transposed directions ``V^T``.

        Returns
        -------
        PT : Tensor of shape (n_videos, p, n_rows)
        """
        return self._times_data(VT, self.S.transpose(-1, -2))

    def backproject(self, GT):
        """``G^T S``: the transposed Euclidean gradient from one on the projections.

        Parameters
        ----------
        GT : Tensor of shape (n_videos, p, n_rows)

        Returns
        -------
        egrad_T : Tensor of shape (n_videos, p, n_features)
        """
        return self._times_data(GT, self.S)

    def project_egrad(self, GT, ET):
        """Projections ``E S^T`` of the Euclidean gradient ``E^T = G^T S``.

        From the Gram matrix ``S S^T`` (computed once per batch) when it is smaller
        than the data (fewer rows than features): ``G^T (S S^T)``; otherwise
        ``project(ET)``.

        Parameters
        ----------
        GT : Tensor of shape (n_videos, p, n_rows)
        ET : Tensor of shape (n_videos, p, n_features)
            ``backproject(GT)``.

        Returns
        -------
        PE : Tensor of shape (n_videos, p, n_rows)
        """
        if not self._gram_path():
            return self.project(ET)
        return self._times_data(GT, self._gram())

    # -- the solver's representation of its vectors ---------------------------------
    # The batched conjugate gradient keeps every vector X on the d side (point,
    # direction, gradient; transposed, (p, d)) as a *state*: coordinates followed by
    # what inner products and the cost need, so that linear updates keep all of it in
    # step without passes over the data. Two representations:
    #
    # "features": state = [X | X S^T]; inner products on the first d columns.
    # "span": when p + n_rows < d, every iterate stays in the span of the starting
    #   point's rows and the data rows, R = [W0; S] (m = p + n_rows rows). The state
    #   is [c | c M] for X = c R, with the metric M = R R^T; inner products are
    #   <X, Y> = sum(c_X * (c_Y M)), and the projections X S^T are the last n_rows
    #   columns of c M. The data are then read only to build M (once) and the final
    #   point: each iteration works on m instead of d columns.

    def _width(self):
        return self._cache["width"]

    def initial_state(self, WT):
        """Solver state of the starting points, shape (n_videos, p, width).

        Parameters
        ----------
        WT : Tensor of shape (n_videos, p, n_features)
            Transposed starting points; in the "span" representation they become the
            first rows of the basis.
        """
        n_videos, p, d = WT.shape
        n_rows = self.S.shape[1]
        P0 = self.project(WT)
        span = self.representation == "span" or (
            self.representation == "auto" and p + n_rows < d
        )
        if not span:
            self._cache.update(span=False, width=d)
            return torch.cat([WT, P0], dim=-1)
        top = torch.cat([WT @ WT.transpose(-1, -2), P0], dim=-1)
        gram = self._gram().repeat_interleave(self.copies, dim=0)
        bottom = torch.cat([P0.transpose(-1, -2), gram], dim=-1)
        metric = torch.cat([top, bottom], dim=-2)  # (n_videos, m, m)
        m = p + n_rows
        self._cache.update(span=True, width=m, basis=WT, metric=metric)
        coords = torch.zeros((n_videos, p, m), dtype=WT.dtype, device=WT.device)
        coords[:, :, :p] = torch.eye(p, dtype=WT.dtype, device=WT.device)
        return torch.cat([coords, metric[:, :p]], dim=-1)

    def primal(self, state):
        """Coordinates of the vectors in a state (left side of inner products)."""
        return state[..., : self._width()]

    def dual(self, state):
        """Right side of inner products: ``<X, Y> = sum(primal(X) * dual(Y))``."""
        w = self._width()
        return state[..., w:] if self._cache["span"] else state[..., :w]

    def projections(self, state):
        """The projections ``X S^T`` held in a state, shape (n_videos, p, n_rows)."""
        return state[..., -self.S.shape[1] :]

    def gradient_state(self, GT):
        """State of the Euclidean gradient ``G^T S`` given ``GT`` on the projections."""
        if not self._cache["span"]:
            ET = self.backproject(GT)
            return torch.cat([ET, self.project_egrad(GT, ET)], dim=-1)
        p = GT.shape[1]
        zeros = GT.new_zeros((GT.shape[0], p, p))
        return torch.cat([zeros, GT, GT @ self._cache["metric"][:, p:]], dim=-1)

    def refresh_state(self, state):
        """Recompute a state's derived columns from its coordinates (no drift)."""
        X = self.primal(state)
        if not self._cache["span"]:
            return torch.cat([X, self.project(X)], dim=-1)
        return torch.cat([X, X @ self._cache["metric"]], dim=-1)

    def point(self, state):
        """The transposed vectors ``X`` (n_videos, p, n_features) of a state."""
        X = self.primal(state)
        if not self._cache["span"]:
            return X
        p = X.shape[1]
        return X[..., :p] @ self._cache["basis"] + self._times_data(X[..., p:], self.S)

    def _gram(self):
        gram = self._cache.get("gram")
        if gram is None:
            gram = self._cache["gram"] = self.S @ self.S.transpose(-1, -2)
        return gram

    # -- maths on the projections -------------------------------------------------
    def cost(self, PT, index=None):
        """Objective of each video from its projections.

        Parameters
        ----------
        PT : Tensor of shape (n_videos, [n_candidates,] p, n_rows)
            Projections ``U^T S^T`` (optionally for several candidate points per video).
        index : Tensor of shape (n_selected,), default=None
            When given, ``PT`` holds the projections of these videos only.

        Returns
        -------
        cost : Tensor of shape (n_videos, [n_candidates])
        """
        return self.evaluate(PT, index=index)[0]

    def cost_and_grad(self, PT):
        """Objective and its (sub)gradient with respect to the projections.

        Parameters
        ----------
        PT : Tensor of shape (n_videos, p, n_rows)

        Returns
        -------
        cost : Tensor of shape (n_videos,)
        grad : Tensor of shape (n_videos, p, n_rows)
            The Euclidean gradient with respect to ``U`` is ``backproject(grad)^T``.
        """
        cost, parts = self.evaluate(PT, need_grad=True)
        return cost, self.gradient(PT, parts)

    def evaluate(self, PT, *, index=None, need_grad=False):
        """Objective of one or more points per video, and what its gradient needs.

        Parameters
        ----------
        PT : Tensor of shape (n_videos, [n_candidates,] p, n_rows)
            Projections ``U^T S^T``.
        index : Tensor of shape (n_selected,), default=None
            When given, ``PT`` holds the projections of these videos only.
        need_grad : bool, default=False

        Returns
        -------
        cost : Tensor of shape (n_videos, [n_candidates])
        parts : tuple of Tensor or None
            With ``need_grad``, the pieces :meth:`gradient` assembles the gradient
            from, each with the leading shape of ``cost`` (so that a caller can pick
            one candidate per video before paying for a gradient).
        """
        c = self._cache
        names = ("pad_hinge", "order_sign", "bag_weight", "order_weight", "padding")
        if PT.ndim == 4:  # a candidate axis after the video axis
            names = tuple(name + "_k" for name in names)
        meta = tuple(c[name] for name in names)
        if index is not None:
            meta = tuple(None if a is None else a[index] for a in meta)
        pad_hinge, order_sign, bag_weight, order_weight, padding = meta

        bag, hinge, best_k = self._bag(PT, pad_hinge, need_grad)
        frames = PT[..., : self.n_max]
        energy = (frames * frames).sum(dim=-2)
        order, d_energy = order_term(
            energy, eta=self.eta, sign=order_sign, padding=padding, need_grad=need_grad
        )
        cost = torch.addcmul(bag_weight * bag, order_weight, order)
        if not need_grad:
            return cost, None
        # Subgradient of the hinge: -y at the hyperplane that attains the max.
        y = c["y"] if index is None else c["y"][index]
        if PT.ndim == 4:
            y = y[:, None]
        coef = torch.sign(hinge).clamp_min_(0).mul_(y).mul_(-bag_weight[..., None])
        return cost, (coef, best_k, (2.0 * order_weight[..., None]) * d_energy)

    def gradient(self, PT, parts):
        """The gradient with respect to the projections, from :meth:`evaluate`'s parts.

        Parameters
        ----------
        PT : Tensor of shape (n_videos, [n_candidates,] p, n_rows)
        parts : tuple of Tensor
            As returned with ``PT`` by :meth:`evaluate` (or the same entries of both).

        Returns
        -------
        grad : Tensor like ``PT``
        """
        coef, best_k, d_order = parts
        grad = torch.zeros_like(PT)
        grad.scatter_(-2, best_k[..., None, :], coef[..., None, :])
        grad[..., : self.n_max] += d_order[..., None, :] * PT[..., : self.n_max]
        return grad

    def bag_term(self, PT):
        """The bag term alone (unweighted), of one or more points per video.

        The temporal term depends on the directions only through the energies, so
        flipping a direction's sign changes the objective only through this term.

        Parameters
        ----------
        PT : Tensor of shape (n_videos, [n_candidates,] p, n_rows)

        Returns
        -------
        bag : Tensor of shape (n_videos, [n_candidates])
        """
        pad_hinge = self._cache["pad_hinge_k" if PT.ndim == 4 else "pad_hinge"]
        return self._bag(PT, pad_hinge, need_grad=False)[0]

    def _bag(self, PT, pad_hinge, need_grad):
        # Bag separation: a sample is on its correct side of the piecewise-linear
        # boundary when one hyperplane puts it there: margin - max_k y u_k^T s, i.e.
        # margin - max_k u_k^T x for a frame and margin + min_k u_k^T z for a negative.
        frames, negatives = PT[..., : self.n_max], PT[..., self.n_max :]
        best_k = None
        if need_grad:
            top, top_k = frames.max(dim=-2)
            low, low_k = negatives.min(dim=-2)
            best_k = torch.cat([top_k, low_k], dim=-1)
        else:
            top, low = frames.amax(dim=-2), negatives.amin(dim=-2)
        hinge = self.margin - torch.cat([top, -low], dim=-1)
        # Padded rows project to exactly 0 and add exactly relu(margin) each.
        bag = hinge.clamp_min(0).sum(dim=-1) - pad_hinge
        return bag, hinge, best_k


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")


def make_batch(
    frames,
    negatives,
    *,
    eta=1e-3,
    order_weight=0.5,
    margin=1.0,
    reduction="sum",
    reverse=False,
    dtype=torch.float32,
    device="cpu",
    n_max=None,
    m_max=None,
):
    """Pad videos and their negatives into a :class:`DSPBatch`.

    Parameters
    ----------
    frames : list of array-like or Tensor of shape (n_frames_i, n_features)
        Frames of each video, in temporal order, used as given.
    negatives : list of array-like or Tensor of shape (n_negatives_i, n_features)
        Negatives of each video, used as given.
    reverse : bool or array-like of bool of shape (n_videos,), default=False
        Use the time-reversed order in the temporal term (per video if an array).
    n_max, m_max : int, default=None
        Pad the frames and the negatives to these lengths (at least the longest);
        None pads to the longest.

    Returns
    -------
    batch : DSPBatch
    """
    _check_reduction(reduction)
    device = torch.device(device)
    n_videos = len(frames)
    n = np.array([len(f) for f in frames], dtype=np.int64)
    m = np.array([len(z) for z in negatives], dtype=np.int64)
    n_max = max(int(n.max()), n_max or 0)
    m_max = max(int(m.max()), m_max or 0)
    d = frames[0].shape[1]
    labels = np.zeros((n_videos, n_max + m_max), dtype=np.int8)
    for i in range(n_videos):
        labels[i, : n[i]] = 1
        labels[i, n_max : n_max + m[i]] = -1
    if any(torch.is_tensor(a) for a in list(frames) + list(negatives)):
        S = torch.zeros((n_videos, n_max + m_max, d), dtype=dtype, device=device)
        for i, (f, z) in enumerate(zip(frames, negatives)):
            S[i, : n[i]] = torch.as_tensor(f).to(device=device, dtype=dtype)
            S[i, n_max : n_max + m[i]] = torch.as_tensor(z).to(device=device, dtype=dtype)
    else:
        # Pad on the host and move once: one transfer instead of one per video.
        np_dtype = torch.empty((), dtype=dtype).numpy().dtype
        host = np.zeros((n_videos, n_max + m_max, d), dtype=np_dtype)
        for i, (f, z) in enumerate(zip(frames, negatives)):
            host[i, : n[i]] = f
            host[i, n_max : n_max + m[i]] = z
        S = torch.from_numpy(host).to(device)
    labels = torch.from_numpy(labels).to(device)
    rev = np.broadcast_to(np.asarray(reverse, dtype=bool), (n_videos,))
    n_pairs = np.maximum(n * (n - 1) // 2, 1)
    if reduction == "mean":
        bag_w = 1.0 / (n + m)
        order_w = order_weight / n_pairs
    else:
        bag_w = np.ones(n_videos)
        order_w = np.full(n_videos, float(order_weight))

    def vec(a):
        return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)

    return DSPBatch(
        S=S,
        labels=labels,
        n_frames=torch.as_tensor(n, device=device),
        n_max=n_max,
        order_sign=vec(np.where(rev, -1.0, 1.0)),
        bag_weight=vec(bag_w),
        order_weight=vec(order_w),
        eta=float(eta),
        margin=float(margin),
    )


def _as_tensor(a, name, dtype=None, device=None):
    if torch.is_tensor(a):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t if dtype is None else t.to(dtype=dtype, device=device)


def dsp_objective(
    U,
    X,
    Z,
    *,
    eta=1e-3,
    order_weight=0.5,
    margin=1.0,
    reduction="sum",
    reverse=False,
):
    r"""The DSP objective of one video, with the temporal slacks eliminated.

    .. math::

        f(U) = \sum_t \max(0, m - \max_k y_t u_k^\top s_t)
             + w \sum_{i<j} \max(0, e_i - e_j + \eta), \qquad e_t = \|U^\top x_t\|^2,

    where ``s_t`` runs over the frames ``x_t`` (label ``y_t = +1``) and the negatives
    ``z_t`` (``y_t = -1``), ``m`` is ``margin`` and ``w`` is ``order_weight``.

    The published objective has a slack ``xi_ij`` per frame pair,
    ``C sum xi_ij^2 + (lambda/2) sum max(0, e_i - e_j + eta - xi_ij^2)``. For one pair,
    with ``a = e_i - e_j + eta`` and ``s = xi_ij^2 >= 0``, the cost
    ``C s + (lambda/2) max(0, a - s)`` is piecewise linear in ``s`` with slope ``C``
    beyond ``max(a, 0)`` and ``C - lambda/2`` before it, so its minimum over ``s`` is at
    ``s = 0`` when ``C >= lambda/2`` and at ``s = max(a, 0)`` otherwise; either way it
    equals ``min(C, lambda/2) max(0, a)``. Hence ``order_weight = min(C, lambda/2)``
    (0.5 for the published ``C = lambda = 1``) gives exactly the published objective
    minimised over its slacks.

    Parameters
    ----------
    U : array-like or Tensor of shape (n_features, n_components)
        The subspace (orthonormality is not checked).
    X : array-like or Tensor of shape (n_frames, n_features)
        Frames in temporal order, used as given (no normalisation here).
    Z : array-like or Tensor of shape (n_negatives, n_features)
        Negatives, used as given.
    eta : float, default=1e-3
        Margin of the temporal order constraints.
    order_weight : float, default=0.5
        Weight ``w`` of the temporal term, ``min(C, lambda / 2)``.
    margin : float, default=1.0
        Margin of the bag hinge (1 in the published objective).
    reduction : {"sum", "mean"}, default="sum"
        ``"sum"`` is the published objective. ``"mean"`` divides the bag term by the
        number of samples ``n_frames + n_negatives`` and the temporal term by the
        number of pairs ``n_frames (n_frames - 1) / 2``.
    reverse : bool, default=False
        Use the time-reversed frame order in the temporal term (the bag term does not
        depend on order).

    Returns
    -------
    value : Tensor of shape ()
        A torch scalar on ``U``'s device, in the dtype of ``U`` (float64 for NumPy
        input).

    Notes
    -----
    The temporal term is computed from two counts per frame (the active pairs in which
    it is the earlier and the later frame), in ``O(n_frames log n_frames)`` time for
    long videos; see :func:`~skdsp.pooling.order_term`. A pair exactly at the hinge is
    inactive.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.pooling import dsp_objective
    >>> U = np.eye(4)[:, :2]
    >>> X = np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0]])  # energy grows: 1, then 4
    >>> Z = -X
    >>> float(dsp_objective(U, X, Z))  # every sample on its side, at margin 1
    0.0
    >>> float(dsp_objective(U, X, Z, reverse=True))  # 0.5 * (4 - 1 + 0.001)
    1.5005
    """
    _check_reduction(reduction)
    U = _as_tensor(U, "U")
    if not U.is_floating_point():
        U = U.to(torch.float64)
    X = _as_tensor(X, "X", dtype=U.dtype, device=U.device)
    Z = _as_tensor(Z, "Z", dtype=U.dtype, device=U.device)
    if U.ndim != 2 or X.ndim != 2 or Z.ndim != 2:
        raise ValueError(
            f"U, X and Z must be 2-D; got shapes {tuple(U.shape)}, {tuple(X.shape)}, "
            f"{tuple(Z.shape)}."
        )
    if X.shape[1] != U.shape[0] or Z.shape[1] != U.shape[0]:
        raise ValueError(
            f"U has {U.shape[0]} rows (n_features) but X has {X.shape[1]} and Z has "
            f"{Z.shape[1]} features."
        )
    if X.shape[0] == 0:
        raise ValueError("X has no frames.")
    for name, a in (("U", U), ("X", X), ("Z", Z)):
        if not bool(torch.isfinite(a).all()):
            raise ValueError(
                f"{name} holds NaN or inf (in U's dtype, {U.dtype}); the objective needs "
                "finite values."
            )
    batch = make_batch(
        [X],
        [Z],
        eta=eta,
        order_weight=order_weight,
        margin=margin,
        reduction=reduction,
        reverse=reverse,
        dtype=U.dtype,
        device=U.device,
    )
    return batch.cost(batch.project(U.T[None]))[0]
