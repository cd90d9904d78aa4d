"""Reference solver: pymanopt's Riemannian conjugate gradient, one problem at a time.

This is the solver family of the published method (Manopt's conjugate gradient) and
the yardstick for :func:`skdsp.optim.batched_rcg`. The cost and its Euclidean gradient
are computed by the caller (in skdsp, by torch on any device) and handed to pymanopt as
NumPy functions, so pymanopt only does the manifold bookkeeping on the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PymanoptResult", "pymanopt_cg"]


@dataclass
class PymanoptResult:
    """Outcome of one pymanopt run.

    Attributes
    ----------
    point : ndarray of shape (d, p)
    cost : float
    grad_norm : float
    n_iter : int
    stopping_reason : str
    """

    point: np.ndarray
    cost: float
    grad_norm: float
    n_iter: int
    stopping_reason: str


def pymanopt_cg(
    cost,
    euclidean_gradient,
    U0,
    *,
    max_iter=100,
    tol=1e-6,
    min_step=1e-10,
    beta_rule="HestenesStiefel",
):
    """Minimise ``cost`` on ``St(d, p)`` with ``pymanopt.optimizers.ConjugateGradient``.

    Parameters
    ----------
    cost : callable
        ``cost(U) -> float`` for ``U`` an ndarray of shape (d, p).
    euclidean_gradient : callable
        ``euclidean_gradient(U) -> ndarray of shape (d, p)``.
    U0 : ndarray of shape (d, p)
        Orthonormal starting point.
    max_iter : int, default=100
        pymanopt's ``max_iterations``.
    tol : float, default=1e-6
        pymanopt's ``min_gradient_norm``.
    min_step : float, default=1e-10
        pymanopt's ``min_step_size``.
    beta_rule : str, default="HestenesStiefel"
        pymanopt's conjugate gradient rule (its default).

    Returns
    -------
    result : PymanoptResult
    """
    import pymanopt
    from pymanopt.manifolds import Stiefel
    from pymanopt.optimizers import ConjugateGradient

    U0 = np.asarray(U0, dtype=np.float64)
    d, p = U0.shape
    manifold = Stiefel(d, p)

    @pymanopt.function.numpy(manifold)
    def _cost(U):
        return float(cost(U))

    @pymanopt.function.numpy(manifold)
    def _egrad(U):
        return np.asarray(euclidean_gradient(U), dtype=np.float64)

    problem = pymanopt.Problem(manifold, _cost, euclidean_gradient=_egrad)
    optimizer = ConjugateGradient(
        beta_rule=beta_rule,
        max_iterations=max_iter,
        min_gradient_norm=tol,
        min_step_size=min_step,
        verbosity=0,
    )
    res = optimizer.run(problem, initial_point=U0)
    return PymanoptResult(
        point=np.asarray(res.point),
        cost=float(res.cost),
        grad_norm=float(res.gradient_norm),
        n_iter=int(res.iterations),
        stopping_reason=str(res.stopping_criterion),
    )
