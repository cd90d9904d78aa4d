"""AdversarialBagger: bags, attacks, seeding, parameter routing, devices, pipelines, and
the UAP on real data."""

import pickle

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from torch import nn

from skdsp import AdversarialBagger, Bags
from skdsp.adversarial import attacks
from skdsp.adversarial.classifier import make_frame_classifier
from skdsp.utils.estimator_checks import make_videos, parametrize_with_sequence_checks


pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST = {"classifier__max_epochs": 4, "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def data():
    return make_videos(n_videos=10, n_features=6, n_classes=3, random_state=0)


def _fit(data, **params):
    X, y = data
    return AdversarialBagger(**{**FAST, **params}).fit(X, y)


def _equal_bags(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.positive, b.positive)) and all(
        np.array_equal(p, q) for p, q in zip(a.negative, b.negative)
    )


@parametrize_with_sequence_checks(
    [
        AdversarialBagger(attack="uap", **FAST),
        AdversarialBagger(attack="pgd", n_steps=3, **FAST),
        AdversarialBagger(attack="noise", **FAST),
    ]
)
def test_sequence_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------- bags


def test_uap_bags_are_frames_plus_one_bounded_vector(data):
    X, y = data
    bagger = _fit(data, eps=0.3)
    bags = bagger.transform(X)
    assert isinstance(bags, Bags) and len(bags) == len(X)
    v = bagger.perturbation_
    assert v.shape == (X[0].shape[1],)
    assert np.linalg.norm(v) <= 0.3 + 1e-6
    assert bagger.perturbation_norm_ == pytest.approx(np.linalg.norm(v))
    assert 0.0 <= bagger.fooling_rate_ <= 1.0
    assert bagger.n_passes_ >= 1
    for video, pos, neg in zip(X, bags.positive, bags.negative):
        assert pos.shape == neg.shape == video.shape
        np.testing.assert_allclose(np.linalg.norm(pos, axis=1), 1.0)
        np.testing.assert_allclose(pos, video / np.linalg.norm(video, axis=1, keepdims=True))
        np.testing.assert_allclose(neg - pos, np.broadcast_to(v, pos.shape), atol=1e-12)
    np.testing.assert_array_equal(bagger.classes_, np.unique(y))
    assert bagger.n_features_in_ == X[0].shape[1]


def test_linf_uap_bound(data):
    bagger = _fit(data, eps=0.05, norm="inf")
    assert np.abs(bagger.perturbation_).max() <= 0.05 + 1e-7


@pytest.mark.parametrize(
    "attack,exact", [("fgsm", True), ("noise", True), ("pgd", False), ("deepfool", False)]
)
@pytest.mark.parametrize("norm", [2, "inf"])
def test_per_frame_attacks_respect_eps(data, attack, exact, norm):
    X, _ = data
    eps = 0.2
    bagger = _fit(data, attack=attack, eps=eps, norm=norm, n_steps=3)
    bags = bagger.transform(X)
    r = np.concatenate([n - p for p, n in zip(bags.positive, bags.negative)])
    norms = attacks.lp_norm(torch.as_tensor(r), norm).numpy()
    assert np.all(norms <= eps + 1e-5)
    if exact:
        np.testing.assert_allclose(norms, eps, rtol=1e-5)
    assert bagger.perturbation_ is None
    assert bagger.perturbation_norm_ <= eps + 1e-5
    # Per-frame: not one shared vector.
    assert not np.allclose(r, r[0])


def test_shift_is_one_random_vector_of_norm_eps(data):
    X, _ = data
    bagger = _fit(data, attack="shift", eps=0.4)
    bags = bagger.transform(X)
    assert np.linalg.norm(bagger.perturbation_) == pytest.approx(0.4)
    for p, n in zip(bags.positive, bags.negative):
        np.testing.assert_allclose(n - p, np.broadcast_to(bagger.perturbation_, p.shape))


def test_per_frame_attacks_use_the_classifiers_own_predictions(data):
    X, _ = data
    bagger = _fit(data, attack="fgsm", eps=0.3)
    bags = bagger.transform(X)
    module = bagger.classifier_.module_
    x = torch.as_tensor(np.concatenate(bags.positive), dtype=torch.float32)
    own = attacks.predict(module, x)
    expected = attacks.fgsm(module, x, own, eps=0.3).numpy()
    got = np.concatenate([n - p for p, n in zip(bags.positive, bags.negative)])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_normalize_false_keeps_frames(data):
    X, _ = data
    bags = _fit(data, attack="shift", normalize=False).transform(X)
    for video, pos in zip(X, bags.positive):
        np.testing.assert_array_equal(pos, video)


