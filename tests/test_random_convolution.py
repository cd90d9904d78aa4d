import pickle
from itertools import combinations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdsp import PPVPooling, RandomConvolutionFrames
from skdsp.sequences import random_convolution as rc
from skdsp.utils.estimator_checks import check_sequence_estimator, make_videos


def _sequences(n=12, channels=3, lengths=(4, 40), seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(int(length), channels))
        for length in rng.integers(lengths[0], lengths[1] + 1, size=n)
    ]


def _fitted_plan(sequences, n_features=500, padding="alternate", seed=0):
    rng = np.random.default_rng(seed)
    longest = max(s.shape[0] for s in sequences)
    plan = rc.make_plan(sequences[0].shape[1], longest, n_features, padding=padding,
                        random_state=rng)
    return rc.fit_biases(plan, sequences, random_state=rng, dtype=torch.float64)


def _naive_responses(x, plan):
    """Each pair's convolution, one time step and one tap at a time (float64)."""
    weights = rc.kernel_weights()
    length = x.shape[0]
    out = np.zeros((plan.dilations.shape[0], rc.N_KERNELS, length))
    for i, d in enumerate(plan.dilations):
        for k in range(rc.N_KERNELS):
            z = x[:, plan.channels[i, k]].sum(axis=1)
            for t in range(length):
                for j in range(rc.KERNEL_LENGTH):
                    s = t + (j - 4) * d
                    if 0 <= s < length:
                        out[i, k, t] += weights[k, j] * z[s]
    return out


def _naive_frames(x, plan, step):
    responses = _naive_responses(x, plan)
    length = x.shape[0]
    frames = np.zeros((length, plan.n_features))
    offsets = plan.offsets()
    t = np.arange(length)
    for i, d in enumerate(plan.dilations):
        fits = (t >= 4 * d) & (t <= length - 1 - 4 * d)
        for k in range(rc.N_KERNELS):
            for s in range(plan.n_biases[i]):
                f = offsets[i] + s * rc.N_KERNELS + k
                value = responses[i, k] - plan.biases[f]
                frames[:, f] = value if plan.padded[i, k] else np.where(fits, value, 0.0)
    return frames[::step]


def test_the_84_kernels():
    w = rc.kernel_weights()
    assert w.shape == (84, 9)
    assert set(np.unique(w)) == {-1.0, 2.0}
    np.testing.assert_array_equal((w == 2).sum(axis=1), 3)
    np.testing.assert_array_equal(w.sum(axis=1), 0)
    assert len({tuple(row) for row in w}) == 84
    assert [tuple(np.flatnonzero(row == 2)) for row in w] == list(combinations(range(9), 3))


def test_dilations_are_exponential_up_to_the_span():
    dil, shares = rc.dilations(length=500, n_per_kernel=119)
    # (500 - 1) / 8 = 62.4: the largest kernel spans the sequence.
    assert dil[0] == 1 and dil[-1] == 62
    assert np.all(np.diff(dil) > 0)
    assert shares.sum() == 119
    # 32 exponents evenly spaced: small dilations, produced several times, get more.
    assert shares[0] > shares[-1]
    np.testing.assert_array_equal(
        rc.dilations(500, 119, max_dilation=8)[0][-1], 8
    )
    one, share = rc.dilations(length=5, n_per_kernel=3)
    np.testing.assert_array_equal(one, [1])
    np.testing.assert_array_equal(share, [3])


