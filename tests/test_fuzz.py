"""Property-based tests of the validators and of every sequence estimator.

Hypothesis draws collections of videos as a careless or hostile user might pass them:
ragged lengths and one-frame videos; float16, float32, float64, integer, bool and complex
values; magnitudes from 1e-300 to 1e300; all-zero, constant and duplicated frames. Each
estimator must either refuse the input with a ValueError or TypeError that names the
video, or return a finite result that does not depend on the order of the videos in the
call (nor, for DSP, on the magnitude of the frames).

The number of examples per test comes from the hypothesis profile (tests/conftest.py):
``ci`` by default, ``--hypothesis-profile=thorough`` for a longer search.
"""

import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sequence_estimators import labels, per_video, sequence_estimators

from skdsp import AdversarialBagger, DiscriminativeSubspacePooling, RankPooling, SubspaceKernel
from skdsp.utils import check_videos, stack_videos
from skdsp.utils.numerics import l2_normalize, stable_mean, stable_std
from skdsp.utils.random import video_seeds

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.uint8, np.bool_, np.complex128]
SCALES = [1e-300, 1e-150, 1e-30, 1e-8, 1.0, 1e8, 1e30, 1e150, 1e300]
PATTERNS = ["as drawn", "a zero frame", "all zero", "constant", "repeated frames"]
# "X[3]", "X.positive[0]": an error must say which video it is about.
NAMES_A_VIDEO = re.compile(r"X(\.\w+)?\[\d+\]")


def _examples(fraction):
    """A share of the profile's example count, for the slower estimators."""
    return settings(max_examples=max(5, int(settings.default.max_examples * fraction)))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@st.composite
def videos(draw, *, min_videos=1, max_videos=4, max_frames=6, n_features=None,
           dtypes=DTYPES):
    """A collection of videos: per video a dtype, a length and a pattern of frames;
    one magnitude for the whole collection."""
    d = n_features or draw(st.integers(1, 4))
    scale = draw(st.sampled_from(SCALES))
    out = []
    for _ in range(draw(st.integers(min_videos, max_videos))):
        n = draw(st.integers(1, max_frames))
        v = draw(arrays(np.float64, (n, d), elements=st.floats(-4, 4, width=32)))
        pattern = draw(st.sampled_from(PATTERNS))
        if pattern == "a zero frame":
            v[draw(st.integers(0, n - 1))] = 0
        elif pattern == "all zero":
            v[:] = 0
        elif pattern == "constant":
            v[:] = v[0]
        elif pattern == "repeated frames":
            v = v[np.sort(draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))]
        dtype = np.dtype(draw(st.sampled_from(dtypes)))
        if dtype.kind == "b":
            v = v > 0
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            v = np.clip(np.round(v * 30), info.min, info.max).astype(dtype)
        elif dtype.kind == "c":
            v = (v + 1j * v[::-1]) * scale
        else:  # float16 and float32 may overflow to inf here: that must be refused
            with np.errstate(over="ignore", under="ignore"):
                v = (v * scale).astype(dtype)
        out.append(v)
    return out


def _refused(exc, what):
    """An acceptable refusal names the video it is about."""
    assert NAMES_A_VIDEO.search(str(exc)), f"the error does not name a video: {exc!r}"
    # Numbers blanked, so that the statistics group refusals by their reason.
    reason = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", str(exc))[:48]
    event(f"{what} refused: {type(exc).__name__}: {reason}")


def _finite(out):
    for part in per_video(out):
        assert np.isfinite(part).all(), "a non-finite result"


def _same(a, b):
    for x, y in zip(per_video(a), per_video(b), strict=True):
        np.testing.assert_array_equal(x, y)


