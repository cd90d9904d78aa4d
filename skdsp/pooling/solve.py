"""Solve the DSP problem of many videos: initialisation, batching, solvers."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from skdsp.manifolds.stiefel import cholesky_qr
from skdsp.optim.rcg import batched_rcg
from skdsp.pooling.objective import _check_reduction, make_batch
from skdsp.utils.device import resolve_device, to_numpy
from skdsp.utils.numerics import l2_normalize
from skdsp.utils.random import draw_seed
from skdsp.utils.validation import check_videos

__all__ = ["DSPResult", "check_negative_range", "resolve_dtype", "solve_dsp"]

_SOLVERS = ("batched", "pymanopt")
#: Iterations every start runs before each video keeps its best one.
SCREEN_ITER = 10
#: Numbers (data, Gram matrix and metric) a batch holds at most, whatever batch_size.
MAX_BATCH_VALUES = 2**27
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class DSPResult:
    """The subspaces found by :func:`solve_dsp` and how the solver got there.

    Attributes
    ----------
    subspaces : ndarray of shape (n_videos, n_features, n_components)
        Orthonormal bases, one per video.
    objective : ndarray of shape (n_videos,)
        :func:`~skdsp.pooling.dsp_objective` at each subspace, on the L2-normalised
        frames.
    n_iter : ndarray of shape (n_videos,)
        Iterations run for each video.
    stopping_reason : list of str
        Why the solver stopped, per video.
    grad_norm : ndarray of shape (n_videos,)
        Norm of the Riemannian (sub)gradient at each subspace.
    """

    subspaces: np.ndarray
    objective: np.ndarray
    n_iter: np.ndarray
    stopping_reason: list
    grad_norm: np.ndarray


def resolve_dtype(dtype):
    """A torch float dtype from ``"float32"``, ``"float64"``, or a torch/NumPy dtype."""
    if isinstance(dtype, torch.dtype) and dtype in (torch.float32, torch.float64):
        return dtype
    name = np.dtype(dtype).name if not isinstance(dtype, (str, torch.dtype)) else dtype
    if isinstance(name, str) and name in _DTYPES:
        return _DTYPES[name]
    raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")


def _normalise_frames(batch):
    """L2-normalise the frame rows of a batch in place (padding stays zero).

    Rows are first divided by their largest absolute value, so that the norm neither
    overflows nor underflows whatever the scale of the frames.
    """
    F = batch.S[:, : batch.n_max]
    tiny = torch.finfo(F.dtype).tiny
    F /= F.abs().amax(dim=-1, keepdim=True).clamp_min(tiny)
    F /= torch.linalg.vector_norm(F, dim=-1, keepdim=True).clamp_min(tiny)


def _batched_eigh(A, *, host=None):
    """``torch.linalg.eigh`` of a batch, on the host for large CUDA batches.

    cuSOLVER's batched eigensolver only serves matrices up to 32 x 32; beyond that
    torch factorises a CUDA batch one matrix at a time, far slower than LAPACK on the
    host, where the batch is split across threads.
    """
    if host is None:
        host = A.is_cuda and A.shape[-1] > 32
    if not host:
        return torch.linalg.eigh(A)
    A_host = A.cpu()
    n_chunks = max(1, min(torch.get_num_threads(), A_host.shape[0]))
    chunks = torch.tensor_split(A_host, n_chunks)
    if n_chunks == 1:
        parts = [torch.linalg.eigh(chunks[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_chunks) as pool:
            parts = list(pool.map(torch.linalg.eigh, chunks))
    evals = torch.cat([e for e, _ in parts]).to(A.device)
    evecs = torch.cat([v for _, v in parts]).to(A.device)
    return evals, evecs


def _initial_subspaces(batch, p, seeds):
    """Top-``p`` left singular vectors of ``X^T`` for every video of a batch.

    Computed (in float64) from the eigendecomposition of the ``d x d`` scatter matrix
    ``X^T X`` when the videos have more frames than features, else of the ``n x n``
    Gram matrix ``X X^T``, so that no matrix is larger than the smaller of the two.
    Each column's sign is chosen so that the frames project positively on it (see
    :func:`_starting_points` for the signs the solver starts from). Directions the frames
    do not span (fewer than ``p`` frames, or rank-deficient frames) are completed with
    random directions orthogonal to the frames' span, drawn from the video's own seed.

    Returns
    -------
    U0 : Tensor of shape (n_videos, d, p)
    deficient : ndarray of shape (n_videos,), bool
    """
    F = batch.S[:, : batch.n_max]
    B, n_max, d = F.shape
    dt = F.dtype
    if n_max > d:
        evals, evecs = _batched_eigh((F.transpose(-1, -2) @ F).to(torch.float64))
        top = torch.flip(evals[:, -p:], dims=[-1]).clamp_min(0)  # descending
        V = torch.flip(evecs[:, :, -p:], dims=[-1]).to(dt)
        k = p
    else:
        evals, evecs = _batched_eigh((F @ F.transpose(-1, -2)).to(torch.float64))
        k = min(p, n_max)
        top = torch.flip(evals[:, -k:], dims=[-1]).clamp_min(0)
        A = torch.flip(evecs[:, :, -k:], dims=[-1])
        scale = 1.0 / torch.sqrt(top).clamp_min(1e-150)
        V = F.transpose(-1, -2) @ (A * scale[:, None, :]).to(dt)
    # Directions below the rounding level of the Gram matrix count as not spanned.
    valid = top > top[:, :1] * max(1e-10, 100 * torch.finfo(dt).eps)
    V = torch.where(valid[:, None, :], V, torch.zeros_like(V))
    if k < p:
        V = torch.cat([V, V.new_zeros(B, d, p - k)], dim=-1)
        valid = torch.cat([valid, valid.new_zeros(B, p - k)], dim=-1)
    deficient = ~valid.all(dim=-1)
    if bool(deficient.any()):
        for b in deficient.nonzero()[:, 0].tolist():
            rng = np.random.default_rng(seeds[b])
            cols = (~valid[b]).nonzero()[:, 0]
            rand = torch.as_tensor(rng.standard_normal((d, len(cols))), dtype=dt, device=V.device)
            Vb = V[b][:, valid[b]]
            # Twice, for orthogonality to working precision.
            for _ in range(2):
                rand = rand - Vb @ (Vb.T @ rand)
            V[b][:, cols] = rand
    # Cholesky-QR keeps the leading (spanned) columns' span; it only cleans up rounding.
    U, _, _ = cholesky_qr(V)
    signs = torch.sign((F.sum(dim=1)[:, None, :] @ U)[:, 0, :])
    U = U * torch.where(signs == 0, torch.ones_like(signs), signs)[:, None, :]
    return U, to_numpy(deficient)


# Up to this many directions every sign pattern is compared; beyond, one column at a time.
_ALL_SIGNS_MAX_COMPONENTS = 6


def _sign_patterns(p, dtype, device):
    """All ``2^p`` patterns of column signs, the all-positive one first."""
    bits = (torch.arange(2**p, device=device)[:, None] >> torch.arange(p, device=device)) & 1
    return (1 - 2 * bits).to(dtype)


def _n_starts(n_init, p):
    """Starting points per video: at most the sign patterns :func:`_starting_points` has."""
    return min(n_init, 2**p if p <= _ALL_SIGNS_MAX_COMPONENTS else p + 1)


def _starting_points(batch, U0, n_init):
    """Up to ``n_init`` starting points per video: ``U0`` with chosen column signs.

    The signs of the directions matter to the bag term, and which ones end lowest is
    hard to tell at the start. The frames and their negatives lie close together, so
    the dominant (first) direction can serve either bag: the frames on its positive
    side, leaving the other directions to push the negatives down, or the negatives
    on its negative side, leaving the others to the frames. Both start with about the
    same bag term and end in different local minima. So the starts are, in order: the
    sign pattern of lowest bag term (the temporal term does not depend on signs), the
    best pattern with the first direction the other way round, then the other
    patterns by bag term. Patterns are all ``2^p`` for ``p <= 6``; beyond, the one
    found by flipping one column at a time, and its single-column flips.

    Returns
    -------
    starts : Tensor of shape (n_videos, k, d, p)
        ``k = min(n_init, number of patterns)`` starts per video.
    """
    B, d, p = U0.shape
    P = batch.project(U0.transpose(-1, -2))  # (B, p, N)
    if p <= _ALL_SIGNS_MAX_COMPONENTS:
        patterns = _sign_patterns(p, U0.dtype, U0.device)[None]  # (1, 2^p, p)
    else:
        best = U0.new_ones(B, p)
        rows = torch.arange(B, device=U0.device)
        for k in range(p):
            trial = best[:, None, :].repeat(1, 2, 1)  # (B, 2, p): as is, column k flipped
            trial[:, 1, k] = -1.0 * trial[:, 1, k]
            bag = batch.bag_term(trial[..., None] * P[:, None])
            best = trial[rows, bag.argmin(dim=-1)]
        flips = 1.0 - 2.0 * torch.eye(p, dtype=U0.dtype, device=U0.device)
        patterns = torch.cat([best[:, None], best[:, None] * flips], dim=1)  # (B, p+1, p)
    patterns = patterns.expand(B, -1, -1)
    bag = batch.bag_term(patterns[..., None] * P[:, None])  # (B, K)
    # Ties keep the all-positive (or greedy) pattern first.
    order = torch.sort(bag, dim=-1, stable=True).indices
    ranked = torch.gather(patterns, 1, order[..., None].expand(-1, -1, p))
    # Move the best pattern whose first sign differs from the best one's to second.
    other = ranked[:, :, 0] != ranked[:, :1, 0]
    rank = torch.arange(ranked.shape[1], device=U0.device).expand_as(other)
    second = torch.where(other, rank, ranked.shape[1]).argmin(dim=-1, keepdim=True)
    key = torch.where(rank == second, 0.5, rank.to(U0.dtype))
    order = torch.sort(key, dim=-1, stable=True).indices[:, :n_init]
    signs = torch.gather(ranked, 1, order[..., None].expand(-1, -1, p))
    return U0[:, None] * signs[:, :, None, :]


def _padded_length(n):
    """The length a batch pads ``n`` frames (or negatives) to: a function of ``n``
    alone, at most 25% longer (and at least 8), so that a video's arithmetic does not
    depend on the other videos of its batch."""
    step = max(8, 1 << max(0, int(n).bit_length() - 3))
    return -(-max(int(n), 1) // step) * step


def check_negative_range(videos, negatives, dtype, name="negatives"):
    """Refuse negatives too large for the solver's dtype to sum their hinge terms.

    The frames are L2-normalised, but negatives are used as given: a bag of ``m``
    negatives of magnitude ``z`` adds up to about ``sqrt(n_features) m z`` in the cost
    and its gradient, which must stay finite.
    """
    limit = float(torch.finfo(dtype).max)
    for i, (frames, z) in enumerate(zip(videos, negatives)):
        size = 4.0 * np.sqrt(z.shape[1]) * (frames.shape[0] + z.shape[0])
        peak = float(np.max(np.abs(z))) if z.size else 0.0
        if peak * size > limit:
            raise ValueError(
                f"{name}[{i}] has values up to {peak:.3g}: too large for the solver "
                f"to sum the terms of its {frames.shape[0] + z.shape[0]} frames and "
                f"negatives in {dtype}. The frames are L2-normalised, so negatives of "
                "about unit norm are what the margin is made for: rescale them, or use "
                "dtype='float64'."
            )


def _check_int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def solve_dsp(
    videos,
    negatives,
    *,
    n_components=3,
    eta=1e-3,
    order_weight=0.5,
    margin=1.0,
    reduction="sum",
    max_iter=100,
    tol=1e-6,
    n_init=2,
    solver="batched",
    device="cpu",
    dtype="float32",
    batch_size=1024,
    random_state=None,
    reverse=False,
    verbose=0,
):
    """Learn one discriminative subspace per video.

    Minimises :func:`~skdsp.pooling.dsp_objective` for each video on the Stiefel
    manifold ``St(n_features, n_components)``. The frames are L2-normalised first (as
    in the published method); the negatives are used as given.

    The starting subspace is spanned by the top ``n_components`` left singular vectors
    of ``X^T`` (uncentred PCA of the normalised frames), computed from whichever of
    ``X^T X`` and ``X X^T`` is smaller. The signs of its directions matter to the bag
    term: the frames and their negatives lie close together, so the dominant
    direction can hold the frames on its positive side or the negatives on its
    negative side, and the two end in different local minima. ``n_init`` sign
    patterns (the one of lowest bag term, then the same with the dominant direction
    reversed, then the others by bag term) each run 10 iterations, and every video
    continues from its best one for the rest of ``max_iter``. When a video's frames
    span fewer than ``n_components`` directions (in particular when it has fewer
    frames than that), the basis is completed with random directions orthogonal to
    the frames, drawn from ``random_state`` and the video's index, and a
    :class:`UserWarning` names those videos.

    Parameters
    ----------
    videos : list of array-like of shape (n_frames_i, n_features)
        Frames of each video, time first.
    negatives : list of array-like of shape (n_negatives_i, n_features)
        Negatives of each video.
    n_components : int, default=3
        Dimension ``p`` of each subspace.
    eta, order_weight, margin, reduction
        See :func:`~skdsp.pooling.dsp_objective`.
    max_iter : int, default=100
        Conjugate gradient iterations per video.
    tol : float, default=1e-6
        Stop a video when its Riemannian gradient norm falls below ``tol``.
    n_init : int, default=2
        Starting points compared per video (at most ``2^n_components``, the number of
        sign patterns; beyond 6 components, the pattern found one column at a time
        and its single flips). 1 starts from the pattern of lowest bag term alone.
        Each further start costs 10 iterations. On 64 videos of 48 frames (see
        ``benchmarks/bench_solvers.py``), 2 starts lowered the mean objective from
        11.9 to 8.7-9.0 for 7% more time, 8 starts to 8.7 for 80% more; on videos of
        512 frames, 2 starts changed it by -0.6% to +1.5% and 8 by -3% to -4.5%.
    solver : {"batched", "pymanopt"}, default="batched"
        ``"batched"``: skdsp's Riemannian conjugate gradient on many videos at once
        (:func:`skdsp.optim.batched_rcg`). ``"pymanopt"``: pymanopt's
        ``ConjugateGradient``, one video at a time, with the cost and gradient computed
        by torch on ``device``; the reference.
    device : str or torch.device, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    dtype : {"float32", "float64"} or torch.dtype, default="float32"
    batch_size : int, default=1024
        Problems (a video from one of its starts) solved together, so
        ``batch_size // n_init`` videos at a time. The starts of a video share its
        data. A batch of ``v`` videos holds about ``v * N * (n_features + (1 + n_init)
        min(N, n_features))`` numbers, with ``N`` the padded ``n_frames +
        n_negatives`` of its videos (the data and, when ``N < n_features``, their Gram
        matrix and each start's metric), and fewer videos are solved together where
        that would pass ``2**27`` numbers (512 MB in float32). No step holds a
        matrix of ``n_frames x n_frames`` beyond the smaller of ``n_frames`` and
        ``n_features``, except the temporal term's dense path for videos of at most
        96 frames (see :func:`~skdsp.pooling.order_term`).
    random_state : int, RandomState instance or None, default=None
        Seeds the completion of deficient starting points.
    reverse : bool or array-like of bool of shape (n_videos,), default=False
        Use the time-reversed frame order in the temporal term (per video if an array).
    verbose : int, default=0
        Show a progress bar over batches when positive.

    Returns
    -------
    result : DSPResult

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.pooling import solve_dsp
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(size=(12, 8)) for _ in range(3)]
    >>> negatives = [rng.normal(size=(12, 8)) for _ in range(3)]
    >>> res = solve_dsp(videos, negatives, n_components=2, max_iter=20)
    >>> res.subspaces.shape
    (3, 8, 2)
    >>> bool(np.allclose(res.subspaces[0].T @ res.subspaces[0], np.eye(2), atol=1e-5))
    True
    """
    videos = check_videos(videos, name="videos")
    d = videos[0].shape[1]
    if negatives is None:
        raise ValueError("negatives is required: one array of negatives per video.")
    negatives = check_videos(
        negatives, n_features=d, name="negatives", fitted_with="videos[0]"
    )
    if len(negatives) != len(videos):
        raise ValueError(
            f"There are {len(videos)} videos but {len(negatives)} negative bags; "
            "expected one per video."
        )
    p = _check_int(n_components, "n_components", 1)
    if p > d:
        raise ValueError(
            f"n_components={p} exceeds n_features={d}: a subspace of R^{d} has at most "
            f"{d} orthonormal directions."
        )
    max_iter = _check_int(max_iter, "max_iter", 0)
    n_init = _check_int(n_init, "n_init", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    _check_reduction(reduction)
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}.")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    check_negative_range(videos, negatives, dt)
    # Normalised before the cast to the solver's dtype, which they may not fit.
    videos = [l2_normalize(v) for v in videos]
    n_videos = len(videos)
    rev = np.asarray(reverse, dtype=bool)
    if rev.ndim > 1 or (rev.ndim == 1 and rev.shape[0] != n_videos):
        raise ValueError(
            f"reverse must be a bool or one bool per video ({n_videos}), got shape "
            f"{rev.shape}."
        )
    rev = np.broadcast_to(rev, (n_videos,))
    seeds = np.random.SeedSequence(draw_seed(random_state)).generate_state(n_videos)
    result, deficient = solve_validated(
        videos,
        negatives,
        seeds=seeds,
        reverse=rev[:, None],
        n_components=p,
        eta=eta,
        order_weight=order_weight,
        margin=margin,
        reduction=reduction,
        max_iter=max_iter,
        tol=tol,
        n_init=n_init,
        solver=solver,
        device=dev,
        dtype=dt,
        batch_size=batch_size,
        verbose=verbose,
    )
    if deficient.any():
        warn_deficient(np.flatnonzero(deficient), p, stacklevel=3)
    return DSPResult(
        subspaces=result.subspaces[:, 0],
        objective=result.objective[:, 0],
        n_iter=result.n_iter[:, 0],
        stopping_reason=[why[0] for why in result.stopping_reason],
        grad_norm=result.grad_norm[:, 0],
    )


def warn_deficient(indices, n_components, stacklevel=2):
    """Warn that the frames of some videos span fewer than ``n_components`` directions."""
    warnings.warn(
        f"The frames of video(s) {list(map(int, indices))} span fewer than "
        f"n_components={n_components} directions (too few frames, or repeated frames); "
        "their starting subspaces were completed with random orthogonal directions.",
        UserWarning,
        stacklevel=stacklevel,
    )


@torch.inference_mode()
def solve_validated(
    videos,
    negatives,
    *,
    seeds,
    reverse,
    n_components,
    eta,
    order_weight,
    margin,
    reduction,
    max_iter,
    tol,
    solver,
    device,
    dtype,
    batch_size,
    n_init=1,
    verbose=0,
):
    """:func:`solve_dsp` on validated input, with one seed per video and no warning.

    The frames must be L2-normalised already (or at least of a magnitude the solver's
    dtype holds), and the negatives checked with :func:`check_negative_range`.

    Each video is solved once per column of ``reverse`` (an ndarray of bool of shape
    (n_videos, n_directions): forward where False, time-reversed where True). Its
    directions and starts share the video's data, Gram matrix, starting subspace and
    sign patterns, which none of them depends on.

    Every video's result depends only on its own data, seed and settings, not on the
    other videos in the call: a video is padded to a length that depends on its own
    length alone (:func:`_padded_length`) and solved only with videos padded alike,
    so that even its rounding is the same in any company. Callers may split a
    collection freely, for instance across processes.

    Returns
    -------
    result : DSPResult
        With a direction axis after the video axis: ``subspaces`` of shape
        (n_videos, n_directions, n_features, n_components), the other arrays of shape
        (n_videos, n_directions), ``stopping_reason`` a list of lists.
    deficient : ndarray of shape (n_videos,), bool
        Videos whose starting subspace had to be completed at random.
    """
    n_videos = len(videos)
    d, p = videos[0].shape[1], n_components
    reverse = np.asarray(reverse, dtype=bool)
    n_dir = reverse.shape[1]
    # Videos padded to the same lengths share batches.
    shapes = np.array([(_padded_length(len(v)), _padded_length(len(z)))
                       for v, z in zip(videos, negatives)])
    # Every direction and start of a video is a problem of its own while starts are
    # compared; a batch holds at most batch_size problems and about MAX_BATCH_VALUES
    # numbers.
    n_problems = _n_starts(n_init, n_components) * n_dir
    chunks = []
    for shape in np.unique(shapes, axis=0)[::-1]:
        members = np.flatnonzero((shapes == shape).all(axis=1))
        rows = int(shape.sum())
        # Per video: its data once, its Gram matrix, one metric per problem.
        values = rows * (d + (1 + n_problems) * min(rows, d))
        per_chunk = max(1, min(batch_size // n_problems, MAX_BATCH_VALUES // values))
        chunks += [members[i : i + per_chunk] for i in range(0, len(members), per_chunk)]

    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    subspaces = np.zeros((n_videos, n_dir, d, p), dtype=np_dtype)
    objective = np.zeros((n_videos, n_dir))
    grad_norm = np.zeros((n_videos, n_dir))
    n_iter = np.zeros((n_videos, n_dir), dtype=np.int64)
    reasons = [None] * n_videos
    deficient = np.zeros(n_videos, dtype=bool)

    progress = chunks
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(chunks, desc="DSP", unit="batch")
    common = {"eta": eta, "order_weight": order_weight, "margin": margin, "reduction": reduction}
    for idx in progress:
        batch = make_batch(
            [videos[i] for i in idx],
            [negatives[i] for i in idx],
            dtype=dtype,
            device=device,
            n_max=int(shapes[idx[0], 0]),
            m_max=int(shapes[idx[0], 1]),
            **common,
        )
        _normalise_frames(batch)
        U, f, gn, it, why, defic = _solve_batch(
            batch, np.asarray(seeds)[idx], n_components=p, n_init=n_init,
            max_iter=max_iter, tol=tol, solver=solver, reverse=reverse[idx],
        )
        deficient[idx] = defic
        subspaces[idx] = to_numpy(U).reshape(len(idx), n_dir, d, p)
        objective[idx] = to_numpy(f).reshape(len(idx), n_dir)
        grad_norm[idx] = np.reshape(gn, (len(idx), n_dir))
        n_iter[idx] = np.reshape(it, (len(idx), n_dir))
        for j, i in enumerate(idx):
            reasons[i] = list(why[j * n_dir : (j + 1) * n_dir])
    result = DSPResult(
        subspaces=subspaces,
        objective=objective,
        n_iter=n_iter,
        stopping_reason=reasons,
        grad_norm=grad_norm,
    )
    return result, deficient


def _solve_batch(batch, seeds, *, n_components, n_init, max_iter, tol, solver,
                 reverse=None):
    """Solve one batch from ``n_init`` starts per video and direction; keep the best.

    Parameters
    ----------
    reverse : ndarray of bool of shape (n_videos, n_directions), default=None
        The directions to solve each video in (time-reversed where True); None: once,
        in the batch's own direction.

    Returns
    -------
    U : Tensor of shape (n_videos * n_directions, d, p)
        Video-major: the directions of video 0, then those of video 1, ...
    objective : Tensor of shape (n_videos * n_directions,)
    grad_norm, n_iter : ndarray of shape (n_videos * n_directions,)
    stopping_reason : list of str
    deficient : ndarray of shape (n_videos,), bool
    """
    U0, deficient = _initial_subspaces(batch, n_components, seeds)
    B, d, p = U0.shape
    starts = _starting_points(batch, U0, n_init)
    n_init = starts.shape[1]
    if reverse is None:
        signs = batch.order_sign[:, None]
    else:
        signs = torch.where(torch.as_tensor(reverse, device=U0.device), -1.0, 1.0)
        signs = signs.to(batch.order_sign.dtype)
    n_dir = signs.shape[1]

    def problems(copies):
        """Each video once per direction, ``copies`` times over, video-major; all
        share the video's data and Gram matrix."""
        if reverse is None and copies == 1:
            return batch
        return batch.repeat(n_dir * copies, signs.reshape(-1).repeat_interleave(copies))

    work = problems(n_init)
    starts = starts[:, None].expand(B, n_dir, n_init, d, p).reshape(-1, d, p)
    screen = max_iter if n_init == 1 else min(SCREEN_ITER, max_iter)
    U, gn, it, why = _run_solver(work, starts, solver=solver, max_iter=screen, tol=tol)
    f = work.cost(work.project(U.transpose(-1, -2)))
    if n_init > 1:
        best = f.reshape(B * n_dir, n_init).argmin(dim=-1)
        pick = torch.arange(B * n_dir, device=f.device) * n_init + best
        U, f = U[pick], f[pick]
        pick = to_numpy(pick)
        gn, it, why = gn[pick], it[pick], [why[i] for i in pick]
        if max_iter > screen:
            work = problems(1)
            U, gn, it2, why = _run_solver(work, U, solver=solver, max_iter=max_iter - screen, tol=tol)
            it = it + it2
            f = work.cost(work.project(U.transpose(-1, -2)))
    return U, f, gn, it, why, deficient


