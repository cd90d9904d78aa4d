"""Tests of the subspace kernels: definiteness, invariances, widths, sklearn use."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skdsp import SubspaceKernel
from skdsp import kernels
from skdsp.descriptor import pack_descriptors
from skdsp.kernels import (
    kernel_target_alignment,
    mean_rbf_kernel,
    projection_distance,
    projection_kernel,
    projection_rbf_kernel,
)
from skdsp.utils.estimator_checks import (
    check_clone,
    check_deterministic,
    check_feature_names_out,
    check_fit_returns_self,
    check_init_stores_params,
    check_not_fitted,
    check_pickle_roundtrip,
    check_transform_keeps_state,
)


def random_bases(n, d=6, p=2, n_dir=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.linalg.qr(rng.normal(size=(n, n_dir, d, p)))[0]


def random_rotations(shape, p, seed):
    rng = np.random.default_rng(seed)
    return np.linalg.qr(rng.normal(size=(*shape, p, p)))[0]


def _min_eig(K):
    return np.linalg.eigvalsh((K + K.T) / 2).min()


@pytest.mark.parametrize("n_dir", [1, 2])
def test_kernels_symmetric_and_psd(n_dir):
    U = random_bases(25, d=7, p=3, n_dir=n_dir, seed=n_dir)
    for K in (
        projection_kernel(U),
        projection_rbf_kernel(U, gamma=0.3),
        projection_rbf_kernel(U, gamma=5.0, normalize=True),
    ):
        np.testing.assert_allclose(K, K.T, atol=1e-12)
        assert _min_eig(K) >= -1e-8
    np.testing.assert_allclose(np.diag(projection_kernel(U)), n_dir * 3)
    np.testing.assert_allclose(np.diag(projection_kernel(U, normalize=True)), 1.0)
    np.testing.assert_allclose(np.diag(projection_distance(U)), 0.0, atol=1e-6)


def test_projection_distance_known_values():
    e = np.eye(4)
    U = np.stack([e[:, [0, 1]], e[:, [0, 2]], e[:, [2, 3]]])
    D2 = projection_distance(U, squared=True)
    np.testing.assert_allclose(D2, [[0, 1, 2], [1, 0, 1], [2, 1, 0]], atol=1e-12)
    # d^2 is half the squared Frobenius distance of the projection matrices.
    P = U @ U.transpose(0, 2, 1)
    half = 0.5 * ((P[:, None] - P[None]) ** 2).sum(axis=(2, 3))
    np.testing.assert_allclose(D2, half, atol=1e-12)
    np.testing.assert_allclose(projection_distance(U), np.sqrt(half), atol=1e-12)
    np.testing.assert_allclose(projection_distance(U, squared=True, normalize=True), half / 2)
    np.testing.assert_allclose(projection_rbf_kernel(U, gamma=0.7), np.exp(-0.7 * half))


def test_invariant_to_basis_rotation():
    U = random_bases(8, seed=1)
    Q = random_rotations(U.shape[:2], U.shape[3], seed=2)
    rotated = U @ Q
    assert not np.allclose(rotated, U)
    for fn in (projection_kernel, projection_rbf_kernel):
        np.testing.assert_allclose(fn(rotated, U), fn(U, U), atol=1e-10)
    # The square root turns rounding of order 1e-16 near zero into about 1e-8.
    np.testing.assert_allclose(projection_distance(rotated, U), projection_distance(U), atol=1e-6)
    X, Xr = pack_descriptors(U), pack_descriptors(rotated)
    est = SubspaceKernel().fit(X)
    np.testing.assert_allclose(est.transform(Xr), est.transform(X), atol=1e-10)
    np.testing.assert_allclose(SubspaceKernel().fit(Xr).transform(X), est.transform(X), atol=1e-10)


def test_torch_in_torch_out_and_blocks(monkeypatch):
    U = random_bases(9, seed=3)
    V = random_bases(5, seed=4)
    ref = projection_kernel(U, V)
    out = projection_kernel(torch.as_tensor(U), torch.as_tensor(V))
    assert isinstance(out, torch.Tensor) and out.shape == (9, 5)
    np.testing.assert_allclose(out.numpy(), ref)
    # Three-dimensional input is one direction.
    np.testing.assert_allclose(
        projection_kernel(U[:, 0], V[:, 0]) + projection_kernel(U[:, 1], V[:, 1]), ref
    )
    monkeypatch.setattr(kernels, "_BLOCK_VALUES", 30)  # several row blocks
    np.testing.assert_allclose(projection_kernel(U, V), ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_cuda_matches_cpu():
    U = random_bases(12, seed=5)
    out = projection_rbf_kernel(torch.as_tensor(U, device="cuda"), gamma=0.5)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), projection_rbf_kernel(U, gamma=0.5))


def test_function_shape_errors():
    with pytest.raises(ValueError, match="must match"):
        projection_kernel(random_bases(3, p=2), random_bases(3, p=3))
    with pytest.raises(ValueError, match=r"must have shape \(n, n_features, n_components\)"):
        projection_kernel(np.ones((3, 4)))


def test_subspace_kernel_shapes_and_default_gamma():
    U = random_bases(10, seed=6)
    X = pack_descriptors(U)
    est = SubspaceKernel().fit(X[:7])
    K = est.transform(X)
    assert K.shape == (10, 7)
    D2 = projection_distance(U[:7], squared=True, normalize=True)
    mean = D2[~np.eye(7, dtype=bool)].mean()
    assert est.gamma_ == pytest.approx(1.0 / mean)
    np.testing.assert_allclose(
        K, projection_rbf_kernel(U, U[:7], gamma=1.0 / mean, normalize=True)
    )
    # Unnormalised: gamma is on the raw d^2 and the kernel values are the same.
    raw = SubspaceKernel(normalize=False).fit(X[:7])
    np.testing.assert_allclose(raw.transform(X), K)
    assert raw.gamma_ == pytest.approx(est.gamma_ / 4)  # n_directions * p = 4
    fixed = SubspaceKernel(gamma=2.0).fit(X[:7])
    assert fixed.gamma_ == 2.0
    lin = SubspaceKernel("projection").fit(X[:7])
    assert lin.gamma_ is None
    np.testing.assert_allclose(lin.transform(X), projection_kernel(U, U[:7]) / 4)
    assert est.get_feature_names_out().tolist() == [f"subspacekernel_train{i}" for i in range(7)]


def test_identical_training_subspaces_give_gamma_one():
    U = np.repeat(random_bases(1, seed=7), 3, axis=0)
    assert SubspaceKernel().fit(pack_descriptors(U)).gamma_ == 1.0


def test_mean_kernel_mix():
    rng = np.random.default_rng(8)
    U = random_bases(9, seed=8)
    means = rng.normal(size=(9, 6)) * 3.0 + 1.0
    X = pack_descriptors(U, mean=means)
    a = 0.3
    est = SubspaceKernel(mean_weight=a).fit(X[:6])
    assert est.mean_gamma_ == pytest.approx(1.0 / 6)
    assert est.mean_weight_ == a
    centre, scale = means[:6].mean(axis=0), means[:6].std(axis=0)
    z = (means - centre) / scale
    K_sub = SubspaceKernel(mean_weight=0).fit(X[:6]).transform(X)
    K_mean = mean_rbf_kernel(z, z[:6], gamma=1.0 / 6)
    direct = np.exp(-((z[:, None] - z[None, :6]) ** 2).sum(-1) / 6)
    np.testing.assert_allclose(K_mean, direct)
    K = est.transform(X)
    np.testing.assert_allclose(K, (1 - a) * K_sub + a * K_mean)
    assert _min_eig(SubspaceKernel(mean_weight=a).fit(X).transform(X)) >= -1e-8
    only_mean = SubspaceKernel(mean_weight=1.0, mean_gamma=0.1).fit(X[:6]).transform(X)
    np.testing.assert_allclose(only_mean, mean_rbf_kernel(z, z[:6], gamma=0.1))
    # Means present but unused: the plain subspace kernel.
    np.testing.assert_allclose(
        SubspaceKernel(mean_weight=0).fit(X[:6]).transform(X),
        SubspaceKernel(mean_weight=0).fit(pack_descriptors(U[:6])).transform(pack_descriptors(U)),
    )


def test_auto_weight_follows_the_informative_kernel():
    rng = np.random.default_rng(3)
    n = 24
    y = np.arange(n) % 2
    informative = np.where(y[:, None] == 1, 1.0, -1.0) * np.ones((n, 6))
    noise = rng.normal(size=(n, 6))
    U = random_bases(n, seed=3)  # subspaces carry no class information
    X_means = pack_descriptors(U, mean=informative + 0.1 * noise)
    est = SubspaceKernel(mean_weight="auto").fit(X_means, y)
    assert est.mean_weight_ > 0.5
    assert est.alignments_[est.mean_weight_] == max(est.alignments_.values())
    # Subspaces by class, means pure noise: the weight goes to the subspaces.
    base = random_bases(2, seed=4)
    U_class = base[y] + 0.0
    X_sub = pack_descriptors(U_class, mean=noise)
    assert SubspaceKernel(mean_weight="auto").fit(X_sub, y).mean_weight_ < 0.5
    with pytest.raises(ValueError, match="pass y to fit"):
        SubspaceKernel(mean_weight="auto").fit(X_sub)
    # Without means there is nothing to choose: the subspace kernel alone.
    plain = pack_descriptors(U_class)
    est = SubspaceKernel().fit(plain)
    assert est.mean_weight_ == 0.0 and est.alignments_ is None
    np.testing.assert_allclose(est.transform(plain), SubspaceKernel(mean_weight=0).fit(plain).transform(plain))


def test_alignment_extremes():
    y = np.array([0, 0, 1, 1])
    ideal = (y[:, None] == y[None, :]).astype(float)
    assert kernel_target_alignment(ideal, y) == pytest.approx(1.0)
    assert kernel_target_alignment(np.ones((4, 4)), y) == 0.0
    with pytest.raises(ValueError, match="3 labels but there are 4"):
        kernel_target_alignment(ideal, y[:3])
    with pytest.raises(ValueError, match="square"):
        kernel_target_alignment(ideal[:3], y)


def test_clear_errors():
    U = random_bases(6, seed=9)
    X = pack_descriptors(U)
    with pytest.raises(ValueError, match="descriptors carry none.*include_mean=True"):
        SubspaceKernel(mean_weight=0.5).fit(X)
    est = SubspaceKernel().fit(X)
    other = pack_descriptors(random_bases(4, p=3, seed=10))
    with pytest.raises(ValueError, match=r"\(1?2?, ?6, 3\).*seen in fit have \(2, 6, 2\)"):
        est.transform(other)
    with pytest.raises(ValueError, match="was another step placed in between"):
        SubspaceKernel().fit(np.random.default_rng(0).normal(size=(5, 20)))
    with pytest.raises(NotFittedError):
        SubspaceKernel().transform(X)
    with pytest.raises(ValueError, match="'kernel' parameter"):
        SubspaceKernel(kernel="geodesic").fit(X)
    with pytest.raises(ValueError, match="'mean_weight' parameter"):
        SubspaceKernel(mean_weight=1.5).fit(X)
    bad = X.copy()
    bad[0, -1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SubspaceKernel().fit(bad)


@pytest.mark.parametrize(
    "check",
    [
        check_init_stores_params,
        check_clone,
        check_fit_returns_self,
        check_not_fitted,
        check_deterministic,
        check_pickle_roundtrip,
        check_transform_keeps_state,
        check_feature_names_out,
    ],
)
def test_estimator_contracts(check):
    X = pack_descriptors(random_bases(8, seed=11), mean=np.ones((8, 6)))
    check(SubspaceKernel(mean_weight=0.2), X, None)


def _two_class_descriptors(n_per_class=12, d=6, p=2, seed=0):
    """Subspaces near one of two class subspaces, packed as descriptors."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(2, d, p)))[0]
    bases, y = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            noisy = centres[label] + 0.35 * rng.normal(size=(d, p))
            bases.append(np.linalg.qr(noisy)[0])
            y.append(label)
    return pack_descriptors(np.asarray(bases)[:, None]), np.asarray(y)


