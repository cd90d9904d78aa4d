import numpy as np

from skdsp import FrameNormalizer, FrameScaler
from skdsp.utils.estimator_checks import check_sequence_estimator, make_videos


def test_sequence_checks():
    check_sequence_estimator(FrameScaler())
    check_sequence_estimator(FrameNormalizer())


def test_frames_get_unit_norm():
    videos, _ = make_videos(random_state=2)
    out = FrameNormalizer().fit_transform(videos)
    for v, w in zip(videos, out):
        np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0)
        np.testing.assert_allclose(w * np.linalg.norm(v, axis=1, keepdims=True), v)


def test_statistics_pool_all_frames():
    videos, _ = make_videos(random_state=1)
    scaled = FrameScaler().fit_transform(videos)
    frames = np.concatenate(scaled)
    np.testing.assert_allclose(frames.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(frames.std(axis=0), 1, atol=1e-12)
    assert [v.shape for v in scaled] == [v.shape for v in videos]


def test_constant_feature_is_left_unscaled():
    videos = [np.array([[1.0, 3.0], [2.0, 3.0]])]
    out = FrameScaler().fit_transform(videos)[0]
    np.testing.assert_array_equal(out[:, 1], [0.0, 0.0])