def _run_solver(batch, U0, *, solver, max_iter, tol):
    if solver == "batched":
        res = batched_rcg(batch, U0, max_iter=max_iter, tol=tol)
        return res.point, to_numpy(res.grad_norm), res.n_iter, res.stopping_reason
    return _solve_pymanopt(batch, U0, max_iter=max_iter, tol=tol)


def _solve_pymanopt(batch, U0, *, max_iter, tol):
    """Run the pymanopt reference on each video of a batch, cost and gradient in torch."""
    from skdsp.optim.pymanopt_solver import pymanopt_cg

    dev, dt = batch.S.device, batch.S.dtype
    points, gnorms, iters, reasons = [], [], [], []
    for b in range(batch.n_videos):
        one = batch.take(torch.tensor([b], device=dev))

        def cost(U, one=one):
            UT = torch.as_tensor(U.T, dtype=dt).to(dev)[None]
            return float(one.cost(one.project(UT))[0])

        def egrad(U, one=one):
            UT = torch.as_tensor(U.T, dtype=dt).to(dev)[None]
            _, G = one.cost_and_grad(one.project(UT))
            return to_numpy(one.backproject(G)[0]).T.astype(np.float64)

        res = pymanopt_cg(cost, egrad, to_numpy(U0[b]), max_iter=max_iter, tol=tol)
        points.append(torch.as_tensor(res.point, dtype=dt))
        gnorms.append(res.grad_norm)
        iters.append(res.n_iter)
        reasons.append(res.stopping_reason)
    return torch.stack(points).to(dev), np.array(gnorms), np.array(iters), reasons
