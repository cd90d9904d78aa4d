"""Random dilated convolutions of sequences, frame by frame (MiniRocket's kernels).

Dempster, Schmidt and Webb (KDD 2021) describe a fixed family of convolution kernels
that, with biases taken from the data, turns a time series into features good
enough for a linear classifier:

- 84 kernels of length 9 with two weight values, -1 and 2: the 84 ways to choose the
  three positions that take 2 (so that every kernel's weights sum to zero);
- dilations ``floor(2^e)`` for exponents ``e`` spread evenly from 0 to
  ``log2((length - 1) / 8)``, so that the most dilated kernel spans the sequence;
  each kernel gets a share of the features at each dilation, and a dilation that
  ``floor`` produces twice gets both shares;
- for multivariate input, each (dilation, kernel) pair convolves the sum of a random
  subset of the channels (between 1 and 9 of them, the count drawn log-uniformly);
- biases: quantiles, at a low-discrepancy sequence of levels, of the response of
  each (dilation, kernel) pair on one randomly chosen training sequence;
- half of the (dilation, kernel) pairs see the sequence padded with zeros at both
  ends, the other half only where the kernel fits inside it (alternating; here an
  option beside padding every pair).

MiniRocket pools each feature ``C - b`` over time by the proportion of positive
values. Here the pooling is left to the next step: every time step gives a *frame*
holding the value of every feature there. The convolution of a batch is one
matrix product per dilation and sequence (of a shape that depends on the sequence
alone, so that its frames do not depend on the batch it is computed in), written
straight into the output with the biases subtracted in the same product.

The functions here are pure torch and batched; :class:`skdsp.RandomConvolutionFrames`
wraps them for scikit-learn.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "KERNEL_LENGTH",
    "N_KERNELS",
    "ConvolutionPlan",
    "kernel_weights",
    "dilations",
    "make_plan",
    "fit_biases",
    "frame_counts",
    "convolve_frames",
]

KERNEL_LENGTH = 9
#: Kernels per dilation: the choices of 3 positions of 9 that take the weight 2.
N_KERNELS = 84
# Exponents of the dilations: at most this many (MiniRocket's choice).
_MAX_EXPONENTS = 32
# Most channels one (dilation, kernel) pair sums (MiniRocket's choice).
_MAX_CHANNELS = 9
_GOLDEN = (1.0 + np.sqrt(5.0)) / 2.0
# Responses held at once while the biases are fitted.
_BIAS_PROBE_VALUES = 2**24


def kernel_weights():
    """The 84 kernels: -1 everywhere, 2 at three of the nine positions.

    Returns
    -------
    weights : ndarray of shape (84, 9)
        In the lexicographic order of the positions of the 2s.
    """
    weights = -np.ones((N_KERNELS, KERNEL_LENGTH))
    for k, positions in enumerate(itertools.combinations(range(KERNEL_LENGTH), 3)):
        weights[k, list(positions)] = 2.0
    return weights


def dilations(length, n_per_kernel, max_dilation=None):
    """Dilations spaced exponentially up to the span of a sequence, and their shares.

    Parameters
    ----------
    length : int
        Time steps of the (longest) training sequence.
    n_per_kernel : int
        Features per kernel over all dilations.
    max_dilation : int, default=None
        Cap on the largest dilation.

    Returns
    -------
    dilations : ndarray of shape (n_dilations,), int
        Distinct dilations, increasing.
    n_biases : ndarray of shape (n_dilations,), int
        Features per kernel at each dilation; they sum to ``n_per_kernel``.
    """
    top = max(1.0, (length - 1) / (KERNEL_LENGTH - 1))
    if max_dilation is not None:
        top = max(1.0, min(top, float(max_dilation)))
    n_exponents = min(n_per_kernel, _MAX_EXPONENTS)
    values = np.floor(2.0 ** np.linspace(0.0, np.log2(top), n_exponents)).astype(np.int64)
    shares = np.full(n_exponents, n_per_kernel // n_exponents)
    shares[: n_per_kernel % n_exponents] += 1
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, np.bincount(inverse, weights=shares).astype(np.int64)


@dataclass
class ConvolutionPlan:
    """Everything that defines the features: kernels, channels, padding, biases.

    Features are laid out by dilation, then by bias slot, then by kernel: feature
    ``offset_i + s * 84 + k`` is kernel ``k`` at dilation ``dilations[i]`` minus its
    ``s``-th bias.

    Attributes
    ----------
    dilations : ndarray of shape (n_dilations,), int
    n_biases : ndarray of shape (n_dilations,), int
        Bias slots per kernel at each dilation.
    channels : ndarray of shape (n_dilations, 84, n_channels), bool
        The channels each (dilation, kernel) pair sums.
    padded : ndarray of shape (n_dilations, 84), bool
        Pairs that see zeros beyond the ends of a sequence; the others give 0 where
        the dilated kernel does not fit inside the sequence.
    biases : ndarray of shape (n_features,) or None
        Set by :func:`fit_biases`.
    """

    dilations: np.ndarray
    n_biases: np.ndarray
    channels: np.ndarray
    padded: np.ndarray
    biases: np.ndarray | None = None

    @property
    def n_features(self):
        return int(N_KERNELS * self.n_biases.sum())

    def offsets(self):
        """First feature of each dilation, shape (n_dilations + 1,)."""
        return np.concatenate([[0], np.cumsum(N_KERNELS * self.n_biases)])

    def matrices(self, dtype, device):
        """One weight matrix per dilation, with a column per feature.

        Shape ``(9 * n_channels, n_biases[i] * 84)``, rows ordered (tap, channel):
        entry ``(j * n_channels + c, s * 84 + k)`` is kernel ``k``'s ``j``-th weight
        when the pair sums channel ``c``, else 0 (by linearity, convolving the sum of
        the channels is summing their convolutions); the columns repeat for each bias
        slot ``s``.
        """
        w = kernel_weights()  # (84, 9)
        out = []
        for mask, n in zip(self.channels, self.n_biases):  # mask: (84, n_channels)
            m = (w.T[:, None, :] * mask.T[None, :, :]).reshape(-1, N_KERNELS)
            out.append(torch.as_tensor(np.tile(m, (1, int(n))), dtype=dtype, device=device))
        return out


def make_plan(n_channels, length, n_features, *, max_dilation=None, padding="zeros",
              random_state):
    """Draw the kernels' dilations, channel subsets and padding (biases come later).

    Parameters
    ----------
    n_channels : int
        Channels of the sequences.
    length : int
        Longest training sequence; sets the dilations.
    n_features : int
        Wanted number of features; rounded down to a multiple of 84 (at least 84).
    max_dilation : int, default=None
    padding : {"zeros", "alternate", "none"}, default="zeros"
        Which (dilation, kernel) pairs see zero padding: all, alternately (as in
        the paper), or none.
    random_state : numpy.random.Generator
        Draws the channel subsets.

    Returns
    -------
    plan : ConvolutionPlan
    """
    n_per_kernel = max(1, int(n_features) // N_KERNELS)
    dil, n_biases = dilations(length, n_per_kernel, max_dilation)
    n_dil = dil.shape[0]
    channels = np.zeros((n_dil, N_KERNELS, n_channels), dtype=bool)
    top = np.log2(min(n_channels, _MAX_CHANNELS) + 1)
    for i in range(n_dil):
        for k in range(N_KERNELS):
            count = int(2.0 ** random_state.uniform(0.0, top))
            count = min(max(count, 1), n_channels)
            channels[i, k, random_state.choice(n_channels, count, replace=False)] = True
    pairs = np.add.outer(np.arange(n_dil), np.arange(N_KERNELS))
    padded = {
        "alternate": pairs % 2 == 0,
        "zeros": np.ones_like(pairs, dtype=bool),
        "none": np.zeros_like(pairs, dtype=bool),
    }[padding]
    return ConvolutionPlan(dil, n_biases, channels, padded)


def _responses(x, dilation, matrix, bias, *, step, out):
    """``C - b`` of every kept frame of same-length sequences, written into ``out``.

    Parameters
    ----------
    x : Tensor of shape (n_sequences, n_channels, length)
    dilation : int
    matrix : Tensor of shape (9 * n_channels, n_columns)
        Weights, one column per output feature.
    bias : Tensor of shape (n_columns,)
    step : int
    out : Tensor of shape (n_sequences, n_frames, n_columns)
        A view of the output (its rows may be longer than ``n_columns``).
    """
    b, n_channels, length = x.shape
    half = (KERNEL_LENGTH // 2) * dilation
    xp = torch.nn.functional.pad(x, (half, half)).transpose(0, 1)  # (channels, b, length+)
    # (tap, channel, sequence, frame): the input under each tap, for the kept frames.
    cols = torch.stack(
        [xp[:, :, j * dilation : j * dilation + length : step] for j in range(KERNEL_LENGTH)]
    ).reshape(KERNEL_LENGTH * n_channels, b, -1)
    # One product per sequence (not one for the batch): how a product's rows round
    # can depend on its size, and a sequence's frames must not depend on its batch.
    weights = matrix.expand(b, *matrix.shape)
    torch.baddbmm(bias, cols.permute(1, 2, 0), weights, beta=-1, out=out)


def frame_counts(lengths, step):
    """Frames kept of sequences of these lengths: time steps 0, step, 2 * step, ..."""
    return -(-np.asarray(lengths, dtype=np.int64) // step)


def _zero_overhang(block, unpadded, dilation, length, step):
    """Set to 0 the features of unpadded kernels at frames where they overhang an end.

    ``block`` is (n_sequences, n_frames, n_slots, 84), all sequences of ``length``
    time steps; ``unpadded`` (84,) marks the kernels without padding.
    """
    if not unpadded.any():
        return
    half = (KERNEL_LENGTH // 2) * dilation
    n_frames = block.shape[1]
    # Frame r is time step r * step; the kernel fits for half <= t <= length - 1 - half.
    first = min(n_frames, -(-half // step))
    last = (length - 1 - half) // step + 1 if length - 1 - half >= 0 else 0
    last = max(first, min(last, n_frames))
    kernels = np.flatnonzero(unpadded)
    gaps = np.diff(kernels)
    if kernels.shape[0] == 1 or np.all(gaps == gaps[0]):  # alternating: a strided view
        cols = slice(int(kernels[0]), int(kernels[-1]) + 1, int(gaps[0]) if gaps.size else 1)
    else:
        cols = torch.as_tensor(kernels, device=block.device)
    for rows in (slice(0, first), slice(last, n_frames)):
        if rows.stop > rows.start:
            block[:, rows, :, cols] = 0


def convolve_frames(sequences, plan, *, step=1, output="sign", batch_size=4096,
                    dtype=torch.float32, device="cpu"):
    """The frames of a collection of sequences: one feature vector per kept time step.

    Parameters
    ----------
    sequences : list of ndarray of shape (length_i, n_channels)
        Time first, finite.
    plan : ConvolutionPlan
        With biases (see :func:`fit_biases`).
    step : int, default=1
        Keep time steps ``0, step, 2 * step, ...`` (the convolution is evaluated
        only there).
    output : {"sign", "response"}, default="sign"
        ``"response"``: ``C - b``; ``"sign"``: its sign (+1, -1, or 0 on an exact
        tie and where an unpadded kernel overhangs an end).
    batch_size : int, default=4096
        Frames computed together (sequences of one length are batched until they
        reach it; a longer sequence is computed on its own).
    dtype : torch.dtype, default=torch.float32
    device : torch.device or str, default="cpu"

    Returns
    -------
    frames : list of ndarray of shape (n_frames_i, n_features)
        Views into one array, in the order of ``sequences``;
        ``n_frames_i = ceil(length_i / step)``.
    """
    device = torch.device(device)
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    counts = frame_counts(lengths, step)
    n_features = plan.n_features
    # Sequences sorted by length, so that each batch holds one length and needs no
    # padding; the output holds them in that order and is handed back as views.
    order = np.argsort(lengths, kind="stable")
    starts = np.zeros(len(sequences) + 1, dtype=np.int64)
    starts[1:] = np.cumsum(counts[order])
    host = torch.empty((int(starts[-1]), n_features), dtype=dtype)
    matrices = plan.matrices(dtype, device)
    offsets = plan.offsets()
    biases = torch.as_tensor(plan.biases, dtype=dtype, device=device)

    # Each batch is computed in a small working buffer (reused, so that it stays in
    # cache while every dilation writes its columns) and copied to the output once,
    # row after row.
    work = None
    pos = 0
    while pos < len(order):
        length = lengths[order[pos]]
        stop = pos + 1
        n_frames = int(counts[order[pos]])
        # One-frame sequences alone: a batch of 1-row products may be computed by
        # another routine (matrix-vector for one) that rounds differently.
        per = max(1, batch_size // n_frames) if n_frames > 1 else 1
        while stop < len(order) and stop - pos < per and lengths[order[stop]] == length:
            stop += 1
        idx = order[pos:stop]
        x = torch.as_tensor(
            np.stack([sequences[i] for i in idx]).transpose(0, 2, 1), dtype=dtype
        ).to(device)
        n_rows = int(starts[stop] - starts[pos])
        if work is None or work.shape[0] < n_rows:
            shape = (max(n_rows, batch_size), n_features)
            work = torch.empty(shape, dtype=dtype, device=device)
        target = work[:n_rows]
        for i, dil in enumerate(plan.dilations):
            a, b = int(offsets[i]), int(offsets[i + 1])
            block = target[:, a:b].view(len(idx), n_frames, b - a)
            _responses(x, int(dil), matrices[i], biases[a:b], step=step, out=block)
            _zero_overhang(
                block.view(len(idx), n_frames, int(plan.n_biases[i]), N_KERNELS),
                ~plan.padded[i], int(dil), int(length), step,
            )
        rows = host[int(starts[pos]) : int(starts[stop])]
        if output == "sign":
            target.sign_()
        rows.copy_(target)
        pos = stop

    out = host.numpy()
    frames = [None] * len(sequences)
    for j, i in enumerate(order):
        frames[i] = out[starts[j] : starts[j + 1]]
    return frames


def _quantile_levels(n):
    """The first ``n`` terms of the golden-ratio low-discrepancy sequence in (0, 1)."""
    return np.mod(np.arange(1, n + 1) * _GOLDEN, 1.0)


def fit_biases(plan, sequences, *, random_state, dtype=torch.float32, device="cpu",
               batch_size=4096):
    """Set the plan's biases from the responses of random training sequences.

    For each (dilation, kernel) pair, one training sequence is drawn; the biases of
    the pair's features are quantiles of that pair's zero-padded response along the
    sequence, at levels from the golden-ratio low-discrepancy sequence.

    Parameters
    ----------
    plan : ConvolutionPlan
        Modified in place (``plan.biases``).
    sequences : list of ndarray of shape (length_i, n_channels)
    random_state : numpy.random.Generator
    dtype, device, batch_size
        As in :func:`convolve_frames`.

    Returns
    -------
    plan : ConvolutionPlan
    """
    n_dil = plan.dilations.shape[0]
    chosen = random_state.integers(0, len(sequences), size=(n_dil, N_KERNELS))
    levels = _quantile_levels(plan.n_features)
    offsets = plan.offsets()
    # One feature per pair, zero bias, all padded: the raw responses.
    probe = ConvolutionPlan(
        plan.dilations,
        np.ones_like(plan.n_biases),
        plan.channels,
        np.ones_like(plan.padded),
        np.zeros(n_dil * N_KERNELS),
    )
    biases = np.empty(plan.n_features)
    unique = np.unique(chosen)
    # Responses of a few sequences at a time: each holds every pair's response.
    longest = max(sequences[e].shape[0] for e in unique)
    per_part = max(1, _BIAS_PROBE_VALUES // (longest * probe.n_features))
    for start in range(0, unique.shape[0], per_part):
        part = unique[start : start + per_part]
        responses = convolve_frames(
            [sequences[e] for e in part], probe, output="response", batch_size=batch_size,
            dtype=dtype, device=device,
        )
        for e, response in zip(part, responses):
            for i, k in np.argwhere(chosen == e):
                features = offsets[i] + np.arange(plan.n_biases[i]) * N_KERNELS + k
                column = response[:, i * N_KERNELS + k].astype(np.float64)
                biases[features] = np.quantile(column, levels[features])
    plan.biases = biases
    return plan
