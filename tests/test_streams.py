"""Streams, StreamUnion and RBFKernel: fusing per-stream kernels in scikit-learn."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils import _safe_indexing

from skdsp import (
    AveragePooling,
    DiscriminativeSubspacePooling,
    RBFKernel,
    Streams,
    StreamUnion,
    SubspaceKernel,
)
from skdsp.datasets import load_basic_motions
from skdsp.fusion import align_kernel_weights, cv_kernel_weights, kernel_weight_grid
from skdsp.kernels import kernel_target_alignment
from skdsp.presets import two_stream_pipeline


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def motions():
    """BasicMotions (real accelerometer and gyroscope recordings), as two streams.

    Its six channels are two sensors: the accelerometer (channels 0-2) and the
    gyroscope (channels 3-5) of the same recordings.
    """
    X_train, y_train, X_test, y_test = load_basic_motions()
    X = [np.asarray(v) for v in list(X_train) + list(X_test)]
    y = np.concatenate([y_train, y_test])
    streams = Streams(acc=[v[:, :3] for v in X], gyro=[v[:, 3:] for v in X])
    return streams, y


def noisy_streams(n_per_class=12, seed=0):
    """Stream "signal" tells two classes apart by its mean, not perfectly; stream
    "noise" groups the videos by something else (as appearance groups videos by the
    scene they show, whatever the motion)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n_per_class)
    signal = [rng.normal(size=(6, 3)) + 0.6 * label for label in y]
    scene = rng.normal(scale=2.0, size=(4, 4))[rng.integers(0, 4, size=y.size)]
    noise = [0.3 * rng.normal(size=(5, 4)) + s for s in scene]
    return Streams(signal=signal, noise=noise), y


def average_stream():
    return make_pipeline(AveragePooling(), StandardScaler(), RBFKernel())


# -- Streams ---------------------------------------------------------------------


def test_streams_index_by_name_video_and_selection():
    X, _ = noisy_streams(3)
    assert len(X) == 6 and X.shape == (6,) and X.names == ("signal", "noise")
    assert X["noise"][2].shape == (5, 4)
    video = X[-1]
    assert set(video) == {"signal", "noise"} and video["signal"] is X["signal"][5]
    for key in ([4, 1], np.array([4, 1]), (np.array([4, 1]), Ellipsis)):
        sub = X[key]
        assert isinstance(sub, Streams) and len(sub) == 2
        assert sub["signal"][0] is X["signal"][4] and sub["noise"][1] is X["noise"][1]
    mask = np.zeros(6, bool)
    mask[[0, 5]] = True
    assert X[mask]["noise"][1] is X["noise"][5]
    assert len(X[1:4]) == 3 and len(X[np.array([], dtype=int)]) == 0
    assert [v["noise"] for v in X][3] is X["noise"][3]


def test_scikit_learn_splits_streams_by_video():
    X, y = noisy_streams(4)
    sub = _safe_indexing(X, np.array([7, 0, 3]))
    assert isinstance(sub, Streams) and sub["signal"][0] is X["signal"][7]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    assert isinstance(X_tr, Streams) and len(X_tr) == len(y_tr) == 6 and len(X_te) == 2
    # Streams given as 3-D arrays stay arrays.
    arrays = Streams(a=np.stack(X["signal"]), b=np.stack(X["noise"]))
    assert arrays[[1, 2]]["a"].shape == (2, 6, 3)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Streams(), ValueError, "at least one"),
        (lambda: Streams(a=[1, 2], b=[1]), ValueError, "lengths differ"),
        (lambda: Streams({"a__b": [1]}), ValueError, "without '__'"),
        (lambda: Streams({"a": [1]}, a=[2]), ValueError, "given twice"),
        (lambda: Streams(a="videos"), TypeError, "collection of videos"),
        (lambda: Streams([[1]]), TypeError, "dict"),
    ],
)
def test_streams_refuse_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_streams_bad_index():
    X, _ = noisy_streams(2)
    with pytest.raises(KeyError, match="streams are"):
        X["audio"]
    with pytest.raises(IndexError, match="out of range"):
        X[4]
    with pytest.raises(IndexError, match="boolean index"):
        X[np.ones(3, bool)]
    with pytest.raises(IndexError, match="1-D array"):
        X[np.array([[0]])]


# -- kernel weights --------------------------------------------------------------


def test_weight_grid():
    grid = kernel_weight_grid(3, 0.25)
    assert grid.shape == (15, 3)
    np.testing.assert_allclose(grid.sum(1), 1)
    assert (grid >= 0).all() and len({tuple(w) for w in grid}) == 15
    with pytest.raises(ValueError, match="1 / step"):
        kernel_weight_grid(2, 0.3)


