import numpy as np
import pytest

from skdsp.utils import check_labels, check_videos, stack_videos


def test_ragged_list_kept_in_order():
    videos = [np.ones((3, 4)), np.zeros((5, 4))]
    out = check_videos(videos)
    assert [v.shape for v in out] == [(3, 4), (5, 4)]
    assert out[0].dtype == np.float64


def test_three_d_array_is_a_collection():
    X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = check_videos(X)
    assert len(out) == 2 and out[1].shape == (3, 4) and out[1].dtype == np.float32
    np.testing.assert_array_equal(out[1], X[1])


def test_object_array_of_videos():
    X = np.empty(2, dtype=object)
    X[0], X[1] = np.ones((2, 3)), np.ones((4, 3))
    assert [v.shape for v in check_videos(X)] == [(2, 3), (4, 3)]


def test_integer_input_becomes_float():
    assert check_videos([np.ones((2, 2), dtype=int)])[0].dtype == np.float64


@pytest.mark.parametrize(
    "X, message",
    [
        ([], "empty collection"),
        (np.ones((3, 4)), "2-D array of shape (3, 4)"),
        (np.ones((2, 3, 4, 5)), "4-D array"),
        ([np.ones((3, 4)), np.ones(4)], "X[1] has shape (4,)"),
        ([np.ones((3, 4)), np.ones((0, 4))], "X[1] is empty"),
        ([np.ones((3, 4)), np.ones((3, 5))], "X[1] has 5 features, but X[0] has 4"),
        ([np.ones((3, 4)), np.array([[1.0, 2, 3, np.inf]])], "frame 0, feature 3"),
        ([np.array([["a", "b"]])], "dtype"),
        ("videos", "list of 2-D arrays"),
    ],
)
def test_bad_collections_are_named(X, message):
    with pytest.raises((ValueError, TypeError)) as info:
        check_videos(X)
    assert message in str(info.value)


def test_nan_names_video_and_frame():
    videos = [np.ones((3, 2)), np.ones((4, 2))]
    videos[1][2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] has a non-finite value \(nan\) at frame 2, feature 1"):
        check_videos(videos)


def test_feature_size_from_fit():
    with pytest.raises(ValueError, match=r"X\[0\] has 3 features, but fit has 4"):
        check_videos([np.ones((2, 3))], n_features=4)


def test_min_frames():
    with pytest.raises(ValueError, match=r"X\[0\] has 2 frame\(s\); at least 3"):
        check_videos([np.ones((2, 3))], min_frames=3)


def test_check_labels():
    assert check_labels([1, 2], 2).tolist() == [1, 2]
    with pytest.raises(ValueError, match="3 labels but there are 2 videos"):
        check_labels([1, 2, 3], 2)
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.ones((2, 2)), 2)


def test_stack_videos_pads_and_masks():
    padded, mask = stack_videos([np.ones((2, 3)), 2 * np.ones((4, 3))])
    assert padded.shape == (2, 4, 3)
    assert mask.tolist() == [[True, True, False, False], [True] * 4]
    assert np.all(padded[0, 2:] == 0) and np.all(padded[1] == 2)
