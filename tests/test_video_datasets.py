"""Class-per-folder video data sets with official split files, and camera-motion videos."""

import sys

import numpy as np
import pytest

from skdsp.datasets import load_video_folder, make_camera_motion_videos
from skdsp.datasets.camera_motion import CAMERA_MOTION_CLASSES, PHOTOGRAPHS


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- load_video_folder -----------------------------------------------------------


def _write_clip(path, seed):
    from skdsp.video import write_video

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "mpeg4" if path.suffix == ".mp4" else None
    write_video(path, rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8), fps=5, codec=codec)


UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "BabyCrawling"]


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    pytest.importorskip("av")
    root = tmp_path_factory.mktemp("UCF-101")
    videos = {}
    for c, cls in enumerate(UCF_CLASSES):
        for g in (1, 2, 8):
            rel = f"{cls}/v_{cls}_g{g:02d}_c01.avi"
            _write_clip(root / rel, seed=10 * c + g)
            videos[rel] = (c + 1, g)
    splits = tmp_path_factory.mktemp("ucfTrainTestlist")
    (splits / "classInd.txt").write_text(
        "".join(f"{i + 1} {c}\n" for i, c in enumerate(UCF_CLASSES))
    )
    train = [f"{rel} {label}\n" for rel, (label, g) in videos.items() if g != 1]
    test = [f"{rel}\r\n" for rel, (label, g) in videos.items() if g == 1]  # CRLF as shipped
    (splits / "trainlist01.txt").write_text("".join(train))
    (splits / "testlist01.txt").write_text("".join(test))
    # Split 2 holds out group 2 instead.
    (splits / "trainlist02.txt").write_text(
        "".join(f"{rel} {label}\n" for rel, (label, g) in videos.items() if g != 2)
    )
    (splits / "testlist02.txt").write_text(
        "".join(f"{rel}\n" for rel, (label, g) in videos.items() if g == 2)
    )
    return root, splits


def test_ucf_layout_without_split(ucf):
    root, _ = ucf
    data = load_video_folder(root)
    assert data.target_names == UCF_CLASSES
    assert len(data.paths) == 9
    np.testing.assert_array_equal(data.target, np.repeat([0, 1, 2], 3))
    np.testing.assert_array_equal(data.groups, np.tile([1, 2, 8], 3))
    assert "split" not in data
    assert all(p.endswith(".avi") and str(root) in p for p in data.paths)
    paths, target = load_video_folder(root, return_X_y=True)
    assert paths == data.paths
    # Nothing was decoded, but the paths are real videos.
    from skdsp.video import read_video

    assert read_video(data.paths[0]).shape == (2, 16, 16, 3)


def test_ucf_official_split_files(ucf):
    root, splits = ucf
    data = load_video_folder(
        root, split_file=[splits / "trainlist01.txt", splits / "testlist01.txt"]
    )
    assert len(data.train) == 6 and len(data.test) == 3
    assert set(data.groups[data.test]) == {1}
    assert set(data.groups[data.train]) == {2, 8}
    assert set(data.split) == {"train", "test"}
    # A folder of split files selects a split by number.
    two = load_video_folder(root, split_file=splits, split=2)
    assert set(two.groups[two.test]) == {2}
    one = load_video_folder(root, split_file=splits)
    np.testing.assert_array_equal(one.test, data.test)


def test_ucf_label_disagreeing_with_class_index(ucf, tmp_path):
    root, splits = ucf
    bad = tmp_path / "trainlist01.txt"
    bad.write_text("Archery/v_Archery_g02_c01.avi 3\n")
    (tmp_path / "classInd.txt").write_text((splits / "classInd.txt").read_text())
    with pytest.raises(ValueError, match="has label 3.*'Archery' as 2"):
        load_video_folder(root, split_file=[bad])


def test_split_file_listing_a_missing_video(ucf, tmp_path):
    root, _ = ucf
    listed = tmp_path / "testlist01.txt"
    listed.write_text("Archery/v_Archery_g01_c01.avi\nArchery/v_Archery_g99_c01.avi\n")
    with pytest.raises(FileNotFoundError, match="1 video.*v_Archery_g99_c01.avi"):
        load_video_folder(root, split_file=listed)