def test_weights_follow_the_informative_kernel():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    # Classes overlap in the informative features, so the noise kernel does harm.
    signal = np.eye(3)[y] * 1.5 + rng.normal(size=(60, 3))
    informative = np.exp(-0.3 * ((signal[:, None] - signal[None]) ** 2).sum(-1))
    # The other kernel groups videos by something else than their class (as
    # appearance groups them by the photograph they show).
    nuisance = rng.integers(0, 6, size=60)
    noise = (nuisance[:, None] == nuisance[None, :]).astype(float)
    for choose in (align_kernel_weights, cv_kernel_weights):
        w, scores = choose([noise, informative], y)
        assert w[1] > w[0], choose.__name__
        assert len(scores) == 11
    w, scores = align_kernel_weights([noise, informative], y)
    assert scores[tuple(w)] == max(scores.values())
    assert scores[(0.0, 1.0)] == pytest.approx(kernel_target_alignment(informative, y))


def test_ties_go_to_equal_weights():
    y = np.repeat([0, 1], 6)
    K = (y[:, None] == y[None, :]).astype(float)
    for choose in (align_kernel_weights, cv_kernel_weights):
        w, _ = choose([K, K], y)
        np.testing.assert_allclose(w, [0.5, 0.5])


# -- StreamUnion -----------------------------------------------------------------


@pytest.mark.parametrize("weights", ["cv", "alignment"])
def test_union_weights_the_informative_stream(weights):
    X, y = noisy_streams()
    union = StreamUnion(
        [("signal", average_stream()), ("noise", average_stream())], weights=weights
    ).fit(X, y)
    assert union.weights_["signal"] > union.weights_["noise"]
    assert sum(union.weights_.values()) == pytest.approx(1)
    assert len(union.weight_scores_) == 11
    K = union.transform(X[:5])
    assert K.shape == (5, 24)
    assert list(union.get_feature_names_out()[:2]) == ["streamunion_train0", "streamunion_train1"]


def test_union_is_the_weighted_sum_of_the_stream_kernels():
    X, y = noisy_streams()
    union = StreamUnion(
        [("signal", average_stream()), ("noise", average_stream())],
        weights={"noise": 1.0, "signal": 3.0},
    )
    K_train = union.fit_transform(X[:16], y[:16])
    assert union.weights_ == {"signal": 3.0, "noise": 1.0} and union.weight_scores_ is None
    a = average_stream().fit(X[:16]["signal"], y[:16])
    b = average_stream().fit(X[:16]["noise"], y[:16])
    np.testing.assert_allclose(
        K_train, 3 * a.transform(X[:16]["signal"]) + b.transform(X[:16]["noise"])
    )
    np.testing.assert_allclose(
        union.transform(X[16:]), 3 * a.transform(X[16:]["signal"]) + b.transform(X[16:]["noise"])
    )
    np.testing.assert_allclose(union.fit(X[:16], y[:16]).transform(X[:16]), K_train)


class _Refuses(TransformerMixin, BaseEstimator):
    """A stream that must not be computed in transform (its weight is 0)."""

    def fit(self, X, y=None):
        self.n_ = len(X)
        return self

    def fit_transform(self, X, y=None):
        self.fit(X)
        return np.eye(self.n_)

    def transform(self, X):
        raise AssertionError("a stream with weight 0 was computed")


def test_streams_with_zero_weight_are_skipped_in_transform():
    X, y = noisy_streams()
    union = StreamUnion(
        [("signal", average_stream()), ("noise", _Refuses())], weights=[1.0, 0.0]
    ).fit(X, y)
    assert union.transform(X).shape == (24, 24)


def test_the_same_videos_can_feed_every_stream():
    # Not a Streams: every stream sees the whole input, here one collection.
    X, y = noisy_streams()
    videos = X["signal"]
    union = StreamUnion(
        [("mean", average_stream()), ("dsp", make_pipeline(
            DiscriminativeSubspacePooling(n_components=2, max_iter=5, device="cpu", random_state=0),
            SubspaceKernel(mean_weight=0),
        ))]
    )
    assert union.fit_transform(videos, y).shape == (24, 24)


