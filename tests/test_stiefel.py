"""Batched Stiefel geometry: projection, Cholesky-QR retraction and its fallback."""

import pytest
import torch

from skdsp.manifolds import stiefel
from skdsp.manifolds.stiefel import (
    cholesky_qr,
    cholesky_qr_rows,
    inner,
    project,
    project_rows,
    random_point,
    retract,
    transport,
)


def orthonormality_error(U):
    eye = torch.eye(U.shape[-1], dtype=U.dtype)
    return float((U.transpose(-1, -2) @ U - eye).abs().max())


@pytest.fixture
def points():
    gen = torch.Generator().manual_seed(0)
    return random_point((5,), 10, 3, generator=gen, dtype=torch.float64)


def test_random_point_is_orthonormal_and_seeded(points):
    assert points.shape == (5, 10, 3)
    assert orthonormality_error(points) < 1e-12
    again = random_point((5,), 10, 3, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64)
    torch.testing.assert_close(points, again)
    with pytest.raises(ValueError, match="p <= d"):
        random_point((1,), 2, 3)


def test_projection_is_tangent_and_idempotent(points):
    V = torch.randn(points.shape, dtype=torch.float64)
    xi = project(points, V)
    skew = points.transpose(-1, -2) @ xi
    torch.testing.assert_close(skew, -skew.transpose(-1, -2))
    torch.testing.assert_close(project(points, xi), xi)
    # Self-adjoint: <P V, W> = <V, P W>.
    W = torch.randn(points.shape, dtype=torch.float64)
    torch.testing.assert_close(inner(project(points, V), W), inner(V, project(points, W)))
    torch.testing.assert_close(transport(points, V), xi)
    torch.testing.assert_close(
        project_rows(points.transpose(-1, -2), V.transpose(-1, -2)), xi.transpose(-1, -2)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cholesky_qr_equals_householder_qr_up_to_signs(dtype):
    Y = torch.randn(6, 20, 4, dtype=dtype, generator=torch.Generator().manual_seed(1))
    Q, R, fallback = cholesky_qr(Y)
    assert not fallback.any()
    Qh, Rh = torch.linalg.qr(Y)
    signs = torch.sign(torch.diagonal(Rh, dim1=-2, dim2=-1))
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(Q, Qh * signs[:, None, :], atol=tol, rtol=0)
    assert (torch.diagonal(R, dim1=-2, dim2=-1) > 0).all()
    torch.testing.assert_close(torch.triu(R), R)
    torch.testing.assert_close(Q @ R, Y, atol=tol, rtol=tol)
    assert orthonormality_error(Q) < (1e-5 if dtype == torch.float32 else 1e-13)
    QT, L, _ = cholesky_qr_rows(Y.transpose(-1, -2))
    torch.testing.assert_close(QT.transpose(-1, -2), Q)
    torch.testing.assert_close(L.transpose(-1, -2), R)


def test_ill_conditioned_input_falls_back_to_householder():
    gen = torch.Generator().manual_seed(2)
    Y = torch.randn(4, 30, 3, dtype=torch.float32, generator=gen)
    # Video 1: two columns equal up to 1e-6, far too ill-conditioned for Cholesky-QR
    # in float32 (cond^2 * eps >> 1).
    Y[1, :, 2] = Y[1, :, 1] + 1e-6 * torch.randn(30, generator=gen)
    Q, R, fallback = cholesky_qr(Y)
    assert fallback.tolist() == [False, True, False, False]
    assert torch.isfinite(Q).all()
    assert orthonormality_error(Q) < 1e-5
    torch.testing.assert_close(Q @ R, Y, atol=1e-5, rtol=1e-5)
    # The well-conditioned videos did not go through the fallback and still match QR.
    Qh, _Rh = torch.linalg.qr(Y[0])
    torch.testing.assert_close(Q[0].abs(), Qh.abs(), atol=1e-4, rtol=0)


def test_fallback_is_actually_needed():
    """Without the fallback, one Cholesky-QR pass on that input is far from orthonormal."""
    gen = torch.Generator().manual_seed(2)
    Y = torch.randn(30, 3, dtype=torch.float32, generator=gen)
    Y[:, 2] = Y[:, 1] + 1e-3 * torch.randn(30, generator=gen)
    R, _ok = stiefel.cholesky_factor(Y.T @ Y, check=False)
    Q = Y @ torch.linalg.inv(R)
    assert orthonormality_error(Q) > 1e-4
    assert not bool(stiefel.cholesky_factor(Y.T @ Y)[1])


def test_retraction_stays_on_manifold_and_is_first_order(points):
    xi = project(points, torch.randn(points.shape, dtype=torch.float64))
    assert orthonormality_error(retract(points, xi, 0.7)) < 1e-12
    torch.testing.assert_close(retract(points, xi, 0.0), points)
    t = 1e-6
    step = (retract(points, xi, t) - points) / t
    torch.testing.assert_close(step, xi, atol=1e-5, rtol=1e-5)
    ts = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    torch.testing.assert_close(retract(points, xi, ts)[2], retract(points[2], xi[2], 0.2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_retraction_on_cuda(points):
    xi = project(points, torch.randn(points.shape, dtype=torch.float64))
    got = retract(points.cuda(), xi.cuda(), 0.5).cpu()
    torch.testing.assert_close(got, retract(points, xi, 0.5))
