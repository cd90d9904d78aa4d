"""Bad and extreme input, batch-order independence, hangs: one regression test per
failure found by trying every public estimator on hostile input, and the contract that
a video's output does not depend on the other videos in the call."""

import os
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from sequence_estimators import (
    NOT_SEQUENCE,
    TinyBackbone,
    needs_labels,
    per_video,
    sequence_estimators,
)

import skdsp
from skdsp import (
    AdversarialBagger,
    Bags,
    DiscriminativeSubspacePooling,
    RankPooling,
    SubspaceKernel,
)
from skdsp.datasets import load_basic_motions, read_ts
from skdsp.descriptor import pack_descriptors, unpack_descriptors
from skdsp.pooling import dsp_objective, solve_dsp
from skdsp.utils import check_videos
from skdsp.utils.estimator_checks import make_videos

DSP = DiscriminativeSubspacePooling
BAGGER_FAST = {"classifier__max_epochs": 3, "device": "cpu", "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _projections(descriptors):
    """U U^T of every subspace: what the kernels see, free of the basis' signs."""
    U = unpack_descriptors(descriptors).subspaces
    return np.einsum("ndij,ndkj->ndik", U, U)


def _reproducer_videos(dtype=np.float64):
    r = np.random.default_rng(0)
    return [r.normal(size=(10, 8)).astype(dtype) for _ in range(3)]


# -- 1. silent NaN from a float32 zero frame -------------------------------------------


def test_float32_zero_frame_gives_the_float64_descriptor():
    X = _reproducer_videos(np.float32)
    X[1][4] = 0
    out32 = DSP(random_state=0, device="cpu").fit_transform(X)
    assert np.isfinite(out32).all()
    out64 = DSP(random_state=0, device="cpu").fit_transform([v.astype(np.float64) for v in X])
    # The mean block is the mean of unit frames (the zero frame counts as zero).
    mean32, mean64 = unpack_descriptors(out32).mean, unpack_descriptors(out64).mean
    np.testing.assert_allclose(mean32, mean64, atol=1e-6)
    frames = X[1].astype(np.float64)
    norms = np.linalg.norm(frames, axis=1, keepdims=True)
    expected = np.where(norms > 0, frames / np.where(norms > 0, norms, 1), 0).mean(axis=0)
    np.testing.assert_allclose(mean64[1], expected, atol=1e-12)


# -- 2. NaN on a two-frame video with n_components=1 -----------------------------------


def test_two_frame_video_with_a_zero_frame_and_one_component():
    v = np.array([[0] * 6, [1.535, 1.124, 0.817, -0.838, 0.096, 0.129]])
    out = DSP(n_components=1, random_state=0, device="cpu").fit_transform([v])
    assert np.isfinite(out).all()
    U = unpack_descriptors(out).subspaces[0]
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, rtol=1e-5)


def test_a_solver_nan_never_leaves_transform_silently(monkeypatch):
    from skdsp.pooling import dsp as dsp_module

    solve = dsp_module.solve_validated

    def broken(videos, *args, **kwargs):
        result, deficient = solve(videos, *args, **kwargs)
        result.subspaces[1, 1] = np.nan  # the backward subspace of X[1]
        return result, deficient

    monkeypatch.setattr(dsp_module, "solve_validated", broken)
    X = _reproducer_videos()
    with pytest.raises(RuntimeError, match=r"non-finite subspace for X\[1\] \(backward"):
        DSP(random_state=0, device="cpu", max_iter=2).fit_transform(X)


# -- 3. a descriptor that depends on the video's position ------------------------------


def test_descriptor_does_not_depend_on_position():
    X = _reproducer_videos()
    d = DSP(random_state=0, device="cpu").fit(X)
    np.testing.assert_array_equal(d.transform(X)[0], d.transform(X[::-1])[2])
    np.testing.assert_array_equal(d.transform(X)[1], d.transform([X[1]])[0])


