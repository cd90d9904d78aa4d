"""The batched Riemannian conjugate gradient, step by step, against direct recomputation.

Each check recomputes a quantity of an iteration independently (from the objective, the
manifold's projection and retraction) and compares it with what the solver used: the
Riemannian gradient (and its norm), the gradient by finite differences along a
retraction curve, the transported direction, the Hestenes-Stiefel+ coefficient and the
next direction, and the orthonormality of every iterate.
"""

import numpy as np
import pytest
import torch

from skdsp.manifolds import stiefel
from skdsp.optim import batched_rcg
from skdsp.pooling.objective import make_batch
from skdsp.pooling.solve import _initial_subspaces, _normalise_frames


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_batch_and_start(representation, d=20, lengths=(9, 14, 6), seed=0):
    rng = np.random.default_rng(seed)
    videos, negatives = [], []
    for n in lengths:
        t = np.linspace(0, 1, n)[:, None]
        a, b = rng.normal(size=d), rng.normal(size=d)
        videos.append((1 - t) * a + t * b + 0.3 * rng.normal(size=(n, d)))
        negatives.append(rng.normal(size=(n + 2, d)))
    batch = make_batch(videos, negatives, reverse=[False, True, False], dtype=torch.float64)
    batch.representation = representation
    _normalise_frames(batch)
    U0, _ = _initial_subspaces(batch, 3, np.arange(len(lengths)))
    return batch, U0


def euclidean_gradient(batch, U, index):
    """The Euclidean gradient of the objective at ``U`` (n, d, p), from the batch."""
    sub = batch.take(index)
    _, GT = sub.cost_and_grad(sub.project(U.transpose(-1, -2)))
    return sub.backproject(GT).transpose(-1, -2)


def cost_at(batch, U, index):
    sub = batch.take(index)
    return sub.cost(sub.project(U.transpose(-1, -2)))


def run(batch, U0, max_iter=12, **kw):
    iterates = []
    res = batched_rcg(batch, U0, max_iter=max_iter, callback=iterates.append, **kw)
    return res, iterates


@pytest.mark.parametrize("representation", ["features", "span"])
def test_every_iterate_is_orthonormal_and_gradients_are_riemannian(representation):
    batch, U0 = make_batch_and_start(representation)
    res, iterates = run(batch, U0)
    assert len(iterates) == 12
    eye = torch.eye(3, dtype=torch.float64)
    for it in iterates:
        U = it.point
        # Orthonormal at every iteration, not only after the final clean-up.
        assert float((U.transpose(-1, -2) @ U - eye).abs().max()) < 1e-10
        # The gradient the solver holds is the projection of the Euclidean gradient
        # onto the tangent space at the new point.
        E = euclidean_gradient(batch, U, it.index)
        torch.testing.assert_close(it.grad, stiefel.project(U, E), rtol=1e-8, atol=1e-10)
        # ... hence tangent: U^T G is skew-symmetric.
        UtG = U.transpose(-1, -2) @ it.grad
        assert float((UtG + UtG.transpose(-1, -2)).abs().max()) < 1e-10
        # The cost the solver tracks is the cost at the point.
        torch.testing.assert_close(it.cost, cost_at(batch, U, it.index), rtol=1e-10, atol=0)
    # The reported gradient norm is that of an independently projected gradient at the
    # final point.
    index = torch.arange(batch.n_videos)
    E = euclidean_gradient(batch, res.point, index)
    norms = torch.linalg.vector_norm(stiefel.project(res.point, E), dim=(-2, -1))
    torch.testing.assert_close(res.grad_norm, norms, rtol=1e-7, atol=1e-10)


