"""Riemannian optimisers: the batched conjugate gradient and the pymanopt reference."""

from skdsp.optim.rcg import RCGResult, batched_rcg

__all__ = ["RCGResult", "batched_rcg"]
