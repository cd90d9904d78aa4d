"""Batched geometry of the Stiefel manifold ``St(d, p) = {U in R^{d x p} : U^T U = I_p}``.

Every function takes a leading batch of points, shape ``(..., d, p)``, and works on any
device and float dtype. Tangent vectors are represented in the embedding space, with the
Euclidean inner product (the metric pymanopt and Manopt use for ``Stiefel``).

The retraction is the QR retraction, computed as a Cholesky-QR of the small ``p x p``
Gram matrix rather than with :func:`torch.linalg.qr`: on a GPU a batch of many tall thin
QR factorisations runs one matrix at a time, while a batched ``p x p`` Cholesky and a
triangular solve are single kernels. The result is the Q factor of the QR decomposition
with a positive diagonal in R, the same point ``torch.linalg.qr`` gives up to column
signs. Cholesky-QR loses orthogonality like ``eps * cond(Y)^2``; it is applied twice
(Cholesky-QR2) to bring that back to ``eps`` and falls back to Householder QR for the
matrices whose Gram matrix is too ill-conditioned for Cholesky.
"""

from __future__ import annotations

import torch

__all__ = [
    "cholesky_factor",
    "cholesky_qr",
    "cholesky_qr_rows",
    "inner",
    "project",
    "project_rows",
    "random_point",
    "retract",
    "sym",
    "transport",
]


def sym(A):
    """Symmetric part ``(A + A^T) / 2`` of a batch of square matrices."""
    return 0.5 * (A + A.transpose(-1, -2))


def inner(A, B):
    """Euclidean inner products ``trace(A^T B)`` over the last two axes."""
    return (A * B).sum(dim=(-1, -2))


def project(U, V):
    """Orthogonal projection of ``V`` onto the tangent space at ``U``.

    Parameters
    ----------
    U : Tensor of shape (..., d, p)
        Points on the manifold.
    V : Tensor of shape (..., d, p)
        Ambient vectors (for example Euclidean gradients).

    Returns
    -------
    xi : Tensor of shape (..., d, p)
        ``V - U sym(U^T V)``.
    """
    return project_rows(U.transpose(-1, -2), V.transpose(-1, -2)).transpose(-1, -2)


def project_rows(W, X):
    """:func:`project` on transposed storage: ``W = U^T``, ``X = V^T``, shape (..., p, d).

    Returns ``(V - U sym(U^T V))^T = X - sym(X W^T) W``. The batched solver keeps its
    points as ``(p, d)`` rows because products with a trailing axis of length ``p``
    (3, typically) are several times slower on the CPU.
    """
    return X - sym(X @ W.transpose(-1, -2)) @ W


def transport(U_new, xi):
    """Vector transport by projection onto the tangent space at ``U_new``."""
    return project(U_new, xi)


def _ill_conditioned(L, rtol):
    """True where a Cholesky factor's diagonal spread is beyond ``rtol``.

    ``cond(Y) ~ max(diag L) / min(diag L)`` for ``L = chol(Y^T Y)``; Cholesky-QR2 needs
    ``cond(Y)^2 * eps`` well below one.
    """
    diag = torch.diagonal(L, dim1=-2, dim2=-1)
    dmin = diag.min(dim=-1).values
    dmax = diag.max(dim=-1).values
    return ~(dmin > rtol * dmax) | ~torch.isfinite(diag).all(dim=-1)


def _default_rtol(dtype):
    # cond(Y) up to ~ 1 / (30 sqrt(eps)): 1e2 in float32, 3e6 in float64.
    return 30.0 * torch.finfo(dtype).eps ** 0.5


def cholesky_factor(gram, *, rtol=None, check=True):
    """Upper Cholesky factors ``R`` of Gram matrices, with a flag for failures.

    Parameters
    ----------
    gram : Tensor of shape (..., p, p)
        Symmetric positive (semi-)definite matrices ``Y^T Y``.
    rtol : float, default=None
        Smallest accepted ratio of the smallest to the largest diagonal entry of the
        factor (a proxy for ``1 / cond(Y)``); by default ``30 sqrt(eps)``.
    check : bool, default=True
        Apply ``rtol``; when False only failed factorisations are flagged.

    Returns
    -------
    R : Tensor of shape (..., p, p)
        Upper triangular, ``R^T R = gram`` where ``ok`` (the identity elsewhere, so that
        triangular solves stay finite).
    ok : Tensor of shape (...), dtype bool
        False where the factorisation failed or is too ill-conditioned to trust.
    """
    L, info = torch.linalg.cholesky_ex(gram)
    ok = info == 0
    if check:
        rtol = _default_rtol(gram.dtype) if rtol is None else rtol
        ok &= ~_ill_conditioned(L, rtol)
    if not bool(ok.all()):
        eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
        L = torch.where(ok[..., None, None], L, eye.expand_as(L))
    return L.transpose(-1, -2), ok