def test_bad_split_files(ucf, tmp_path):
    root, _ = ucf
    odd = tmp_path / "my_split.txt"
    odd.write_text("a 1\n")
    with pytest.raises(ValueError, match="not recognised"):
        load_video_folder(root, split_file=odd)
    malformed = tmp_path / "trainlist01.txt"
    malformed.write_text("Archery/v_Archery_g02_c01.avi one\n")
    with pytest.raises(ValueError, match="trainlist01.txt:1"):
        load_video_folder(root, split_file=malformed)
    with pytest.raises(FileNotFoundError, match="Split file not found"):
        load_video_folder(root, split_file=tmp_path / "testlist09.txt")
    with pytest.raises(ValueError, match="No split files for split 5"):
        load_video_folder(root, split_file=tmp_path, split=5)


def test_missing_or_empty_roots(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_video_folder(tmp_path / "nothing")
    with pytest.raises(ValueError, match="no class folders"):
        load_video_folder(tmp_path)
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="No videos"):
        load_video_folder(tmp_path)


def test_hmdb_split_files(tmp_path):
    pytest.importorskip("av")
    root = tmp_path / "hmdb51"
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    codes = {"brush_hair": ["1", "2", "0", "1"], "cartwheel": ["2", "1", "1", "0"]}
    for c, (cls, roles) in enumerate(codes.items()):
        lines = []
        for i, code in enumerate(roles):
            name = f"Clip_{i}_{cls}_f_nm_np1_ba_goo_{i}.avi"
            _write_clip(root / cls / name, seed=c * 10 + i)
            lines.append(f"{name} {code} \n")  # HMDB lines end with a space
        (splits / f"{cls}_test_split1.txt").write_text("".join(lines))
        (splits / f"{cls}_test_split2.txt").write_text(
            "".join(f"{line.split()[0]} 1\n" for line in lines)
        )
    data = load_video_folder(root, split_file=splits)  # split 1 by default
    assert data.target_names == ["brush_hair", "cartwheel"]
    assert data.groups is None  # no UCF-style group numbers in these names
    roles = {"0": "unused", "1": "train", "2": "test"}
    expected = [roles[c] for cls in codes for c in codes[cls]]
    assert list(data.split) == expected
    np.testing.assert_array_equal(data.train, [0, 3, 5, 6])
    np.testing.assert_array_equal(data.test, [1, 4])
    all_train = load_video_folder(root, split_file=splits, split=2)
    assert set(all_train.split) == {"train"}
    one_class = load_video_folder(root, split_file=splits / "cartwheel_test_split1.txt")
    assert list(one_class.split[:4]) == ["unused"] * 4  # brush_hair is not listed
    bad = tmp_path / "cartwheel_test_split3.txt"
    bad.write_text("x.avi 7\n")
    with pytest.raises(ValueError, match=r"<0\|1\|2>"):
        load_video_folder(root, split_file=bad)


# -- make_camera_motion_videos ---------------------------------------------------


@pytest.fixture(scope="module")
def motion():
    pytest.importorskip("skimage")
    return make_camera_motion_videos(
        8, n_frames=8, size=(64, 80), random_state=0, return_groups=True
    )


def test_camera_motion_shapes_and_balance(motion):
    videos, y, groups = motion
    assert len(videos) == len(y) == len(groups) == 8 * 8
    assert all(v.shape == (8, 64, 80, 3) and v.dtype == np.uint8 for v in videos)
    assert sorted(set(y)) == sorted(CAMERA_MOTION_CLASSES)
    assert set(groups) == set(PHOTOGRAPHS)
    # Each photograph appears in every class equally often.
    for cls in CAMERA_MOTION_CLASSES:
        names, counts = np.unique(groups[y == cls], return_counts=True)
        assert list(names) == sorted(PHOTOGRAPHS) and set(counts) == {1}


