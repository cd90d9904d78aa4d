"""The temporal order term of DSP in ``O(n log n)`` per video, batched.

For signed energies ``x_t = s e_t`` of the frames of a video (``s = +1`` forward,
``-1`` time-reversed) the term is

.. math::

    T(x) = \\sum_{i<j} \\max(0, x_i - x_j + \\eta).

Only two counts per frame are needed: ``cL_t``, the active pairs in which ``t`` is the
earlier frame, and ``cR_t``, those in which it is the later one. Then
``dT/dx_t = cL_t - cR_t`` and ``T = sum_t x_t (cL_t - cR_t) + eta * n_active``.

Pair ``(i, j)`` is active when ``x_i > x_j - eta``, with ``x_j - eta`` rounded in
float64 (for float32 energies the threshold is then rounded toward ``-inf`` to float32,
which makes the float32 comparison exactly the float64 one). A pair exactly at the
hinge, ``x_i = x_j - eta``, is inactive: its value is 0 and it adds nothing to the
derivative.

Two ways to count, chosen by the number of frames:

``"dense"``, ``O(n^2)``
    Compare every key ``x_i`` with every threshold ``t_j = x_j - eta`` (an
    ``(n, n)`` mask per video) and take row and column sums of its upper triangle.
``"sort"``, ``O(n log n)``
    Divide and conquer over time: at the level of blocks of ``b`` frames, the keys of
    each left block and the thresholds of the right block next to it are sorted
    together, and a cumulative count of the thresholds gives, for every key, the
    thresholds below it, and for every threshold, the keys below it. Each level is a
    handful of batched tensor operations (one sort of integer keys that carry their
    position in their low bits, a cumulative sum, a scatter), so it runs on any
    device. Values are compared as integers: float32 values through an
    order-preserving map to int32, float64 values through their ranks in one stable
    sort per call.

Padded frames (beyond a video's length) take the key ``-inf`` and the threshold
``+inf``, so that they are never part of an active pair.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

__all__ = ["DENSE_MAX_FRAMES", "order_counts", "order_term", "thresholds"]

#: Up to this many (padded) frames, ``order_counts`` uses the dense ``O(n^2)`` path;
#: beyond it the sorting one: the crossover measured on the CPU (one thread) by
#: ``benchmarks/bench_temporal.py``, which also runs on a GPU (``--device cuda``).
DENSE_MAX_FRAMES = 96

# Elements of the (rows, n, n) masks built at once by the dense path.
_DENSE_CHUNK_ELEMENTS = 2**22
_LOW32 = (1 << 32) - 1
# Frames per block whose inner pairs the sorting path counts densely.
_LEAF = 16


def thresholds(x, eta):
    """``x - eta`` rounded so that ``key > threshold`` compares as in float64.

    Parameters
    ----------
    x : Tensor of shape (..., n)
        Signed energies, float32 or float64.
    eta : float

    Returns
    -------
    t : Tensor like ``x``
        ``x - eta`` computed in float64; for float32 ``x`` rounded toward ``-inf``,
        so that for any float32 ``y``: ``y > t`` exactly when ``y > x - eta`` in
        float64.
    """
    if x.dtype == torch.float64:
        return x - eta
    t64 = x.to(torch.float64) - eta
    t = t64.to(x.dtype)
    return torch.where(t.to(torch.float64) > t64, torch.nextafter(t, t.new_tensor(-math.inf)), t)


def order_counts(x, t, *, method="auto"):
    """Active-pair counts of the temporal term of each row.

    Pair ``(i, j)``, ``i < j``, of a row is active when ``x[i] > t[j]``.

    Parameters
    ----------
    x : Tensor of shape (n_rows, n)
        Keys (signed energies), ``-inf`` at padded frames.
    t : Tensor of shape (n_rows, n)
        Thresholds (from :func:`thresholds`), ``+inf`` at padded frames; same dtype.
    method : {"auto", "dense", "sort"}, default="auto"
        ``"auto"`` takes ``"dense"`` up to ``DENSE_MAX_FRAMES`` (96) frames.

    Returns
    -------
    left : Tensor of shape (n_rows, n)
        ``cL_t``: active pairs ``(t, j)`` (integers, in float64).
    right : Tensor of shape (n_rows, n)
        ``cR_t``: active pairs ``(i, t)`` (integers, in float64).
    """
    if method == "auto":
        method = "dense" if x.shape[-1] <= DENSE_MAX_FRAMES else "sort"
    if method == "dense":
        left, right = _counts_dense(x, t)
    elif method == "sort":
        left, right = _counts_sort(x, t)
    else:
        raise ValueError(f"method must be 'auto', 'dense' or 'sort', got {method!r}.")
    return left.to(torch.float64), right.to(torch.float64)


@functools.lru_cache(maxsize=32)
def _upper_floor(n, dtype, device):
    """``(n, n)``: 0 above the diagonal, ``+inf`` on and below it (cached per size).

    ``(x_i - t_j) > floor`` is then the active-pair indicator of the pairs ``i < j``.
    """
    upper = torch.ones((n, n), dtype=torch.bool, device=device).triu_(1)
    return torch.zeros((n, n), dtype=dtype, device=device).masked_fill_(~upper, math.inf)


def _counts_dense(x, t):
    n_rows, n = x.shape
    floor = _upper_floor(n, x.dtype, x.device)
    chunk = max(1, _DENSE_CHUNK_ELEMENTS // max(n * n, 1))
    lefts, rights = [], []
    for start in range(0, n_rows, chunk):
        # x_i - t_j > 0 exactly when x_i > t_j (the IEEE difference of distinct floats
        # is never 0); comparing in place gives the 0/1 indicator in one pass.
        active = (x[start : start + chunk, :, None] - t[start : start + chunk, None, :]).gt_(floor)
        lefts.append(active.sum(dim=-1))
        rights.append(active.sum(dim=-2))
    if len(lefts) == 1:
        return lefts[0], rights[0]
    return torch.cat(lefts), torch.cat(rights)


def _sort_values(a):
    """Sorted copy of an integer tensor along its last axis (values only).

    On the CPU NumPy's vectorised sort is several times faster than ``torch.sort``.
    """
    if a.device.type == "cpu":
        return torch.from_numpy(np.sort(a.numpy(), axis=-1))
    return torch.sort(a, dim=-1).values


def _integer_keys(x, t):
    """Order-preserving integers for keys and thresholds, side by side.

    Returns an int64 tensor ``[kx, kt]`` of shape (n_rows, 2 n), of magnitude below
    ``2**31``, with ``kx[i] > kt[j]`` exactly when ``x[i] > t[j]``; a key equal to a
    threshold gets an equal integer (float32) or a smaller one (float64).
    """
    both = torch.cat([x, t], dim=-1)
    if x.dtype == torch.float32:
        bits = both.add(0.0).view(torch.int32)  # +0.0 for -0.0: equal values, equal bits
        return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).to(torch.int64)  # float order
    # Ranks in one stable sort: keys come first in the concatenation, so a key ranks
    # below a threshold it equals (the pair is inactive).
    order = torch.sort(both.to(torch.float64), dim=-1, stable=True).indices
    ranks = torch.arange(both.shape[-1], device=x.device).expand_as(order)
    return torch.empty_like(order).scatter_(-1, order, ranks)


def _counts_sort(x, t):
    n_rows, n = x.shape
    dev = x.device
    levels = max(1, math.ceil(math.log2(max(n, 2))))
    width = 1 << levels
    leaf = min(_LEAF, width)
    if width > n:  # pad to a power of two with frames that are never active
        x = torch.cat([x, x.new_full((n_rows, width - n), -math.inf)], dim=-1)
        t = torch.cat([t, t.new_full((n_rows, width - n), math.inf)], dim=-1)
    # Pairs inside blocks of `leaf` frames: dense.
    left, right = _counts_dense(x.reshape(-1, leaf), t.reshape(-1, leaf))
    left = left.to(torch.int64).reshape(n_rows, width)
    # Pairs across blocks: at each level, the keys of every left block and the
    # thresholds of its right sibling are sorted together. The integers go to the
    # high half of an int64 and the frame's time to the low half: one sort of values
    # then also says where each item went (time mod 2b is its slot in the block pair:
    # keys below b, thresholds from b), and at equal integers the earlier frame, the
    # key, comes first, as the strict comparison requires.
    times = torch.arange(width, device=dev)
    keys = (_integer_keys(x, t) << 32) | times.repeat(2)
    kx, kt = keys[:, :width], keys[:, width:]
    below = torch.zeros((n_rows, width), dtype=torch.int64, device=dev)
    for level in range(int(math.log2(leaf)), levels):
        b = 1 << level
        g = width // (2 * b)
        items = torch.cat([kx.view(n_rows, g, 2, b)[:, :, 0], kt.view(n_rows, g, 2, b)[:, :, 1]], dim=-1)
        slot = _sort_values(items) & (2 * b - 1)
        # Running counts in sorted order: thresholds in the high half, keys in the low.
        counts = (slot >> level).mul_(_LOW32).add_(1).cumsum_(dim=-1)
        by_slot = torch.empty_like(counts).scatter_(-1, slot, counts)
        # A key's active pairs as the earlier frame: the thresholds below it. A
        # threshold's pairs as the later frame: the keys of the block not below it.
        left.view(n_rows, g, 2, b)[:, :, 0] += by_slot[..., :b] >> 32
        below.view(n_rows, g, 2, b)[:, :, 1] += by_slot[..., b:] & _LOW32
    # Across blocks, frame t has (t - t mod leaf) earlier frames; those whose key is
    # not above its threshold are not active.
    right = right.reshape(n_rows, width) + ((times & ~(leaf - 1)) - below)
    return left[:, :n], right[:, :n]


def order_term(energy, *, eta, sign=None, padding=None, need_grad=True, method="auto"):
    """Value and derivative of ``sum_{i<j} max(0, s (e_i - e_j) + eta)`` per row.

    Parameters
    ----------
    energy : Tensor of shape (..., n)
        Energies ``e_t`` of the frames, in temporal order.
    eta : float
        Margin.
    sign : Tensor broadcastable to shape (..., 1), default=None
        ``+1`` (forward) or ``-1`` (time-reversed) per row; None for forward.
    padding : Tensor of bool broadcastable to ``energy``'s shape, default=None
        True at padded frames, which take part in no pair. None: no padding.
    need_grad : bool, default=True
        Also return the derivative.
    method : {"auto", "dense", "sort"}, default="auto"
        See ``order_counts``.

    Returns
    -------
    value : Tensor of shape (...)
        In ``energy``'s dtype, accumulated in float64.
    d_energy : Tensor like ``energy`` or None
        ``d value / d e_t`` (0 at padded frames).

    Examples
    --------
    >>> import torch
    >>> from skdsp.pooling.temporal import order_term
    >>> e = torch.tensor([[0.5, 0.25, 0.625]], dtype=torch.float64)
    >>> value, d = order_term(e, eta=0.125)
    >>> float(value)  # pair (0, 1): 0.375; pair (0, 2) sits exactly at the hinge
    0.375
    >>> d.tolist()
    [[1.0, -1.0, 0.0]]
    """
    shape = energy.shape
    n = shape[-1]
    if n < 2:
        value = energy.new_zeros(shape[:-1])
        return value, (torch.zeros_like(energy) if need_grad else None)
    x = energy if sign is None else energy * sign
    t = thresholds(x, eta)
    keys = x
    if padding is not None:
        keys = x.masked_fill(padding, -math.inf)
        t = t.masked_fill(padding, math.inf)
    left, right = order_counts(keys.reshape(-1, n), t.reshape(-1, n), method=method)
    c = left - right
    # sum_t c_t = 0, so centring x changes nothing but the rounding; padded frames
    # have c_t = 0 and drop out.
    x64 = x.reshape(-1, n).to(torch.float64)
    x64 = x64 - x64[:, :1]
    value = torch.addcmul(
        (x64 * c).sum(dim=-1), left.sum(dim=-1, dtype=torch.float64), x64.new_tensor(eta)
    )
    value = value.to(energy.dtype).reshape(shape[:-1])
    if not need_grad:
        return value, None
    d = c.to(energy.dtype).reshape(shape)
    return value, (d if sign is None else d * sign)
