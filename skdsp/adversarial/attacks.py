"""Adversarial perturbations of feature vectors: batched, device-agnostic torch functions.

Every attack takes ``model``, a :class:`torch.nn.Module` mapping a batch of feature
vectors ``(batch, n_features)`` to class scores ``(batch, n_classes)``, and returns the
*perturbation* (not the perturbed input), so that callers decide what to add it to.
The inputs are features, not pixels: nothing is clamped to ``[0, 1]``; ``clip`` bounds
the perturbed features only when asked.

The model is evaluated in eval mode (dropout off, batch-norm frozen) and its training
flag is restored afterwards; its parameters are never updated. Frames are treated as
independent: the model must not mix samples within a batch (true of any per-frame
network in eval mode).
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DeepFoolResult",
    "UniversalPerturbationResult",
    "check_norm",
    "deepfool",
    "fgsm",
    "fooling_rate",
    "lp_norm",
    "pgd",
    "predict",
    "project_ball",
    "random_directions",
    "universal_perturbation",
]


# --------------------------------------------------------------------------- norms


def check_norm(norm):
    """Normalise a norm specification to ``2`` or ``inf`` (``math.inf``).

    Parameters
    ----------
    norm : {2, "2", "l2", inf, "inf", "linf"}

    Returns
    -------
    norm : int or float
        ``2`` or ``math.inf``.
    """
    if isinstance(norm, str):
        key = norm.lower()
        if key in ("2", "l2"):
            return 2
        if key in ("inf", "linf", "np.inf"):
            return math.inf
    elif isinstance(norm, (int, float)) and not isinstance(norm, bool):
        if norm == 2:
            return 2
        if norm == math.inf:
            return math.inf
    raise ValueError(f"norm={norm!r} is not supported; use 2 or 'inf'.")


def lp_norm(x, norm=2):
    """Norm of each row of ``x`` (last dimension).

    Parameters
    ----------
    x : Tensor of shape (..., n_features)
    norm : {2, "inf"}

    Returns
    -------
    norms : Tensor of shape (...)
    """
    norm = check_norm(norm)
    if norm == 2:
        return torch.linalg.vector_norm(x, ord=2, dim=-1)
    return x.abs().amax(dim=-1)


def project_ball(v, eps, norm=2):
    """Project each row of ``v`` onto the ball ``||v||_q <= eps``.

    Parameters
    ----------
    v : Tensor of shape (..., n_features)
    eps : float
        Radius of the ball.
    norm : {2, "inf"}
        ``2``: rows longer than ``eps`` are rescaled to length ``eps``.
        ``"inf"``: entries are clipped to ``[-eps, eps]``.

    Returns
    -------
    projected : Tensor of shape (..., n_features)
    """
    norm = check_norm(norm)
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}.")
    if norm == 2:
        n = torch.linalg.vector_norm(v, ord=2, dim=-1, keepdim=True)
        scale = torch.clamp(eps / torch.clamp(n, min=torch.finfo(v.dtype).tiny), max=1.0)
        return v * scale
    return torch.clamp(v, -eps, eps)


def _normalize_rows(g, norm):
    """Direction of steepest ascent of a linear function with gradient ``g`` in the
    unit ball of ``norm`` (zero rows stay zero)."""
    if norm == 2:
        n = torch.linalg.vector_norm(g, ord=2, dim=-1, keepdim=True)
        return g / torch.clamp(n, min=torch.finfo(g.dtype).tiny)
    return torch.sign(g)


def random_directions(
    shape, eps, norm=2, *, generator=None, device=None, dtype=torch.float32
):
    """Random vectors of norm exactly ``eps``, isotropic in direction.

    Each row is a standard Gaussian vector rescaled to have ``||r||_q = eps`` (for
    ``"inf"``, the largest entry in absolute value equals ``eps``).

    Parameters
    ----------
    shape : tuple of int
        ``(..., n_features)``.
    eps : float
    norm : {2, "inf"}
    generator : torch.Generator, default=None
        Source of randomness (seeded, for reproducibility); it fixes the device when
        ``device`` is None.
    device, dtype : optional
        Where and how to create the vectors.

    Returns
    -------
    directions : Tensor of shape ``shape``
    """
    norm = check_norm(norm)
    if device is None and generator is not None:
        device = generator.device
    g = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    n = lp_norm(g, norm).unsqueeze(-1)
    return eps * g / torch.clamp(n, min=torch.finfo(dtype).tiny)


def _random_in_ball(shape, eps, norm, generator, device, dtype):
    """Uniform random points in the ``eps`` ball (PGD's random start)."""
    if norm == 2:
        d = shape[-1]
        u = torch.rand(shape[:-1] + (1,), generator=generator, device=device, dtype=dtype)
        return random_directions(
            shape, eps, 2, generator=generator, device=device, dtype=dtype
        ) * u ** (1.0 / d)
    u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
    return eps * (2 * u - 1)


def _clip(x, clip):
    if clip is None:
        return x
    lo, hi = clip
    return torch.clamp(x, lo, hi)


# --------------------------------------------------------------------------- model


@contextlib.contextmanager
def _eval_mode(model):
    """Evaluate ``model`` in eval mode, restoring every submodule's flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def _scores(model, x):
    out = model(x)
    if out.ndim != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(
            f"The model maps inputs of shape {tuple(x.shape)} to outputs of shape "
            f"{tuple(out.shape)}; expected (batch, n_classes)."
        )
    return out


@torch.no_grad()
def predict(model, x, *, batch_size=None):
    """Predicted class (argmax of the scores) of each row of ``x``.

    Parameters
    ----------
    model : torch.nn.Module
    x : Tensor of shape (n_samples, n_features)
    batch_size : int, default=None
        Rows per forward pass; all at once when None.

    Returns
    -------
    labels : Tensor of shape (n_samples,), dtype int64
    """
    with _eval_mode(model):
        if batch_size is None or batch_size >= x.shape[0]:
            return _scores(model, x).argmax(dim=1)
        return torch.cat(
            [_scores(model, xb).argmax(dim=1) for xb in torch.split(x, batch_size)]
        )


def fooling_rate(model, x, perturbation, *, batch_size=None, labels=None):
    """Fraction of rows whose predicted class changes when ``perturbation`` is added.

    Parameters
    ----------
    model : torch.nn.Module
    x : Tensor of shape (n_samples, n_features)
    perturbation : Tensor of shape (n_features,) or (n_samples, n_features)
        One universal vector, or one per row.
    batch_size : int, default=None
    labels : Tensor of shape (n_samples,), default=None
        Predictions on the clean rows, if already known.

    Returns
    -------
    rate : float
    """
    if labels is None:
        labels = predict(model, x, batch_size=batch_size)
    adv = predict(model, x + perturbation, batch_size=batch_size)
    return float((adv != labels).double().mean())


def _logits_and_jacobian(model, x):
    """Scores ``(batch, K)`` and the gradient of every score, class-major ``(K, batch, d)``.

    One forward pass and ``K`` vector-Jacobian products vmapped together: rows are
    independent, so the gradient of the batch sum of score ``k`` is, row by row, the
    gradient of each row's score ``k``. The class-major layout is what the transform
    produces, and makes ``jac[class_of_row, row]`` a cheap gather.
    """

    def summed(z):
        out = _scores(model, z)
        return out.sum(dim=0), out

    try:
        jac, logits = torch.func.jacrev(summed, has_aux=True)(x)
        return logits.detach(), jac.detach()
    except (RuntimeError, NotImplementedError):
        # Some modules do not support torch.func transforms; one backward per class,
        # still batched over rows.
        z = x.detach().requires_grad_(True)
        with torch.enable_grad():
            out = _scores(model, z)
            grads = [
                torch.autograd.grad(out[:, k].sum(), z, retain_graph=True)[0]
                for k in range(out.shape[1])
            ]
        return out.detach(), torch.stack(grads, dim=0)


# --------------------------------------------------------------------------- DeepFool


class DeepFoolResult(NamedTuple):
    """What :func:`deepfool` returns.

    Attributes
    ----------
    perturbation : Tensor of shape (n_samples, n_features)
        ``(1 + overshoot)`` times the accumulated DeepFool steps.
    n_iter : Tensor of shape (n_samples,), dtype int64
        Linearisation steps taken for each row.
    fooled : Tensor of shape (n_samples,), dtype bool
        Whether ``x + perturbation`` is classified differently from ``x``.
    """

    perturbation: torch.Tensor
    n_iter: torch.Tensor
    fooled: torch.Tensor


def deepfool(model, x, *, overshoot=0.02, max_iter=10, norm=2, labels=None, clip=None):
    """Minimal perturbations that change the model's prediction (DeepFool), batched.

    Multi-class DeepFool (Moosavi-Dezfooli et al., CVPR 2016). At each step, for the
    current point of a row predicted (at the start) as class ``o``, every other class
    ``k`` gives a linearised boundary with ``w_k = grad f_k - grad f_o`` and
    ``f'_k = f_k - f_o``; the step goes to the nearest one,
    ``l = argmin_k |f'_k| / ||w_k||_p*`` (``p*`` the dual norm: 2 for L2, 1 for Linf),
    by ``r = (|f'_l| + 1e-4) / ||w_l||_2^2 * w_l`` (L2) or
    ``(|f'_l| + 1e-4) / ||w_l||_1 * sign(w_l)`` (Linf). Rows stop as soon as
    ``x + (1 + overshoot) * r_total`` is misclassified; the others keep iterating.
    All class gradients of all active rows come from one batched Jacobian call.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_features)`` to scores ``(batch, n_classes)``.
    x : Tensor of shape (n_samples, n_features)
    overshoot : float, default=0.02
        The returned perturbation is ``(1 + overshoot)`` times the accumulated steps,
        so that it crosses the boundary rather than landing on it.
    max_iter : int, default=10
        Most linearisation steps per row.
    norm : {2, "inf"}, default=2
    labels : Tensor of shape (n_samples,), default=None
        The classes to move away from; the model's predictions on ``x`` by default.
    clip : tuple of float, default=None
        ``(low, high)`` range for the perturbed features, if they must stay in one.

    Returns
    -------
    result : DeepFoolResult
        ``(perturbation, n_iter, fooled)``.
    """
    norm = check_norm(norm)
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}.")
    x = x.detach()
    n = x.shape[0]
    r_tot = torch.zeros_like(x)
    n_iter = torch.zeros(n, dtype=torch.long, device=x.device)
    fooled = torch.zeros(n, dtype=torch.bool, device=x.device)
    with _eval_mode(model):
        if labels is None:
            labels = predict(model, x)
        labels = labels.to(x.device)
        active = torch.arange(n, device=x.device)
        for _ in range(max_iter):
            if active.numel() == 0:
                break
            xa = _clip(x[active] + (1 + overshoot) * r_tot[active], clip)
            logits, jac = _logits_and_jacobian(model, xa)
            orig = labels[active]
            done = logits.argmax(dim=1) != orig
            fooled[active[done]] = True
            # Work on the whole Jacobian and index the small (batch, K) results: copying
            # the (K, batch, d) Jacobian costs more than the few rows it would save.
            keep = (~done).nonzero().squeeze(1)
            active = active[keep]
            if active.numel() == 0:
                break
            all_rows = torch.arange(jac.shape[1], device=x.device)
            g_o_all = jac[orig, all_rows]
            f = (logits - logits[all_rows, orig].unsqueeze(1)).abs()[keep]
            orig = orig[keep]
            rows = torch.arange(keep.numel(), device=x.device)
            g_o = g_o_all[keep]
            tiny = torch.finfo(x.dtype).tiny
            if norm == 2:
                # ||g_k - g_o||^2 from inner products: no (K, batch, d) difference.
                sq = torch.linalg.vector_norm(jac, dim=-1).square()
                dot = (jac * g_o_all).sum(dim=-1)
                wn2 = sq - 2 * dot + torch.linalg.vector_norm(g_o_all, dim=1).square()
                wn = torch.sqrt(torch.clamp(wn2.T[keep], min=0))
            else:
                wn = (jac[:, keep] - g_o).abs().sum(dim=-1).T
            ratio = f / torch.clamp(wn, min=tiny)
            ratio[rows, orig] = math.inf
            best = ratio.argmin(dim=1)
            w_l = jac[best, keep] - g_o
            f_l = f[rows, best]
            if norm == 2:
                wn_l = torch.clamp(torch.linalg.vector_norm(w_l, dim=1), min=tiny)
                step = ((f_l + 1e-4) / wn_l**2).unsqueeze(1) * w_l
            else:
                wn_l = torch.clamp(w_l.abs().sum(dim=1), min=tiny)
                step = ((f_l + 1e-4) / wn_l).unsqueeze(1) * torch.sign(w_l)
            r_tot[active] += step
            n_iter[active] += 1
        if active.numel() > 0:
            xa = _clip(x[active] + (1 + overshoot) * r_tot[active], clip)
            with torch.no_grad():
                fooled[active] = _scores(model, xa).argmax(dim=1) != labels[active]
    r = (1 + overshoot) * r_tot
    if clip is not None:
        r = _clip(x + r, clip) - x
    return DeepFoolResult(r, n_iter, fooled)


# --------------------------------------------------------------------------- UAP


class UniversalPerturbationResult(NamedTuple):
    """What :func:`universal_perturbation` returns.

    Attributes
    ----------
    perturbation : Tensor of shape (n_features,)
    fooling_rate : float
        Fraction of the frames whose predicted class changes when the perturbation is
        added.
    n_passes : int
        Passes made over the frames.
    """

    perturbation: torch.Tensor
    fooling_rate: float
    n_passes: int


def universal_perturbation(
    model,
    frames,
    *,
    eps,
    norm=2,
    max_fooling=0.8,
    max_passes=10,
    overshoot=0.02,
    max_iter_deepfool=10,
    batch_size=64,
    update="sequential",
    random_state=None,
    generator=None,
    verbose=0,
):
    """One perturbation, of norm at most ``eps``, that fools the model on most frames.

    The universal adversarial perturbation of Moosavi-Dezfooli et al. (CVPR 2017), in
    feature space and batched: ``v = 0``; each pass visits the frames in a random
    order, ``batch_size`` at a time; the frames of a minibatch that ``v`` does not yet
    fool get a DeepFool perturbation ``dv_i`` from ``x_i + v`` (all at once), and ``v``
    is updated and projected onto the ball ``||v||_q <= eps``. Passes stop when the
    fooling rate on all frames reaches ``max_fooling`` or after ``max_passes``; the
    ``v`` of the pass with the highest fooling rate is returned.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_features)`` to scores ``(batch, n_classes)``.
    frames : Tensor of shape (n_frames, n_features)
    eps : float
        Radius of the norm ball (the paper's ``xi``).
    norm : {2, "inf"}, default=2
    max_fooling : float, default=0.8
        Target fooling rate (``1 - delta`` in the paper).
    max_passes : int, default=10
    overshoot : float, default=0.02
    max_iter_deepfool : int, default=10
    batch_size : int, default=64
        Frames attacked together. ``batch_size=1`` is the original sequential
        algorithm.
    update : {"sequential", "sum"}, default="sequential"
        How a minibatch's DeepFool perturbations update ``v``. ``"sum"``:
        ``v <- P(v + sum_i dv_i)``; ``"sequential"``: ``v <- P(v + dv_i)`` frame by
        frame within the minibatch (the original update; the DeepFool perturbations
        are still computed together, from the ``v`` at the start of the minibatch).
        Only frames that DeepFool managed to fool contribute, as in the original
        algorithm.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the frames (ignored when ``generator`` is given).
    generator : torch.Generator, default=None
        A CPU generator to draw the orders from.
    verbose : int, default=0
        Show a progress bar over passes when positive.

    Returns
    -------
    result : UniversalPerturbationResult
        ``(perturbation, fooling_rate, n_passes)``.
    """
    norm = check_norm(norm)
    if update not in ("sum", "sequential"):
        raise ValueError(f"update={update!r} is not supported; use 'sum' or 'sequential'.")
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}.")
    if generator is None:
        from skdsp.utils.random import torch_generator

        generator = torch_generator(random_state)
    frames = frames.detach()
    n, d = frames.shape
    v = torch.zeros(d, dtype=frames.dtype, device=frames.device)
    eval_batch = max(4096, batch_size)
    with _eval_mode(model):
        labels = predict(model, frames, batch_size=eval_batch)
        # The fooling rate is not monotone over updates: keep the best pass's v.
        best, best_rate = v, 0.0
        n_passes = 0
        # A zero-radius ball holds only v = 0: no pass can change it.
        passes = range(max_passes if eps > 0 else 0)
        if verbose:
            from tqdm.auto import tqdm

            passes = tqdm(passes, desc="universal perturbation", leave=False)
        for _ in passes:
            n_passes += 1
            order = torch.randperm(n, generator=generator).to(frames.device)
            for idx in torch.split(order, batch_size):
                xb = frames[idx]
                with torch.no_grad():
                    still = _scores(model, xb + v).argmax(dim=1) == labels[idx]
                if not still.any():
                    continue
                res = deepfool(
                    model,
                    xb[still] + v,
                    overshoot=overshoot,
                    max_iter=max_iter_deepfool,
                    norm=norm,
                    labels=labels[idx][still],
                )
                dv = res.perturbation[res.fooled]
                if dv.shape[0] == 0:
                    continue
                if update == "sum":
                    v = project_ball(v + dv.sum(dim=0), eps, norm)
                else:
                    v = _sequential_update(v, dv, eps, norm)
            rate = fooling_rate(model, frames, v, batch_size=eval_batch, labels=labels)
            if rate > best_rate:
                best, best_rate = v, rate
            if verbose:
                passes.set_postfix(fooling_rate=f"{best_rate:.3f}")
            if best_rate >= max_fooling:
                break
        if verbose:
            passes.close()
    return UniversalPerturbationResult(best, best_rate, n_passes)


def _sequential_update(v, dv, eps, norm):
    """``v <- P(v + dv_i)`` for each row of ``dv`` in turn.

    The recurrence is inherently sequential; NumPy on the host runs one step in about a
    microsecond, where a torch step (a few small kernels) costs tens.
    """
    vn = v.detach().cpu().double().numpy()
    dn = dv.detach().cpu().double().numpy()
    for row in dn:
        vn = vn + row
        if norm == 2:
            n = float(np.sqrt(vn @ vn))
            if n > eps:
                vn *= eps / n
        else:
            np.clip(vn, -eps, eps, out=vn)
    return torch.as_tensor(vn, dtype=v.dtype, device=v.device)


# --------------------------------------------------------------------------- gradient attacks


def _loss_grad(model, x, y):
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        # Summed, not averaged: each row's gradient does not depend on the batch size.
        loss = F.cross_entropy(_scores(model, z), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, z)
    return g


def fgsm(model, x, y, *, eps, norm=2, clip=None):
    """Fast gradient (sign) method: one step up the cross-entropy, of norm ``eps``.

    ``r = eps * g / ||g||_2`` (L2) or ``r = eps * sign(g)`` (Linf), with ``g`` the
    gradient of the cross-entropy of each row with respect to the row.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_features)`` to scores (logits) ``(batch, n_classes)``.
    x : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples,), dtype int64
        Classes to move away from (e.g. the model's own predictions).
    eps : float
    norm : {2, "inf"}, default=2
    clip : tuple of float, default=None
        ``(low, high)`` range for the perturbed features.

    Returns
    -------
    perturbation : Tensor of shape (n_samples, n_features)
    """
    norm = check_norm(norm)
    with _eval_mode(model):
        g = _loss_grad(model, x, y.to(x.device))
    r = eps * _normalize_rows(g, norm)
    if clip is not None:
        r = _clip(x + r, clip) - x
    return r.detach()


def pgd(
    model,
    x,
    y,
    *,
    eps,
    norm=2,
    step_size=None,
    n_steps=10,
    random_start=True,
    random_state=None,
    generator=None,
    clip=None,
):
    """Projected gradient ascent on the cross-entropy within the ``eps`` ball.

    Starts from a uniform random point of the ball (when ``random_start``), then takes
    ``n_steps`` steps ``r <- P(r + step_size * g / ||g||)`` (L2) or
    ``P(r + step_size * sign(g))`` (Linf).

    Parameters
    ----------
    model : torch.nn.Module
    x : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples,), dtype int64
    eps : float
    norm : {2, "inf"}, default=2
    step_size : float, default=None
        ``2.5 * eps / n_steps`` when None.
    n_steps : int, default=10
    random_start : bool, default=True
    random_state : int, RandomState instance or None, default=None
        Seeds the random start (ignored when ``generator`` is given).
    generator : torch.Generator, default=None
        On ``x``'s device.
    clip : tuple of float, default=None

    Returns
    -------
    perturbation : Tensor of shape (n_samples, n_features)
    """
    norm = check_norm(norm)
    if step_size is None:
        step_size = 2.5 * eps / max(n_steps, 1)
    x = x.detach()
    y = y.to(x.device)
    if random_start:
        if generator is None:
            from skdsp.utils.random import torch_generator

            generator = torch_generator(random_state, x.device)
        r = _random_in_ball(tuple(x.shape), eps, norm, generator, x.device, x.dtype)
    else:
        r = torch.zeros_like(x)
    with _eval_mode(model):
        for _ in range(n_steps):
            g = _loss_grad(model, _clip(x + r, clip), y)
            r = project_ball(r + step_size * _normalize_rows(g, norm), eps, norm)
            if clip is not None:
                r = _clip(x + r, clip) - x
    return r.detach()
