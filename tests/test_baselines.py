"""Tests of the baseline poolings: known answers, sklearn citizenship, clear errors."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skdsp import AveragePooling, Bags, MaxPooling, RankPooling, SVMPooling
from skdsp.pooling import baselines
from skdsp.pooling._rank import rank_pool, smooth_frames
from skdsp.utils import stack_videos
from skdsp.utils.estimator_checks import make_videos, parametrize_with_sequence_checks


@parametrize_with_sequence_checks(
    [
        AveragePooling(),
        MaxPooling(),
        RankPooling(device="cpu"),
        RankPooling(solver="svr", nonlinearity="ssr", bidirectional=False),
        SVMPooling(random_state=0),
    ]
)
def test_sequence_estimator_checks(estimator, check):
    check(estimator)


def test_average_and_max_exact():
    videos = [np.array([[1.0, -2.0], [3.0, 4.0], [2.0, 0.0]]), np.array([[5.0, 6.0]])]
    np.testing.assert_array_equal(AveragePooling().fit_transform(videos), [[2, 2 / 3], [5, 6]])
    np.testing.assert_array_equal(MaxPooling().fit_transform(videos), [[3, 4], [5, 6]])


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _trend_videos(direction, n_videos=3, noise=1e-3, seed=0):
    rng = np.random.default_rng(seed)
    d = direction.size
    videos = []
    for i in range(n_videos):
        n = 15 + 7 * i
        t = np.arange(n)[:, None]
        offset = rng.normal(size=d)
        videos.append(offset + 0.2 * t * direction + noise * rng.normal(size=(n, d)))
    return videos


@pytest.mark.parametrize("solver", ["ridge", "svr"])
def test_rank_pooling_recovers_trend_direction(solver):
    rng = np.random.default_rng(1)
    direction = rng.normal(size=6)
    videos = _trend_videos(direction)
    out = RankPooling(normalize=False, solver=solver, device="cpu").fit_transform(videos)
    assert out.shape == (3, 12)
    for w in out:
        assert _cos(w[:6], direction) > 0.99  # forward follows the trend
        assert _cos(w[6:], direction) < -0.99  # backward runs against it


def test_rank_pooling_direction_with_normalisation_and_ssr():
    # A large offset keeps the normalised time-varying mean close to linear in t.
    direction = np.array([1.0, 0.0, 0.0, 0.0])
    video = 50.0 * np.array([0.0, 1.0, 1.0, 1.0]) + 0.2 * np.arange(30)[:, None] * direction
    w = RankPooling(device="cpu").fit_transform([video])[0]
    assert _cos(w[:4], direction) > 0.99 and _cos(w[4:], direction) < -0.99
    w = RankPooling(nonlinearity="ssr", device="cpu", bidirectional=False).fit_transform([video])
    assert _cos(w[0], direction) > 0.99


@pytest.mark.parametrize("n_features", [3, 40])  # primal and dual branches
def test_rank_pool_matches_sklearn_ridge(n_features):
    videos, _ = make_videos(n_videos=4, n_features=n_features, min_frames=5, max_frames=12)
    padded, mask = stack_videos(videos)
    padded, mask = torch.as_tensor(padded), torch.as_tensor(mask)
    V = smooth_frames(padded, mask, nonlinearity="ssr")
    W = rank_pool(V, mask, C=0.5).numpy()
    for i, v in enumerate(videos):
        Vi = V[i, : v.shape[0]].numpy()
        ref = Ridge(alpha=1 / 0.5).fit(Vi, np.arange(1, v.shape[0] + 1)).coef_
        np.testing.assert_allclose(W[i], ref, rtol=1e-8, atol=1e-10)


def test_smooth_frames_time_varying_mean():
    video = np.array([[1.0, 4.0], [3.0, 0.0], [-7.0, 8.0]])
    padded, mask = stack_videos([video, video[:1]])
    V = smooth_frames(torch.as_tensor(padded), torch.as_tensor(mask), normalize=False).numpy()
    np.testing.assert_allclose(V[0], [[1, 4], [2, 2], [-1, 4]])
    np.testing.assert_array_equal(V[1, 1:], 0.0)  # padding stays zero
    V = smooth_frames(torch.as_tensor(padded), torch.as_tensor(mask), nonlinearity="ssr").numpy()
    expected = np.array([1.0, 2.0]) / np.sqrt(5.0)  # ssr of (1, 4), normalised
    np.testing.assert_allclose(V[0, 0], expected)


def test_rank_pooling_chunks_agree(monkeypatch):
    videos, _ = make_videos(n_videos=7, n_features=4)
    full = RankPooling(device="cpu").fit_transform(videos)
    monkeypatch.setattr(baselines, "_CHUNK_VALUES", 60)
    np.testing.assert_allclose(RankPooling(device="cpu").fit_transform(videos), full)


def test_rank_pooling_one_frame_video_is_zero():
    out = RankPooling(device="cpu").fit_transform([np.ones((1, 3)), np.ones((4, 3))])
    np.testing.assert_array_equal(out[0], 0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_rank_pooling_cuda_matches_cpu():
    videos, _ = make_videos(n_videos=5, n_features=6)
    cpu = RankPooling(device="cpu").fit_transform(videos)
    gpu = RankPooling(device="cuda").fit_transform(videos)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-8)


def test_svm_pooling_recovers_hyperplane_normal():
    rng = np.random.default_rng(0)
    d = 5
    normal = rng.normal(size=d)
    normal /= np.linalg.norm(normal)
    basis = np.linalg.svd(np.eye(d) - np.outer(normal, normal))[0][:, : d - 1]

    def side(sign, n):
        along = sign * (1.0 + 0.1 * rng.uniform(0, 1, size=(n, 1))) * normal
        return along + rng.normal(size=(n, d - 1)) @ basis.T

    bags = Bags([side(+1, 20), side(+1, 30)], [side(-1, 25), side(-1, 40)])
    out = SVMPooling(C=10.0).fit_transform(bags)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)
    for w in out:
        assert _cos(w, normal) > 0.99  # points towards the frames
    flipped = SVMPooling(C=10.0).fit_transform(Bags(bags.negative, bags.positive))
    assert all(_cos(w, normal) < -0.99 for w in flipped)


def test_svm_pooling_noise_bag_is_fixed_at_fit():
    videos, _ = make_videos(n_videos=6, n_features=4)
    est = SVMPooling(random_state=3).fit(videos)
    full = est.transform(videos)
    np.testing.assert_allclose(est.transform(videos[2:4]), full[2:4])
    other = SVMPooling(random_state=4).fit(videos).transform(videos)
    assert not np.allclose(other, full)
    rs = np.random.RandomState(0)
    a = SVMPooling(random_state=rs).fit(videos)
    assert a.noise_seed_ != SVMPooling(random_state=rs).fit(videos).noise_seed_


def test_svm_pooling_negatives_modes():
    videos, _ = make_videos(n_videos=4, n_features=3)
    bags = Bags(videos, [v + 5.0 for v in videos])
    auto = SVMPooling(random_state=0).fit(bags).transform(bags)
    from_bags = SVMPooling(negatives="bags", random_state=0).fit(bags).transform(bags)
    random = SVMPooling(negatives="random", random_state=0).fit(bags).transform(bags)
    plain = SVMPooling(random_state=0).fit(videos).transform(videos)
    np.testing.assert_allclose(auto, from_bags)
    np.testing.assert_allclose(random, plain)
    assert not np.allclose(auto, plain)
    with pytest.raises(TypeError, match="negatives='bags' needs Bags input"):
        SVMPooling(negatives="bags").fit(videos)


def test_feature_names_and_errors():
    videos, _ = make_videos(n_videos=4, n_features=2)
    names = RankPooling(device="cpu").fit(videos).get_feature_names_out(["a", "b"])
    assert names.tolist() == [
        "rankpooling_forward_a",
        "rankpooling_forward_b",
        "rankpooling_backward_a",
        "rankpooling_backward_b",
    ]
    assert AveragePooling().fit(videos).get_feature_names_out().tolist() == [
        "averagepooling_f0",
        "averagepooling_f1",
    ]
    with pytest.raises(ValueError, match="input_features has 1 names"):
        MaxPooling().fit(videos).get_feature_names_out(["a"])
    with pytest.raises(NotFittedError):
        SVMPooling().get_feature_names_out()
    with pytest.raises(ValueError, match="'C' parameter of RankPooling"):
        RankPooling(C=-1.0).fit(videos)
    with pytest.raises(ValueError, match="'smoothing' parameter"):
        RankPooling(smoothing="ema").fit(videos)
    with pytest.raises(ValueError, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        RankPooling(device="cuda").fit(videos)
    with pytest.raises(TypeError, match="Bags object"):
        AveragePooling().fit(Bags(videos, videos))


# Test accuracy on BasicMotions' 40 test recordings (4 classes, chance 0.25) measured
# with these pipelines: 0.925, 0.950, 0.800, 0.950. Each floor allows one or two
# recordings fewer, so a pooling that breaks fails while a change of library version
# that moves one prediction does not.
REAL_DATA_FLOORS = [
    (AveragePooling, {}, 0.9),
    (MaxPooling, {}, 0.9),
    (RankPooling, {"device": "cpu"}, 0.75),
    (SVMPooling, {"random_state": 0}, 0.9),
]


@pytest.mark.parametrize("pooling,params,floor", REAL_DATA_FLOORS)
def test_pipeline_on_real_data_is_accurate_and_clones(pooling, params, floor):
    from skdsp.datasets import load_basic_motions

    X_train, y_train, X_test, y_test = load_basic_motions()
    pipe = make_pipeline(pooling(**params), StandardScaler(), SVC())
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= floor
    pred = clone(pipe).fit(X_train, y_train).predict(X_test)
    np.testing.assert_array_equal(pred, pipe.predict(X_test))
