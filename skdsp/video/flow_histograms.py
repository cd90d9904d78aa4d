"""Hand-crafted motion descriptors of flow fields: HOF and MBH, per frame pair.

These are the flow descriptors of dense trajectories (Laptev et al., CVPR 2008; Dalal,
Triggs and Schmid, ECCV 2006; Wang, Klaeser, Schmid and Liu, IJCV 2013), computed here
over a spatial grid laid on the whole frame rather than along trajectories, so that
each frame pair gives one fixed-length vector:

- **HOF**, histograms of optical flow: in each cell, the flow vectors' orientations
  binned over the full circle (``n_bins`` bins, bin 0 centred on motion to the right),
  each vote weighted by the vector's magnitude and split linearly between the two
  nearest bins, plus one extra *zero* bin for pixels moving less than
  ``min_magnitude`` pixels (each such pixel votes ``min_magnitude`` there, so all bins
  share one unit).
- **MBH**, motion boundary histograms: the same orientation histograms (without the
  zero bin) of the spatial gradients of the x component of the flow (MBHx) and of its
  y component (MBHy). Gradients of the flow are zero where the flow is constant, so MBH
  ignores a uniform translation (camera pan) and keeps where and how the motion
  changes (zoom, objects moving against the background).

Votes are averaged over each cell's pixels (the descriptor does not depend on the
frame's resolution), then each descriptor (HOF, MBHx, MBHy) is normalised as a whole,
so the balance between cells survives. All functions are batched torch code; they take
and return NumPy arrays or tensors.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = [
    "HISTOGRAMS",
    "NORMALIZATIONS",
    "orientation_histograms",
    "motion_histograms",
    "motion_histogram_names",
]

#: Descriptors :func:`motion_histograms` can compute.
HISTOGRAMS = ("hof", "mbhx", "mbhy")

#: Normalisations of each descriptor: ``"root"`` divides by the L1 norm and takes the
#: square root (the Hellinger map that dense trajectories use), ``"l2"`` divides by the
#: L2 norm, None keeps the averaged votes (in pixels per frame).
NORMALIZATIONS = ("root", "l2", None)


def _cells(height, width, grid, device):
    """Cell index (row-major over the grid) of every pixel, shape (height * width,)."""
    rows, cols = grid
    cy = torch.arange(height, device=device) * rows // height
    cx = torch.arange(width, device=device) * cols // width
    return (cy[:, None] * cols + cx[None, :]).reshape(-1)


def orientation_histograms(dx, dy, *, grid=(2, 2), n_bins=8, min_magnitude=None):
    """Magnitude-weighted orientation histograms of a vector field over a grid.

    Parameters
    ----------
    dx, dy : Tensor of shape (n, height, width)
        The field's x (right) and y (down) components.
    grid : tuple of (int, int), default=(2, 2)
        Cells ``(rows, columns)``; pixel ``(i, j)`` lies in cell
        ``(i * rows // height, j * columns // width)``.
    n_bins : int, default=8
        Orientation bins over the full circle; bin ``k`` is centred on the angle
        ``2 pi k / n_bins`` (0: to the right, ``pi / 2``: down).
    min_magnitude : float, default=None
        If given, vectors shorter than this vote ``min_magnitude`` into an extra
        zero bin instead of into the orientation bins.

    Returns
    -------
    histograms : Tensor of shape (n, rows, columns, n_bins [+ 1])
        Votes averaged over each cell's pixels; the zero bin, when present, is last.
    """
    n, height, width = dx.shape
    rows, cols = grid
    dx, dy = dx.contiguous(), dy.contiguous()  # strided views make every op slower
    magnitude = torch.hypot(dx, dy).view(n, -1)
    # Position on the circle in bins, in [0, n_bins]: atan2 is in [-pi, pi].
    position = torch.atan2(dy, dx).view(n, -1).mul_(n_bins / (2 * math.pi))
    position += (position < 0).to(position.dtype) * n_bins
    lower = torch.floor(position)
    upper_vote = magnitude * position.sub_(lower)
    lower_vote = magnitude - upper_vote
    # Each cell gets n_bins + 2 slots so that the upper neighbour of the last bin
    # (and a position of exactly n_bins) need no modulo: slots n_bins and n_bins + 1
    # are folded back onto bins 0 and 1 afterwards. One more slot holds zero votes.
    n_slots = n_bins + 3
    cell = _cells(height, width, grid, dx.device) * n_slots
    index = lower.to(torch.int64).add_(cell)
    out = torch.zeros(n, rows * cols * n_slots, dtype=dx.dtype, device=dx.device)
    if min_magnitude is not None:
        still = magnitude < min_magnitude
        lower_vote.masked_fill_(still, 0.0)
        upper_vote.masked_fill_(still, 0.0)
        out.scatter_add_(
            1, (cell + n_bins + 2).expand(n, -1), still.to(dx.dtype) * min_magnitude
        )
    out.scatter_add_(1, index, lower_vote)
    out.scatter_add_(1, index.add_(1), upper_vote)
    out = out.view(n, rows * cols, n_slots)
    hist = out[..., :n_bins].clone()
    hist[..., :2] += out[..., n_bins : n_bins + 2]
    if min_magnitude is not None:
        hist = torch.cat([hist, out[..., n_bins + 2 :]], dim=-1)
    counts = torch.bincount(
        _cells(height, width, grid, dx.device), minlength=rows * cols
    ).to(dx.dtype)
    hist /= counts.view(1, -1, 1)
    return hist.view(n, rows, cols, hist.shape[-1])


def _normalize(h, normalize):
    flat = h.reshape(h.shape[0], -1)
    tiny = torch.finfo(flat.dtype).tiny
    if normalize == "root":
        return torch.sqrt(flat / flat.sum(dim=1, keepdim=True).clamp_min(tiny))
    if normalize == "l2":
        return flat / torch.linalg.vector_norm(flat, dim=1, keepdim=True).clamp_min(tiny)
    return flat


def _check_settings(descriptors, grid, n_bins, min_magnitude, normalize):
    descriptors = tuple(descriptors)
    if not descriptors or any(d not in HISTOGRAMS for d in descriptors) or len(
        set(descriptors)
    ) != len(descriptors):
        raise ValueError(
            f"descriptors must be distinct names from {HISTOGRAMS}, got {descriptors!r}."
        )
    try:
        rows, cols = grid
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
            for v in (rows, cols)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"grid must be (rows, columns), positive integers, got {grid!r}.")
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}.")
    if min_magnitude is not None and not (
        isinstance(min_magnitude, numbers.Real) and min_magnitude > 0
    ):
        raise ValueError(f"min_magnitude must be positive or None, got {min_magnitude!r}.")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}.")
    return descriptors, (int(rows), int(cols)), int(n_bins)


def motion_histograms(
    flow,
    *,
    descriptors=HISTOGRAMS,
    grid=(2, 2),
    n_bins=8,
    min_magnitude=0.5,
    normalize="root",
):
    """HOF and MBH descriptors of flow fields, one row per field.

    Parameters
    ----------
    flow : ndarray or Tensor of shape (n, height, width, 2)
        Flow fields in pixels, ``(dx, dy)`` last.
    descriptors : sequence of {"hof", "mbhx", "mbhy"}, default=("hof", "mbhx", "mbhy")
        Which descriptors to compute, concatenated in this order.
    grid : tuple of (int, int), default=(2, 2)
        Spatial cells ``(rows, columns)``.
    n_bins : int, default=8
        Orientation bins.
    min_magnitude : float or None, default=0.5
        Below this many pixels per frame, a flow vector counts in HOF's zero bin;
        None: HOF has no zero bin.
    normalize : {"root", "l2"} or None, default="root"
        Normalisation of each descriptor as a whole (see :data:`NORMALIZATIONS`).

    Returns
    -------
    features : ndarray or Tensor of shape (n, n_features)
        A NumPy array for NumPy input. ``n_features`` is ``rows * columns`` times
        ``n_bins + 1`` for HOF (``n_bins`` without zero bin) and ``n_bins`` for each
        of MBHx and MBHy; :func:`motion_histogram_names` names the columns.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.video.flow_histograms import motion_histograms
    >>> flow = np.zeros((1, 8, 8, 2), dtype=np.float32)
    >>> flow[..., 0] = 3.0                       # everything moves 3 pixels right
    >>> hof = motion_histograms(flow, descriptors=["hof"], grid=(1, 1), n_bins=4)
    >>> hof.round(3)                             # bins: right, down, left, up, zero
    array([[1., 0., 0., 0., 0.]], dtype=float32)
    """
    descriptors, grid, n_bins = _check_settings(
        descriptors, grid, n_bins, min_magnitude, normalize
    )
    numpy_out = not isinstance(flow, torch.Tensor)
    f = torch.as_tensor(np.asarray(flow) if numpy_out else flow)
    if f.ndim != 4 or f.shape[-1] != 2:
        raise ValueError(f"flow must have shape (n, height, width, 2), got {tuple(f.shape)}.")
    if min(f.shape[1:3]) < 2:
        raise ValueError(
            f"flow fields are {f.shape[1]} x {f.shape[2]} pixels; gradients need at least 2 x 2."
        )
    if not f.is_floating_point():
        f = f.float()
    # A sum is finite when every term is (flows are far from overflowing).
    if not bool(torch.isfinite(f.sum())) and not bool(torch.isfinite(f).all()):
        raise ValueError("flow contains NaN or infinite values.")
    u, v = f[..., 0].contiguous(), f[..., 1].contiguous()
    parts = []
    for name in descriptors:
        if name == "hof":
            h = orientation_histograms(
                u, v, grid=grid, n_bins=n_bins, min_magnitude=min_magnitude
            )
        else:
            component = u if name == "mbhx" else v
            d_dy, d_dx = torch.gradient(component, dim=(1, 2))
            h = orientation_histograms(d_dx, d_dy, grid=grid, n_bins=n_bins)
        parts.append(_normalize(h, normalize))
    out = torch.cat(parts, dim=1)
    return out.numpy() if numpy_out else out


def motion_histogram_names(
    *, descriptors=HISTOGRAMS, grid=(2, 2), n_bins=8, min_magnitude=0.5
):
    """Names of the columns of :func:`motion_histograms`, e.g. ``"hof_r0c1_b3"``.

    Returns
    -------
    names : list of str
        ``{descriptor}_r{row}c{column}_b{bin}``, and ``..._zero`` for HOF's zero bin.
    """
    descriptors, (rows, cols), n_bins = _check_settings(
        descriptors, grid, n_bins, min_magnitude, None
    )
    names = []
    for name in descriptors:
        slots = [f"b{k}" for k in range(n_bins)]
        if name == "hof" and min_magnitude is not None:
            slots.append("zero")
        names += [f"{name}_r{r}c{c}_{s}" for r in range(rows) for c in range(cols) for s in slots]
    return names
