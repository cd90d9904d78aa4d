"""RandomConvolutionFrames: sequences in, frames of random convolution features out."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skdsp.sequences.random_convolution import (
    KERNEL_LENGTH,
    N_KERNELS,
    convolve_frames,
    fit_biases,
    frame_counts,
    make_plan,
)
from skdsp.utils.device import resolve_device
from skdsp.utils.random import draw_seed
from skdsp.utils.validation import check_videos

__all__ = ["RandomConvolutionFrames"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# The "auto" settings: at most this many frames for the median training sequence, at
# most this many features, and about this many values in the training frames.
_AUTO_FRAMES = 64
_AUTO_MAX_FEATURES = 12 * N_KERNELS
_AUTO_VALUES = 2**27


def auto_step(lengths):
    """``step="auto"``: the smallest step leaving the median sequence <= 64 frames."""
    return max(1, int(np.ceil(np.median(lengths) / _AUTO_FRAMES)))


def auto_n_features(n_frames):
    """``n_features="auto"`` for ``n_frames`` training frames (a multiple of 84)."""
    per_kernel = _AUTO_VALUES // (N_KERNELS * max(n_frames, 1))
    return N_KERNELS * int(np.clip(per_kernel, 1, _AUTO_MAX_FEATURES // N_KERNELS))


class RandomConvolutionFrames(TransformerMixin, BaseEstimator):
    """Frame features for sequences: random dilated convolutions, one frame per time step.

    A backbone for sensor, motion and other multichannel sequences, in the role a CNN
    plays for video: each sequence ``(n_steps, n_channels)`` becomes a "video" of
    frames ``(n_frames, n_features)``, ready for
    :class:`~skdsp.AdversarialBagger` and
    :class:`~skdsp.DiscriminativeSubspacePooling`, or for a baseline pooling.

    The kernels are those of MiniRocket (Dempster, Schmidt and Webb, 2021): 84 kernels
    of length 9 with weights -1 and 2, at dilations spaced exponentially up to the
    length of the longest training sequence; for multichannel input each (dilation,
    kernel) pair sums a random subset of the channels; each feature is the response
    of one pair minus a bias, a quantile of that pair's response on a random training
    sequence; in MiniRocket half of the pairs see zeros beyond the ends of a
    sequence and half only the sequence itself (``padding="alternate"``), here by
    default all of them are padded. MiniRocket then pools every feature over time by
    the proportion of positive values (PPV); here the frames are kept, and
    :class:`~skdsp.PPVPooling` of them computes MiniRocket's features over the kept
    time steps.

    Parameters
    ----------
    n_features : int or "auto", default="auto"
        Features per frame, rounded down to a multiple of 84 (``n_features_out_``).
        ``"auto"``: 1,008 (12 per kernel), fewer when the training frames would hold
        more than ``2**27`` values (512 MB in float32), and at least 84.
    max_dilation : int, default=None
        Largest dilation; by default the one whose kernel spans the longest training
        sequence, ``(length - 1) / 8``.
    step : int or "auto", default="auto"
        Keep every ``step``-th time step (0, ``step``, ``2 * step``, ...). The
        convolutions are evaluated only there, so a larger step saves time and memory
        in proportion; the kernels still see every time step. ``"auto"``: the
        smallest step that leaves the median training sequence at most 64 frames
        (1 up to 64 steps, 2 up to 128, 16 for 1,000). The value used is ``step_``.
    output : {"sign", "response"}, default="sign"
        ``"response"``: the response minus the bias; ``"sign"``: its sign, +1 or -1
        (0 on an exact tie, and where an unpadded kernel overhangs an end). The
        fraction of +1 of a feature over a sequence is its PPV.
    padding : {"zeros", "alternate", "none"}, default="zeros"
        Which (dilation, kernel) pairs see zeros beyond the ends of a sequence: all,
        alternately half of them (MiniRocket's choice), or none. A pair without
        padding gives 0 at the time steps where its dilated kernel does not fit
        inside the sequence; with ``"none"``, a sequence shorter than 9 steps (the
        span of a kernel at dilation 1) is refused. ``"zeros"`` is the default
        because every feature then has a value in every frame; with DSP it was
        ahead of ``"alternate"`` on GunPoint and JapaneseVowels (see the user
        guide's sequences page).
    batch_size : int, default=4096
        Frames computed together; the working memory beyond the output is about
        ``batch_size * (n_features_out_ + 9 * n_channels)`` numbers.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the convolutions run; the frames are returned in host memory.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the convolutions and of the frames.
    random_state : int, RandomState instance or None, default=None
        Draws the channel subsets and the training sequences the biases come from.

    Attributes
    ----------
    n_features_in_ : int
        Channels of the sequences seen in ``fit``.
    n_features_out_ : int
        Features per frame.
    step_ : int
        The step between kept time steps.
    plan_ : :class:`~skdsp.sequences.random_convolution.ConvolutionPlan`
        The dilations, channel subsets, padding and biases of the features.

    See Also
    --------
    skdsp.PPVPooling : Pools the frames into MiniRocket's features.
    skdsp.FrameFeatureExtractor : The counterpart for video files.

    Notes
    -----
    Memory: the frames of a collection take ``n_frames_total * n_features_out_``
    numbers, 4 bytes each in float32 (1,000 sequences of 1,000 steps at 10,000
    features are 40 GB). The knobs are ``n_features`` and ``step``, both linear;
    the defaults keep the training frames under about 512 MB. Time is linear in the
    same quantities. Nothing is padded: the frames of a call are one array, handed back
    as one view per sequence.

    A sequence gives the same frames whatever else is in the call (on one device):
    each sequence's convolutions are matrix products of a shape set by that sequence
    alone. Frames kept with ``step=k`` equal every ``k``-th frame of ``step=1`` up to
    rounding (the products differ in size, which can change the order of a sum).

    References
    ----------
    A. Dempster, D. F. Schmidt and G. I. Webb, "MiniRocket: a very fast (almost)
    deterministic transform for time series classification", KDD 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import RandomConvolutionFrames
    >>> rng = np.random.default_rng(0)
    >>> sequences = [rng.normal(size=(int(n), 3)) for n in (50, 80, 64)]
    >>> frames = RandomConvolutionFrames(n_features=840, device="cpu",
    ...                                  random_state=0).fit_transform(sequences)
    >>> [f.shape for f in frames]
    [(50, 840), (80, 840), (64, 840)]
    >>> sorted(np.unique(frames[0]).tolist())
    [-1.0, 1.0]
    """

    _parameter_constraints: dict = {
        "n_features": [
            Interval(numbers.Integral, N_KERNELS, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_dilation": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "step": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "output": [StrOptions({"sign", "response"})],
        "padding": [StrOptions({"zeros", "alternate", "none"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [StrOptions({"float32", "float64"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_features="auto",
        *,
        max_dilation=None,
        step="auto",
        output="sign",
        padding="zeros",
        batch_size=4096,
        device="auto",
        dtype="float32",
        random_state=None,
    ):
        self.n_features = n_features
        self.max_dilation = max_dilation
        self.step = step
        self.output = output
        self.padding = padding
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.random_state = random_state

    def _check(self, X, n_channels=None):
        sequences = check_videos(X, n_features=n_channels)
        if self.padding == "none":
            for i, s in enumerate(sequences):
                if s.shape[0] < KERNEL_LENGTH:
                    raise ValueError(
                        f"X[{i}] has {s.shape[0]} time step(s); with padding='none' a "
                        f"kernel needs at least {KERNEL_LENGTH} (its span at dilation "
                        "1). Use padding='alternate' or 'zeros' for shorter sequences."
                    )
        return sequences

    def fit(self, X, y=None):
        """Draw the kernels' channel subsets and set their biases from the data.

        Parameters
        ----------
        X : list of array-like of shape (n_steps_i, n_channels), or ndarray of shape \
(n_sequences, n_steps, n_channels)
            Training sequences, time first.
        y : None
            Ignored.

        Returns
        -------
        self : RandomConvolutionFrames
        """
        self._validate_params()
        sequences = self._check(X)
        device = resolve_device(self.device)
        rng = np.random.default_rng(draw_seed(self.random_state))
        lengths = np.array([s.shape[0] for s in sequences])
        step = auto_step(lengths) if self.step == "auto" else self.step
        n_features = self.n_features
        if n_features == "auto":
            n_features = auto_n_features(int(frame_counts(lengths, step).sum()))
        plan = make_plan(
            sequences[0].shape[1],
            int(lengths.max()),
            n_features,
            max_dilation=self.max_dilation,
            padding=self.padding,
            random_state=rng,
        )
        self.plan_ = fit_biases(
            plan, sequences, random_state=rng, dtype=_DTYPES[self.dtype], device=device,
            batch_size=self.batch_size,
        )
        self.n_features_in_ = sequences[0].shape[1]
        self.n_features_out_ = plan.n_features
        self.step_ = step
        return self

    def transform(self, X):
        """The frames of each sequence.

        Parameters
        ----------
        X : list of array-like of shape (n_steps_i, n_channels), or ndarray of shape \
(n_sequences, n_steps, n_channels)
            Sequences, time first, with the channels seen in ``fit``.

        Returns
        -------
        frames : list of ndarray of shape (n_frames_i, n_features_out)
            ``n_frames_i = ceil(n_steps_i / step_)``, ``n_features_out =
            n_features_out_``; views into one array.
        """
        check_is_fitted(self, "plan_")
        sequences = self._check(X, self.n_features_in_)
        return convolve_frames(
            sequences,
            self.plan_,
            step=self.step_,
            output=self.output,
            batch_size=self.batch_size,
            dtype=_DTYPES[self.dtype],
            device=resolve_device(self.device),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags
