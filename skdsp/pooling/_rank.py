"""Rank pooling (Fernando et al., 2015) as a batched, device-agnostic torch function.

B. Fernando, E. Gavves, J. Oramas, A. Ghodrati and T. Tuytelaars, "Modeling video
evolution for action recognition", CVPR 2015 (and "Rank pooling for action
recognition", TPAMI 2017).
"""

from __future__ import annotations

import torch

from skdsp.utils.numerics import l2_normalize

__all__ = ["smooth_frames", "rank_pool"]


def smooth_frames(padded, mask, *, smoothing="time_varying_mean", nonlinearity=None,
                  normalize=True):
    """The vectors ``V_t`` that rank pooling regresses on the frame index.

    Parameters
    ----------
    padded : Tensor of shape (n_videos, n_frames, n_features)
        Videos, zero-padded at the end.
    mask : Tensor of shape (n_videos, n_frames), dtype bool
        True where a frame is real.
    smoothing : {"time_varying_mean", "none"}, default="time_varying_mean"
        ``"time_varying_mean"``: ``m_t = (1/t) sum_{tau <= t} x_tau``.
    nonlinearity : {None, "ssr"}, default=None
        ``"ssr"`` applies the signed square root ``sign(v) sqrt(|v|)`` after smoothing.
    normalize : bool, default=True
        L2-normalise each ``V_t`` last (see :func:`skdsp.utils.l2_normalize`;
        a zero ``V_t`` stays zero).

    Returns
    -------
    V : Tensor of shape (n_videos, n_frames, n_features)
        Zero on padded frames.
    """
    m = mask.to(padded.dtype).unsqueeze(-1)
    V = padded * m
    if smoothing == "time_varying_mean":
        t = torch.arange(1, V.shape[1] + 1, dtype=V.dtype, device=V.device)
        V = torch.cumsum(V, dim=1) / t[None, :, None]
    elif smoothing != "none":
        raise ValueError(f"smoothing must be 'time_varying_mean' or 'none', got {smoothing!r}.")
    if nonlinearity == "ssr":
        V = torch.sign(V) * torch.sqrt(torch.abs(V))
    elif nonlinearity is not None:
        raise ValueError(f"nonlinearity must be None or 'ssr', got {nonlinearity!r}.")
    if normalize:
        V = l2_normalize(V)
    return V * m


def rank_pool(V, mask, *, C=1.0, scale=None):
    """Ridge regression of the frame index on ``V_t``; the weights are the descriptor.

    Per video, with ``t = 1 .. n_frames``, solves

    ``min_{w, b}  (1/2) ||w||^2 + (C/2) sum_t (w^T scale V_t + b - t)^2``

    in closed form (the intercept ``b`` is removed by centring ``V_t`` and ``t``). The
    smaller of the primal ``(n_features x n_features)`` and dual
    ``(n_frames x n_frames)`` systems is solved by Cholesky, for all videos at once.

    Parameters
    ----------
    V : Tensor of shape (n_videos, n_frames, n_features)
        Output of :func:`smooth_frames` (zero on padded frames).
    mask : Tensor of shape (n_videos, n_frames), dtype bool
    C : float, default=1.0
        Weight of the squared loss against the norm of ``w``.
    scale : Tensor of shape (n_videos,), default=None
        The regressors of video ``i`` are ``scale[i] * V[i]``: callers pass ``V``
        near unit magnitude and the magnitude apart, so that frames of any finite
        magnitude give a finite ``w``. None means 1.

    Returns
    -------
    w : Tensor of shape (n_videos, n_features)
        Zero for a one-frame video (there is no order to fit).

    Notes
    -----
    With ``c = C scale^2`` the normal equations are ``(A + I / c) w' = b``, ``w =
    w' / scale``, where ``A`` and ``b`` come from ``V``. For ``c >= 1`` they are solved
    as written, with ``1 / c`` kept above the rounding level of ``A`` (a ridge too small
    to change the solution in floating point, but one that keeps the system positive
    definite when ``c`` is huge); for ``c < 1`` as ``(c A + I) u = b``, ``w = C scale
    u``, which stays exact as ``c`` underflows to 0.
    """
    m = mask.to(V.dtype)
    n = m.sum(dim=1).clamp_min(1.0)
    t = torch.arange(1, V.shape[1] + 1, dtype=V.dtype, device=V.device)
    tc = (t[None, :] - ((n + 1.0) / 2.0)[:, None]) * m  # centred targets
    Vc = (V - (V.sum(dim=1) / n[:, None])[:, None, :]) * m.unsqueeze(-1)
    n_frames, n_features = V.shape[1], V.shape[2]
    g = torch.ones_like(n) if scale is None else torch.as_tensor(scale, dtype=V.dtype,
                                                                 device=V.device)
    c = C * g * g
    primal = n_features <= n_frames
    if primal:
        A = Vc.transpose(1, 2) @ Vc
        rhs = Vc.transpose(1, 2) @ tc.unsqueeze(-1)
    else:
        # Padded rows of Vc are zero, so their dual variables come out zero.
        A = Vc @ Vc.transpose(1, 2)
        rhs = tc.unsqueeze(-1)
    eye = torch.eye(A.shape[-1], dtype=V.dtype, device=V.device)
    trace = A.diagonal(dim1=1, dim2=2).sum(-1)
    floor = A.shape[-1] * torch.finfo(V.dtype).eps * trace.clamp_min(1.0)
    large = c >= 1
    ridge = torch.maximum(1.0 / torch.where(large, c, torch.ones_like(c)), floor)
    c_small = torch.where(large, torch.zeros_like(c), c)
    M = torch.where(
        large[:, None, None], A + ridge[:, None, None] * eye, c_small[:, None, None] * A + eye
    )
    u = torch.cholesky_solve(rhs, torch.linalg.cholesky(M))
    if not primal:
        u = Vc.transpose(1, 2) @ u
    factor = torch.where(large, 1.0 / g, C * g)
    return u.squeeze(-1) * factor[:, None]
