"""Batched Riemannian conjugate gradient on the Stiefel manifold.

Many independent problems (one per video) are solved at once: every tensor carries a
leading batch axis, and step sizes, conjugate directions, restarts and convergence are
per problem. Converged problems freeze; once they are a good part of the working set it
is compacted so that they stop costing work.

The problem is accessed in a factored form. Its cost depends on the point ``U`` only
through projections ``P^T = U^T S^T`` of its data ``S`` (for DSP: frames and
negatives). With the QR retraction computed as Cholesky-QR,
``qf(U + t D) = (U + t D) R_t^{-1}`` with ``R_t = chol((U + t D)^T (U + t D))``, a
``p x p`` matrix built from ``U^T U``, ``U^T D`` and ``D^T D``; so the projections of
the retracted point are ``R_t^{-T} (U^T S^T + t D^T S^T)``, and a line search can try
many step sizes at once without reading ``S``.

Every vector on the ``d`` side (point, direction, gradient; stored transposed, ``(p,
d)``, because products and reductions over a trailing axis of length ``p`` are slow on
the CPU) is held as a *state* that the problem defines: its coordinates, whatever the
inner products need, and its projections. All the solver's updates are linear maps or
left products by ``p x p`` matrices, which act on a whole state at once, so the
projections of every new point and direction come for free. The problem builds the
state of each new Euclidean gradient, the only place where the data enter an iteration
(DSP does it from the ``N x N`` Gram matrix of its data, or, when the frames and
negatives outnumber the features, with one pass over them). The line search evaluates
the cost *and* its gradient at its candidate points, so the accepted candidate brings
the gradient of the next iteration along: an iteration evaluates the problem once per
candidate step size, not once more at the new point.

The problem protocol (duck-typed; ``B`` problems, ``N`` rows of data):

``initial_state(WT) -> state``
    State of the transposed starting points ``WT`` (B, p, d).
``primal(state)``, ``dual(state)``
    Views such that ``<X, Y> = sum(primal(X) * dual(Y))`` (the Euclidean inner
    product of the vectors) and ``X Y^T = primal(X) @ dual(Y)^T``.
``projections(state) -> PT``
    View of the projections ``X S^T``, shape (B, p, N).
``gradient_state(GT) -> state``
    State of the Euclidean gradient ``G^T S``, for ``GT`` the gradient of the cost with
    respect to the projections.
``refresh_state(state) -> state``
    The state rebuilt from its coordinates (drops accumulated rounding).
``point(state) -> WT``
    The transposed vectors, (B, p, d).
``evaluate(PT, index=None, need_grad=False) -> (f, parts)``
    ``PT`` of shape (B, [K,] p, N) to costs (B, [K]) and, with ``need_grad``, a tuple
    of tensors with the same leading shape (else None) from which
    ``gradient(PT, parts) -> GT`` builds the gradients with respect to ``PT``; with
    ``index``, ``PT`` holds only the problems at those batch indices.
``take(index) -> problem``
    The sub-problem of the given batch indices (states keep their layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from skdsp.manifolds.stiefel import (
    cholesky_factor,
    cholesky_qr_rows,
    lower_inverse,
    sym,
)

__all__ = ["STOPPING_REASONS", "RCGIterate", "RCGResult", "batched_rcg"]

RUNNING, MAX_ITER, GRAD_TOL, STEP_TOL, NO_DECREASE = range(5)
DEFAULT_LADDER = (2.0, 1.0, 2.0**-3)
STOPPING_REASONS = {
    MAX_ITER: "max_iter reached",
    GRAD_TOL: "gradient norm below tol",
    STEP_TOL: "step size below min_step",
    NO_DECREASE: "line search found no decrease along the steepest descent direction",
}
_BETA_RULES = ("HS+", "PR+")
# A conjugate direction shorter than this times the gradient (squared norms) restarts.
_MIN_DIRECTION_RATIO = 1e-6


@dataclass
class RCGResult:
    """Outcome of :func:`batched_rcg`, one entry per problem.

    Attributes
    ----------
    point : Tensor of shape (B, d, p)
    cost : Tensor of shape (B,)
        Cost at ``point`` as tracked by the solver (from the factored projections).
    grad_norm : Tensor of shape (B,)
        Norm of the Riemannian gradient at ``point``.
    n_iter : ndarray of shape (B,)
    stopping_reason : list of str
    """

    point: torch.Tensor
    cost: torch.Tensor
    grad_norm: torch.Tensor
    n_iter: np.ndarray
    stopping_reason: list


def _tangent(problem, W, X):
    """State of ``X - sym(X W^T) W``: ``X`` projected onto the tangent space at ``W``."""
    return X - sym(_gram(problem, X, W)) @ W


def _riemannian_gradient(problem, W, G):
    """State of the Riemannian gradient ``E - sym(E W^T) W`` at the point ``W``.

    ``E`` is the Euclidean gradient ``G^T S`` for the gradient ``G`` of the cost with
    respect to the projections; the problem builds its state as cheaply as it can.
    """
    return _tangent(problem, W, problem.gradient_state(G))


def _inner(problem, X, Y):
    """Inner products ``<X, Y>`` of states, one per problem."""
    return (problem.primal(X) * problem.dual(Y)).sum(dim=(-1, -2))


def _gram(problem, X, Y):
    """``X Y^T`` (p x p per problem) of states."""
    return problem.primal(X) @ problem.dual(Y).transpose(-1, -2)


def _orthonormalise(problem, W):
    """Cholesky-QR2 of points held as states, then fresh derived columns."""
    for _ in range(2):
        R, _ = cholesky_factor(_gram(problem, W, W), check=False)
        W = lower_inverse(R.transpose(-1, -2)) @ W
    return problem.refresh_state(W)


def _line_search(problem, W, D, cost, GT, df0, base, retry, *, ladder, shrink, armijo,
                 rounds):
    """Armijo backtracking over a ladder of step sizes, evaluated at once.

    Tries ``base * ladder[k]`` for every ``k`` (the last entry is 0, the fallback when no
    other step passes), then the ladder scaled by ``shrink`` for the problems where
    nothing passed and ``retry`` is set, up to ``rounds`` ladders. Among the steps that
    pass the Armijo test the one with the lowest cost is taken. ``W`` and ``D`` are
    states (see the module docstring); ``cost`` and ``GT`` are the cost at ``W`` and its
    gradient with respect to the projections.

    Returns
    -------
    step : Tensor of shape (B,)
        Accepted step (0 where none passed).
    found : Tensor of shape (B,), bool
    L_inv : Tensor of shape (B, p, p)
        Inverse Cholesky factor of the accepted point: ``qf(U + t D)^T =
        L_inv (U + t D)^T`` (of ``U`` itself where none passed).
    cost_new, GT_new : Tensor of shape (B,) and (B, p, N)
        Cost and gradient at the accepted point (``cost`` and ``GT`` where none passed).
    """
    p = W.shape[1]
    Z = torch.cat([W, D], dim=1)
    M = _gram(problem, Z, Z)  # all p x p Gram blocks of U and D in one product
    gram_u = M[:, :p, :p]
    cross = M[:, :p, p:] + M[:, p:, :p]
    gram_d = M[:, p:, p:]
    PPD = problem.projections(Z)  # (B, 2p, N): [U^T S^T; D^T S^T]
    slope = armijo * df0
    n_cand = ladder.shape[0]

    todo = None  # all problems, without indexing, in the first round
    for _ in range(rounds):
        if todo is None:
            sel = (base, gram_u, cross, gram_d, PPD, cost, GT, slope)
        else:
            sel = tuple(a[todo] for a in (base, gram_u, cross, gram_d, PPD, cost, GT, slope))
        b_base, b_gu, b_cross, b_gd, b_PPD, b_cost, b_GT, b_slope = sel
        b = b_base.shape[0]
        t = b_base[:, None] * ladder  # (b, K)
        tt = t[..., None, None]
        gram = b_gu[:, None] + tt * b_cross[:, None] + (tt * tt) * b_gd[:, None]
        R, ok = cholesky_factor(gram, check=False)
        # Projections of qf(U + t D): R_t^{-T} (U^T S^T + t D^T S^T), no data pass;
        # for all candidates in one product [L^-1, t L^-1] @ [P; PD].
        Linv = lower_inverse(R.transpose(-1, -2))
        coef = torch.cat([Linv, tt * Linv], dim=-1).reshape(b, n_cand * p, 2 * p)
        Pc = (coef[:, : (n_cand - 1) * p] @ b_PPD).reshape(b, n_cand - 1, p, -1)
        fc, parts = problem.evaluate(Pc, index=todo, need_grad=True)
        accept = ok[:, :-1] & (fc <= torch.addcmul(b_cost[:, None], t[:, :-1], b_slope[:, None]))
        best = torch.where(accept, fc, float("inf")).argmin(dim=-1)
        hit = accept.any(dim=-1)
        rows = torch.arange(b, device=best.device)
        chosen_cost = torch.where(hit, fc[rows, best], b_cost)
        # The gradient of the accepted candidate only (the old one where none passed).
        G_best = problem.gradient(Pc[rows, best], tuple(a[rows, best] for a in parts))
        chosen_GT = torch.where(hit[:, None, None], G_best, b_GT)
        best = torch.where(hit, best, n_cand - 1)  # t = 0 when nothing passed
        chosen = (t[rows, best], Linv[rows, best], chosen_cost, chosen_GT)
        if todo is None:
            step, L_inv, cost_new, GT_new = chosen
            found = hit
            todo = (~hit & retry).nonzero()[:, 0]
        else:
            step[todo], L_inv[todo], cost_new[todo], GT_new[todo] = chosen
            found[todo] = hit
            todo = todo[~hit]
        if len(todo) == 0:
            break
        base = base.clone() if base is sel[0] else base
        base[todo] = base[todo] * shrink
    return step, found, L_inv, cost_new, GT_new


@dataclass
class RCGIterate:
    """What one iteration of :func:`batched_rcg` did, for its ``callback``.

    Vectors are in the ambient space, shape (n_running, d, p), for the problems still
    running at that iteration (their batch indices in ``index``).

    Attributes
    ----------
    iteration : int
        1 for the first iteration.
    index : Tensor of shape (n_running,)
    point : Tensor
        The new point ``U_{k+1}``.
    cost : Tensor of shape (n_running,)
    grad : Tensor
        The Riemannian gradient at ``point`` as the solver holds it.
    previous_direction : Tensor
        The search direction ``D_k`` the step was taken along, at ``U_k``.
    transported_direction : Tensor
        ``D_k`` transported to ``U_{k+1}``.
    previous_grad : Tensor
        The Riemannian gradient at ``U_k``.
    beta : Tensor of shape (n_running,)
        The conjugate gradient coefficient (before a restart replaces the direction).
    direction : Tensor
        The next search direction ``D_{k+1}``.
    step : Tensor of shape (n_running,)
        Accepted step size along ``D_k`` (0 when the line search found none).
    """

    iteration: int
    index: torch.Tensor
    point: torch.Tensor
    cost: torch.Tensor
    grad: torch.Tensor
    previous_direction: torch.Tensor
    transported_direction: torch.Tensor
    previous_grad: torch.Tensor
    beta: torch.Tensor
    direction: torch.Tensor
    step: torch.Tensor


@torch.inference_mode()
def batched_rcg(
    problem,
    U0,
    *,
    max_iter=100,
    tol=1e-6,
    min_step=1e-10,
    beta_rule="HS+",
    ladder=DEFAULT_LADDER,
    armijo=1e-4,
    rounds=2,
    refresh_every=20,
    compact_below=0.5,
    callback=None,
):
    """Minimise a batch of costs on ``St(d, p)`` by Riemannian conjugate gradient.

    Parameters
    ----------
    problem : object
        A batch of ``B`` problems in the form described in the module docstring.
    U0 : Tensor of shape (B, d, p)
        Orthonormal starting points, on the problem's device and dtype.
    max_iter : int, default=100
        Iterations (line searches) per problem.
    tol : float, default=1e-6
        A problem stops when the norm of its Riemannian gradient falls below ``tol``.
    min_step : float, default=1e-10
        A problem stops when the length ``||t D||`` of its accepted step is below this.
    beta_rule : {"HS+", "PR+"}, default="HS+"
        Hestenes-Stiefel (pymanopt's default) or Polak-Ribiere, clipped at zero (a
        restart).
    ladder : sequence of float, default=DEFAULT_LADDER
        Step sizes tried at once by the line search, as multiples of each problem's
        current step estimate (the last accepted step length over the new direction's
        norm).
    armijo : float, default=1e-4
        Sufficient decrease constant.
    rounds : int, default=2
        Ladders of ever smaller steps tried before a steepest descent line search
        gives up.
    refresh_every : int, default=20
        Re-orthonormalise the points and recompute the states' derived columns every
        this many iterations, to wash out the rounding drift of the updates (0 never).
    compact_below : float, default=0.5
        Drop frozen problems from the working set when the running ones are fewer than
        this fraction of it.
    callback : callable, default=None
        Called after every iteration with an :class:`RCGIterate` (for tests and
        diagnostics; converting the solver's states back to the ambient space costs a
        pass over the data).

    Returns
    -------
    result : RCGResult

    Notes
    -----
    Runs under :func:`torch.inference_mode` (the gradients are computed by hand), which
    cuts the per-operation overhead that dominates small batches.
    """
    if beta_rule not in _BETA_RULES:
        raise ValueError(f"beta_rule must be one of {_BETA_RULES}, got {beta_rule!r}.")
    B = U0.shape[0]
    dev, dt = U0.device, U0.dtype
    tiny = torch.finfo(dt).tiny
    shrink = 0.5 * min(ladder) / max(ladder)
    # The last candidate is t = 0 (the current point, re-orthonormalised): chosen when
    # no step passes, so that every outcome is read off the candidates the same way.
    ladder = torch.as_tensor(sorted(ladder, reverse=True) + [0.0], dtype=dt, device=dev)

    full_problem = problem
    W = problem.initial_state(U0.transpose(-1, -2).contiguous())
    out_W = W.clone()  # results of the whole batch, filled in as problems stop
    out_cost = torch.zeros(B, dtype=dt, device=dev)
    out_gnorm = torch.zeros(B, dtype=dt, device=dev)
    out_iter = torch.zeros(B, dtype=torch.int64, device=dev)  # iterations run
    out_reason = torch.zeros(B, dtype=torch.int64, device=dev)

    ids = torch.arange(B, device=dev)  # working set -> batch index
    P0 = problem.projections(W)
    cost, parts = problem.evaluate(P0, need_grad=True)
    GT = problem.gradient(P0, parts)
    grad = _riemannian_gradient(problem, W, GT)
    gg = _inner(problem, grad, grad)
    D, df0 = -grad, -gg
    d_norm = torch.sqrt(gg)
    steepest = torch.ones(B, dtype=torch.bool, device=dev)
    base = 1.0 / d_norm.clamp_min(tiny)  # first try: a step of unit length
    running = torch.ones(B, dtype=torch.bool, device=dev)
    reason = torch.zeros(B, dtype=torch.int64, device=dev)
    # Problems to freeze before the next iteration (a sync per iteration, not more).
    stop = gg < tol * tol
    reason = torch.where(stop, GRAD_TOL, reason)
    any_stop = bool(stop.any())

    def freeze(mask, n_done):
        idx = ids[mask]
        out_W[idx] = W[mask]
        out_cost[idx] = cost[mask]
        out_gnorm[idx] = torch.sqrt(gg[mask])
        out_iter[idx] = n_done
        out_reason[idx] = reason[mask]

    for it in range(max_iter + 1):
        if it == max_iter:
            reason = torch.where(running & (reason == RUNNING), MAX_ITER, reason)
            stop = running
        if it == max_iter or any_stop:
            freeze(stop, it)
            running = running & ~stop
            n_running = int(running.sum())
            if n_running == 0:
                break
            if n_running < compact_below * len(ids):
                keep = running.nonzero()[:, 0]
                problem = problem.take(keep)
                ids, W, cost, GT, grad, gg, D, df0, d_norm = (
                    a[keep] for a in (ids, W, cost, GT, grad, gg, D, df0, d_norm)
                )
                steepest, base, running, reason = (
                    a[keep] for a in (steepest, base, running, reason)
                )

        # Only a failed steepest descent search looks further down: a failed conjugate
        # direction is replaced by steepest descent at the next iteration anyway.
        step, found, L_inv, cost_new, GT = _line_search(
            problem, W, D, cost, GT, df0, base, steepest,
            ladder=ladder, shrink=shrink, armijo=armijo, rounds=rounds,
        )

        # Accept: U <- qf(U + t D) with the line search's own Cholesky factor, applied
        # to the whole state (so the projections follow without a pass over the data).
        # One Cholesky-QR pass suffices: U + t D is well conditioned for a tangent D
        # (its Gram matrix is I + t^2 D^T D), and every step re-orthonormalises from
        # scratch, so errors do not accumulate.
        W_new = L_inv @ torch.addcmul(W, step[:, None, None], D)
        refresh = refresh_every and (it + 1) % refresh_every == 0
        if refresh:  # wash out the rounding drift of the factored updates
            W_new = _orthonormalise(problem, W_new)
        grad_new = _riemannian_gradient(problem, W_new, GT)
        gg_new = _inner(problem, grad_new, grad_new)

        # Conjugate direction. Transport is projection onto the new tangent space, and
        # projection is self-adjoint, so <g_new, T(g_old)> = <g_new, g_old>: only the
        # direction itself needs transporting.
        TD = _tangent(problem, W_new, D)
        diff = grad_new - grad
        num = _inner(problem, grad_new, diff)
        if beta_rule == "PR+":
            beta = num / gg.clamp_min(tiny)
        else:
            denom = _inner(problem, TD, diff)
            beta = torch.where(denom != 0, num / denom, 1.0)
        beta = beta.clamp_min(0.0)
        D_new = beta[:, None, None] * TD - grad_new
        if refresh:
            D_new = problem.refresh_state(D_new)
        df0_new = _inner(problem, grad_new, D_new)

        # A failed search, or a conjugate direction that does not descend, restarts
        # from steepest descent; a failed steepest descent search ends the problem. So
        # does a conjugate direction that nearly cancelled (beta T(D) ~ grad): what is
        # left of it is rounding, and the next step size, scaled by its norm, would be
        # enormous.
        failed = ~found
        dd_new = _inner(problem, D_new, D_new)
        restart = failed | (df0_new >= 0) | (dd_new < _MIN_DIRECTION_RATIO * gg_new)
        D_new = torch.where(restart[:, None, None], -grad_new, D_new)
        df0_new = torch.where(restart, -gg_new, df0_new)
        step_len = step * d_norm
        norm_new = torch.sqrt(torch.where(restart, gg_new, dd_new))
        base = torch.where(found, step_len / norm_new.clamp_min(tiny), base)
        if callback is not None:
            to_ambient = lambda state: problem.point(state).transpose(-1, -2)  # noqa: E731
            callback(RCGIterate(
                iteration=it + 1, index=ids.clone(), point=to_ambient(W_new),
                cost=cost_new.clone(), grad=to_ambient(grad_new),
                previous_direction=to_ambient(D), transported_direction=to_ambient(TD),
                previous_grad=to_ambient(grad), beta=beta.clone(),
                direction=to_ambient(D_new), step=step.clone(),
            ))

        give_up = failed & steepest
        too_small = found & (step_len < min_step)
        converged = gg_new < tol * tol
        stop = running & (give_up | too_small | converged)
        any_stop = bool(stop.any())
        if any_stop:
            reason = torch.where(converged, GRAD_TOL, reason)
            reason = torch.where(too_small, STEP_TOL, reason)
            reason = torch.where(give_up, NO_DECREASE, reason)
        W, cost, grad, gg = W_new, cost_new, grad_new, gg_new
        D, df0, d_norm = D_new, df0_new, norm_new
        steepest = restart | (beta == 0)

    # Back to the features, then to working precision (Cholesky-QR2).
    out_U = cholesky_qr_rows(full_problem.point(out_W))[0]
    reasons = [STOPPING_REASONS.get(int(r), "max_iter reached") for r in out_reason.cpu()]
    return RCGResult(
        point=out_U.transpose(-1, -2),
        cost=out_cost,
        grad_norm=out_gnorm,
        n_iter=out_iter.cpu().numpy(),
        stopping_reason=reasons,
    )
