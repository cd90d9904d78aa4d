"""The temporal order term: both counting paths against the loop definition."""

import numpy as np
import pytest
import torch

from skdsp.pooling import temporal
from skdsp.pooling.temporal import order_counts, order_term, thresholds

METHODS = ["dense", "sort"]


def loop_term(energy, eta, sign=1.0):
    """``sum_{i<j} max(0, s (e_i - e_j) + eta)`` and its derivative, pair by pair, in
    float64 (a pair exactly at the hinge is inactive)."""
    x = sign * np.asarray(energy, dtype=np.float64)
    value, grad = 0.0, np.zeros(len(x))
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            a = x[i] - x[j] + eta
            if a > 0:
                value += a
                grad[i] += sign
                grad[j] -= sign
    return value, grad


def check_rows(E, eta, value, grad, signs, lengths):
    for r in range(E.shape[0]):
        n = int(lengths[r])
        want_v, want_g = loop_term(E[r, :n], eta, signs[r])
        assert float(value[r]) == pytest.approx(want_v, rel=1e-6, abs=1e-9)
        np.testing.assert_array_equal(grad[r, :n], want_g)
        np.testing.assert_array_equal(grad[r, n:], 0.0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [2, 3, 5, 16, 17, 40, 129])
def test_matches_loop_with_ties_padding_and_reversal(method, dtype, n):
    rng = np.random.default_rng(n)
    eta = 0.125
    # Dyadic energies: every difference is exact, so many pairs sit exactly at the
    # hinge (x_i - x_j + eta == 0) and equal energies repeat.
    E = rng.integers(0, 9, size=(6, n)) / 8.0
    E[4] = rng.random(n)  # and generic values
    E[5] = 0.5  # all equal: every pair active by eta
    signs = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    lengths = np.array([n, n, max(1, n - 1), max(1, n // 2), n, 1])
    padding = np.arange(n)[None, :] >= lengths[:, None]
    E_t = torch.as_tensor(E, dtype=dtype)
    value, grad = order_term(
        E_t, eta=eta, sign=torch.as_tensor(signs, dtype=dtype)[:, None],
        padding=torch.as_tensor(padding), method=method,
    )
    assert value.dtype == grad.dtype == dtype
    check_rows(E_t.double().numpy(), eta, value, grad.double().numpy(), signs, lengths)


@pytest.mark.parametrize("method", METHODS)
def test_a_pair_exactly_at_the_hinge_is_inactive(method):
    # e_0 - e_1 + eta == 0 exactly, in float32 and float64.
    for dtype in (torch.float32, torch.float64):
        E = torch.tensor([[0.25, 0.5, 0.0]], dtype=dtype)
        value, grad = order_term(E, eta=0.25, method=method)
        # Pairs: (0, 1) at the hinge; (0, 2): 0.5; (1, 2): 0.75.
        assert float(value[0]) == 1.25
        assert grad[0].tolist() == [1.0, 1.0, -2.0]


def test_paths_agree_on_long_random_rows_and_sort_scales():
    rng = np.random.default_rng(3)
    E = torch.as_tensor(rng.random((4, 300)) * 0.01, dtype=torch.float32)  # dense ties
    t = thresholds(E, 1e-3)
    dense = order_counts(E, t, method="dense")
    fast = order_counts(E, t, method="sort")
    for a, b in zip(dense, fast):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # A row that is not a power of two long, past several levels of the recursion.
    E = torch.as_tensor(rng.random((2, 1000)), dtype=torch.float64)
    value, grad = order_term(E, eta=0.05, method="sort")
    for r in range(2):
        want_v, want_g = loop_term(E[r].numpy(), 0.05)
        assert float(value[r]) == pytest.approx(want_v, rel=1e-12)
        np.testing.assert_array_equal(grad[r].numpy(), want_g)


def test_float32_thresholds_compare_as_float64():
    # Near the hinge, x - eta rounded to nearest in float32 can flip a comparison; the
    # thresholds are rounded down so that float32 comparisons equal float64 ones.
    rng = np.random.default_rng(4)
    x = torch.as_tensor(rng.random(5000), dtype=torch.float32)
    eta = 1e-3
    t = thresholds(x, eta)
    y = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))]
    exact = y.double() > (x.double() - eta)
    assert torch.equal(y > t, exact)
    # And the float32 threshold is the largest float32 not above the float64 one.
    t64 = x.double() - eta
    assert bool((t.double() <= t64).all())
    up = torch.nextafter(t, torch.tensor(float("inf")))
    assert bool((up.double() > t64).all())


def test_automatic_choice_by_length(monkeypatch):
    calls = []
    for name in ("_counts_dense", "_counts_sort"):
        original = getattr(temporal, name)

        def spy(x, t, original=original, name=name):
            calls.append(name)
            return original(x, t)

        monkeypatch.setattr(temporal, name, spy)
    n = temporal.DENSE_MAX_FRAMES
    order_term(torch.rand(2, n), eta=1e-3)
    assert calls == ["_counts_dense"]
    order_term(torch.rand(2, n + 1), eta=1e-3)
    assert calls[1] == "_counts_sort"  # (which counts pairs inside small blocks densely)


def test_candidate_axis_and_short_rows():
    E = torch.rand(3, 4, 10, dtype=torch.float64)
    sign = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)[:, None, None]
    value, grad = order_term(E, eta=0.01, sign=sign)
    assert value.shape == (3, 4) and grad.shape == (3, 4, 10)
    for b in range(3):
        for k in range(4):
            want_v, want_g = loop_term(E[b, k].numpy(), 0.01, float(sign[b, 0, 0]))
            assert float(value[b, k]) == pytest.approx(want_v, rel=1e-12)
            np.testing.assert_array_equal(grad[b, k].numpy(), want_g)
    value, grad = order_term(torch.rand(2, 1), eta=0.01)
    assert value.tolist() == [0.0, 0.0] and grad.tolist() == [[0.0], [0.0]]


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        order_term(torch.rand(1, 5), eta=1e-3, method="fast")
