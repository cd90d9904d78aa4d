"""Batched Riemannian conjugate gradient on the Stiefel manifold.

Many independent problems (one per video) are solved at once: every tensor carries a
leading batch axis, and step sizes, conjugate directions, restarts and convergence are
per problem. Converged problems freeze; once they are a good part of the working set it
is compacted so that they stop costing work.

The problem is accessed in a factored form. Its cost depends on the point ``U`` only
through projections ``P = S U`` of its data ``S`` (for DSP: frames and negatives), and
``S`` is touched only by :meth:`project` (``S @ V``) and :meth:`backproject`
(``S^T @ G``). With the QR retraction computed as Cholesky-QR,
``qf(U + t D) = (U + t D) R_t^{-1}`` with ``R_t = chol((U + t D)^T (U + t D))``, which
is a ``p x p`` matrix built from ``U^T U``, ``U^T D`` and ``D^T D``; so
``S qf(U + t D) = (S U + t S D) R_t^{-1}``. A line search can then try many step sizes
at once from ``S U`` and ``S D`` without reading ``S``: each iteration makes two passes
over the data (``S^T G`` for the gradient and ``S D`` for the new direction), plus one
(``S U``) every ``refresh_every`` iterations to wash out rounding drift.

The problem protocol (duck-typed):

``project(V) -> P``
    ``V`` of shape (B, d, p) to ``P`` of shape (B, N, p).
``backproject(G) -> E``
    ``G`` of shape (B, N, p) to the Euclidean gradient of shape (B, d, p).
``cost(P, index=None) -> f``
    ``P`` of shape (B, K, N, p) to costs (B, K); with ``index``, ``P`` holds only the
    problems at those batch indices.
``cost_and_grad(P) -> (f, G)``
    ``P`` of shape (B, N, p) to costs (B,) and their gradient with respect to ``P``.
``take(index) -> problem``
    The sub-problem of the given batch indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from skdsp.manifolds.stiefel import cholesky_factor, cholesky_qr, inner, project

__all__ = ["batched_rcg", "RCGResult", "STOPPING_REASONS"]

RUNNING, MAX_ITER, GRAD_TOL, STEP_TOL, NO_DECREASE = range(5)
STOPPING_REASONS = {
    MAX_ITER: "max_iter reached",
    GRAD_TOL: "gradient norm below tol",
    STEP_TOL: "step size below min_step",
    NO_DECREASE: "line search found no decrease along the steepest descent direction",
}
_BETA_RULES = ("PR+", "HS+")


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


def _line_search(problem, U, D, P, PD, cost, df0, base, *, n_candidates, armijo, rounds):
    """Armijo backtracking over a ladder of step sizes, evaluated at once.

    Tries ``base * 4 * 2^-k`` for ``k < n_candidates``, then the next ladder below for
    problems where nothing passed, up to ``rounds`` ladders. Among the steps that pass
    the Armijo test the one with the lowest cost is taken.

    Returns
    -------
    step : Tensor of shape (B,)
        Accepted step (0 where none passed).
    found : Tensor of shape (B,), bool
    """
    B = U.shape[0]
    Ut = U.transpose(-1, -2)
    gram_u = Ut @ U
    cross = Ut @ D
    cross = cross + cross.transpose(-1, -2)
    gram_d = D.transpose(-1, -2) @ D
    ladder = 4.0 * 2.0 ** -torch.arange(n_candidates, dtype=U.dtype, device=U.device)

    step = torch.zeros(B, dtype=U.dtype, device=U.device)
    found = torch.zeros(B, dtype=torch.bool, device=U.device)
    todo = torch.arange(B, device=U.device)
    base = base.clone()
    for _ in range(rounds):
        t = base[todo, None] * ladder  # (b, K)
        tt = t[..., None, None]
        gram = gram_u[todo, None] + tt * cross[todo, None] + tt * tt * gram_d[todo, None]
        R, ok = cholesky_factor(gram)
        Y = P[todo, None] + tt * PD[todo, None]
        Pc = torch.linalg.solve_triangular(R, Y, upper=True, left=False)
        fc = problem.cost(Pc, index=todo if len(todo) < B else None)
        accept = ok & torch.isfinite(fc) & (fc <= cost[todo, None] + armijo * t * df0[todo, None])
        fc = torch.where(accept, fc, torch.full_like(fc, float("inf")))
        best = fc.argmin(dim=-1)
        hit = accept.any(dim=-1)
        step[todo] = torch.where(hit, t.gather(-1, best[:, None])[:, 0], step[todo])
        found[todo] = hit
        todo = todo[~hit]
        if len(todo) == 0:
            break
        base[todo] = base[todo] * 2.0**-n_candidates
    return step, found


def batched_rcg(
    problem,
    U0,
    *,
    max_iter=100,
    tol=1e-6,
    min_step=1e-10,
    beta_rule="PR+",
    n_candidates=10,
    armijo=1e-4,
    rounds=3,
    refresh_every=20,
    compact_below=0.5,
):
    """Minimise a batch of costs on ``St(d, p)`` by Riemannian conjugate gradient.

    Parameters
    ----------
    problem : object
        A batch of ``B`` problems in the factored form described in the module
        docstring.
    U0 : Tensor of shape (B, d, p)
        Orthonormal starting points, on the problem's device and dtype.
    max_iter : int, default=100
        Iterations (line searches) per problem.
    tol : float, default=1e-6
        A problem stops when the norm of its Riemannian gradient falls below ``tol``.
    min_step : float, default=1e-10
        A problem stops when the length ``||t D||`` of its accepted step is below this.
    beta_rule : {"PR+", "HS+"}, default="PR+"
        Polak-Ribiere or Hestenes-Stiefel, clipped at zero (a restart).
    n_candidates : int, default=10
        Step sizes tried at once by the line search.
    armijo : float, default=1e-4
        Sufficient decrease constant.
    rounds : int, default=3
        Ladders of ``n_candidates`` ever smaller steps tried before the line search
        gives up.
    refresh_every : int, default=20
        Recompute the projections ``S U`` from the data every this many iterations
        (0 never).
    compact_below : float, default=0.5
        Drop frozen problems from the working set when the running ones are fewer than
        this fraction of it.

    Returns
    -------
    result : RCGResult
    """
    if beta_rule not in _BETA_RULES:
        raise ValueError(f"beta_rule must be one of {_BETA_RULES}, got {beta_rule!r}.")
    B = U0.shape[0]
    dev, dt = U0.device, U0.dtype

    # Results of the whole batch, filled in as problems stop.
    out_U = U0.clone()
    out_cost = torch.zeros(B, dtype=dt, device=dev)
    out_gnorm = torch.zeros(B, dtype=dt, device=dev)
    out_iter = torch.zeros(B, dtype=torch.int64, device=dev)
    out_reason = torch.zeros(B, dtype=torch.int64, device=dev)

    ids = torch.arange(B, device=dev)  # working set -> batch index
    U = U0.clone()
    P = problem.project(U)
    cost, G = problem.cost_and_grad(P)
    grad = project(U, problem.backproject(G))
    gg = inner(grad, grad)
    D = -grad
    steepest = torch.ones(B, dtype=torch.bool, device=dev)
    base = 1.0 / torch.sqrt(gg).clamp_min(torch.finfo(dt).tiny)  # first try: unit length
    running = torch.ones(B, dtype=torch.bool, device=dev)
    n_iter = torch.zeros(B, dtype=torch.int64, device=dev)
    reason = torch.zeros(B, dtype=torch.int64, device=dev)

    def freeze(mask):
        idx = ids[mask]
        out_U[idx] = U[mask]
        out_cost[idx] = cost[mask]
        out_gnorm[idx] = torch.sqrt(gg[mask])
        out_iter[idx] = n_iter[mask]
        out_reason[idx] = reason[mask]

    for it in range(max_iter + 1):
        stop = running & (torch.sqrt(gg) < tol)
        reason = torch.where(stop, torch.full_like(reason, GRAD_TOL), reason)
        if it == max_iter:
            stop = running.clone()
            reason = torch.where(
                stop & (reason == RUNNING), torch.full_like(reason, MAX_ITER), reason
            )
        if bool(stop.any()):
            freeze(stop)
            running = running & ~stop
        n_running = int(running.sum())
        if n_running == 0:
            break
        if n_running < compact_below * len(ids):
            keep = running.nonzero()[:, 0]
            problem = problem.take(keep)
            ids, U, P, cost, grad, gg, D = (a[keep] for a in (ids, U, P, cost, grad, gg, D))
            steepest, base, running, n_iter, reason = (
                a[keep] for a in (steepest, base, running, n_iter, reason)
            )

        df0 = inner(grad, D)
        ascent = df0 >= 0
        D = torch.where(ascent[:, None, None], -grad, D)
        df0 = torch.where(ascent, -gg, df0)
        steepest = steepest | ascent
        PD = problem.project(D)

        step, found = _line_search(
            problem, U, D, P, PD, cost, df0, base,
            n_candidates=n_candidates, armijo=armijo, rounds=rounds,
        )
        found = found & running
        n_iter = n_iter + running.to(n_iter.dtype)

        # Accept: U <- qf(U + t D), and the projections by the same R (no data pass).
        Y = U + step[:, None, None] * D
        Q, R, _ = cholesky_qr(Y)
        moved = found[:, None, None]
        U_new = torch.where(moved, Q, U)
        P_new = torch.linalg.solve_triangular(
            R, P + step[:, None, None] * PD, upper=True, left=False
        )
        P_new = torch.where(moved, P_new, P)
        if refresh_every and (it + 1) % refresh_every == 0:
            P_new = problem.project(U_new)
        cost_new, G = problem.cost_and_grad(P_new)
        grad_new = project(U_new, problem.backproject(G))
        gg_new = inner(grad_new, grad_new)

        # Conjugate direction, with both old vectors transported by projection.
        old_grad = project(U_new, grad)
        old_D = project(U_new, D)
        diff = grad_new - old_grad
        if beta_rule == "PR+":
            beta = inner(grad_new, diff) / gg.clamp_min(torch.finfo(dt).tiny)
        else:
            denom = inner(old_D, diff)
            beta = torch.where(
                denom != 0, inner(grad_new, diff) / denom, torch.ones_like(denom)
            )
        beta = beta.clamp_min(0.0)
        D_new = -grad_new + beta[:, None, None] * old_D

        # A failed search from a conjugate direction restarts from -grad in place; a
        # failed steepest descent search ends the problem.
        failed = running & ~found
        give_up = failed & steepest
        D_new = torch.where(failed[:, None, None], -grad, D_new)
        step_len = step * torch.sqrt(inner(D, D))
        tiny = found & (step_len < min_step)
        reason = torch.where(give_up, torch.full_like(reason, NO_DECREASE), reason)
        reason = torch.where(tiny, torch.full_like(reason, STEP_TOL), reason)

        keep_old = ~found
        U = U_new
        P = P_new
        cost = torch.where(keep_old, cost, cost_new)
        grad = torch.where(keep_old[:, None, None], grad, grad_new)
        gg = torch.where(keep_old, gg, gg_new)
        norm_new = torch.sqrt(inner(D_new, D_new)).clamp_min(torch.finfo(dt).tiny)
        base = torch.where(found, step_len / norm_new, base * 2.0**-n_candidates)
        D = D_new
        steepest = failed | (beta == 0)

        ended = give_up | tiny
        if bool(ended.any()):
            freeze(ended)
            running = running & ~ended

    reasons = [STOPPING_REASONS.get(int(r), "max_iter reached") for r in out_reason.cpu()]
    return RCGResult(
        point=out_U,
        cost=out_cost,
        grad_norm=out_gnorm,
        n_iter=out_iter.cpu().numpy(),
        stopping_reason=reasons,
    )