def test_reversing_the_test_videos_changes_no_prediction():
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    X_train, y_train, X_test, _ = load_basic_motions()
    dsp = DSP(random_state=0, device="cpu", max_iter=20)
    pipe = make_pipeline(dsp, SubspaceKernel(), SVC(kernel="precomputed"))
    pipe.fit(X_train, y_train)
    forward, backward = dsp.transform(X_test), dsp.transform(X_test[::-1])[::-1]
    np.testing.assert_array_equal(forward, backward)
    np.testing.assert_array_equal(pipe.predict(X_test), pipe.predict(X_test[::-1])[::-1])


# -- 4. rank pooling: a hang on tiny values, a crash on one frame ----------------------

_SVR_TINY = textwrap.dedent(
    """
    import numpy as np
    from skdsp import RankPooling
    x = np.random.default_rng(0).normal(size=(10, 8))
    tiny = RankPooling(solver="svr").fit_transform([x * 1e-300])
    plain = RankPooling(solver="svr").fit_transform([x])
    np.save(__import__("sys").argv[1], np.stack([tiny, plain]))
    """
)


@pytest.mark.slow
def test_svr_rank_pooling_of_tiny_frames_returns(tmp_path):
    # liblinear's hang could not be interrupted, so the call runs in a process of its
    # own: a regression fails here (after a generous limit) instead of hanging CI.
    script, result = tmp_path / "svr.py", tmp_path / "out.npy"
    script.write_text(_SVR_TINY)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(skdsp.__file__)))
    subprocess.run([sys.executable, str(script), str(result)], env=env, check=True,
                   timeout=600)
    tiny, plain = np.load(result)
    # normalize=True: the descriptor does not depend on the frames' magnitude.
    np.testing.assert_allclose(tiny, plain, rtol=1e-9)
    assert np.abs(plain).max() > 0.1


@pytest.mark.parametrize("solver", ["ridge", "svr"])
def test_rank_pooling_of_one_frame_is_zero(solver):
    video = np.random.default_rng(0).normal(size=(1, 8))
    out = RankPooling(solver=solver, device="cpu").fit_transform([video])
    np.testing.assert_array_equal(out, np.zeros((1, 16)))


@pytest.mark.parametrize("solver", ["ridge", "svr"])
def test_rank_pooling_without_normalisation_at_any_magnitude(solver):
    # w minimises |w|^2 / 2 + C/2 sum (w^T V_t + b - t)^2; with the frames scaled by s
    # (V by s, as normalize=False), w(s x, C) = w(x, C s^2) / s.
    x = np.random.default_rng(0).normal(size=(10, 8))

    def pool(scale, C=1.0):
        est = RankPooling(solver=solver, normalize=False, C=C, device="cpu")
        out = est.fit_transform([x * scale])
        assert np.isfinite(out).all()
        return out

    rtol = 1e-6 if solver == "svr" else 1e-9
    for s in (1e-100, 1e100):
        np.testing.assert_allclose(pool(s), pool(1.0, C=s * s) / s, rtol=rtol)
    # Further out C s^2 leaves float64; the solution is then in its limits: least
    # squares for huge frames, linear in C s^2 for tiny ones.
    np.testing.assert_allclose(pool(1e300) * 1e300, pool(1e100) * 1e100, rtol=rtol)
    np.testing.assert_allclose(pool(1e-300) / 1e-300, pool(1e-100) / 1e-100, rtol=rtol)


# -- 5. huge and tiny values -----------------------------------------------------------


