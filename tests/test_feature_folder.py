"""load_feature_folder: per-video .npy / .npz files, labelled by folder or by a CSV."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skdsp.datasets import load_feature_folder


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npz":
        np.savez(path, features=array)
    else:
        np.save(path, array)
    return array


@pytest.fixture
def by_folder(tmp_path):
    """Two classes of UCF-101-named .npy files, one in a nested folder, plus clutter."""
    rng = np.random.default_rng(0)
    arrays = {}
    for c, cls in enumerate(["Walk", "Run"]):
        for g in (1, 2):
            rel = f"{cls}/v_{cls}_g{g:02d}_c01.npy"
            arrays[rel] = _save(tmp_path / rel, rng.normal(c, 1, (4 + g, 3)).astype(np.float32))
    rel = "Run/extra/v_Run_g03_c01.npy"
    arrays[rel] = _save(tmp_path / rel, rng.normal(size=(2, 3)).astype(np.float32))
    (tmp_path / "Run" / "notes.txt").write_text("not a feature file")
    _save(tmp_path / "Run" / ".hidden.npy", np.zeros((1, 3)))
    (tmp_path / ".cache").mkdir()
    return tmp_path, arrays


def test_classes_from_folders_are_memory_mapped(by_folder):
    root, arrays = by_folder
    data = load_feature_folder(root)
    assert data.target_names == ["Run", "Walk"]
    rels = [
        "Run/extra/v_Run_g03_c01.npy", "Run/v_Run_g01_c01.npy", "Run/v_Run_g02_c01.npy",
        "Walk/v_Walk_g01_c01.npy", "Walk/v_Walk_g02_c01.npy",
    ]
    assert data.paths == [str((root / r).resolve()) for r in rels]
    np.testing.assert_array_equal(data.target, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(data.groups, [3, 1, 2, 1, 2])
    for video, rel in zip(data.data, rels):
        assert isinstance(video, np.memmap) and video.dtype == np.float32
        np.testing.assert_array_equal(video, arrays[rel])
    X, y = load_feature_folder(root, return_X_y=True, mmap=False)
    assert not any(isinstance(v, np.memmap) for v in X)
    np.testing.assert_array_equal(y, data.target)


def test_loaded_features_feed_a_pipeline(by_folder):
    from skdsp import AveragePooling, DiscriminativeSubspacePooling

    root, _ = by_folder
    data = load_feature_folder(root)
    pipe = make_pipeline(AveragePooling(), SVC()).fit(data.data, data.target)
    assert pipe.predict(data.data).shape == (5,)
    descriptors = DiscriminativeSubspacePooling(
        n_components=2, max_iter=3, device="cpu", random_state=0
    ).fit_transform(data.data)
    assert descriptors.shape[0] == 5 and np.isfinite(descriptors).all()


def test_labels_from_csv_in_its_order_with_and_without_extensions(tmp_path):
    a = _save(tmp_path / "a.npy", np.ones((3, 2)))
    b = _save(tmp_path / "sub" / "b.npz", np.full((2, 2), 2.0))
    c = _save(tmp_path / "c.npy", np.full((4, 2), 3.0))
    _save(tmp_path / "unlisted.npy", np.zeros((1, 2)))
    labels = tmp_path / "labels.csv"
    labels.write_text("label,video\n10,c\n2,sub/b.npz\n10,a.npy\n")
    data = load_feature_folder(tmp_path, labels=labels, columns=("video", "label"))
    assert data.target_names == ["2", "10"]  # integer labels sort as numbers
    np.testing.assert_array_equal(data.target, [1, 0, 1])
    assert data.paths == [str(tmp_path / n) for n in ("c.npy", "sub/b.npz", "a.npy")]
    for video, expected in zip(data.data, (c, b, a)):
        np.testing.assert_array_equal(video, expected)
    assert data.groups is None


def test_npz_key(tmp_path):
    (tmp_path / "x").mkdir()
    np.savez(tmp_path / "x" / "v.npz", rgb=np.ones((2, 3)), flow=np.zeros((2, 3)))
    data = load_feature_folder(tmp_path, key="flow")
    np.testing.assert_array_equal(data.data[0], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"v\.npz' holds 2 arrays .*key="):
        load_feature_folder(tmp_path)
    with pytest.raises(ValueError, match=r"v\.npz' has no array 'depth'"):
        load_feature_folder(tmp_path, key="depth")


@pytest.mark.parametrize(
    "array,message",
    [
        (np.ones(5), r"shape \(5,\); a video's features must be a 2-D array"),
        (np.ones((2, 3, 4)), r"shape \(2, 3, 4\)"),
        (np.ones((0, 4)), r"is empty"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), r"non-finite value \(nan\) at frame 0, feature 1"),
        (np.array([[1.0, 1.0], [0.0, -np.inf]]), r"non-finite value \(-inf\) at frame 1, feature 1"),
        (np.ones((3, 5)), r"has 5 features per frame, but .*good\.npy' has 2"),
        (np.array([["a", "b"]]), r"dtype <U1; expected numeric"),
        (np.array([[1 + 1j, 0]]), r"dtype complex128"),
    ],
)
def test_bad_arrays_are_named(tmp_path, array, message):
    _save(tmp_path / "k" / "a_good.npy", np.ones((3, 2)))
    _save(tmp_path / "k" / "bad.npy", array)
    with pytest.raises(ValueError, match=message) as info:
        load_feature_folder(tmp_path)
    assert "bad.npy" in str(info.value)


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "garbage.npy").write_bytes(b"this is not numpy")
    with pytest.raises(ValueError, match=r"garbage\.npy' could not be read"):
        load_feature_folder(tmp_path)
    (tmp_path / "k" / "garbage.npy").unlink()
    np.save(tmp_path / "k" / "objects.npy", np.array([np.ones(2), np.ones(3)], dtype=object))
    with pytest.raises(ValueError, match=r"objects\.npy' could not be read"):
        load_feature_folder(tmp_path)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Feature folder not found"):
        load_feature_folder(tmp_path / "nope")
    _save(tmp_path / "loose.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match="no class folders"):
        load_feature_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="No feature files"):
        load_feature_folder(tmp_path)


def test_csv_errors_name_the_line(tmp_path):
    _save(tmp_path / "a.npy", np.ones((2, 2)))
    _save(tmp_path / "a.npz", np.ones((2, 2)))
    _save(tmp_path / "b.npy", np.ones((2, 2)))
    labels = tmp_path / "labels.csv"
    with pytest.raises(FileNotFoundError, match="Label file not found"):
        load_feature_folder(tmp_path, labels=labels)
    cases = [
        ("name,class\nb,x\n", r"no column\(s\) \['file', 'label'\]"),
        ("file,label\nb,x\nmissing,y\n", r"labels\.csv:3: no feature file 'missing\.npy' or"),
        ("file,label\na,x\n", r"labels\.csv:2: 'a' matches several files"),
        ("file,label\nb,x\nb.npy,y\n", r"labels\.csv:3: 'b\.npy' is listed twice \(first on line 2\)"),
        ("file,label\nb,\n", r"labels\.csv:2: empty file name or label"),
        ("file,label\n", r"lists no videos"),
    ]
    for text, message in cases:
        labels.write_text(text)
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            load_feature_folder(tmp_path, labels=labels)
    with pytest.raises(ValueError, match="columns must name two"):
        load_feature_folder(tmp_path, labels=labels, columns=("file",))
