"""The DSP objective: against a plain loop implementation, the slack form, and its
gradient against finite differences."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from skdsp.pooling import dsp_objective
from skdsp.pooling import temporal as temporal_module
from skdsp.pooling.objective import make_batch


def loop_objective(U, X, Z, eta=1e-3, order_weight=0.5, margin=1.0, reduction="sum",
                   reverse=False):
    """The objective written out term by term, as in the method description."""
    n, m = len(X), len(Z)
    bag = 0.0
    for x in X:
        bag += max(0.0, margin - max(U[:, k] @ x for k in range(U.shape[1])))
    for z in Z:
        bag += max(0.0, margin - max(-(U[:, k] @ z) for k in range(U.shape[1])))
    frames = X[::-1] if reverse else X
    energy = [float(np.sum((U.T @ x) ** 2)) for x in frames]
    order = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            order += max(0.0, energy[i] - energy[j] + eta)
    if reduction == "mean":
        bag /= n + m
        order /= max(n * (n - 1) / 2, 1)
    return bag + order_weight * order


def random_problem(rng, n=7, m=5, d=6, p=3, scale=1.0):
    X = rng.normal(size=(n, d)) * scale
    Z = rng.normal(size=(m, d)) * scale
    U = np.linalg.qr(rng.normal(size=(d, p)))[0]
    return U, X, Z


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_matches_loop_implementation(reverse, reduction, margin):
    rng = np.random.default_rng(1)
    for scale in (0.3, 1.0):
        U, X, Z = random_problem(rng, scale=scale)
        kw = {"eta": 0.05, "order_weight": 0.7, "margin": margin, "reduction": reduction,
                  "reverse": reverse}
        got = dsp_objective(U, X, Z, **kw)
        assert torch.is_tensor(got) and got.ndim == 0
        assert float(got) == pytest.approx(loop_objective(U, X, Z, **kw), rel=1e-12)


def test_single_frame_and_no_negatives():
    rng = np.random.default_rng(2)
    U, X, Z = random_problem(rng, n=1, m=0)
    assert float(dsp_objective(U, X, Z)) == pytest.approx(loop_objective(U, X, Z))


@pytest.mark.parametrize("C, lam", [(1.0, 1.0), (0.2, 1.0), (1.0, 0.4), (3.0, 0.5)])
def test_slack_elimination(C, lam):
    """min over the slacks of the published form equals order_weight = min(C, lambda/2)."""
    rng = np.random.default_rng(3)
    eta = 0.05
    for _ in range(3):
        U, X, Z = random_problem(rng, n=6)
        e = np.sum((X @ U) ** 2, axis=1)
        slack_form = 0.0
        for i in range(len(X)):
            for j in range(i + 1, len(X)):
                a = e[i] - e[j] + eta

                def pair_cost(s, a=a):
                    return C * s + lam / 2 * max(0.0, a - s)

                # s = xi^2 >= 0, bounded above by anything beyond max(a, 0).
                res = minimize_scalar(pair_cost, bounds=(0.0, abs(a) + 1.0),
                                      method="bounded", options={"xatol": 1e-12})
                slack_form += min(res.fun, pair_cost(0.0), pair_cost(max(a, 0.0)))
        bag = loop_objective(U, X, Z, eta=eta, order_weight=0.0)
        eliminated = dsp_objective(U, X, Z, eta=eta, order_weight=min(C, lam / 2))
        assert float(eliminated) == pytest.approx(bag + slack_form, abs=1e-8)


def test_reverse_changes_only_the_temporal_term():
    rng = np.random.default_rng(4)
    U, X, Z = random_problem(rng)
    # Without the temporal term the order of frames does not matter.
    assert float(dsp_objective(U, X, Z, order_weight=0.0, reverse=True)) == pytest.approx(
        float(dsp_objective(U, X, Z, order_weight=0.0))
    )
    # reverse=True is the forward objective of the time-reversed video.
    assert float(dsp_objective(U, X, Z, reverse=True)) == pytest.approx(
        float(dsp_objective(U, X[::-1].copy(), Z))
    )
    assert float(dsp_objective(U, X, Z, reverse=True)) != pytest.approx(
        float(dsp_objective(U, X, Z))
    )


def test_dtypes_and_tensor_input():
    rng = np.random.default_rng(5)
    U, X, Z = random_problem(rng)
    ref = loop_objective(U, X, Z)
    assert dsp_objective(U, X, Z).dtype == torch.float64
    U32 = torch.as_tensor(U, dtype=torch.float32)
    out = dsp_objective(U32, X, Z)
    assert out.dtype == torch.float32
    assert float(out) == pytest.approx(ref, rel=1e-5)
    out = dsp_objective(U32, torch.as_tensor(X), torch.as_tensor(Z))
    assert float(out) == pytest.approx(ref, rel=1e-5)


def test_batch_of_ragged_videos_matches_each_video():
    rng = np.random.default_rng(6)
    problems = [random_problem(rng, n=n, m=m) for n, m in [(3, 8), (9, 2), (1, 4), (6, 6)]]
    reverse = np.array([False, True, False, True])
    batch = make_batch([X for _, X, _ in problems], [Z for _, _, Z in problems],
                       reverse=reverse, dtype=torch.float64)
    U = torch.as_tensor(np.stack([U for U, _, _ in problems]))
    got = batch.cost(batch.project(U.transpose(-1, -2)))
    for b, (Ub, X, Z) in enumerate(problems):
        assert float(got[b]) == pytest.approx(
            loop_objective(Ub, X, Z, reverse=bool(reverse[b])), rel=1e-12
        )


@pytest.mark.parametrize("method", ["dense", "sort"])
def test_both_temporal_paths_give_the_same_cost_and_gradient(monkeypatch, method):
    rng = np.random.default_rng(7)
    problems = [random_problem(rng, n=n) for n in (5, 8, 3)]
    batch = make_batch([X for _, X, _ in problems], [Z for _, _, Z in problems],
                       reverse=[False, True, False], dtype=torch.float64)
    U = torch.as_tensor(np.stack([U for U, _, _ in problems])).transpose(-1, -2)
    P = batch.project(U)
    full_cost, full_grad = batch.cost_and_grad(P)
    for b, (Ub, X, Z) in enumerate(problems):
        expected = loop_objective(Ub, X, Z, reverse=b == 1)
        assert float(full_cost[b]) == pytest.approx(expected, rel=1e-12)
    # Forcing either counting method (the automatic choice picks by length) changes
    # nothing, with or without a candidate axis.
    monkeypatch.setattr(temporal_module, "DENSE_MAX_FRAMES", 0 if method == "sort" else 10**6)
    cost, grad = batch.cost_and_grad(P)
    torch.testing.assert_close(cost, full_cost, rtol=1e-13, atol=0)
    torch.testing.assert_close(grad, full_grad, rtol=1e-13, atol=0)
    Pk = P[:, None].expand(-1, 2, -1, -1)
    cost_k, parts = batch.evaluate(Pk, need_grad=True)
    grad_k = batch.gradient(Pk, parts)
    torch.testing.assert_close(cost_k[:, 1], full_cost, rtol=1e-13, atol=0)
    torch.testing.assert_close(grad_k[:, 0], full_grad, rtol=1e-13, atol=0)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradient_matches_finite_differences(reduction):
    rng = np.random.default_rng(8)
    problems = [random_problem(rng, n=n, m=m, d=6, p=3) for n, m in [(7, 5), (4, 9)]]
    batch = make_batch([X for _, X, _ in problems], [Z for _, _, Z in problems],
                       reverse=[False, True], eta=0.05, order_weight=0.7, margin=0.4,
                       reduction=reduction, dtype=torch.float64)
    # Away from orthonormality on purpose: the Euclidean gradient holds for any U.
    U = torch.as_tensor(rng.normal(size=(2, 6, 3)) * 0.5)
    _, GT = batch.cost_and_grad(batch.project(U.transpose(-1, -2)))
    egrad = batch.backproject(GT).transpose(-1, -2)
    h = 1e-6
    numeric = torch.zeros_like(U)
    for idx in np.ndindex(*U.shape[1:]):
        E = torch.zeros_like(U)
        E[(slice(None),) + idx] = h
        up = batch.cost(batch.project((U + E).transpose(-1, -2)))
        down = batch.cost(batch.project((U - E).transpose(-1, -2)))
        numeric[(slice(None),) + idx] = (up - down) / (2 * h)
    torch.testing.assert_close(egrad, numeric, rtol=1e-5, atol=1e-6)


def test_bad_input_errors():
    rng = np.random.default_rng(9)
    U, X, Z = random_problem(rng)
    with pytest.raises(ValueError, match="reduction"):
        dsp_objective(U, X, Z, reduction="median")
    with pytest.raises(ValueError, match="features"):
        dsp_objective(U, X[:, :4], Z)
    with pytest.raises(ValueError, match="2-D"):
        dsp_objective(U, X[0], Z)
    with pytest.raises(ValueError, match="no frames"):
        dsp_objective(U, X[:0], Z)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_objective_on_cuda():
    rng = np.random.default_rng(10)
    U, X, Z = random_problem(rng)
    out = dsp_objective(torch.as_tensor(U, device="cuda"), X, Z)
    assert out.device.type == "cuda"
    assert float(out) == pytest.approx(loop_objective(U, X, Z), rel=1e-10)


def test_take_keeps_layout_and_gram():
    rng = np.random.default_rng(11)
    problems = [random_problem(rng, n=n, m=m, d=20) for n, m in [(3, 2), (6, 4), (2, 5)]]
    batch = make_batch([X for _, X, _ in problems], [Z for _, _, Z in problems],
                       reverse=[False, True, False], dtype=torch.float64)
    UT = torch.as_tensor(np.stack([U for U, _, _ in problems])).transpose(-1, -2)
    GT = torch.randn(UT.shape[0], UT.shape[1], batch.S.shape[1], dtype=torch.float64)
    full = batch.project_egrad(GT, batch.backproject(GT))  # builds the Gram matrix
    torch.testing.assert_close(full, batch.project(batch.backproject(GT)))
    index = torch.tensor([2, 0])
    sub = batch.take(index)
    torch.testing.assert_close(sub._cache["gram"], sub.S @ sub.S.transpose(-1, -2))
    torch.testing.assert_close(sub.cost(sub.project(UT[index])), batch.cost(batch.project(UT))[index])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", [6, 40])  # more rows than features, and fewer (the Gram path)
def test_repeat_shares_the_data_and_computes_what_copies_compute(dtype, d):
    rng = np.random.default_rng(12)
    problems = [random_problem(rng, n=n, m=m, d=d) for n, m in [(3, 2), (9, 4), (5, 5)]]
    batch = make_batch([X for _, X, _ in problems], [Z for _, _, Z in problems], dtype=dtype)
    copies = 4
    signs = torch.tensor([1.0, -1.0], dtype=dtype).repeat(3 * copies // 2)
    shared = batch.repeat(copies, signs)
    assert shared.S is batch.S and shared.n_videos == 3 * copies
    copied = make_batch(
        [X for _, X, _ in problems for _ in range(copies)],
        [Z for _, _, Z in problems for _ in range(copies)],
        reverse=(signs < 0).numpy(), dtype=dtype,
    )
    UT = torch.as_tensor(rng.normal(size=(3 * copies, 2, d)), dtype=dtype)
    GT = torch.as_tensor(rng.normal(size=(3 * copies, 2, batch.S.shape[1])), dtype=dtype)
    # Each problem's products have the shapes, and so the rounding, of its own batch.
    assert torch.equal(shared.project(UT), copied.project(UT))
    assert torch.equal(shared.backproject(GT), copied.backproject(GT))
    ET = copied.backproject(GT)
    assert torch.equal(shared.project_egrad(GT, ET), copied.project_egrad(GT, ET))
    assert torch.equal(shared.cost(shared.project(UT)), copied.cost(copied.project(UT)))
    # The directions are the problems' own: the reversed ones cost differently.
    reversed_too = batch.repeat(copies, torch.ones_like(signs))
    assert not torch.equal(reversed_too.cost(reversed_too.project(UT)), shared.cost(shared.project(UT)))
    # A sub-batch of a shared one holds the data of its own problems.
    index = torch.tensor([5, 0, 11])
    sub = shared.take(index)
    assert sub.copies == 1 and torch.equal(sub.S, batch.S[index // copies])
    assert torch.equal(sub.cost(sub.project(UT[index])), shared.cost(shared.project(UT))[index])
    with pytest.raises(ValueError, match="repeats"):
        shared.repeat(2, torch.ones(2 * len(signs), dtype=dtype))
