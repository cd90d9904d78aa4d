"""Rank pooling (Fernando et al., 2015) as a batched, device-agnostic torch function.

B. Fernando, E. Gavves, J. Oramas, A. Ghodrati and T. Tuytelaars, "Modeling video
evolution for action recognition", CVPR 2015 (and "Rank pooling for action
recognition", TPAMI 2017).
"""

from __future__ import annotations

import torch

__all__ = ["smooth_frames", "rank_pool"]

_EPS = 1e-12


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
        L2-normalise each ``V_t`` last.

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
        V = V / torch.linalg.vector_norm(V, dim=-1, keepdim=True).clamp_min(_EPS)
    return V * m


def rank_pool(V, mask, *, C=1.0):
    """Ridge regression of the frame index on ``V_t``; the weights are the descriptor.

    Per video, with ``t = 1 .. n_frames``, solves

    ``min_{w, b}  (1/2) ||w||^2 + (C/2) sum_t (w^T V_t + b - t)^2``

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

    Returns
    -------
    w : Tensor of shape (n_videos, n_features)
        Zero for a one-frame video (there is no order to fit).
    """
    m = mask.to(V.dtype)
    n = m.sum(dim=1).clamp_min(1.0)
    t = torch.arange(1, V.shape[1] + 1, dtype=V.dtype, device=V.device)
    tc = (t[None, :] - ((n + 1.0) / 2.0)[:, None]) * m  # centred targets
    Vc = (V - (V.sum(dim=1) / n[:, None])[:, None, :]) * m.unsqueeze(-1)
    n_frames, n_features = V.shape[1], V.shape[2]
    if n_features <= n_frames:
        eye = torch.eye(n_features, dtype=V.dtype, device=V.device)
        A = Vc.transpose(1, 2) @ Vc + eye / C
        rhs = (Vc.transpose(1, 2) @ tc.unsqueeze(-1))
        return torch.cholesky_solve(rhs, torch.linalg.cholesky(A)).squeeze(-1)
    eye = torch.eye(n_frames, dtype=V.dtype, device=V.device)
    # Padded rows of Vc are zero, so their dual variables solve (1/C) a = 0 exactly.
    K = Vc @ Vc.transpose(1, 2) + eye / C
    alpha = torch.cholesky_solve(tc.unsqueeze(-1), torch.linalg.cholesky(K))
    return (Vc.transpose(1, 2) @ alpha).squeeze(-1)