def test_camera_motion_pairs_are_time_reversed(motion):
    videos, y, groups = motion
    for first, second in zip(CAMERA_MOTION_CLASSES[::2], CAMERA_MOTION_CLASSES[1::2]):
        a = [v for v, c in zip(videos, y) if c == first]
        b = [v for v, c in zip(videos, y) if c == second]
        np.testing.assert_array_equal(groups[y == first], groups[y == second])
        for u, w in zip(a, b):
            np.testing.assert_array_equal(u[::-1], w)
    # Different videos of a class differ (own windows), even on one photograph.
    zoom = [v for v, c in zip(videos, y) if c == "zoom_in"]
    assert not np.array_equal(zoom[0], zoom[1])


def _by_class(motion, cls):
    videos, y, _ = motion
    return [v.astype(float) for v, c in zip(videos, y) if c == cls]


def _sharpness(frame):
    grey = frame.mean(axis=-1)
    return np.square(np.diff(grey, axis=0)).mean() + np.square(np.diff(grey, axis=1)).mean()


def test_fades(motion):
    for v in _by_class(motion, "fade_in"):
        assert v[0].max() == 0  # from black
        brightness = v.mean(axis=(1, 2, 3))
        assert np.all(np.diff(brightness) > 0)
    for v in _by_class(motion, "fade_out"):
        assert v[-1].max() == 0


def test_focus_pulls(motion):
    for v in _by_class(motion, "focus_in"):
        s = [_sharpness(f) for f in v]
        assert s[-1] > 2 * s[0]
        assert np.all(np.diff(s) > 0)


def test_zoom_in_magnifies(motion):
    # Magnifying spreads the photograph's detail over more pixels: less gradient energy.
    for v in _by_class(motion, "zoom_in"):
        assert _sharpness(v[-1]) < _sharpness(v[0])


def _horizontal_shift(a, b):
    """Shift (pixels) that moves frame a's content onto frame b, by phase correlation."""
    fa = np.fft.fft2(a.mean(axis=-1) - a.mean())
    fb = np.fft.fft2(b.mean(axis=-1) - b.mean())
    r = fb * np.conj(fa)
    corr = np.fft.ifft2(r / (np.abs(r) + 1e-9)).real
    dy, dx = np.unravel_index(np.argmax(corr), corr.shape)
    width = a.shape[1]
    return dx - width if dx > width // 2 else dx


def test_pan_right_moves_content_left(motion):
    shifts = [
        _horizontal_shift(v[i], v[i + 1])
        for v in _by_class(motion, "pan_right")
        for i in range(len(v) - 1)
    ]
    assert np.mean(np.array(shifts) < 0) > 0.9
    left = [_horizontal_shift(v[0], v[1]) for v in _by_class(motion, "pan_left")]
    assert np.mean(np.array(left) > 0) > 0.9


def test_camera_motion_is_deterministic():
    pytest.importorskip("skimage")
    kw = dict(n_frames=3, size=(32, 32), photographs=("chelsea", "china"))
    a, ya = make_camera_motion_videos(2, random_state=7, **kw)
    b, yb = make_camera_motion_videos(2, random_state=7, **kw)
    c, _ = make_camera_motion_videos(2, random_state=8, **kw)
    np.testing.assert_array_equal(ya, yb)
    assert all(np.array_equal(u, w) for u, w in zip(a, b))
    assert not all(np.array_equal(u, w) for u, w in zip(a, c))


def test_camera_motion_without_skimage(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(ImportError, match="scikit-image.*photographs=\\('china', 'flower'\\)"):
        make_camera_motion_videos(1, n_frames=2, size=(16, 16))
    videos, y, groups = make_camera_motion_videos(
        3, n_frames=2, size=(16, 16), photographs=("china", "flower"), random_state=0,
        return_groups=True,
    )
    assert len(videos) == 24 and list(groups[:3]) == ["china", "flower", "china"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_per_class": 0}, "n_per_class"),
        ({"n_frames": 1}, "n_frames"),
        ({"size": (4, 100)}, "size"),
        ({"photographs": ("lena",)}, "photographs"),
    ],
)
def test_camera_motion_bad_arguments(kwargs, match):
    kwargs = {"n_per_class": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_camera_motion_videos(**kwargs)
