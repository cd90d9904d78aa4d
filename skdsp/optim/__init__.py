"""Riemannian optimisers: the batched conjugate gradient and the pymanopt reference."""

from skdsp.optim.rcg import RCGIterate, RCGResult, batched_rcg

__all__ = ["RCGIterate", "RCGResult", "batched_rcg"]