# ----------------------------------------------------------------- seeding, consistency


@pytest.mark.parametrize("attack", ["uap", "noise", "pgd", "shift"])
def test_same_seed_same_bags_and_fit_transform_matches(data, attack):
    X, y = data
    a = _fit(data, attack=attack, n_steps=3).transform(X)
    b = AdversarialBagger(attack=attack, n_steps=3, **FAST).fit_transform(X, y)
    assert _equal_bags(a, b)
    if attack in ("noise", "shift"):
        c = _fit(data, attack=attack, random_state=1).transform(X)
        assert not _equal_bags(a, c)


def test_fit_is_deterministic_in_the_classifier(data):
    a, b = _fit(data), _fit(data)
    for pa, pb in zip(a.classifier_.module_.parameters(), b.classifier_.module_.parameters()):
        assert torch.equal(pa, pb)
    # and does not consume or reset the global torch RNG
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit(data)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------- errors


def test_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="labels but there are"):
        AdversarialBagger(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        AdversarialBagger(**FAST).fit(X, np.zeros(len(X)))
    with pytest.raises(NotFittedError):
        AdversarialBagger().transform(X)
    with pytest.raises(ValueError, match="attack"):
        AdversarialBagger(attack="fog", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="eps"):
        AdversarialBagger(eps=-1.0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="classifier"):
        AdversarialBagger(classifier="mlp", **FAST).fit(X, y)
    with pytest.raises(TypeError, match="classifier__"):
        AdversarialBagger(max_epochs=3)
    with pytest.raises(ValueError, match="2-D array"):
        AdversarialBagger(**FAST).fit(np.zeros((5, 6)), y[:5])
    bagger = _fit(data)
    with pytest.raises(ValueError, match="features"):
        bagger.transform([v[:, :-1] for v in X])


# ----------------------------------------------------------------- classifier and params


def test_classifier_params_route_through_get_and_set_params(data):
    X, y = data
    bagger = AdversarialBagger(device="cpu", random_state=0)
    bagger.set_params(classifier__max_epochs=2, classifier__module__hidden_units=8)
    params = bagger.get_params()
    assert params["classifier__max_epochs"] == 2
    twin = clone(bagger)
    assert twin.get_params()["classifier__module__hidden_units"] == 8
    twin.fit(X, y)
    assert twin.classifier_.max_epochs == 2
    assert len(twin.classifier_.history) == 2
    assert twin.classifier_.module_.net[0].out_features == 8
    assert "classifier__max_epochs=2" in repr(bagger)

    pipe = make_pipeline(AdversarialBagger(device="cpu", random_state=0))
    pipe.set_params(adversarialbagger__classifier__max_epochs=1)
    pipe.fit(X, y)
    assert len(pipe[0].classifier_.history) == 1


def test_user_skorch_net_is_cloned_and_its_params_exposed(data):
    X, y = data
    net = make_frame_classifier(max_epochs=2, module__hidden_units=16)
    bagger = AdversarialBagger(net, device="cpu", random_state=0)
    assert bagger.get_params()["classifier__module__hidden_units"] == 16
    bagger.set_params(classifier__max_epochs=3)
    bagger.fit(X, y)
    assert not hasattr(net, "module_")  # the user's net is left untouched
    assert net.max_epochs == 2
    assert len(bagger.classifier_.history) == 3
    assert bagger.classifier_.module_.net[0].out_features == 16


class _Linear(nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.fc = nn.Linear(n_features, n_classes)

    def forward(self, x):
        return self.fc(x)


def test_module_class_and_instance(data):
    X, y = data
    a = AdversarialBagger(_Linear, **FAST).fit(X, y)
    assert isinstance(a.classifier_.module_, _Linear)
    inst = nn.Sequential(nn.Linear(6, 3))
    b = AdversarialBagger(inst, attack="deepfool", **FAST).fit(X, y)
    assert isinstance(b.classifier_.module_, nn.Sequential)
    assert b.classifier_.module_ is not inst
    assert len(b.transform(X)) == len(X)


def test_fitted_state_lives_on_the_cpu(data):
    X, _ = data
    bagger = _fit(data)
    net = bagger.classifier_
    assert net.device == "cpu"
    assert all(p.device.type == "cpu" for p in net.module_.parameters())
    restored = pickle.loads(pickle.dumps(bagger))
    assert _equal_bags(bagger.transform(X), restored.transform(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_pickles_to_cpu(data):
    X, y = data
    bagger = AdversarialBagger(attack="pgd", classifier__max_epochs=3, device="cuda", random_state=0)
    bagger.fit(X, y)
    net = bagger.classifier_
    assert net.device == "cpu"
    assert all(p.device.type == "cpu" for p in net.module_.parameters())
    for state in net.optimizer_.state.values():
        assert all(v.device.type == "cpu" for v in state.values() if torch.is_tensor(v))
    blob = pickle.dumps(bagger)
    restored = pickle.loads(blob)
    restored.set_params(device="cpu")
    bags = restored.transform(X)
    assert len(bags) == len(X)


# ----------------------------------------------------------------- pipelines


def _dsp():
    from skdsp import DiscriminativeSubspacePooling

    return DiscriminativeSubspacePooling(n_components=2, max_iter=5, device="cpu", random_state=0)


def test_pipeline_through_dsp_cross_val_and_grid_search(data):
    from skdsp import SubspaceKernel

    X, y = data
    pipe = make_pipeline(
        AdversarialBagger(**FAST),
        _dsp(),
        SubspaceKernel(),
        SVC(kernel="precomputed"),
    )
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    grid = GridSearchCV(pipe, {"adversarialbagger__eps": [0.1, 0.5]}, cv=2)
    grid.fit(X, y)
    # The search's fold scores are those of the pipeline with each eps, cross-validated
    # by hand on the same folds, and it keeps the best of them.
    manual = {
        eps: cross_val_score(clone(pipe).set_params(adversarialbagger__eps=eps), X, y, cv=2)
        for eps in (0.1, 0.5)
    }
    for i, eps in enumerate(grid.cv_results_["param_adversarialbagger__eps"]):
        np.testing.assert_allclose(
            [grid.cv_results_[f"split{k}_test_score"][i] for k in range(2)], manual[eps]
        )
    best = max((0.1, 0.5), key=lambda eps: (manual[eps].mean(), -eps))
    assert grid.best_params_["adversarialbagger__eps"] == best
    fitted = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(fitted.predict(X), grid.best_estimator_.predict(X))


def test_set_output_does_not_break_on_bags(data):
    X, y = data
    pipe = make_pipeline(AdversarialBagger(attack="shift", **FAST), _dsp())
    pipe.set_output(transform="default")
    out = pipe.fit_transform(X, y)
    assert out.shape[0] == len(X)
    with sklearn.config_context(transform_output="pandas"):
        bags = AdversarialBagger(attack="shift", **FAST).fit_transform(X, y)
    assert isinstance(bags, Bags)


# ----------------------------------------------------------------- real data


def test_uap_fools_a_real_classifier_more_than_noise_of_the_same_norm():
    """BasicMotions (smartwatch accelerometer and gyroscope, 6 features per frame,
    L2-normalised): the UAP against the trained frame classifier changes clearly more
    predictions than per-frame noise or a random shift of the same L2 norm. (On these
    frames the margin is about 1.7x at eps=0.1; many frames sit near a boundary, so
    noise alone flips a fair share.)"""
    from skdsp.datasets import load_basic_motions

    X, y, _, _ = load_basic_motions()
    common = {
        "eps": 0.1,
        "max_passes": 3,
        "classifier__max_epochs": 10,
        "classifier__batch_size": 256,
        "device": "cpu",
        "random_state": 0,
    }
    uap = AdversarialBagger(attack="uap", **common).fit(X, y)
    assert np.linalg.norm(uap.perturbation_) <= 0.1 + 1e-6
    # Controls against the same classifier, on the same (normalised) frames.
    module = uap.classifier_.module_
    frames = torch.as_tensor(
        np.concatenate([v / np.linalg.norm(v, axis=1, keepdims=True) for v in X]),
        dtype=torch.float32,
    )
    v = torch.as_tensor(uap.perturbation_, dtype=torch.float32)
    assert attacks.fooling_rate(module, frames, v) == pytest.approx(uap.fooling_rate_)
    gen = torch.Generator().manual_seed(0)
    noise = attacks.random_directions(tuple(frames.shape), 0.1, generator=gen)
    noise_rate = attacks.fooling_rate(module, frames, noise)
    shifts = attacks.random_directions((10, frames.shape[1]), 0.1, generator=gen)
    shift_rate = np.mean([attacks.fooling_rate(module, frames, s) for s in shifts])
    assert noise_rate > 0  # the controls are not vacuous...
    assert uap.fooling_rate_ > 1.4 * max(noise_rate, shift_rate)
