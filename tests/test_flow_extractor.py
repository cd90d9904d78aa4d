"""FlowFeatureExtractor on real frames (camera motion over photographs, real clips)."""

import glob
import os
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

pytest.importorskip("cv2")
pytest.importorskip("av")

from skdsp import FrameFeatureExtractor  # noqa: E402
from skdsp.datasets import make_camera_motion_videos  # noqa: E402
from skdsp.utils import estimator_checks as checks  # noqa: E402
from skdsp.video import FlowFeatureExtractor, read_video, write_video  # noqa: E402
from skdsp.video import flow_extractor as flow_extractor_module  # noqa: E402
from skdsp.video.cache import hash_array, hash_file  # noqa: E402
from skdsp.video.flow import flow_to_image, optical_flow  # noqa: E402
from skdsp.video.io import iter_video_frames  # noqa: E402
from skdsp.video.flow_histograms import motion_histograms  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def videos():
    """Four camera-motion videos (zoom in, zoom out, pan right, pan left), 9 frames."""
    videos, y = make_camera_motion_videos(
        1, n_frames=9, size=(48, 64), photographs=("china",), random_state=0
    )
    return videos[:4]


@pytest.fixture(scope="module")
def files(videos, tmp_path_factory):
    """The same videos as lossless files (FFV1 in Matroska): decoding is exact."""
    folder = tmp_path_factory.mktemp("flowclips")
    return [write_video(folder / f"v{i}.mkv", v, fps=10) for i, v in enumerate(videos)]


def expected(frames, **kwargs):
    settings = {"grid": (2, 2), "min_magnitude": 1.0, **kwargs}
    return motion_histograms(optical_flow(frames, preset="ultrafast"), **settings)


def test_arrays_to_motion_histograms(videos):
    ext = FlowFeatureExtractor().fit()
    feats = ext.transform(videos)
    assert len(feats) == 4 and ext.n_features_out_ == 4 * 9 + 2 * 4 * 8
    for video, f in zip(videos, feats):
        assert f.shape == (8, ext.n_features_out_) and f.dtype == np.float32
        np.testing.assert_array_equal(f, expected(video))
    assert len(ext.get_feature_names_out()) == ext.n_features_out_


def test_motion_direction_is_in_the_features(videos):
    # Zoom out is zoom in reversed: HOF of the one is HOF of the other turned by 180
    # degrees, so the videos of a time-reversed pair have different features.
    feats = FlowFeatureExtractor(grid=(1, 1), descriptors=("hof",), n_bins=4).fit_transform(
        videos
    )
    pan_right, pan_left = feats[2].mean(0), feats[3].mean(0)
    # The camera moves right, so the picture moves left (bin 2 of 4), and vice versa.
    assert pan_right.argmax() == 2 and pan_left.argmax() == 0


def test_chunks_overlap_so_no_pair_is_lost(videos, files):
    whole = FlowFeatureExtractor(batch_size=64).fit().transform(videos[:1] + files[:1])
    for batch_size in (1, 2, 3):
        chunked = FlowFeatureExtractor(batch_size=batch_size).fit().transform(
            videos[:1] + files[:1]
        )
        for a, b in zip(whole, chunked):
            np.testing.assert_array_equal(a, b)


def test_files_and_arrays_agree(videos, files):
    ext = FlowFeatureExtractor().fit()
    for a, b in zip(ext.transform(files), ext.transform(videos)):
        np.testing.assert_array_equal(a, b)


def test_worker_processes_match_thread(files):
    a = FlowFeatureExtractor(batch_size=3).fit().transform(files)
    b = FlowFeatureExtractor(batch_size=3, n_workers=2).fit().transform(files)
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)


def test_same_frames_as_the_rgb_stream(videos, files):
    """step, max_frames, fps and resize pick the frames FrameFeatureExtractor sees."""
    ext = FlowFeatureExtractor(step=2, max_frames=4).fit()
    (f,) = ext.transform(files[:1])
    np.testing.assert_array_equal(f, expected(videos[0][::2][:4]))
    (g,) = ext.transform(videos[:1])
    np.testing.assert_array_equal(g, f)
    (f,) = FlowFeatureExtractor(fps=5).fit().transform(files[:1])  # the file is 10 fps
    np.testing.assert_array_equal(f, expected(read_video(files[0], fps=5)))
    (f,) = FlowFeatureExtractor(resize=32).fit().transform(files[:1])
    frames = np.stack(list(iter_video_frames(files[0], shorter_side=32)))
    assert frames.shape[1:3] == (32, 43)
    np.testing.assert_array_equal(f, expected(frames))
    # Arrays are resized by OpenCV, files by FFmpeg: close, not identical.
    (g,) = FlowFeatureExtractor(resize=32).fit().transform(videos[:1])
    assert np.abs(f - g).mean() < 0.05


def test_each_video_is_independent_of_the_others(videos):
    ext = FlowFeatureExtractor().fit()
    together = ext.transform(videos)
    for video, f in zip(videos, together):
        np.testing.assert_array_equal(ext.transform([video])[0], f)


