"""solve_dsp: the batched Riemannian CG against the pymanopt reference, and contracts."""

import warnings

import numpy as np
import pytest
import torch

from skdsp.optim import batched_rcg
from skdsp.optim.pymanopt_solver import pymanopt_cg
from skdsp.pooling import DSPResult, dsp_objective, solve_dsp
from skdsp.pooling.objective import make_batch


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_problems(n_videos=4, d=24, lengths=(10, 14, 7, 12), seed=0):
    """Videos that drift over time, and unit-norm noise negatives."""
    rng = np.random.default_rng(seed)
    videos, negatives = [], []
    for i in range(n_videos):
        n = lengths[i % len(lengths)]
        start, end = rng.normal(size=d), rng.normal(size=d)
        t = np.linspace(0, 1, n)[:, None]
        videos.append((1 - t) * start + t * end + 0.5 * rng.normal(size=(n, d)))
        z = rng.normal(size=(n, d))
        negatives.append(z / np.linalg.norm(z, axis=1, keepdims=True))
    return videos, negatives


def normalised(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def orthonormality_error(U):
    return float(np.abs(np.einsum("...dp,...dq->...pq", U, U) - np.eye(U.shape[-1])).max())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_result_shapes_orthonormality_and_objective(dtype):
    videos, negatives = make_problems()
    res = solve_dsp(videos, negatives, n_components=3, max_iter=30, dtype=dtype)
    assert isinstance(res, DSPResult)
    assert res.subspaces.shape == (4, 24, 3)
    assert res.subspaces.dtype == np.dtype(dtype)
    assert orthonormality_error(res.subspaces) < (2e-6 if dtype == "float32" else 1e-12)
    assert res.objective.shape == res.n_iter.shape == res.grad_norm.shape == (4,)
    assert len(res.stopping_reason) == 4 and all(res.stopping_reason)
    assert np.all(res.n_iter <= 30) and np.all(res.n_iter >= 1)
    for i in range(4):
        expected = dsp_objective(res.subspaces[i].astype(np.float64), normalised(videos[i]),
                                 negatives[i])
        assert res.objective[i] == pytest.approx(float(expected), rel=1e-4)


def test_initial_point_is_uncentred_pca_with_the_best_signs():
    from itertools import product

    videos, negatives = make_problems()
    start = solve_dsp(videos, negatives, max_iter=0, n_init=1, dtype="float64")
    assert np.all(start.n_iter == 0)
    for i, v in enumerate(videos):
        X = normalised(v)
        top = np.linalg.svd(X.T, full_matrices=False)[0][:, :3]
        # Same subspace as the top-3 left singular vectors of X^T (column signs aside).
        U0 = start.subspaces[i]
        np.testing.assert_allclose(np.abs(top.T @ U0), np.eye(3), atol=1e-8)
        # Signs: the pattern of lowest objective among all eight.
        costs = [
            float(dsp_objective(U0 * np.array(s), X, negatives[i]))
            for s in product([1.0, -1.0], repeat=3)
        ]
        assert start.objective[i] == pytest.approx(min(costs), rel=1e-12)
    solved = solve_dsp(videos, negatives, max_iter=40, n_init=1, dtype="float64")
    assert np.all(solved.objective < start.objective)


def test_scatter_and_gram_starts_agree():
    """More frames than features: the start comes from the d x d scatter matrix."""
    videos, negatives = make_problems(n_videos=3, d=6, lengths=(5, 30, 9))
    start = solve_dsp(videos, negatives, max_iter=0, n_init=1, dtype="float64")
    for i, v in enumerate(videos):
        top = np.linalg.svd(normalised(v).T, full_matrices=False)[0][:, :3]
        np.testing.assert_allclose(np.abs(top.T @ start.subspaces[i]), np.eye(3), atol=1e-8)


def test_more_starts_reach_lower_objectives():
    videos, negatives = make_problems(n_videos=6, d=32, lengths=(20, 31, 25))
    kw = {"max_iter": 40, "dtype": "float64", "random_state": 0}
    one = solve_dsp(videos, negatives, n_init=1, **kw)
    eight = solve_dsp(videos, negatives, n_init=8, **kw)
    assert eight.objective.mean() < one.objective.mean()
    assert orthonormality_error(eight.subspaces) < 1e-12
    for i in range(6):
        assert eight.objective[i] == pytest.approx(
            float(dsp_objective(eight.subspaces[i], normalised(videos[i]), negatives[i])),
            rel=1e-10,
        )
    # The second start is the first with its dominant direction reversed.
    from skdsp.pooling.objective import make_batch
    from skdsp.pooling.solve import _initial_subspaces, _normalise_frames, _starting_points

    batch = make_batch(videos, negatives, dtype=torch.float64)
    _normalise_frames(batch)
    U0, _ = _initial_subspaces(batch, 3, np.arange(6))
    starts = _starting_points(batch, U0, 8)
    assert starts.shape == (6, 8, 32, 3)
    signs = torch.sign((starts * U0[:, None]).sum(dim=-2))  # (6, 8, 3)
    assert bool((signs[:, 1, 0] == -signs[:, 0, 0]).all())
    assert len({tuple(s) for s in signs[0].tolist()}) == 8  # every pattern once
    # There are 2^p = 8 sign patterns to start from: more starts change nothing, and
    # nothing random is involved.
    more = solve_dsp(videos, negatives, n_init=10, **{**kw, "random_state": 1})
    np.testing.assert_array_equal(more.subspaces, eight.subspaces)
    assert np.all(more.n_iter <= 40)
    with pytest.raises(ValueError, match="n_init"):
        solve_dsp(videos, negatives, n_init=0)


def test_batched_matches_or_beats_pymanopt():
    videos, negatives = make_problems(n_videos=4, d=32, lengths=(16, 12, 20, 9))
    kw = {"n_components": 3, "max_iter": 60, "dtype": "float64", "n_init": 1}
    batched = solve_dsp(videos, negatives, solver="batched", **kw)
    reference = solve_dsp(videos, negatives, solver="pymanopt", **kw)
    assert orthonormality_error(reference.subspaces) < 1e-10
    assert all(r.startswith("Terminated") for r in reference.stopping_reason)
    # Mean objective within 2% of pymanopt's, or lower.
    assert batched.objective.mean() <= 1.02 * reference.objective.mean()


def test_pymanopt_cg_on_a_known_problem():
    """The reference wrapper finds the top eigenvectors of a matrix (Brockett cost)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(8, 8))
    A = A @ A.T
    U0 = np.linalg.qr(rng.normal(size=(8, 2)))[0]
    res = pymanopt_cg(lambda U: -np.trace(U.T @ A @ U), lambda U: -2 * A @ U, U0,
                      max_iter=500)
    top = np.linalg.eigh(A)[1][:, -2:]
    np.testing.assert_allclose(np.linalg.svd(top.T @ res.point)[1], 1.0, atol=1e-5)


def test_ragged_batch_gives_what_each_video_gives_alone():
    videos, negatives = make_problems(n_videos=4, lengths=(6, 15, 9, 11))
    kw = {"max_iter": 25, "dtype": "float64", "random_state": 0}
    together = solve_dsp(videos, negatives, **kw)
    for i in range(4):
        alone = solve_dsp([videos[i]], [negatives[i]], **kw)
        assert alone.objective[0] == pytest.approx(together.objective[i], rel=1e-7)
        np.testing.assert_allclose(alone.subspaces[0], together.subspaces[i], atol=1e-6)


def test_small_batches_give_the_same_result():
    videos, negatives = make_problems(n_videos=4, lengths=(6, 15, 9, 11))
    kw = {"max_iter": 25, "dtype": "float64"}
    a = solve_dsp(videos, negatives, batch_size=1024, **kw)
    b = solve_dsp(videos, negatives, batch_size=3, **kw)
    np.testing.assert_allclose(a.objective, b.objective, rtol=1e-7)


def test_reverse_per_video():
    videos, negatives = make_problems(n_videos=2)
    kw = {"max_iter": 25, "dtype": "float64"}
    fwd = solve_dsp(videos, negatives, **kw)
    rev = solve_dsp(videos, negatives, reverse=True, **kw)
    mixed = solve_dsp(videos, negatives, reverse=[False, True], **kw)
    np.testing.assert_allclose(mixed.objective, [fwd.objective[0], rev.objective[1]], rtol=1e-7)
    assert not np.allclose(fwd.subspaces[1], rev.subspaces[1], atol=1e-3)
    # The reversed solve optimises the reversed objective.
    U = rev.subspaces[1]
    assert rev.objective[1] == pytest.approx(
        float(dsp_objective(U, normalised(videos[1]), negatives[1], reverse=True)), rel=1e-9
    )
    with pytest.raises(ValueError, match="reverse"):
        solve_dsp(videos, negatives, reverse=[True, False, True])


def test_same_seed_same_output():
    videos, negatives = make_problems(n_videos=3, lengths=(2, 9, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = solve_dsp(videos, negatives, max_iter=15, random_state=3)
        b = solve_dsp(videos, negatives, max_iter=15, random_state=3)
        c = solve_dsp(videos, negatives, max_iter=15, random_state=4)
    np.testing.assert_array_equal(a.subspaces, b.subspaces)
    # Only video 0 (2 frames < 3 components) has a random part in its start.
    assert not np.allclose(a.subspaces[0], c.subspaces[0])
    np.testing.assert_array_equal(a.subspaces[1:], c.subspaces[1:])


def test_fewer_frames_than_components_warns_and_works():
    videos, negatives = make_problems(n_videos=4, lengths=(2, 12, 1, 9))
    with pytest.warns(UserWarning, match=r"video\(s\) \[0, 2\]"):
        res = solve_dsp(videos, negatives, n_components=3, max_iter=20, random_state=0)
    assert np.all(np.isfinite(res.subspaces)) and np.all(np.isfinite(res.objective))
    assert orthonormality_error(res.subspaces) < 2e-6
    # The start keeps the frames' own directions and completes them orthogonally.
    with pytest.warns(UserWarning, match=r"video\(s\) \[0\]"):
        start = solve_dsp([videos[0]], [negatives[0]], max_iter=0, dtype="float64",
                          random_state=0)
    U0 = start.subspaces[0]
    frames = normalised(videos[0])
    span = np.linalg.svd(frames.T, full_matrices=False)[0]
    np.testing.assert_allclose(np.linalg.svd(span.T @ U0[:, :2])[1], 1.0, atol=1e-8)
    np.testing.assert_allclose(frames @ U0[:, 2], 0.0, atol=1e-8)


def test_repeated_frames_are_completed_too():
    videos, negatives = make_problems(n_videos=1, lengths=(8,))
    videos = [np.tile(videos[0][:1], (8, 1))]
    with pytest.warns(UserWarning, match="span fewer"):
        res = solve_dsp(videos, negatives, max_iter=10, dtype="float64")
    assert orthonormality_error(res.subspaces) < 1e-12


def test_batched_rcg_stops_on_gradient_tolerance():
    """A problem whose start is a minimiser stops at once with the gradient reason."""
    d = 6
    X = np.eye(d)[:3] * 2.0  # frames along e0, e1, e2 with constant energy
    videos = [X]
    negatives = [-np.eye(d)[:3]]
    batch = make_batch(videos, negatives, order_weight=0.0, margin=1.0,
                       dtype=torch.float64)
    U0 = torch.eye(d, dtype=torch.float64)[None, :, :3]
    res = batched_rcg(batch, U0, max_iter=10)
    assert res.n_iter[0] == 0
    assert res.stopping_reason[0] == "gradient norm below tol"
    assert float(res.cost[0]) == 0.0


def test_bad_inputs():
    videos, negatives = make_problems(n_videos=2)
    with pytest.raises(ValueError, match="n_components=30 exceeds n_features=24"):
        solve_dsp(videos, negatives, n_components=30)
    with pytest.raises(ValueError, match="2 videos but 1 negative"):
        solve_dsp(videos, negatives[:1])
    with pytest.raises(ValueError, match=r"negatives\[1\] has 5 features"):
        solve_dsp(videos, [negatives[0], negatives[1][:, :5]])
    with pytest.raises(ValueError, match="solver"):
        solve_dsp(videos, negatives, solver="adam")
    with pytest.raises(ValueError, match="dtype"):
        solve_dsp(videos, negatives, dtype="float16")
    with pytest.raises(ValueError, match="batch_size"):
        solve_dsp(videos, negatives, batch_size=0)
    with pytest.raises(ValueError, match="negatives is required"):
        solve_dsp(videos, None)
    bad = [v.copy() for v in videos]
    bad[1][3, 2] = np.nan
    with pytest.raises(ValueError, match=r"videos\[1\] has a non-finite value .* frame 3"):
        solve_dsp(bad, negatives)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            solve_dsp(videos, negatives, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    videos, negatives = make_problems()
    kw = {"max_iter": 20, "dtype": "float64"}
    cpu = solve_dsp(videos, negatives, device="cpu", **kw)
    gpu = solve_dsp(videos, negatives, device="cuda", **kw)
    np.testing.assert_allclose(gpu.objective, cpu.objective, rtol=1e-6)
    assert orthonormality_error(gpu.subspaces) < 1e-12
    ref = solve_dsp(videos[:1], negatives[:1], solver="pymanopt", device="cuda", **kw)
    assert np.isfinite(ref.objective).all()


def test_ragged_batch_survives_compaction_of_converged_videos():
    # Real ragged videos run long enough that more than half of them stop, among them
    # the longest; the solver then continues on a sub-batch of the same row layout.
    from skdsp.datasets import load_japanese_vowels

    videos = load_japanese_vowels()[0][:30]
    rng = np.random.default_rng(0)
    negatives = [rng.normal(size=v.shape) for v in videos]
    kw = {"max_iter": 100, "dtype": "float64", "random_state": 0}
    together = solve_dsp(videos, negatives, **kw)
    assert np.all(np.isfinite(together.objective))
    for i in (0, 1, 29):
        alone = solve_dsp([videos[i]], [negatives[i]], **kw)
        assert alone.objective[0] == pytest.approx(together.objective[i], rel=1e-6)


def test_host_eigendecomposition_path_matches():
    """The path used for large CUDA batches (threads over chunks on the host) agrees."""
    from skdsp.pooling.solve import _batched_eigh

    A = torch.randn(7, 40, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    A = A @ A.transpose(-1, -2)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        evals, evecs = _batched_eigh(A, host=True)
    finally:
        torch.set_num_threads(threads)
    ref_vals, _ = torch.linalg.eigh(A)
    torch.testing.assert_close(evals, ref_vals)
    torch.testing.assert_close(evecs @ torch.diag_embed(evals) @ evecs.transpose(-1, -2), A)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_span_and_feature_representations_agree(dtype):
    """The solver's two ways of holding its vectors give the same subspaces."""
    from skdsp.pooling.solve import _initial_subspaces, _normalise_frames

    videos, negatives = make_problems(n_videos=3, d=40, lengths=(6, 9, 12))
    results = {}
    for representation in ("features", "span"):
        batch = make_batch(videos, negatives, reverse=[False, True, False], dtype=dtype)
        batch.representation = representation
        _normalise_frames(batch)
        U0, _ = _initial_subspaces(batch, 3, np.arange(3))
        res = batched_rcg(batch, U0, max_iter=15)
        assert batch._cache["span"] == (representation == "span")
        results[representation] = res
    a, b = results["features"], results["span"]
    tol = 1e-8 if dtype == torch.float64 else 2e-3
    torch.testing.assert_close(a.cost, b.cost, rtol=tol, atol=tol)
    torch.testing.assert_close(a.point, b.point, rtol=0, atol=100 * tol)
    eye = torch.eye(3, dtype=dtype)
    limit = 1e-5 if dtype == torch.float32 else 1e-12
    assert float((b.point.transpose(-1, -2) @ b.point - eye).abs().max()) < limit