@pytest.mark.parametrize(
    "scale, dtype", [(1e38, np.float32), (1e20, np.float32), (1e300, np.float64),
                     (1e200, np.float64), (1e-300, np.float64), (1e-30, np.float32)]
)
def test_dsp_does_not_depend_on_the_frames_magnitude(scale, dtype):
    X = _reproducer_videos()
    big = [(v / np.abs(v).max() * scale).astype(dtype) for v in X]
    plain = [(v / np.abs(v).max()).astype(dtype) for v in X]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "span fewer than n_components" warning
        out = DSP(random_state=0, device="cpu", max_iter=20).fit_transform(big)
    ref = DSP(random_state=0, device="cpu", max_iter=20).fit_transform(plain)
    np.testing.assert_allclose(_projections(out), _projections(ref), atol=1e-4)
    np.testing.assert_allclose(unpack_descriptors(out).mean, unpack_descriptors(ref).mean,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_solve_dsp_on_huge_frames(dtype):
    X = _reproducer_videos()
    Z = [np.ones_like(v) for v in X]
    res = solve_dsp([v * 1e300 for v in X], Z, n_components=2, max_iter=5, random_state=0,
                    dtype=dtype)
    ref = solve_dsp(X, Z, n_components=2, max_iter=5, random_state=0, dtype=dtype)
    np.testing.assert_allclose(res.subspaces, ref.subspaces, atol=1e-5)


def test_solve_dsp_on_large_float32_frames():
    X = _reproducer_videos(np.float32)
    Z = [np.ones_like(v) for v in X]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = solve_dsp([v * np.float32(1e20) for v in X], Z, n_components=2, max_iter=5,
                        random_state=0)
    ref = solve_dsp(X, Z, n_components=2, max_iter=5, random_state=0)
    np.testing.assert_allclose(res.subspaces, ref.subspaces, atol=1e-4)


def test_dsp_refuses_negatives_its_dtype_cannot_sum():
    X = _reproducer_videos()
    bags = Bags(X, [v * 1e37 for v in X])
    with pytest.raises(ValueError, match=r"X\.negative\[0\].*float32.*dtype='float64'"):
        DSP(device="cpu").fit_transform(bags)
    out = DSP(device="cpu", dtype="float64", max_iter=5, random_state=0).fit_transform(bags)
    assert np.isfinite(out).all()


def test_bagger_normalises_tiny_frames_to_unit_norm():
    X, y = make_videos(n_videos=6, n_features=8)
    bags = AdversarialBagger(**BAGGER_FAST).fit_transform([v * 1e-300 for v in X], y)
    for frames in bags.positive:
        np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("attack", ["uap", "fgsm", "noise"])
def test_bagger_refuses_frames_beyond_its_classifier(attack):
    X, y = make_videos(n_videos=6, n_features=8)
    X[2] = X[2] * 1e300
    bagger = AdversarialBagger(normalize=False, attack=attack, **BAGGER_FAST)
    with pytest.raises(ValueError, match=r"X\[2\].*float32.*normalize=True"):
        bagger.fit(X, y)
    fitted = AdversarialBagger(normalize=False, attack=attack, **BAGGER_FAST).fit(X[:2], y[:2])
    if attack != "uap":  # a universal perturbation needs no classifier at transform time
        with pytest.raises(ValueError, match=r"X\[1\].*float32"):
            fitted.transform([X[0], X[2]])


def test_bagger_refuses_a_diverged_classifier():
    from skorch import NeuralNetClassifier

    class Explodes(torch.nn.Module):
        def __init__(self, n_features=2, n_classes=2):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_classes)

        def forward(self, x):
            return self.linear(x) * float("inf")

    X, y = make_videos(n_videos=6, n_features=4)
    net = NeuralNetClassifier(Explodes, max_epochs=1, train_split=None,
                              criterion=torch.nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="diverged"):
        AdversarialBagger(net, device="cpu", random_state=0).fit(X, y)


def test_dsp_objective_refuses_nan():
    U = np.eye(4)[:, :2]
    X = np.ones((3, 4))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="X holds NaN"):
        dsp_objective(U, X, -np.ones((3, 4)))
    with pytest.raises(ValueError, match="Z holds NaN"):
        dsp_objective(U, np.ones((3, 4)), np.full((3, 4), np.inf))


# -- 6. complex input, labels that are not classes -------------------------------------


def test_complex_video_is_refused_by_name():
    videos = [np.ones((3, 2)), 1j * np.ones((3, 2))]
    with pytest.raises(ValueError, match=r"X\[1\] has complex dtype"):
        check_videos(videos)
    with pytest.raises(ValueError, match=r"X\[1\] has complex dtype"):
        DSP(device="cpu").fit(videos)


@pytest.mark.parametrize(
    "y, message", [([0.1, 0.2, 0.4, np.nan, 0.1, 0.2], "NaN"),
                   ([0.1, 0.2, 0.4, 0.3, 0.1, 0.25], "continuous")]
)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_bagger_refuses_labels_that_are_not_classes(y, message):
    X, _ = make_videos(n_videos=6, n_features=4)
    with pytest.raises(ValueError, match=message):
        AdversarialBagger(**BAGGER_FAST).fit(X, y)