def test_cnn_on_flow_images(videos):
    image_extractor = FrameFeatureExtractor(
        layer="_blocks.10", preprocessing={"resize": 64, "crop": 64}, device="cpu"
    )
    ext = FlowFeatureExtractor("cnn", image_extractor=image_extractor, bound=10.0).fit()
    assert ext.n_features_out_ == 112
    (f,) = ext.transform(videos[:1])
    images = flow_to_image(optical_flow(videos[0], preset="ultrafast"), bound=10.0)
    (want,) = clone(image_extractor).fit().transform([images])
    assert f.shape == (8, 112)
    np.testing.assert_array_equal(f, want)
    assert ext.get_feature_names_out()[-1] == "flowcnn111"
    # Nested parameters route as in any scikit-learn composite.
    assert ext.get_params()["image_extractor__layer"] == "_blocks.10"


def test_cnn_with_a_user_module(videos):
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())
    image_extractor = FrameFeatureExtractor(
        net, preprocessing={"resize": 32, "crop": 32}, device="cpu"
    )
    ext = FlowFeatureExtractor("cnn", image_extractor=image_extractor, batch_size=3).fit()
    feats = ext.transform(videos[:2])
    assert [f.shape for f in feats] == [(8, 4), (8, 4)]
    assert not np.allclose(feats[0], feats[1])


def test_image_extractor_must_leave_sampling_and_cache_alone():
    for params in ({"step": 2}, {"fps": 5.0}, {"max_frames": 3}, {"cache_dir": "x"}):
        with pytest.raises(ValueError, match="sampling and caching belong"):
            FlowFeatureExtractor("cnn", image_extractor=FrameFeatureExtractor(**params)).fit()


def test_one_frame_is_an_error_naming_the_video(videos, files):
    ext = FlowFeatureExtractor().fit()
    with pytest.raises(ValueError, match=r"X\[1\] has 1 frame after sampling.*at least 2"):
        ext.transform([videos[0], videos[1][:1]])
    with pytest.raises(ValueError, match=r"X\[0\] has 1 frame after sampling \(step=9"):
        clone(ext).set_params(step=9).fit().transform([videos[0]])
    with pytest.raises(ValueError, match=r"X\[1\] \('.*v1.mkv'\) has 1 frame.*step=9"):
        long_enough = np.concatenate([videos[0], videos[0]])  # 18 frames: 2 kept
        clone(ext).set_params(step=9).fit().transform([long_enough, files[1]])
    with pytest.raises(ValueError, match="max_frames"):
        FlowFeatureExtractor(max_frames=1).fit()


def test_frames_of_different_sizes_are_refused(videos, tmp_path):
    ext = FlowFeatureExtractor().fit()
    frames = [videos[0][0], videos[0][1], videos[0][2][:40]]
    with pytest.raises(ValueError, match=r"X\[0\]: frame 2 .* is 40 x 64 .* frame 0 is 48 x 64"):
        ext.transform([frames])
    # A real file whose picture size changes mid-stream: two MPEG-TS segments of
    # different sizes, concatenated (as a broadcast or a camera switch produces).
    a = write_video(tmp_path / "a.ts", videos[0][:5])
    b = write_video(tmp_path / "b.ts", np.ascontiguousarray(videos[1][:4, :32, :48]))
    joined = tmp_path / "joined.ts"
    joined.write_bytes(open(a, "rb").read() + open(b, "rb").read())
    assert [f.shape[:2] for f in iter_video_frames(joined)][4:6] == [(48, 64), (32, 48)]
    for batch_size in (64, 5, 2):  # the change inside a chunk, or between chunks
        with pytest.raises(
            ValueError,
            match=r"X\[0\] \('.*joined.ts'\): frame 5 .* is 32 x 48 .* frame 0 is 48 x 64",
        ):
            clone(ext).set_params(batch_size=batch_size).fit().transform([str(joined)])
    # resize scales every frame to the size the stream declares: flow works.
    (f,) = clone(ext).set_params(resize=24).fit().transform([str(joined)])
    assert f.shape == (8, ext.n_features_out_)


def test_input_errors(videos, tmp_path):
    with pytest.raises(NotFittedError):
        FlowFeatureExtractor().transform(videos)
    ext = FlowFeatureExtractor().fit()
    with pytest.raises(FileNotFoundError, match=r"X\[1\].*gone.mp4"):
        ext.transform([videos[0], str(tmp_path / "gone.mp4")])
    with pytest.raises(ValueError, match=r"X\[0\] has dtype float64.*uint8"):
        ext.transform([videos[0].astype(float)])
    with pytest.raises(ValueError, match=r"X\[0\] is an array.*no timestamps"):
        FlowFeatureExtractor(fps=5).fit().transform(videos[:1])
    with pytest.raises(ValueError, match="2 x 2"):
        ext.transform([np.zeros((3, 1, 5, 3), np.uint8)])
    with pytest.raises(ValueError, match="preset"):
        FlowFeatureExtractor(preset="slow").fit()
    with pytest.raises(ValueError, match="grid"):
        FlowFeatureExtractor(grid=(0, 1)).fit()
    with pytest.raises(ValueError, match="descriptors"):
        FlowFeatureExtractor(descriptors=("hog",)).fit()