def test_riemannian_gradient_by_finite_differences_along_a_retraction():
    batch, U0 = make_batch_and_start("features")
    _, iterates = run(batch, U0, max_iter=6)
    gen = torch.Generator().manual_seed(0)
    h = 1e-6
    for it in iterates[::2]:
        U = it.point
        xi = stiefel.project(U, torch.randn(U.shape, generator=gen, dtype=U.dtype))
        up = cost_at(batch, stiefel.retract(U, xi, h), it.index)
        down = cost_at(batch, stiefel.retract(U, xi, -h), it.index)
        slope = (up - down) / (2 * h)
        torch.testing.assert_close(slope, stiefel.inner(it.grad, xi), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("representation", ["features", "span"])
def test_transport_hestenes_stiefel_and_next_direction(representation):
    batch, U0 = make_batch_and_start(representation)
    _, iterates = run(batch, U0, max_iter=15)
    n_conjugate = 0
    for prev, it in zip(iterates, iterates[1:]):
        U = it.point
        # The previous direction lives at the previous point; the solver's transport
        # is the projection onto the tangent space at the new point.
        keep = torch.isin(prev.index, it.index)
        D_prev = prev.direction[keep]
        torch.testing.assert_close(it.previous_direction, D_prev, rtol=1e-8, atol=1e-10)
        TD = stiefel.transport(U, D_prev)
        torch.testing.assert_close(it.transported_direction, TD, rtol=1e-8, atol=1e-10)
        # Hestenes-Stiefel+, written with everything transported to the new point.
        g, g_prev = it.grad, stiefel.transport(U, prev.grad[keep])
        y = g - g_prev
        beta = (stiefel.inner(g, y) / stiefel.inner(TD, y)).clamp_min(0)
        torch.testing.assert_close(it.beta, beta, rtol=1e-6, atol=1e-9)
        # Next direction: -g + beta T(D), unless the solver restarted (then -g).
        conjugate = -g + beta[:, None, None] * TD
        restarted = torch.isclose(
            stiefel.inner(it.direction, it.direction), stiefel.inner(g, g), rtol=1e-12
        ) & ~torch.isclose(beta, torch.zeros_like(beta))
        for b in range(len(it.index)):
            want = -g[b] if restarted[b] else conjugate[b]
            torch.testing.assert_close(it.direction[b], want, rtol=1e-8, atol=1e-10)
            n_conjugate += int(not restarted[b] and float(beta[b]) > 0)
    assert n_conjugate > 10  # the check saw real conjugate steps


def test_steps_descend_and_follow_the_retraction():
    batch, U0 = make_batch_and_start("span")
    _, iterates = run(batch, U0, max_iter=10)
    for prev, it in zip(iterates, iterates[1:]):
        keep = torch.isin(prev.index, it.index)
        U_prev = prev.point[keep]
        # The new point is the QR retraction of the previous one along the direction.
        want = stiefel.retract(U_prev, it.previous_direction, it.step)
        torch.testing.assert_close(it.point, want, rtol=1e-8, atol=1e-10)
        # Armijo: never above the previous cost.
        assert bool((it.cost <= prev.cost[keep] + 1e-12).all())


@pytest.mark.parametrize("representation", ["features", "span"])
def test_a_conjugate_direction_that_cancels_restarts(representation):
    # One all-zero frame and one negative: after a few steps beta T(D) equals the
    # gradient, and the direction that is left is rounding. Taking it (with a step
    # size scaled by its norm, ~1e16) used to leave the manifold and end in NaN.
    batch = make_batch([np.zeros((1, 4))], [np.array([[-0.9, -0.1595, 0.1627, 0.3716]])],
                       dtype=torch.float64)
    batch.representation = representation
    _normalise_frames(batch)
    U0 = torch.tensor([[[0.1865], [-0.1960], [0.9500], [0.1556]]], dtype=torch.float64)
    U0 = U0 / torch.linalg.vector_norm(U0)
    res, iterates = run(batch, U0, max_iter=20)
    for it in iterates:
        assert float((it.point.transpose(-1, -2) @ it.point - 1).abs().max()) < 1e-10
        assert float(it.step.max()) < 1e3
    assert torch.isfinite(res.point).all()
    # The optimum: the negative fully separated, only the zero frame's hinge left.
    assert float(res.cost[0]) == pytest.approx(1.0, abs=1e-6)