def lower_inverse(L):
    """Inverses of a batch of small lower triangular matrices.

    Applying ``L^{-1}`` as a matrix product instead of a triangular solve keeps the
    result in row-major layout (LAPACK solves return column-major batches, which make
    every later elementwise operation strided) and is faster for ``p x p`` factors;
    with the well-conditioned factors of a retraction the accuracy is the same.
    """
    eye = torch.eye(L.shape[-1], dtype=L.dtype, device=L.device).expand_as(L)
    return torch.linalg.solve_triangular(L, eye, upper=False)


def _householder_qr(Y):
    """QR with a non-negative diagonal in R (the convention of Cholesky-QR)."""
    Q, R = torch.linalg.qr(Y)
    signs = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return Q * signs[..., None, :], R * signs[..., :, None]


def cholesky_qr(Y, *, rtol=None, passes=2):
    """Thin QR factorisation of a batch of tall matrices by Cholesky-QR.

    ``R = chol(Y^T Y)^T`` and ``Q = Y R^{-1}``, repeated ``passes`` times (Cholesky-QR2
    by default, which restores orthogonality to working precision). Matrices whose Gram
    matrix is too ill-conditioned are factorised with Householder QR instead (a rare
    path; on a GPU it is slow, which is why it is not the default).

    Parameters
    ----------
    Y : Tensor of shape (..., d, p)
        Full column rank matrices, ``d >= p``.
    rtol : float, default=None
        See :func:`cholesky_factor`.
    passes : int, default=2
        Number of Cholesky-QR passes.

    Returns
    -------
    Q : Tensor of shape (..., d, p)
        Orthonormal columns spanning the same nested subspaces as those of ``Y``.
    R : Tensor of shape (..., p, p)
        Upper triangular with positive diagonal, ``Y = Q R``.
    fallback : Tensor of shape (...), dtype bool
        True where Householder QR was used.
    """
    QT, L, fallback = cholesky_qr_rows(Y.transpose(-1, -2), rtol=rtol, passes=passes)
    return QT.transpose(-1, -2), L.transpose(-1, -2), fallback


def cholesky_qr_rows(YT, *, rtol=None, passes=2):
    """:func:`cholesky_qr` on transposed storage, ``YT = Y^T`` of shape (..., p, d).

    Returns
    -------
    QT : Tensor of shape (..., p, d)
        ``Q^T``.
    L : Tensor of shape (..., p, p)
        Lower triangular, ``L = R^T``, so that ``YT = L QT``.
    fallback : Tensor of shape (...), dtype bool
    """
    QT = YT
    L_total = None
    fallback = torch.zeros(YT.shape[:-2], dtype=torch.bool, device=YT.device)
    for _ in range(passes):
        R, ok = cholesky_factor(QT @ QT.transpose(-1, -2), rtol=rtol)
        fallback |= ~ok
        L = R.transpose(-1, -2)
        QT = lower_inverse(L) @ QT
        L_total = L if L_total is None else L_total @ L
    if bool(fallback.any()):
        idx = fallback.nonzero(as_tuple=True)
        Qf, Rf = _householder_qr(YT[idx].transpose(-1, -2))
        QT = QT.index_put(idx, Qf.transpose(-1, -2))
        L_total = L_total.index_put(idx, Rf.transpose(-1, -2))
    return QT, L_total, fallback


def retract(U, xi, t=1.0):
    """QR retraction ``qf(U + t xi)``, by Cholesky-QR.

    Parameters
    ----------
    U : Tensor of shape (..., d, p)
        Points on the manifold.
    xi : Tensor of shape (..., d, p)
        Tangent vectors at ``U``.
    t : float or Tensor of shape (...), default=1.0
        Step sizes.

    Returns
    -------
    U_new : Tensor of shape (..., d, p)
    """
    if torch.is_tensor(t) and t.ndim > 0:
        t = t[..., None, None]
    return cholesky_qr(U + t * xi)[0]


def random_point(shape, d, p, *, generator=None, dtype=torch.float32, device="cpu"):
    """Uniformly distributed points on ``St(d, p)``.

    Parameters
    ----------
    shape : tuple of int
        Batch shape.
    d, p : int
        Ambient dimension and number of columns, ``d >= p``.
    generator : torch.Generator, default=None
        Source of randomness (on ``device``).

    Returns
    -------
    U : Tensor of shape (*shape, d, p)
    """
    if p > d:
        raise ValueError(f"A Stiefel point needs p <= d; got d={d}, p={p}.")
    G = torch.randn(
        (*tuple(shape), d, p), generator=generator, dtype=dtype, device=device
    )
    return _householder_qr(G)[0]
