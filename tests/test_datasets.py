"""Tests of the .ts reader and the bundled UEA & UCR loaders."""

import io

import numpy as np
import pytest

from skdsp.datasets import (
    load_basic_motions,
    load_dataset,
    load_gunpoint,
    load_japanese_vowels,
    read_ts,
)
from skdsp.datasets.uea import GUNPOINT_DELAY, GUNPOINT_EMBEDDING_DIM, delay_embedding
from skdsp.utils import check_videos

HEADER = """# a comment
@problemName toy
@timeStamps false
@missing {missing}
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b
@data
"""


def _ts(body, missing="false", header=HEADER):
    return io.StringIO(header.format(missing=missing) + body)


def test_read_ts_unequal_lengths_time_first():
    X, y = read_ts(_ts("1,2,3:4,5,6:a\n7,8:9,10:b\n"))
    assert [x.shape for x in X] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(X[0][:, 1], [4, 5, 6])
    np.testing.assert_array_equal(X[1][:, 0], [7, 8])
    assert y.tolist() == ["a", "b"] and y.dtype.kind == "U"


def test_read_ts_binary_file_and_metadata(tmp_path):
    path = tmp_path / "toy.ts"
    path.write_text(HEADER.format(missing="false") + "1,2:3,4:b\n")
    with open(path, "rb") as fh:
        X, y, meta = read_ts(fh, return_metadata=True)
    assert X[0].shape == (2, 2) and y.tolist() == ["b"]
    assert meta["problem_name"] == "toy" and meta["class_labels"] == ["a", "b"]
    X2, _ = read_ts(str(path))
    np.testing.assert_array_equal(X[0], X2[0])


def test_read_ts_missing_values():
    X, _ = read_ts(_ts("1,?,3:4,5,6:a\n", missing="true"))
    assert np.isnan(X[0][1, 0]) and X[0][2, 0] == 3
    with pytest.raises(ValueError, match=r"line 10: case 0, dimension 0 has a missing"):
        read_ts(_ts("1,?,3:4,5,6:a\n", missing="true"), missing="raise")


@pytest.mark.parametrize(
    "body, match",
    [
        ("1,2:3,4:c\n", r"label 'c'.*does not declare"),
        ("1,2:3,4:5,6:a\n", r"case 0 has 3 dimension\(s\), but @dimensions is 2"),
        ("1,2,3:4,5:a\n", r"dimensions of case 0 have different lengths \[3, 2\]"),
        ("1,x:3,4:a\n", r"case 0, dimension 0 holds a value that is not a number"),
        ("1,2:3,4:a\n1,2:,:b\n", r"line 11: case 1, dimension 1"),
        ("", r"no cases after @data"),
    ],
)
def test_read_ts_clear_errors(body, match):
    with pytest.raises(ValueError, match=match):
        read_ts(_ts(body))


def test_read_ts_header_errors():
    with pytest.raises(ValueError, match="no @data"):
        read_ts(io.StringIO("@problemName x\n"))
    with pytest.raises(ValueError, match="must be 'true' or 'false'"):
        read_ts(io.StringIO("@univariate maybe\n@data\n1:a\n"))
    with pytest.raises(ValueError, match="@seriesLength must be an integer"):
        read_ts(io.StringIO("@seriesLength ten\n@data\n"))
    equal = "@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n"
    with pytest.raises(ValueError, match="case 0 has 2 time points.*equal lengths of 3"):
        read_ts(io.StringIO(equal + "1,2:a\n"))
    with pytest.raises(ValueError, match="missing must be"):
        read_ts(_ts("1:2:a\n"), missing="zero")
    with pytest.raises(TypeError, match="path or an open file"):
        read_ts(42)


def test_read_ts_univariate_and_regression_target():
    text = "@univariate true\n@targetLabel true\n@data\n1,2,3:0.5\n4,5,6:1.5\n"
    X, y = read_ts(io.StringIO(text))
    assert X[0].shape == (3, 1)
    np.testing.assert_array_equal(y, [0.5, 1.5])
    X, y = read_ts(io.StringIO("@univariate true\n@classLabel false\n@data\n1,2\n"))
    assert y is None and X[0].shape == (2, 1)


def _check_split(X, y, n, n_features, lengths, classes):
    assert len(X) == len(y) == n
    assert all(x.dtype == np.float64 and x.shape[1] == n_features for x in X)
    got = sorted({x.shape[0] for x in X})
    assert got[0] >= lengths[0] and got[-1] <= lengths[1]
    assert set(y) <= set(classes) and y.dtype.kind == "U"
    check_videos(X)  # finite, valid collection


