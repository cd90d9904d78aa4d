import numpy as np

from skdsp import PPVPooling
from skdsp.utils.estimator_checks import check_sequence_estimator, make_videos


def test_sequence_checks():
    check_sequence_estimator(PPVPooling())


def test_proportion_of_positive_values_per_feature():
    videos, _ = make_videos(n_videos=5, random_state=3)
    out = PPVPooling().fit_transform(videos)
    assert out.shape == (5, videos[0].shape[1]) and out.dtype == np.float64
    for v, row in zip(videos, out):
        np.testing.assert_array_equal(row, [np.mean(v[:, j] > 0) for j in range(v.shape[1])])
    # Zeros are not positive; the pooling is invariant to positive rescaling of frames.
    np.testing.assert_array_equal(
        PPVPooling().fit_transform([np.array([[0.0, -1.0], [0.0, 2.0]])]), [[0.0, 0.5]]
    )
    np.testing.assert_array_equal(
        PPVPooling().fit_transform([3.0 * v for v in videos]), out
    )


def test_feature_names():
    names = PPVPooling().fit(make_videos(n_features=3)[0]).get_feature_names_out()
    assert list(names) == ["ppvpooling_f0", "ppvpooling_f1", "ppvpooling_f2"]