def test_sklearn_citizenship(videos):
    est = FlowFeatureExtractor(batch_size=4)
    for check in checks.citizenship_checks():
        check(est, videos[:2], None)


def test_pickled_cnn_extractor_gives_the_same_features(videos):
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())
    ext = FlowFeatureExtractor(
        "cnn", image_extractor=FrameFeatureExtractor(
            net, preprocessing={"resize": 32, "crop": 32}, device="cpu"
        ),
    ).fit()
    before = ext.transform(videos[:1])[0]
    restored = pickle.loads(pickle.dumps(ext))
    np.testing.assert_array_equal(restored.transform(videos[:1])[0], before)


def test_cache_reuses_entries_and_keys_on_settings(videos, files, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    ext = FlowFeatureExtractor(cache_dir=cache_dir).fit()
    first = ext.transform([files[0], videos[1]])
    entries = glob.glob(str(cache_dir / "*" / "*.npy"))
    assert sorted(os.path.basename(e)[:-4] for e in entries) == sorted(
        [hash_file(files[0]), hash_array(videos[1])]
    )

    def boom(*args, **kwargs):
        raise AssertionError("a cached video was recomputed")

    monkeypatch.setattr(flow_extractor_module, "optical_flow", boom)
    second = ext.transform([files[0], videos[1].copy()])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # Half done (as after an interrupted run): only the missing video is computed.
    with pytest.raises(AssertionError, match="recomputed"):
        ext.transform([files[0], videos[2]])
    monkeypatch.undo()
    # Other flow or feature settings: other entries, never the cached ones.
    for params in ({"preset": "fast"}, {"grid": (1, 1)}, {"normalize": "l2"}, {"step": 2}):
        other = clone(ext).set_params(**params).fit().transform([files[0]])[0]
        assert not np.array_equal(other, first[0]) or other.shape != first[0].shape
    assert len(glob.glob(str(cache_dir / "*"))) == 5
    # The RGB stream can share the folder: its entries live apart.
    rgb = FrameFeatureExtractor(
        nn.Sequential(nn.Conv2d(3, 2, 3)), preprocessing={"resize": 32, "crop": 32},
        device="cpu", cache_dir=cache_dir,
    ).fit()
    rgb.transform([files[0]])
    assert len(glob.glob(str(cache_dir / "*"))) == 6
    np.testing.assert_array_equal(ext.transform([files[0]])[0], first[0])


def test_tvl1_needs_contrib():
    import cv2

    if hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create"):
        pytest.skip("opencv-contrib is installed")
    with pytest.raises(ImportError, match="opencv-contrib-python-headless"):
        FlowFeatureExtractor(method="tvl1").fit()


@pytest.mark.parametrize(
    "bad, problem",
    [
        (lambda n, d: np.ones((n, d - 1), np.float32), "shape"),
        (lambda n, d: np.ones((n + 1, d), np.float32), "shape"),
        (lambda n, d: np.full((n, d), np.nan, np.float32), "not finite"),
        (lambda n, d: np.ones((n, d), np.float64), "dtype"),
    ],
)
def test_invalid_cache_entry_is_recomputed(videos, tmp_path, bad, problem):
    ext = FlowFeatureExtractor(cache_dir=tmp_path).fit()
    video = videos[0]
    expected = ext.transform([video])[0]
    [path] = glob.glob(str(tmp_path / "*" / f"{hash_array(video)}.npy"))
    np.save(path, bad(*expected.shape))
    with pytest.warns(RuntimeWarning, match=f"invalid cache entry.*{problem}"):
        got = ext.transform([video])[0]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.load(path), expected)  # and the entry is repaired


def test_unusable_cache_dir_fails_before_any_flow(videos, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")

    def boom(*args, **kwargs):
        raise AssertionError("flow was computed before the cache was checked")

    monkeypatch.setattr(flow_extractor_module, "optical_flow", boom)
    with pytest.raises(OSError, match=re.escape(str(not_a_folder))):
        FlowFeatureExtractor(cache_dir=not_a_folder).fit().transform(videos[:2])


def test_progress_bar_only_when_verbose_and_counts_cached_videos(videos, tmp_path, capsys):
    quiet = FlowFeatureExtractor(cache_dir=tmp_path).fit()
    quiet.transform(videos[:1])
    assert capsys.readouterr().err == ""
    clone(quiet).set_params(verbose=1).fit().transform(videos[:2])
    err = capsys.readouterr().err
    assert "videos" in err and "1/2" in err and "2/2" in err  # starts at the cached one
    assert "0/2" not in err