def _fit_transform_checked(est, X, y=None):
    """Fit and transform X, and transform it in reverse order; None if refused."""
    what = type(est).__name__
    try:
        with warnings.catch_warnings():
            # "span fewer than n_components directions": expected on such videos.
            warnings.simplefilter("ignore", UserWarning)
            est.fit(X, y) if y is not None else est.fit(X)
            out = est.transform(X)
            reverse = est.transform(X[::-1])
    except (ValueError, TypeError) as exc:
        _refused(exc, what)
        return None
    event(f"{what}: finite result")
    _finite(out)
    _same(out, per_video(reverse)[::-1])
    return out


# -- the validators and numerical helpers ---------------------------------------------


@given(videos())
def test_check_videos(X):
    try:
        out = check_videos(X)
    except (ValueError, TypeError) as exc:
        _refused(exc, "check_videos")
        return
    event("accepted")
    assert len(out) == len(X)
    for v, o in zip(X, out):
        assert o.dtype in (np.float32, np.float64) and o.flags.c_contiguous
        assert o.shape == v.shape and np.isfinite(o).all()
        assert v.dtype.kind != "c"
        np.testing.assert_array_equal(o, v.astype(o.dtype))
    padded, mask = stack_videos(out)
    assert padded.shape == (len(X), max(len(v) for v in X), X[0].shape[1])
    assert mask.sum() == sum(len(v) for v in X)
    assert not padded[~mask].any()


finite_floats = st.sampled_from([np.float16, np.float32, np.float64]).flatmap(
    lambda dtype: arrays(
        dtype, st.tuples(st.integers(1, 5), st.integers(1, 5)),
        elements=st.floats(width=np.finfo(dtype).bits, allow_nan=False,
                           allow_infinity=False),
    )
)


@given(finite_floats, st.sampled_from(["numpy", "torch"]))
def test_l2_normalize(x, kind):
    y = l2_normalize(torch.from_numpy(x) if kind == "torch" else x)
    y = y.numpy() if kind == "torch" else y
    assert y.dtype == x.dtype and np.isfinite(y).all()
    norms = np.linalg.norm(y.astype(np.float64), axis=1)
    nonzero = (x != 0).any(axis=1)
    np.testing.assert_allclose(norms[nonzero], 1.0, rtol=10 * np.finfo(x.dtype).eps)
    assert not y[~nonzero].any()
    assert (y.astype(np.float64) * x.astype(np.float64) >= 0).all()  # no sign flips


@given(finite_floats)
def test_stable_mean_and_std(x):
    mean, std = stable_mean(x), stable_std(x)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    low, high = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
    slack = 1e-12 * np.maximum(np.abs(low), np.abs(high))
    with np.errstate(over="ignore"):  # bounds beyond float64 hold trivially
        assert (low - slack <= mean).all() and (mean <= high + slack).all()
        assert (std >= 0).all() and (std <= high - low + slack).all()
    assert (std[(x == x[0]).all(axis=0)] == 0).all()  # constant features: exactly 0


@given(videos(dtypes=[np.float32, np.float64]), st.integers(-60, 60))
def test_video_seeds_follow_the_video_not_its_place_or_magnitude(X, k):
    seeds = video_seeds(0, X, n_seeds=2)
    assert seeds.shape == (len(X), 2)
    np.testing.assert_array_equal(video_seeds(0, X[::-1], n_seeds=2), seeds[::-1])
    with np.errstate(over="ignore", under="ignore"):
        scaled = [v * 2.0**k for v in X]
    # Same signs (no overflow to inf, no underflow to 0): same seeds.
    keep = [np.array_equal(np.sign(v), np.sign(s)) for v, s in zip(X, scaled)]
    np.testing.assert_array_equal(video_seeds(0, scaled, n_seeds=2)[keep], seeds[keep])


# -- the sequence estimators -----------------------------------------------------------


def _exact_rescaling(X, scaled):
    """True when ``scaled`` is ``X`` times a power of 2 without rounding: every value
    keeps its sign (none overflowed or flushed to zero) and every nonzero value is a
    normal float on both sides."""

    def normal(v):
        return (np.abs(v[v != 0]) >= np.finfo(v.dtype).tiny).all()

    return all(
        np.isfinite(s).all() and np.array_equal(np.sign(v), np.sign(s))
        and normal(v) and normal(s)
        for v, s in zip(X, scaled)
    )