def test_plan_channels_and_padding():
    plan = rc.make_plan(12, 100, 2000, padding="alternate", random_state=np.random.default_rng(0))
    counts = plan.channels.sum(axis=2)
    assert counts.min() >= 1 and counts.max() <= 9
    assert len(np.unique(counts)) > 3  # subsets of several sizes
    i, k = np.indices(plan.padded.shape)
    np.testing.assert_array_equal(plan.padded, (i + k) % 2 == 0)
    assert plan.n_features == 84 * (2000 // 84)
    zeros = rc.make_plan(1, 100, 200, padding="zeros", random_state=np.random.default_rng(0))
    none = rc.make_plan(1, 100, 200, padding="none", random_state=np.random.default_rng(0))
    assert zeros.padded.all() and not none.padded.any()
    assert zeros.channels.all()  # one channel: every pair uses it


@pytest.mark.parametrize("padding", ["alternate", "zeros", "none"])
@pytest.mark.parametrize("step", [1, 3])
def test_frames_match_a_loop_over_time_and_taps(padding, step):
    sequences = _sequences(n=5, lengths=(5, 45), seed=1)
    plan = _fitted_plan(sequences, n_features=300, padding=padding)
    frames = rc.convolve_frames(
        sequences, plan, step=step, output="response", dtype=torch.float64
    )
    for x, f in zip(sequences, frames):
        assert f.shape == (-(-x.shape[0] // step), plan.n_features)
        np.testing.assert_allclose(f, _naive_frames(x, plan, step), atol=1e-12)


def test_biases_are_quantiles_of_a_training_response():
    sequences = _sequences(n=4, lengths=(20, 30), seed=2)
    plan = _fitted_plan(sequences, n_features=252)
    responses = [_naive_responses(x, plan) for x in sequences]
    levels = np.mod(np.arange(1, plan.n_features + 1) * (1 + np.sqrt(5)) / 2, 1)
    offsets = plan.offsets()
    for i in range(plan.dilations.shape[0]):
        for k in range(0, 84, 7):
            f = offsets[i] + np.arange(plan.n_biases[i]) * 84 + k
            candidates = [np.quantile(r[i, k], levels[f]) for r in responses]
            assert any(np.allclose(plan.biases[f], c) for c in candidates)


def test_a_sequence_gets_the_same_frames_in_any_batch():
    sequences = _sequences(n=30, lengths=(1, 60), seed=3)
    sequences += [sequences[4].copy(), sequences[4].copy()]  # equal lengths batch together
    sequences += [s[:1] for s in sequences[:3]] + [s[:2] for s in sequences[:3]]
    plan = _fitted_plan(sequences)
    for output in ("response", "sign"):
        reference = rc.convolve_frames(sequences, plan, output=output)
        alone = [rc.convolve_frames([s], plan, output=output)[0] for s in sequences]
        reordered = rc.convolve_frames(sequences[::-1], plan, output=output, batch_size=37)
        small = rc.convolve_frames(sequences, plan, output=output, batch_size=1)
        for j, ref in enumerate(reference):
            np.testing.assert_array_equal(alone[j], ref)
            np.testing.assert_array_equal(reordered[len(sequences) - 1 - j], ref)
            np.testing.assert_array_equal(small[j], ref)


def test_step_keeps_every_kth_frame():
    sequences = _sequences(n=6, lengths=(10, 50), seed=4)
    est = RandomConvolutionFrames(n_features=336, output="response", device="cpu",
                                  random_state=0).fit(sequences)
    full = est.transform(sequences)
    for step in (2, 5):
        sub = clone(est).set_params(step=step).fit(sequences).transform(sequences)
        for a, b in zip(full, sub):
            # Equal up to rounding: the matrix products differ in size.
            np.testing.assert_allclose(a[::step], b, rtol=1e-5, atol=1e-5)


def test_sign_output_and_ppv_pooling_is_minirockets_feature():
    sequences = _sequences(n=6, lengths=(30, 50), seed=5)
    kw = {"n_features": 252, "padding": "zeros", "device": "cpu", "random_state": 0}
    response = RandomConvolutionFrames(output="response", **kw).fit(sequences)
    sign = RandomConvolutionFrames(output="sign", **kw).fit(sequences)
    r, s = response.transform(sequences), sign.transform(sequences)
    for a, b in zip(r, s):
        np.testing.assert_array_equal(np.sign(a), b)
    ppv = PPVPooling().fit_transform(s)
    np.testing.assert_array_equal(ppv, PPVPooling().fit_transform(r))
    # MiniRocket's feature: the fraction of time steps where response > bias.
    plan = response.plan_
    x = sequences[2].astype(np.float32)
    naive = _naive_responses(x.astype(np.float64), plan)
    offsets = plan.offsets()
    for i in range(plan.dilations.shape[0]):
        for k in (0, 41, 83):
            f = offsets[i] + k
            expected = np.mean(naive[i, k] > plan.biases[f])
            assert abs(ppv[2, f] - expected) <= 1 / x.shape[0]  # float32 rounding at a tie
    # Without ties, the mean sign is 2 PPV - 1.
    means = np.stack([v.mean(axis=0) for v in s])
    np.testing.assert_allclose(means, 2 * ppv - 1, atol=1e-6)


def test_unpadded_kernels_give_zero_where_they_overhang():
    x = [np.random.default_rng(0).normal(size=(30, 1))]
    est = RandomConvolutionFrames(n_features=168, padding="none", output="response",
                                  device="cpu", random_state=0).fit(x)
    frames = est.transform(x)[0]
    plan = est.plan_
    for i, d in enumerate(plan.dilations):
        block = frames[:, plan.offsets()[i] : plan.offsets()[i + 1]]
        inside = np.zeros(30, dtype=bool)
        inside[4 * d : 30 - 4 * d] = True
        assert np.all(block[~inside] == 0)
        assert np.all(block[inside] != 0)


def test_short_sequences_get_frames_or_a_clear_error():
    short = [np.ones((3, 2)), np.arange(20.0).reshape(10, 2)]
    for padding in ("alternate", "zeros"):
        frames = RandomConvolutionFrames(n_features=84, padding=padding, device="cpu",
                                         random_state=0).fit_transform(short)
        assert frames[0].shape == (3, 84)
    with pytest.raises(ValueError, match=r"X\[0\] has 3 time step\(s\).*padding='none'"):
        RandomConvolutionFrames(n_features=84, padding="none", device="cpu").fit(short)
    est = RandomConvolutionFrames(n_features=84, padding="none", device="cpu").fit(short[1:])
    with pytest.raises(ValueError, match=r"X\[1\] has 3"):
        est.transform([short[1], short[0]])


def test_bad_input_is_named():
    seqs = _sequences(n=4)
    est = RandomConvolutionFrames(n_features=84, device="cpu", random_state=0).fit(seqs)
    bad = [s.copy() for s in seqs]
    bad[2][1, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[2\] has a non-finite value \(inf\) at frame 1"):
        est.transform(bad)
    with pytest.raises(ValueError, match=r"X\[0\] has 2 features, but fit has 3"):
        est.transform([s[:, :2] for s in seqs])
    with pytest.raises(NotFittedError):
        RandomConvolutionFrames().transform(seqs)
    with pytest.raises(ValueError, match="n_features"):
        RandomConvolutionFrames(n_features=50).fit(seqs)


def test_sequence_checks():
    videos, y = make_videos(n_videos=6, n_features=3, min_frames=10, max_frames=20)
    check_sequence_estimator(
        RandomConvolutionFrames(n_features=168, device="cpu", random_state=0), videos, y
    )


def test_seeds_output_layout_and_dtypes():
    seqs = _sequences(n=8, lengths=(20, 30))
    a = RandomConvolutionFrames(n_features=1000, device="cpu", random_state=0).fit(seqs)
    b = RandomConvolutionFrames(n_features=1000, device="cpu", random_state=1).fit(seqs)
    assert a.n_features_out_ == 924 and a.n_features_in_ == 3
    assert not np.array_equal(a.plan_.channels, b.plan_.channels)
    frames = a.transform(seqs)
    assert all(f.dtype == np.float32 and f.flags.c_contiguous for f in frames)
    # One output buffer for the collection, no per-sequence copies.
    assert len({id(f.base) for f in frames}) == 1
    double = clone(a).set_params(dtype="float64").fit(seqs).transform(seqs)
    assert double[0].dtype == np.float64
    np.testing.assert_array_equal(np.stack(frames[:1]), np.float32(np.stack(double[:1])))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.transform(seqs)[3], frames[3])


def test_minirocket_rebuilt_classifies_basic_motions():
    from skdsp.datasets import load_basic_motions

    X_train, y_train, X_test, y_test = load_basic_motions()
    model = make_pipeline(
        RandomConvolutionFrames(n_features=1000, device="cpu", random_state=0),
        PPVPooling(),
        StandardScaler(),
        RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
    ).fit(X_train, y_train)
    # MiniRocket's published accuracy on BasicMotions is 1.0; chance is 0.25.
    assert model.score(X_test, y_test) >= 0.95


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_frames_match_the_cpu_and_fit_pickles_to_cpu():
    seqs = _sequences(n=10, lengths=(10, 60))
    cpu = RandomConvolutionFrames(n_features=500, output="response", device="cpu",
                                  dtype="float64", random_state=0).fit(seqs)
    gpu = clone(cpu).set_params(device="cuda").fit(seqs)
    np.testing.assert_allclose(gpu.plan_.biases, cpu.plan_.biases, atol=1e-9)
    for a, b in zip(cpu.transform(seqs), gpu.transform(seqs)):
        np.testing.assert_allclose(a, b, atol=1e-9)
    restored = pickle.loads(pickle.dumps(gpu)).set_params(device="cpu")
    np.testing.assert_allclose(restored.transform(seqs)[0], cpu.transform(seqs)[0], atol=1e-9)


def test_auto_settings_adapt_to_the_data():
    from skdsp.sequences.frames import auto_n_features, auto_step

    assert auto_step([20, 64, 29]) == 1
    assert auto_step([100] * 3) == 2 and auto_step([150] * 3) == 3
    assert auto_step([1000] * 5) == 16  # 63 frames per sequence
    assert auto_n_features(8_000) == 1_008  # the shipped data sets: 12 per kernel
    # About 2**27 values of training frames.
    assert auto_n_features(250_000) == 504
    assert auto_n_features(10**8) == 84
    long = _sequences(n=6, channels=2, lengths=(600, 700))
    est = RandomConvolutionFrames(device="cpu", random_state=0).fit(long)
    step = est.step_
    assert step == int(np.ceil(np.median([s.shape[0] for s in long]) / 64)) > 1
    assert est.n_features_out_ == 1_008
    frames = est.transform(long)
    assert [f.shape[0] for f in frames] == [-(-s.shape[0] // step) for s in long]