def test_grid_search_with_precomputed_svc():
    X, y = _two_class_descriptors()
    pipe = make_pipeline(SubspaceKernel(), SVC(kernel="precomputed"))
    search = GridSearchCV(
        pipe,
        {"subspacekernel__gamma": [None, 0.5, 4.0], "svc__C": [0.1, 10.0]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.8  # the two classes are well apart
    assert search.predict(X).shape == (len(y),)
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    assert clone(pipe).get_params()["subspacekernel__kernel"] == "projection_rbf"


def _dsp(**params):
    from skdsp import DiscriminativeSubspacePooling

    return DiscriminativeSubspacePooling(
        **{"n_components": 2, "max_iter": 5, "device": "cpu", "random_state": 0, **params}
    )


def test_with_real_dsp_descriptors_psd_and_rotation_free():
    from skdsp.utils.estimator_checks import make_videos

    videos, y = make_videos(n_videos=10, n_features=6)
    X = _dsp(include_mean=True).fit_transform(videos)
    for params in ({}, {"kernel": "projection"}, {"mean_weight": 0.5}, {"mean_weight": 0}):
        K = SubspaceKernel(**params).fit(X, y).transform(X)
        assert K.shape == (10, 10)
        np.testing.assert_allclose(K, K.T, atol=1e-6)
        assert _min_eig(K) >= -1e-6  # float32 subspaces are orthonormal to ~1e-6


def test_grid_search_over_dsp_kernel_and_svc_with_cached_pooling(tmp_path, monkeypatch):
    from skdsp import DiscriminativeSubspacePooling
    from skdsp.utils.estimator_checks import make_videos

    videos, y = make_videos(n_videos=12, n_features=5, random_state=1)
    fits = []
    fit = DiscriminativeSubspacePooling.fit

    def counting_fit(self, X, y=None):
        fits.append(len(X))
        return fit(self, X, y)

    monkeypatch.setattr(DiscriminativeSubspacePooling, "fit", counting_fit)
    pipe = make_pipeline(
        _dsp(max_iter=3), SubspaceKernel(), SVC(kernel="precomputed"), memory=str(tmp_path)
    )
    grid = {
        "discriminativesubspacepooling__n_components": [1, 2],
        "subspacekernel__gamma": [None, 2.0],
        "svc__C": [1.0, 10.0],
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(videos, y)
    assert set(search.cv_results_["param_svc__C"]) == {1.0, 10.0}
    assert set(search.cv_results_["param_discriminativesubspacepooling__n_components"]) == {1, 2}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(videos).shape == (12,)
    # The pooling is fitted once per fold and n_components (2 x 2), and once more for
    # the refit on all videos; the 4 settings of gamma and C reuse the cached pooling.
    assert sorted(fits) == [6, 6, 6, 6, 12]
    clone(pipe).fit(videos, y)
    fits.clear()
    clone(pipe).set_params(svc__C=5.0, subspacekernel__gamma=0.5).fit(videos, y)
    assert fits == []  # pooling came from the cache


def test_training_bases_are_stored_so_the_kernel_reads_them_without_a_copy():
    rng = np.random.default_rng(0)
    bases = np.linalg.qr(rng.normal(size=(7, 2, 30, 3)))[0]
    X = pack_descriptors(bases)
    kernel = SubspaceKernel(mean_weight=0).fit(X)
    assert kernel.subspaces_.shape == (7, 2, 30, 3)
    np.testing.assert_array_equal(kernel.subspaces_, bases)
    side_by_side = torch.as_tensor(kernel.subspaces_).permute(1, 2, 0, 3)
    assert side_by_side.is_contiguous()  # the (n_features, n_videos * p) matrix is a view
    np.testing.assert_allclose(
        kernel.transform(X), projection_rbf_kernel(bases, gamma=kernel.gamma_, normalize=True)
    )