@_examples(0.5)
@given(
    videos(dtypes=[np.float32, np.float64, np.float16, np.int64, np.complex128]),
    st.data(),
)
def test_discriminative_subspace_pooling(X, data):
    p = data.draw(st.integers(1, min(X[0].shape[1], 3)), label="n_components")
    est = DiscriminativeSubspacePooling(
        p,
        max_iter=5,
        device="cpu",
        random_state=0,
        dtype=data.draw(st.sampled_from(["float32", "float64"]), label="dtype"),
        bidirectional=data.draw(st.booleans(), label="bidirectional"),
    )
    out = _fit_transform_checked(est, X)
    if out is None or not all(v.dtype.kind == "f" for v in X):
        return
    # The frames are L2-normalised: an exact rescaling changes nothing.
    k = data.draw(st.integers(-40, 40), label="log2 scale")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scaled = [v * v.dtype.type(2.0**k) for v in X]
    if _exact_rescaling(X, scaled):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _same(est.transform(scaled), out)
        event("scale invariance checked")


@_examples(0.5)
@given(videos(min_videos=2, max_videos=4, max_frames=5), st.data())
def test_adversarial_bagger(X, data):
    attack = data.draw(
        st.sampled_from(["uap", "shift", "noise", "pgd", "fgsm", "deepfool"]), label="attack"
    )
    event(f"attack={attack}")
    est = AdversarialBagger(
        attack=attack,
        normalize=data.draw(st.booleans(), label="normalize"),
        classifier__max_epochs=2,
        max_passes=2,
        n_steps=2,
        max_iter=3,
        device="cpu",
        random_state=0,
    )
    bags = _fit_transform_checked(est, X, labels(len(X)))
    if bags is not None:  # the bags go on to DSP, with their negatives as given
        p = min(2, X[0].shape[1])
        dsp = DiscriminativeSubspacePooling(p, max_iter=3, device="cpu", random_state=0)
        _fit_transform_checked(dsp, bags)


SIMPLE = ["AveragePooling", "MaxPooling", "SVMPooling", "FrameScaler", "FrameNormalizer"]


@pytest.mark.parametrize("name", SIMPLE)
@given(X=videos())
def test_simple_estimators(name, X):
    _fit_transform_checked(sequence_estimators()[name], X)


@given(videos(), st.data())
def test_rank_pooling(X, data):
    est = RankPooling(
        solver=data.draw(st.sampled_from(["ridge", "svr"]), label="solver"),
        normalize=data.draw(st.booleans(), label="normalize"),
        nonlinearity=data.draw(st.sampled_from([None, "ssr"]), label="nonlinearity"),
        smoothing=data.draw(st.sampled_from(["time_varying_mean", "none"]), label="smoothing"),
        device="cpu",
    )
    _fit_transform_checked(est, X)


@_examples(0.5)
@given(
    st.integers(2, 4).flatmap(
        lambda d: videos(min_videos=2, n_features=d, dtypes=[np.float32, np.float64])
    ),
    st.data(),
)
def test_subspace_kernel(X, data):
    dsp = DiscriminativeSubspacePooling(2, max_iter=3, device="cpu", random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            D = dsp.fit_transform(X)
    except ValueError as exc:
        _refused(exc, "DiscriminativeSubspacePooling")
        return
    kernel = SubspaceKernel(
        kernel=data.draw(st.sampled_from(["projection_rbf", "projection"]), label="kernel"),
        mean_weight=data.draw(st.sampled_from([0.0, 0.5]), label="mean_weight"),
    )
    K = kernel.fit(D).transform(D)
    assert np.isfinite(K).all() and K.shape == (len(X), len(X))
    assert (K >= -1e-5).all() and (K <= 1 + 1e-5).all()  # float32 bases: rounding
    np.testing.assert_array_equal(kernel.transform(D[::-1]), K[::-1])
    event("finite result")
