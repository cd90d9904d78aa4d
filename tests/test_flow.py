"""Optical flow (OpenCV) and the HOF/MBH motion histograms computed from it."""

import math

import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2")

from skdsp.video.flow import (  # noqa: E402
    DIS_PRESETS,
    available_flow_methods,
    flow_to_image,
    optical_flow,
)
from skdsp.video.flow_histograms import (  # noqa: E402
    motion_histogram_names,
    motion_histograms,
    orientation_histograms,
)


@pytest.fixture(scope="module")
def photo():
    """A real photograph (scikit-learn's china.jpg), grey, 200 x 260 pixels."""
    from sklearn.datasets import load_sample_image

    image = cv2.cvtColor(load_sample_image("china.jpg"), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(image[100:300, 100:360])


def shifted(photo, dx, dy, size=(160, 220)):
    """Two views of the photograph; the content moves by (dx, dy) pixels."""
    h, w = size
    first = photo[20 : 20 + h, 20 : 20 + w]
    second = photo[20 - dy : 20 - dy + h, 20 - dx : 20 - dx + w]
    return np.stack([first, second])


# -- optical flow ----------------------------------------------------------------


def test_available_methods():
    methods = available_flow_methods()
    assert methods[:2] == ("dis", "farneback")
    assert ("tvl1" in methods) == hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create")


@pytest.mark.parametrize(
    "method, preset",
    [("dis", p) for p in DIS_PRESETS] + [("farneback", None), ("tvl1", None)],
)
def test_flow_recovers_a_translation_of_a_photograph(photo, method, preset):
    if method not in available_flow_methods():
        pytest.skip(f"{method} needs opencv-contrib-python-headless")
    frames = shifted(photo, 3, -2)
    flow = optical_flow(frames, method=method, **({"preset": preset} if preset else {}))
    assert flow.shape == (1, 160, 220, 2) and flow.dtype == np.float32
    interior = flow[0, 20:-20, 20:-20].reshape(-1, 2)
    np.testing.assert_allclose(np.median(interior, axis=0), [3.0, -2.0], atol=0.25)


def test_flow_of_rgb_equals_flow_of_grey(photo):
    rgb = np.repeat(shifted(photo, 1, 1)[..., None], 3, axis=-1)
    np.testing.assert_array_equal(optical_flow(rgb), optical_flow(rgb[..., 0]))


def test_flow_pairs_are_consecutive_and_deterministic(photo):
    frames = np.concatenate([shifted(photo, 2, 0), shifted(photo, -2, 0)[1:]])
    flow = optical_flow(frames)
    assert flow.shape[0] == 2
    assert np.median(flow[0, ..., 0]) > 1.5 and np.median(flow[1, ..., 0]) < -3.5
    np.testing.assert_array_equal(flow, optical_flow(frames))


def test_one_frame_gives_no_flow(photo):
    flow = optical_flow(photo[None, :50, :60])
    assert flow.shape == (0, 50, 60, 2)


def test_frames_of_different_sizes_are_refused(photo):
    frames = [photo[:50, :60], photo[:50, :60], photo[:52, :60]]
    with pytest.raises(ValueError, match=r"Frame 2 is 52 x 60 .* frame 0 is 50 x 60"):
        optical_flow(frames)


@pytest.mark.parametrize(
    "frames, match",
    [
        (np.zeros((2, 8, 8), dtype=np.float32), "uint8"),
        (np.zeros((2, 8, 8, 4), dtype=np.uint8), r"\(8, 8, 4\)"),
        (np.zeros((8, 8), dtype=np.uint8), "n_frames"),
        (np.zeros((0, 8, 8), dtype=np.uint8), "empty"),
    ],
)
def test_bad_frames(frames, match):
    with pytest.raises(ValueError, match=match):
        optical_flow(frames)


def test_bad_method_and_preset():
    frames = np.zeros((2, 8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="method"):
        optical_flow(frames, method="lucas")
    with pytest.raises(ValueError, match="preset"):
        optical_flow(frames, preset="slow")


@pytest.mark.skipif(
    hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create"),
    reason="opencv-contrib is installed",
)
def test_tvl1_without_contrib_says_what_to_install():
    with pytest.raises(ImportError, match="opencv-contrib-python-headless"):
        optical_flow(np.zeros((2, 8, 8), dtype=np.uint8), method="tvl1")


def test_flow_to_image():
    flow = np.array([[[[0, 0], [10, -10], [40, -40], [-20, 20]]]], dtype=np.float32)
    image = flow_to_image(flow)
    assert image.dtype == np.uint8 and image.shape == (1, 1, 4, 3)
    np.testing.assert_array_equal(image[0, 0, :, 0], [128, 191, 255, 0])  # x, clipped
    np.testing.assert_array_equal(image[0, 0, :, 1], [128, 64, 0, 255])  # y
    np.testing.assert_array_equal(image[0, 0, :, 2], [0, 180, 255, 255])  # magnitude
    np.testing.assert_array_equal(flow_to_image(flow, bound=40)[0, 0, 2], [255, 0, 255])
    with pytest.raises(ValueError, match="height, width, 2"):
        flow_to_image(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="bound"):
        flow_to_image(flow, bound=0)


# -- motion histograms -----------------------------------------------------------


def reference_histograms(dx, dy, grid, n_bins, min_magnitude):
    """A pixel-by-pixel loop over the definition (float64), for one field."""
    rows, cols = grid
    height, width = dx.shape
    n_slots = n_bins + (min_magnitude is not None)
    out = np.zeros((rows, cols, n_slots))
    count = np.zeros((rows, cols))
    for i in range(height):
        for j in range(width):
            r, c = i * rows // height, j * cols // width
            count[r, c] += 1
            m = math.hypot(dx[i, j], dy[i, j])
            if min_magnitude is not None and m < min_magnitude:
                out[r, c, n_bins] += min_magnitude
                continue
            t = math.atan2(dy[i, j], dx[i, j]) / (2 * math.pi) * n_bins
            k = math.floor(t)
            out[r, c, k % n_bins] += m * (1 - (t - k))
            out[r, c, (k + 1) % n_bins] += m * (t - k)
    return out / count[..., None]


@pytest.mark.parametrize("grid, min_magnitude", [((1, 1), None), ((2, 3), 0.7), ((3, 2), 1.0)])
def test_orientation_histograms_match_the_definition(grid, min_magnitude):
    rng = np.random.default_rng(0)
    dx, dy = rng.normal(scale=2.0, size=(2, 3, 7, 9))
    got = orientation_histograms(
        torch.as_tensor(dx), torch.as_tensor(dy), grid=grid, n_bins=6,
        min_magnitude=min_magnitude,
    )
    for v in range(3):
        want = reference_histograms(dx[v], dy[v], grid, 6, min_magnitude)
        np.testing.assert_allclose(got[v].numpy(), want, rtol=1e-10, atol=1e-12)


def test_uniform_motion():
    flow = np.zeros((1, 8, 8, 2), dtype=np.float32)
    flow[..., 1] = 2.0  # everything moves 2 pixels down
    features = motion_histograms(flow, grid=(1, 1), n_bins=4)
    names = motion_histogram_names(grid=(1, 1), n_bins=4)
    assert features.shape == (1, len(names)) == (1, 13)
    by_name = dict(zip(names, features[0]))
    assert by_name["hof_r0c0_b1"] == pytest.approx(1.0)  # bin 1 of 4: down
    assert sum(v for k, v in by_name.items() if k.startswith("hof")) == pytest.approx(1.0)
    # A uniform flow has no spatial gradient: no motion boundaries.
    assert all(v == 0 for k, v in by_name.items() if k.startswith("mbh"))


def test_still_pixels_vote_in_the_zero_bin():
    flow = np.full((1, 4, 4, 2), 0.1, dtype=np.float32)
    hof = motion_histograms(flow, descriptors=["hof"], grid=(1, 1), n_bins=4, min_magnitude=0.5)
    np.testing.assert_allclose(hof, [[0, 0, 0, 0, 1]])
    hof = motion_histograms(flow, descriptors=["hof"], grid=(1, 1), n_bins=4, min_magnitude=None)
    np.testing.assert_allclose(hof**2, [[0.5, 0.5, 0, 0]], atol=1e-6)  # 45 degrees: split


def zoom_field(k, size=16):
    """Flow of a zoom about the centre: outwards for k > 0, inwards for k < 0."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    return np.stack([k * x, k * y], axis=-1)[None]


def test_zoom_in_and_out_have_opposite_motion_boundaries():
    names = motion_histogram_names(grid=(2, 2), n_bins=8, descriptors=["mbhx", "mbhy"])
    for k, bin_x, bin_y in ((0.3, 0, 2), (-0.3, 4, 6)):
        features = motion_histograms(
            zoom_field(k), descriptors=["mbhx", "mbhy"], grid=(2, 2), n_bins=8,
            normalize=None,
        )[0]
        strongest = {}
        for d in ("mbhx", "mbhy"):
            part = {n: v for n, v in zip(names, features) if n.startswith(d)}
            top = max(part, key=part.get)
            strongest[d] = top.rsplit("_", 1)[1]
        # du/dx = k: the gradient of u points right (zoom in) or left (zoom out);
        # dv/dy = k: the gradient of v points down or up.
        assert strongest == {"mbhx": f"b{bin_x}", "mbhy": f"b{bin_y}"}


def test_zoom_hof_points_away_from_the_centre():
    hof = motion_histograms(
        zoom_field(0.3), descriptors=["hof"], grid=(2, 2), n_bins=8, normalize=None,
        min_magnitude=None,
    )[0].reshape(2, 2, 8)
    # Top-left cell moves up-left (225 degrees, bin 5), bottom-right down-right (bin 1).
    assert hof[0, 0].argmax() == 5 and hof[1, 1].argmax() == 1
    assert hof[0, 1].argmax() == 7 and hof[1, 0].argmax() == 3


def test_normalisations():
    rng = np.random.default_rng(1)
    flow = rng.normal(size=(3, 12, 10, 2)).astype(np.float32)
    raw = motion_histograms(flow, normalize=None)
    root = motion_histograms(flow, normalize="root")
    l2 = motion_histograms(flow, normalize="l2")
    sizes = [4 * 9, 4 * 8, 4 * 8]  # HOF (with zero bin), MBHx, MBHy on a 2 x 2 grid
    start = 0
    for size in sizes:
        block = slice(start, start + size)
        np.testing.assert_allclose((root[:, block] ** 2).sum(1), 1, rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(l2[:, block], axis=1), 1, rtol=1e-5)
        expected = np.sqrt(raw[:, block] / raw[:, block].sum(1, keepdims=True))
        np.testing.assert_allclose(root[:, block], expected, rtol=1e-5, atol=1e-7)
        start += size


def test_histograms_do_not_depend_on_resolution():
    rng = np.random.default_rng(2)
    flow = rng.normal(size=(2, 6, 8, 2)).astype(np.float32)
    bigger = flow.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(
        motion_histograms(flow, descriptors=["hof"], normalize=None),
        motion_histograms(bigger, descriptors=["hof"], normalize=None),
        rtol=1e-5,
    )


def test_numpy_and_tensor_agree():
    rng = np.random.default_rng(3)
    flow = rng.normal(size=(2, 9, 11, 2)).astype(np.float32)
    a = motion_histograms(flow)
    b = motion_histograms(torch.as_tensor(flow))
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
    np.testing.assert_array_equal(a, b.numpy())
    assert a.shape[1] == len(motion_histogram_names())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"descriptors": ["hog"]}, "descriptors"),
        ({"descriptors": ["hof", "hof"]}, "descriptors"),
        ({"descriptors": []}, "descriptors"),
        ({"grid": (0, 2)}, "grid"),
        ({"grid": 2}, "grid"),
        ({"n_bins": 1}, "n_bins"),
        ({"min_magnitude": -1.0}, "min_magnitude"),
        ({"normalize": "l1"}, "normalize"),
    ],
)
def test_bad_histogram_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        motion_histograms(np.zeros((1, 4, 4, 2), dtype=np.float32), **kwargs)


def test_bad_flow():
    with pytest.raises(ValueError, match="n, height, width, 2"):
        motion_histograms(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="2 x 2"):
        motion_histograms(np.zeros((1, 1, 4, 2)))
    flow = np.zeros((1, 4, 4, 2), dtype=np.float32)
    flow[0, 1, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        motion_histograms(flow)