def test_load_basic_motions_published_shapes():
    X_train, y_train, X_test, y_test = load_basic_motions()
    classes = {"Badminton", "Running", "Standing", "Walking"}
    _check_split(X_train, y_train, 40, 6, (100, 100), classes)
    _check_split(X_test, y_test, 40, 6, (100, 100), classes)
    assert np.unique(y_train, return_counts=True)[1].tolist() == [10] * 4


def test_load_japanese_vowels_published_shapes():
    X_train, y_train, X_test, y_test = load_japanese_vowels()
    classes = {str(k) for k in range(1, 10)}
    _check_split(X_train, y_train, 270, 12, (7, 29), classes)
    _check_split(X_test, y_test, 370, 12, (7, 29), classes)
    assert len({x.shape[0] for x in X_train + X_test}) > 10  # ragged
    assert np.unique(y_train, return_counts=True)[1].tolist() == [30] * 9


def test_load_gunpoint_delay_embedding():
    X_train, y_train, X_test, y_test = load_gunpoint()
    m, tau = GUNPOINT_EMBEDDING_DIM, GUNPOINT_DELAY
    n_frames = 150 - (m - 1) * tau
    _check_split(X_train, y_train, 50, m, (n_frames, n_frames), {"1", "2"})
    _check_split(X_test, y_test, 150, m, (n_frames, n_frames), {"1", "2"})
    raw, _, _, _ = load_gunpoint(embedding_dim=1, delay=1)
    assert raw[0].shape == (150, 1)
    # Frame t is [x_t, x_{t+tau}, ...]: column k is the raw series shifted by k * tau.
    for k in range(m):
        np.testing.assert_array_equal(X_train[0][:, k], raw[0][k * tau : k * tau + n_frames, 0])


def test_delay_embedding_multichannel_and_errors():
    x = np.arange(10.0).reshape(5, 2)
    frames = delay_embedding(x, embedding_dim=2, delay=1)
    np.testing.assert_array_equal(frames[0], [0, 1, 2, 3])  # lag 0 channels, lag 1 channels
    assert frames.shape == (4, 4)
    with pytest.raises(ValueError, match="shorter than the embedding window"):
        delay_embedding(np.arange(5.0), embedding_dim=4, delay=2)
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        delay_embedding(np.arange(5.0), embedding_dim=0)
    with pytest.raises(ValueError, match="delay must be a positive integer"):
        load_gunpoint(delay=1.5)
    with pytest.raises(ValueError, match="train case 0: a series of 150"):
        load_gunpoint(embedding_dim=80, delay=2)


def test_loads_are_independent_copies():
    X_train, y_train, _, _ = load_basic_motions()
    X_train[0][:] = 0.0
    y_train[0] = "changed"
    X_again, y_again, _, _ = load_basic_motions()
    assert np.abs(X_again[0]).sum() > 0 and y_again[0] != "changed"


def test_load_dataset_dispatch_and_folder(tmp_path):
    for name, loader in [("BasicMotions", load_basic_motions), ("japanese_vowels", load_japanese_vowels)]:
        a, b = load_dataset(name), loader()
        np.testing.assert_array_equal(a[0][3], b[0][3])
        np.testing.assert_array_equal(a[3], b[3])
    gp = load_dataset("GunPoint")
    assert gp[0][0].shape == load_gunpoint()[0][0].shape
    assert load_dataset("gunpoint", embedding_dim=3, delay=1)[2][0].shape == (148, 3)
    assert load_dataset("BasicMotions", embedding_dim=2)[0][0].shape == (99, 12)

    (tmp_path / "Toy").mkdir()
    body = HEADER.format(missing="false") + "1,2,3:4,5,6:a\n"
    (tmp_path / "Toy" / "Toy_TRAIN.ts").write_text(body)
    (tmp_path / "Toy" / "Toy_TEST.ts").write_text(body)
    X_train, y_train, X_test, y_test = load_dataset("Toy", data_dir=tmp_path)
    assert X_train[0].shape == (3, 2) and y_test.tolist() == ["a"]
    with pytest.raises(ValueError, match="does not ship with skdsp"):
        load_dataset("Toy")
    with pytest.raises(ValueError, match="No Missing_TRAIN.ts"):
        load_dataset("Missing", data_dir=tmp_path)