# -- 7. the feature cache, cache_dir and worker processes ------------------------------


def _extractor(**params):
    from skdsp import FrameFeatureExtractor

    return FrameFeatureExtractor(
        TinyBackbone(), device="cpu", preprocessing={"resize": 16, "crop": 16}, **params
    )


def _frames(seed=0, n=3):
    return np.random.default_rng(seed).integers(0, 256, (n, 20, 20, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "bad, problem",
    [
        (np.ones((3, 7), np.float32), "shape"),
        (np.ones((2, 4), np.float32), "shape"),
        (np.full((3, 4), np.nan, np.float32), "not finite"),
        (np.ones((3, 4), np.float64), "dtype"),
    ],
)
def test_invalid_cache_entry_is_recomputed(tmp_path, bad, problem):
    pytest.importorskip("av")
    from skdsp.video.cache import hash_array

    ext = _extractor(cache_dir=tmp_path).fit()
    video = _frames()
    expected = ext.transform([video])[0]
    [path] = [os.path.join(d, f"{hash_array(video)}.npy") for d, _, _ in os.walk(tmp_path)
              if os.path.exists(os.path.join(d, f"{hash_array(video)}.npy"))]
    np.save(path, bad)
    with pytest.warns(RuntimeWarning, match=f"invalid cache entry.*{problem}"):
        got = ext.transform([video])[0]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.load(path), expected)  # and the entry is repaired


def _count_embeds(monkeypatch):
    from skdsp import FrameFeatureExtractor

    calls = []
    original = FrameFeatureExtractor._embed

    def counting(self, frames, runtime):
        calls.append(len(frames))
        return original(self, frames, runtime)

    monkeypatch.setattr(FrameFeatureExtractor, "_embed", counting)
    return calls


def test_unusable_cache_dir_fails_before_any_work(tmp_path, monkeypatch):
    pytest.importorskip("av")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    calls = _count_embeds(monkeypatch)
    with pytest.raises(OSError, match=re.escape(str(not_a_folder))):
        _extractor(cache_dir=not_a_folder).fit().transform([_frames(0), _frames(1)])
    assert calls == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="needs a user that file permissions apply to",
)
def test_read_only_cache_dir_fails_before_any_work(tmp_path, monkeypatch):
    pytest.importorskip("av")
    ext = _extractor(cache_dir=tmp_path / "cache").fit()
    ext.transform([_frames(0)])
    for folder, _, _ in os.walk(tmp_path / "cache"):
        os.chmod(folder, 0o555)
    calls = _count_embeds(monkeypatch)
    try:
        # Cached videos are still served from a read-only cache ...
        ext.transform([_frames(0)])
        assert calls == []
        # ... but a video to compute fails before its work is done.
        with pytest.raises(PermissionError, match="cannot be written"):
            ext.transform([_frames(0), _frames(1)])
        assert calls == []
    finally:
        for folder, _, _ in os.walk(tmp_path / "cache"):
            os.chmod(folder, 0o755)


