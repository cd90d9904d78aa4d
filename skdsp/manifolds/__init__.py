"""Batched geometry of the Stiefel manifold (orthonormal d x p frames), in torch."""

from skdsp.manifolds.stiefel import (
    cholesky_qr,
    inner,
    project,
    random_point,
    retract,
    sym,
    transport,
)

__all__ = ["cholesky_qr", "inner", "project", "random_point", "retract", "sym", "transport"]
