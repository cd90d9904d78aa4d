"""AdversarialBagger: which training frames the classifier and the UAP see."""

import numpy as np
import pytest

from skdsp import AdversarialBagger
from skdsp.adversarial import bagger as bagger_module
from skdsp.adversarial.bagger import _training_frames, auto_train_frames
from skdsp.utils.estimator_checks import make_videos


pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST = {"classifier__max_epochs": 2, "device": "cpu", "random_state": 0}


def test_auto_limit_adapts_to_the_number_of_features():
    assert auto_train_frames(6) == 20_000  # raw sensor frames: many, capped
    assert auto_train_frames(1_000) == 2**20 // 1_000
    assert auto_train_frames(10_000) == 1_000  # never fewer
    # Every frame of the shipped data sets stays in (at most 6,000 frames of 6 to 16).
    assert auto_train_frames(16) >= 6_000


def test_subset_is_drawn_without_replacement_and_labelled_by_video():
    rng = np.random.RandomState(0)
    videos = [np.full((n, 3), float(i), dtype=np.float32) for i, n in enumerate([5, 9, 1, 7])]
    labels = np.array([10, 11, 12, 13])
    frames, y, every = _training_frames(videos, labels, 8, rng)
    assert not every and frames.shape == (8, 3) and y.shape == (8,)
    np.testing.assert_array_equal(labels[frames[:, 0].astype(int)], y)
    # Rows keep video order; no frame is drawn twice.
    assert np.all(np.diff(frames[:, 0]) >= 0)
    frames_all, y_all, every = _training_frames(videos, labels, 22, rng)
    assert every and frames_all.shape == (22, 3)
    np.testing.assert_array_equal(y_all, np.repeat(labels, [5, 9, 1, 7]))


def test_fit_trains_on_max_train_frames(monkeypatch):
    X, y = make_videos(n_videos=8, n_features=5, min_frames=20, max_frames=30)
    seen = []
    original = bagger_module.attacks.universal_perturbation

    def spy(module, x, **kwargs):
        seen.append(x.shape[0])
        return original(module, x, **kwargs)

    monkeypatch.setattr(bagger_module.attacks, "universal_perturbation", spy)
    bagger = AdversarialBagger(max_train_frames=50, **FAST).fit(X, y)
    assert seen == [50]
    assert bagger.classifier_.history[-1, "train_loss"] > 0
    n_batches = len(bagger.classifier_.history[-1, "batches"])
    assert n_batches == 1  # 50 frames, batches of 256
    # The bags still hold every frame of every video.
    bags = bagger.transform(X)
    assert [p.shape for p in bags.positive] == [v.shape for v in X]
    # Same seed, same subset, same perturbation.
    again = AdversarialBagger(max_train_frames=50, **FAST).fit(X, y)
    np.testing.assert_array_equal(again.perturbation_, bagger.perturbation_)


def test_per_frame_attacks_perturb_every_frame_when_training_on_a_subset():
    X, y = make_videos(n_videos=6, n_features=5, min_frames=20, max_frames=30)
    bagger = AdversarialBagger(attack="fgsm", eps=0.3, max_train_frames=40, **FAST)
    bags = bagger.fit_transform(X, y)
    for p, n in zip(bags.positive, bags.negative):
        np.testing.assert_allclose(np.linalg.norm(n - p, axis=1), 0.3, rtol=1e-4)
    # fit_transform agrees with fit then transform.
    again = bagger.transform(X)
    for a, b in zip(bags.negative, again.negative):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_max_train_frames_is_refused():
    X, y = make_videos(n_videos=4)
    with pytest.raises(ValueError, match="max_train_frames"):
        AdversarialBagger(max_train_frames=0, **FAST).fit(X, y)