def test_union_errors():
    X, y = noisy_streams()
    both = [("signal", average_stream()), ("noise", average_stream())]
    with pytest.raises(ValueError, match="no stream 'noise'"):
        StreamUnion(both).fit(Streams(signal=X["signal"]), y)
    with pytest.raises(TypeError, match="wrap the streams as skdsp.Streams"):
        StreamUnion(both).fit({"signal": X["signal"], "noise": X["noise"]}, y)
    with pytest.raises(ValueError, match=r"Stream 'signal' returned an array of shape \(24, 3\)"):
        StreamUnion([("signal", AveragePooling()), both[1]]).fit(X, y)
    with pytest.raises(ValueError, match="one weight per stream"):
        StreamUnion(both, weights=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        StreamUnion(both, weights=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="not all 0"):
        StreamUnion(both, weights={"signal": 0, "noise": 0}).fit(X, y)
    with pytest.raises(ValueError, match="weights names streams"):
        StreamUnion(both, weights={"signal": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="pass y"):
        StreamUnion(both).fit(X)
    with pytest.raises(ValueError, match="unique"):
        StreamUnion([both[0], both[0]]).fit(X, y)
    with pytest.raises(TypeError, match="not a transformer"):
        StreamUnion([("signal", SVC())]).fit(X, y)
    with pytest.raises(ValueError, match="pair"):
        StreamUnion([average_stream()]).fit(X, y)


def test_union_in_grid_search_cross_val_predict_clone_and_pickle():
    X, y = noisy_streams(16)
    groups = np.tile(np.arange(8), 4)
    clf = make_pipeline(
        StreamUnion([("signal", average_stream()), ("noise", average_stream())]),
        SVC(kernel="precomputed"),
    )
    pred = cross_val_predict(clf, X, y, groups=groups, cv=GroupKFold(4))
    assert pred.shape == (32,) and np.mean(pred == y) > 0.8
    search = GridSearchCV(
        clf,
        {
            "streamunion__signal__rbfkernel__gamma": [0.1, "scale"],
            "streamunion__weights": [(1.0, 0.0), (0.5, 0.5)],
        },
        cv=GroupKFold(4),
    ).fit(X, y, groups=groups)
    assert len(search.cv_results_["params"]) == 4
    # The routed parameters reached the refitted union's streams.
    best_gamma = search.best_params_["streamunion__signal__rbfkernel__gamma"]
    assert search.best_estimator_[0].streams_[0][1][-1].gamma == best_gamma
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    np.testing.assert_allclose(
        restored.decision_function(X[:4]), fitted.decision_function(X[:4])
    )
    fresh = clone(fitted)
    assert not hasattr(fresh[0], "streams_")
    assert fresh.get_params()["streamunion__signal__rbfkernel__gamma"] == (
        search.best_params_["streamunion__signal__rbfkernel__gamma"]
    )


def test_pipeline_memory_caches_the_union(tmp_path):
    X, y = noisy_streams()
    clf = make_pipeline(
        StreamUnion([("signal", average_stream()), ("noise", average_stream())]),
        SVC(kernel="precomputed"),
        memory=str(tmp_path),
    )
    a = clf.fit(X, y).predict(X)
    b = clone(clf).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


# -- RBFKernel -------------------------------------------------------------------


def test_rbf_kernel_is_the_svc_rbf_kernel():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)) * [1, 2, 3, 4]
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rbf = SVC(kernel="rbf", gamma="scale").fit(X[:20], y[:20])
    kernel = RBFKernel().fit(X[:20])
    pre = SVC(kernel="precomputed").fit(kernel.transform(X[:20]), y[:20])
    assert kernel.gamma_ == pytest.approx(rbf._gamma)
    np.testing.assert_allclose(
        pre.decision_function(kernel.transform(X[20:])), rbf.decision_function(X[20:]),
        rtol=1e-6, atol=1e-8,
    )
    with pytest.raises(ValueError, match="4 features"):
        kernel.transform(X[:, :3])
    assert RBFKernel(gamma=2.0).fit(X).gamma_ == 2.0
    assert RBFKernel().fit(np.ones((3, 2))).gamma_ == 1.0  # no spread: a unit width
    assert len(kernel.get_feature_names_out()) == 20


# -- the preset, on real data ----------------------------------------------------


@pytest.mark.slow
def test_two_stream_preset_on_real_sensor_streams(motions):
    X, y = motions
    clf = two_stream_pipeline(
        streams=("acc", "gyro"),
        bagger={"max_passes": 2},
        pooling={"n_components": 2, "max_iter": 20},
        device="cpu",
        random_state=0,
    )
    union = clf[0]
    assert [name for name, _ in union.streams] == ["acc", "gyro"]
    assert clf.get_params()["streamunion__gyro__discriminativesubspacepooling__n_components"] == 2
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    clf.fit(X_tr, y_tr)
    assert set(clf[0].weights_) == {"acc", "gyro"}
    # BasicMotions is easy with both sensors: a two-stream model that works at all
    # classifies most held-out recordings (chance is 25 %).
    assert clf.score(X_te, y_te) >= 0.85
