"""robustness_curve: the floors (clean score at eps=0, measured norm bounds, seeding,
paired copies, clean frames untouched, errors before work), the frame classifier on raw
frames, the exact white-box control, the result object, and a run on real data."""

import copy
import sys

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from skdsp import AdversarialBagger, AveragePooling, FrameNormalizer, presets
from skdsp.evaluation import RobustnessCurve, robustness_curve
from skdsp.evaluation.frame_attacks import FRAME_ATTACKS, frame_model
from skdsp.utils.estimator_checks import make_videos


pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST_BAGGER = {"classifier__max_epochs": 5, "max_passes": 2}
EPS = (0.0, 0.3, 1.0)


class Recorder(ClassifierMixin, BaseEstimator):
    """Predicts the first class and keeps a copy of every collection it is shown."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.seen_ = []
        return self

    def predict(self, X):
        self.seen_.append([np.array(v, copy=True) for v in X])
        return np.full(len(X), self.classes_[0])


@pytest.fixture(scope="module")
def data():
    X, y = make_videos(n_videos=24, n_features=5, n_classes=3, random_state=0)
    X_test, y_test = make_videos(n_videos=12, n_features=5, n_classes=3, random_state=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        dsp = presets.dsp_pipeline(
            bagger=FAST_BAGGER, pooling={"max_iter": 15}, device="cpu", random_state=0
        )
        return {
            "dsp": dsp.fit(X, y),
            "average": presets.baseline_pipeline("average", random_state=0).fit(X, y),
        }


@pytest.fixture(scope="module")
def bagger(data):
    X, y, _, _ = data
    return AdversarialBagger(device="cpu", random_state=0, **FAST_BAGGER).fit(X, y)


def _recorders(data, n=2):
    X, y, _, _ = data
    return {f"r{i}": Recorder().fit(X, y) for i in range(n)}


def _linear(data, classifier=None, scaler=True):
    X, y, _, _ = data
    steps = [AveragePooling()] + ([StandardScaler()] if scaler else [])
    steps.append(classifier if classifier is not None else LogisticRegression(max_iter=2000))
    return make_pipeline(*steps).fit(X, y)


# --------------------------------------------------------------------------- floors


@pytest.mark.parametrize("attack", ["pgd", "noise", "uap"])
def test_eps_zero_is_the_clean_score(fitted, data, attack):
    _, _, X_test, y_test = data
    curve = robustness_curve(fitted, X_test, y_test, attack=attack, eps=EPS, random_state=0)
    for j, est in enumerate(fitted.values()):
        assert curve.accuracy[j, 0] == est.score(X_test, y_test)
    assert curve.perturbation_norm[0] == 0.0
    assert curve.fooling_rate[0] == 0.0
    assert curve.frame_classifier == "dsp"  # the bagger of the first pipeline


def test_eps_zero_whitebox_is_the_clean_score(data):
    _, _, X_test, y_test = data
    model = _linear(data)
    curve = robustness_curve(model, X_test, y_test, attack="whitebox_linear", eps=EPS)
    assert curve.accuracy[0, 0] == model.score(X_test, y_test)


@pytest.mark.parametrize("norm", [2, "inf"])
@pytest.mark.parametrize("attack", FRAME_ATTACKS)
def test_every_perturbation_respects_its_bound(data, bagger, attack, norm):
    _, _, X_test, y_test = data
    rec = _recorders(data, 1)
    curve = robustness_curve(
        rec, X_test, y_test, attack=attack, eps=EPS, norm=norm,
        frame_classifier=bagger, random_state=0,
    )
    order = 2 if norm == 2 else np.inf
    seen = rec["r0"].seen_
    assert len(seen) == len(EPS)
    for i, videos in enumerate(seen):
        r = np.concatenate(videos) - np.concatenate(X_test)
        measured = np.linalg.norm(r, ord=order, axis=1)
        bound = curve.eps_absolute[i]
        assert measured.max() <= bound * (1 + 1e-12)
        assert measured.max() == pytest.approx(curve.max_perturbation_norm[i], rel=1e-12)
        assert measured.mean() == pytest.approx(curve.perturbation_norm[i], rel=1e-9)
        if attack in ("noise", "shift", "fgsm") and bound > 0:
            # These use their whole budget by construction.
            assert measured.mean() == pytest.approx(bound, rel=1e-6)


@pytest.mark.parametrize("attack", ["pgd", "noise", "shift", "uap"])
def test_same_seed_same_curve_and_pipelines_see_identical_videos(data, bagger, attack):
    _, _, X_test, y_test = data
    kw = dict(attack=attack, eps=EPS, frame_classifier=bagger, n_repeats=2)
    a, b, c = _recorders(data, 3).values()
    curve_1 = robustness_curve({"a": a, "b": b}, X_test, y_test, random_state=3, **kw)
    curve_2 = robustness_curve({"c": c}, X_test, y_test, random_state=3, **kw)
    np.testing.assert_array_equal(curve_1.scores[:1], curve_2.scores)
    np.testing.assert_array_equal(curve_1.fooling_rate, curve_2.fooling_rate)
    assert len(a.seen_) == len(b.seen_) == len(c.seen_) == 2 * len(EPS)
    for va, vb, vc in zip(a.seen_, b.seen_, c.seen_):
        for fa, fb, fc in zip(va, vb, vc):
            np.testing.assert_array_equal(fa, fb)
            np.testing.assert_array_equal(fa, fc)
    # The two repeats draw different perturbations.
    assert not np.array_equal(a.seen_[1][0], a.seen_[len(EPS) + 1][0])


def test_different_seeds_draw_different_noise(data):
    _, _, X_test, y_test = data
    a, b = _recorders(data).values()
    robustness_curve(a, X_test, y_test, attack="noise", eps=1.0, random_state=0)
    robustness_curve(b, X_test, y_test, attack="noise", eps=1.0, random_state=1)
    assert not np.array_equal(a.seen_[0][0], b.seen_[0][0])


@pytest.mark.parametrize("attack", FRAME_ATTACKS + ("whitebox_linear",))
def test_clean_frames_are_never_modified(data, bagger, attack):
    _, _, X_test, y_test = data
    # A 3-D array: validation hands out views of it, so an in-place write would show.
    n = min(v.shape[0] for v in X_test)
    X3 = np.stack([v[:n] for v in X_test])
    X_list = [v.copy() for v in X_test]
    before3, before_list = X3.copy(), copy.deepcopy(X_list)
    est = _linear(data) if attack == "whitebox_linear" else _recorders(data, 1)["r0"]
    for X in (X3, X_list):
        robustness_curve(est, X, y_test, attack=attack, eps=EPS, frame_classifier=bagger,
                         random_state=0)
    np.testing.assert_array_equal(X3, before3)
    for v, w in zip(X_list, before_list):
        np.testing.assert_array_equal(v, w)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eps": (0.0, -0.1)}, "non-negative"),
        ({"eps": np.nan}, "finite"),
        ({"eps": ()}, "non-empty"),
        ({"attack": "carlini"}, "not supported"),
        ({"norm": 1}, "norm"),
        ({"eps_scale": "max"}, "eps_scale"),
        ({"n_repeats": 0}, "n_repeats"),
        ({"attack_params": {"n_steps": 3}, "attack": "fgsm"}, "attack_params"),
    ],
)
def test_bad_parameters_fail_before_any_work(data, bagger, kwargs, match):
    _, _, X_test, y_test = data
    rec = _recorders(data, 1)
    with pytest.raises(ValueError, match=match):
        robustness_curve(rec, X_test, y_test, frame_classifier=bagger, **kwargs)
    assert rec["r0"].seen_ == []


def test_bad_data_and_estimators_fail_before_any_work(data, fitted):
    X, y, X_test, y_test = data
    rec = _recorders(data, 1)
    with pytest.raises(ValueError, match="labels but there are"):
        robustness_curve(rec, X_test, y_test[:-1])
    with pytest.raises(NotFittedError, match=r"estimators\['unfitted'\] is not fitted"):
        robustness_curve({**rec, "unfitted": presets.baseline_pipeline("average")},
                         X_test, y_test)
    with pytest.raises(ValueError, match="5 features; the videos of X have 6"):
        wide = [np.hstack([v, v[:, :1]]) for v in X_test]
        robustness_curve(fitted["average"], wide, y_test, attack="noise")
    with pytest.raises(ValueError, match="needs a frame classifier"):
        robustness_curve(rec, X_test, y_test, attack="pgd")
    with pytest.raises(ValueError, match="no score method"):
        robustness_curve({"x": AveragePooling().fit(X)}, X_test, y_test, attack="noise")
    with pytest.raises(ValueError, match="cannot score frames of 5 features"):
        robustness_curve(rec, X_test, y_test, frame_classifier=torch.nn.Linear(4, 3))
    with pytest.raises(ValueError, match="frame 2, feature 1"):
        bad = [v.copy() for v in X_test]
        bad[3][2, 1] = np.nan
        robustness_curve(rec, bad, y_test, attack="noise")
    assert rec["r0"].seen_ == []


def test_whitebox_refuses_other_pipelines(data, fitted):
    _, _, X_test, y_test = data
    rbf = _linear(data, SVC(kernel="rbf"))
    ovo = _linear(data, SVC(kernel="linear"))  # three classes: one-vs-one votes
    normalised = make_pipeline(FrameNormalizer(), AveragePooling(),
                               LogisticRegression()).fit(*data[:2])
    for est in (fitted["dsp"], fitted["average"], rbf, ovo, normalised):
        with pytest.raises(ValueError, match="AveragePooling -> \\[StandardScaler\\]"):
            robustness_curve({"ok": _linear(data), "bad": est}, X_test, y_test,
                             attack="whitebox_linear")


# --------------------------------------------------------------------------- frame model


@pytest.mark.parametrize("scale_frames", [False, True])
def test_frame_model_scores_raw_frames_as_the_pipeline_does(data, scale_frames):
    X, y, X_test, _ = data
    pipe = presets.dsp_pipeline(
        scale_frames=scale_frames, bagger=FAST_BAGGER, pooling={"max_iter": 2},
        device="cpu", random_state=0,
    ).fit(X, y)
    bagger = pipe.named_steps["adversarialbagger"]
    inside = X_test
    if scale_frames:
        inside = pipe.named_steps["framescaler"].transform(X_test)
    seen = np.concatenate(bagger.transform(inside).positive).astype(np.float32)
    raw = torch.as_tensor(np.concatenate(X_test), dtype=torch.float32)
    model = frame_model(pipe).eval()  # dropout off, as in the attacks
    with torch.no_grad():
        ours = model(raw)
        theirs = bagger.classifier_.module_(torch.as_tensor(seen))
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_frame_model_refuses_what_it_cannot_differentiate(data):
    X, y, _, _ = data
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(
        FunctionTransformer(lambda v: v), AdversarialBagger(device="cpu", **FAST_BAGGER)
    )
    pipe.fit(X, y)
    with pytest.raises(ValueError, match="cannot differentiate"):
        frame_model(pipe)
    with pytest.raises(ValueError, match="torch module"):
        frame_model(LogisticRegression())


def test_pgd_fools_the_frame_classifier_more_than_noise(data, bagger):
    _, _, X_test, y_test = data
    rec = _recorders(data, 1)
    kw = dict(eps=(0.2, 0.5), frame_classifier=bagger, random_state=0)
    pgd = robustness_curve(rec, X_test, y_test, attack="pgd", **kw)
    noise = robustness_curve(rec, X_test, y_test, attack="noise", **kw)
    assert np.all(pgd.fooling_rate > noise.fooling_rate)
    assert np.all(np.isnan(robustness_curve(rec, X_test, y_test, attack="noise",
                                            eps=0.5).fooling_rate))


def test_attack_params_reach_the_attack(data, bagger):
    _, _, X_test, y_test = data
    a, b = _recorders(data).values()
    kw = dict(attack="pgd", eps=0.5, frame_classifier=bagger, random_state=0)
    robustness_curve(a, X_test, y_test, **kw)
    robustness_curve(b, X_test, y_test, attack_params={"n_steps": 1}, **kw)
    assert not np.array_equal(a.seen_[0][0], b.seen_[0][0])


# --------------------------------------------------------------------------- white box


def _robust_accuracy(model, X, y, eps, norm):
    """Exact robust accuracy of AveragePooling -> StandardScaler -> linear classifier,
    from scikit-learn's own decision function: video i survives iff every other class
    k stays below the true one by more than eps times the dual norm of w_k - w_y."""
    pool, scaler, clf = model.steps[0][1], model.steps[1][1], model.steps[-1][1]
    scores = clf.decision_function(scaler.transform(pool.transform(X)))
    W = clf.coef_ / scaler.scale_
    if len(clf.classes_) == 2:
        scores = np.stack([np.zeros_like(scores), scores], axis=1)
        W = np.vstack([np.zeros_like(W), W])
    dual = 2 if norm == 2 else 1
    ok = 0
    for s, label in zip(scores, y):
        t = list(clf.classes_).index(label)
        ok += all(
            s[t] - s[k] > eps * np.linalg.norm(W[t] - W[k], ord=dual)
            for k in range(len(s)) if k != t
        )
    return ok / len(y)


@pytest.mark.parametrize("norm", [2, "inf"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_whitebox_reaches_the_exact_worst_case(norm, n_classes):
    X, y = make_videos(n_videos=30, n_features=4, n_classes=n_classes, random_state=2)
    model = make_pipeline(AveragePooling(), StandardScaler(), LogisticRegression())
    model.fit(X, y)
    eps = (0.0, 0.05, 0.1, 0.2, 0.4)
    curve = robustness_curve(model, X, y, attack="whitebox_linear", eps=eps, norm=norm)
    expected = [_robust_accuracy(model, X, y, e, norm) for e in curve.eps_absolute]
    np.testing.assert_allclose(curve.accuracy[0], expected)
    assert np.all(np.diff(curve.accuracy[0]) <= 0)
    assert curve.accuracy[0, -1] < curve.accuracy[0, 0]
    np.testing.assert_allclose(curve.max_perturbation_norm, curve.eps_absolute, rtol=1e-12)
    assert np.all(np.isnan(curve.fooling_rate)) and curve.frame_classifier is None


@pytest.mark.parametrize("attack", ["pgd", "fgsm", "noise", "shift", "uap", "deepfool"])
def test_whitebox_bounds_every_other_attack(data, bagger, attack):
    _, _, X_test, y_test = data
    models = {
        "logistic": _linear(data),
        "linear svm, searched": _linear(
            data, GridSearchCV(LinearSVC(), {"C": [0.1, 1.0]}, cv=2), scaler=False
        ),
    }
    eps = (0.1, 0.3, 1.0)
    worst = robustness_curve(models, X_test, y_test, attack="whitebox_linear", eps=eps)
    other = robustness_curve(models, X_test, y_test, attack=attack, eps=eps,
                             frame_classifier=bagger, random_state=0)
    assert np.all(worst.accuracy <= other.accuracy)


# --------------------------------------------------------------------------- result


def _curve(data, bagger, **kw):
    _, _, X_test, y_test = data
    return robustness_curve(_recorders(data), X_test, y_test, attack="noise", eps=EPS,
                            frame_classifier=bagger, random_state=0, **kw)


def test_curve_shapes_and_scale(data, bagger):
    curve = _curve(data, bagger, n_repeats=3)
    assert isinstance(curve, RobustnessCurve)
    assert curve.names == ("r0", "r1")
    assert curve.accuracy.shape == curve.accuracy_std.shape == (2, 3)
    assert curve.scores.shape == (2, 3, 3)
    frames = np.concatenate(data[2])
    assert curve.scale == pytest.approx(np.median(np.linalg.norm(frames, axis=1)))
    np.testing.assert_allclose(curve.eps_absolute, np.asarray(EPS) * curve.scale)
    absolute = _curve(data, bagger, eps_scale="absolute")
    assert absolute.scale == 1.0
    np.testing.assert_array_equal(absolute.eps_absolute, EPS)


def test_to_frame(data, bagger):
    pd = pytest.importorskip("pandas")
    table = _curve(data, bagger).to_frame()
    assert isinstance(table, pd.DataFrame) and len(table) == 6
    assert list(table["estimator"]) == ["r0"] * 3 + ["r1"] * 3


def test_to_frame_without_pandas(data, bagger, monkeypatch):
    curve = _curve(data, bagger)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        curve.to_frame()


def test_plot(data, bagger):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    assert _curve(data, bagger, n_repeats=2).plot(ax=ax) is ax
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 2  # lines and bands
    assert "median frame norm" in ax.get_xlabel()
    plt.close(fig)


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_on_basic_motions():
    from skdsp.datasets import load_basic_motions

    X, y, X_test, y_test = load_basic_motions()
    models = {
        "dsp": presets.dsp_pipeline(bagger={"classifier__max_epochs": 5}, device="cpu",
                                    random_state=0).fit(X, y),
        "logistic": make_pipeline(AveragePooling(), StandardScaler(),
                                  LogisticRegression(max_iter=2000)).fit(X, y),
    }
    eps = (0.0, 0.2, 1.0)
    pgd = robustness_curve(models, X_test, y_test, attack="pgd", eps=eps, random_state=0)
    noise = robustness_curve(models, X_test, y_test, attack="noise", eps=eps,
                             random_state=0)
    worst = robustness_curve(models["logistic"], X_test, y_test, attack="whitebox_linear",
                             eps=eps)
    for j, est in enumerate(models.values()):
        assert pgd.accuracy[j, 0] == noise.accuracy[j, 0] == est.score(X_test, y_test)
    assert np.all(pgd.fooling_rate[1:] > noise.fooling_rate[1:])
    assert np.all(worst.accuracy[0] <= pgd.accuracy[1])
    assert np.all(worst.accuracy[0] <= noise.accuracy[1])
