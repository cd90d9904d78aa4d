"""Norms, means and spreads of frame features that neither overflow nor underflow.

Frame features may be tiny (``1e-300``), huge (``1e300``) or in a narrow dtype
(``float32``, where ``1e-300`` is 0 and ``1e39`` is inf). Squaring such values, or
summing them, overflows or underflows, and a fixed floor like ``1e-300`` under a norm
rounds to 0 in ``float32``. Every function here first divides by the largest magnitude
along the reduced axis, so that the arithmetic happens on values in ``[-1, 1]``, and
scales the result back. No floor is needed: the largest magnitude is zero exactly when
the values are all zero.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["l2_normalize", "stable_mean", "stable_std", "power_of_four_scale"]


def _peak(x, axis):
    """Largest magnitude along ``axis`` (kept), with 1 where it is 0."""
    if torch.is_tensor(x):
        peak = x.abs().amax(dim=axis, keepdim=True)
        return torch.where(peak > 0, peak, torch.ones_like(peak))
    peak = np.max(np.abs(x), axis=axis, keepdims=True)
    return np.where(peak > 0, peak, np.ones_like(peak))


def _as_float(x):
    if torch.is_tensor(x):
        return x if x.is_floating_point() else x.to(torch.float64)
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _reduce_scaled(reduce, x, axis):
    """``reduce(x, axis)`` computed on ``x`` divided by its largest magnitude along
    ``axis`` (in float64 or wider), then scaled back: right for any reduction that is
    homogeneous of degree 1, such as a mean or a standard deviation."""
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, np.float64), copy=False)
    peak = _peak(x, axis)
    return np.squeeze(reduce(x / peak, axis=axis, keepdims=True) * peak, axis=axis)


def l2_normalize(x, axis=-1):
    """Scale each slice along ``axis`` to unit L2 norm; all-zero slices stay zero.

    Parameters
    ----------
    x : ndarray or Tensor
        Floating values (integers and bools are converted to float64), finite.
    axis : int, default=-1
        The axis that is normalised: ``-1`` normalises each frame (row) of a video.

    Returns
    -------
    y : ndarray or Tensor of the shape and float dtype of ``x``
        Unit-norm slices (to rounding) wherever ``x`` has a nonzero value, whatever
        the magnitude of ``x`` in its dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.utils import l2_normalize
    >>> l2_normalize(np.array([[3e-300, 4e-300], [0.0, 0.0]]))
    array([[0.6, 0.8],
           [0. , 0. ]])
    >>> np.round(l2_normalize(np.array([[2e38, 0, 2e38]], np.float32)), 2)  # 4e76 > max
    array([[0.71, 0.  , 0.71]], dtype=float32)
    """
    x = _as_float(x)
    y = x / _peak(x, axis)
    if torch.is_tensor(y):
        norm = torch.linalg.vector_norm(y, dim=axis, keepdim=True)
        return y / torch.where(norm > 0, norm, torch.ones_like(norm))
    # After the division the largest magnitude is 1, so the norm is in [1, sqrt(n)]
    # for a nonzero slice and exactly 0 for a zero one.
    norm = np.sqrt(np.sum(y * y, axis=axis, keepdims=True))
    return y / np.where(norm > 0, norm, np.ones_like(norm))


def stable_mean(x, axis=0):
    """Mean along ``axis`` without overflow (NumPy), in float64 or wider.

    Parameters
    ----------
    x : array-like
        Finite values.
    axis : int, default=0

    Returns
    -------
    mean : ndarray
        ``x.mean(axis)``, finite for any finite ``x``.
    """
    return _reduce_scaled(np.mean, x, axis)


def stable_std(x, axis=0):
    """Standard deviation along ``axis`` without overflow or underflow (NumPy).

    A slice of equal values has a standard deviation of exactly 0: divided by their
    largest magnitude they are all exactly 1 (or -1), so their mean is too.

    Parameters
    ----------
    x : array-like
        Finite values.
    axis : int, default=0

    Returns
    -------
    std : ndarray
        ``x.std(axis)``, in float64 or wider, finite for any finite ``x``.
    """
    return _reduce_scaled(np.std, x, axis)


def power_of_four_scale(x):
    """A power of 4 within a factor 4 of the largest magnitude of ``x``.

    Dividing by it is exact (it only changes exponents), and so is taking its square
    root, so an algorithm that is not scale-free (a regression with a fixed
    regularisation, a signed square root) can run on ``x / s``, with values in
    ``(-4, 4)``, and have its result scaled back exactly.

    Parameters
    ----------
    x : array-like
        Finite values.

    Returns
    -------
    s : float
        ``4**k`` with ``1 <= max|x| / s < 4``; 1 when ``x`` is all zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp.utils import power_of_four_scale
    >>> power_of_four_scale(np.array([3.0, -20.0])), power_of_four_scale(np.zeros(2))
    (16.0, 1.0)
    """
    peak = float(np.max(np.abs(x)))
    if peak == 0:
        return 1.0
    exponent = int(np.frexp(peak)[1])  # peak = m 2**exponent, 0.5 <= m < 1
    return float(np.ldexp(1.0, 2 * ((exponent - 1) // 2)))