_WORKERS = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from sequence_estimators import TinyBackbone
    from skdsp import FrameFeatureExtractor
    # Chunks of a few MB: more than a pipe holds, so a worker's queue still has data
    # to send when the parent dies.
    ext = FrameFeatureExtractor(TinyBackbone(), device="cpu", n_workers=2, batch_size=64,
                                preprocessing={"resize": 128, "crop": 112})
    ext.fit().transform(sys.argv[2:])
    """
)


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_decoding_workers_die_with_their_parent(tmp_path):
    import signal
    import time

    pytest.importorskip("av")
    from skdsp.video import write_video

    frames = np.random.default_rng(0).integers(0, 256, (64, 128, 128, 3), dtype=np.uint8)
    clip = write_video(tmp_path / "clip.mp4", frames, fps=10)
    script = tmp_path / "workers.py"
    script.write_text(_WORKERS)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(skdsp.__file__)))
    parent = subprocess.Popen(
        [sys.executable, str(script), os.path.dirname(__file__), *[str(clip)] * 2000],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.2)
            workers = _children(parent.pid)
        assert len(workers) == 2, "the decoding workers did not start"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, workers)), "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in workers:  # only those of a failed run are left
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# -- 8. messages that named the wrong problem ------------------------------------------


def test_read_ts_on_random_bytes_names_the_file(tmp_path):
    path = tmp_path / "noise.ts"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(ValueError, match=r"noise\.ts.*not UTF-8"):
        read_ts(path)


def test_a_directory_is_not_called_a_missing_file(tmp_path):
    pytest.importorskip("av")
    with pytest.raises(IsADirectoryError, match=r"X\[0\].*is a directory"):
        _extractor().fit().transform([str(tmp_path)])


# -- a video's output does not depend on the rest of the call --------------------------


def test_every_sequence_estimator_is_covered():
    from sklearn.base import BaseEstimator

    covered = {name.split("-")[0] for name in sequence_estimators()}
    exported = {
        name for name in skdsp.__all__
        if isinstance(getattr(skdsp, name), type)
        and issubclass(getattr(skdsp, name), BaseEstimator)
    }
    assert exported - NOT_SEQUENCE == covered, (
        "add new sequence estimators to tests/sequence_estimators.py"
    )


def _check_list_is_each_video_alone(est, X, y, *, atol):
    est.fit(X, y) if needs_labels(est) else est.fit(X)
    together = per_video(est.transform(X))
    alone = [per_video(est.transform([v]))[0] for v in X]
    assert len(together) == len(X)
    for i, (a, b) in enumerate(zip(together, alone)):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=f"video {i}")


@pytest.mark.parametrize("name", sorted(sequence_estimators()))
@pytest.mark.filterwarnings("ignore:The frames of video:UserWarning")  # the one-frame video
def test_transform_of_a_list_is_the_transform_of_each_video(name):
    X, y = make_videos(n_videos=6, n_features=5, min_frames=1, max_frames=12)
    X[2] = X[2][:1]  # a one-frame video among them
    est = sequence_estimators(5, max_iter=30)[name]
    _check_list_is_each_video_alone(est, X, y, atol=1e-9)


def test_dsp_float32_is_batch_invariant():
    # Exactly: a video is padded to a length of its own and batched only with videos
    # padded alike, so even its float32 rounding does not depend on the company.
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(int(n), 6)) for n in rng.integers(4, 40, size=20)]
    X.append(rng.normal(size=(300, 6)))  # longer than the dense temporal path
    est = DSP(n_components=2, max_iter=100, device="cpu", random_state=0).fit(X)
    together = est.transform(X)
    alone = np.concatenate([est.transform([v]) for v in X])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(est.transform(X[::-1])[::-1], together)


def test_dsp_deficient_video_is_batch_invariant():
    # One-frame videos: their starting subspaces are completed at random, and the
    # directions the frames do not span get a sign that must not depend on the batch.
    rng = np.random.default_rng(12)
    X = [rng.normal(size=(int(rng.integers(1, 15)), 6)) for _ in range(5)]
    assert min(len(v) for v in X) == 1
    est = DSP(n_components=2, max_iter=30, dtype="float64", device="cpu", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "span fewer than n_components directions"
        est.fit(X)
        together = est.transform(X)
        alone = np.concatenate([est.transform([v]) for v in X])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-9)


def test_frame_feature_extractor_is_batch_invariant():
    pytest.importorskip("av")
    ext = _extractor(batch_size=2).fit()
    videos = [_frames(seed, n) for seed, n in enumerate((3, 1, 5))]
    together = ext.transform(videos)
    for i, video in enumerate(videos):
        np.testing.assert_array_equal(together[i], ext.transform([video])[0])


def test_subspace_kernel_refuses_rows_that_are_not_bases():
    U = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 1, 5, 2)))[0]
    X = pack_descriptors(U)
    kernel = SubspaceKernel().fit(X)
    bad = X.copy()
    bad[2, 4:] *= 1e200
    with pytest.raises(ValueError, match=r"X\[2\].*not orthonormal"):
        kernel.transform(bad)
    assert np.isfinite(kernel.transform(X)).all()
