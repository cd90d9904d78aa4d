"""DiscriminativeSubspacePooling as a scikit-learn citizen."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skdsp import Bags, DiscriminativeSubspacePooling
from skdsp.descriptor import unpack_descriptors
from skdsp.pooling import solve_dsp
from skdsp.utils.estimator_checks import make_videos, parametrize_with_sequence_checks

FAST = {"max_iter": 8, "device": "cpu", "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@parametrize_with_sequence_checks(
    [
        DiscriminativeSubspacePooling(n_components=2, **FAST),
        DiscriminativeSubspacePooling(
            n_components=1, bidirectional=False, include_mean=True, **FAST
        ),
    ]
)
def test_sequence_estimator_checks(estimator, check):
    check(estimator)


def orthonormality_error(U):
    return float(np.abs(np.einsum("...dp,...dq->...pq", U, U) - np.eye(U.shape[-1])).max())


def test_transform_layout():
    videos, _ = make_videos(n_videos=5, n_features=6)
    est = DiscriminativeSubspacePooling(n_components=2, include_mean=False, **FAST).fit(videos)
    assert est.n_features_in_ == 6 and est.device_ == "cpu"
    X = est.transform(videos)
    assert X.shape == (5, 4 + 2 * 6 * 2) and X.dtype == np.float64
    desc = unpack_descriptors(X)
    assert desc.subspaces.shape == (5, 2, 6, 2) and desc.mean is None
    assert orthonormality_error(desc.subspaces) < 2e-6
    # Forward and time-reversed solves differ.
    assert not np.allclose(desc.subspaces[:, 0], desc.subspaces[:, 1])
    names = est.get_feature_names_out()
    assert len(names) == X.shape[1]
    assert names[4] == "discriminativesubspacepooling_forward_f0_c0"


def test_both_directions_solved_together_give_each_direction_solved_alone():
    # A video's two directions share its data, Gram matrix and starting points in one
    # solve; each must still be exactly what solve_dsp gives that direction.
    videos, _ = make_videos(n_videos=4, n_features=12)
    rng = np.random.default_rng(1)
    negatives = [v + rng.normal(scale=0.3, size=v.shape) for v in videos]
    est = DiscriminativeSubspacePooling(2, include_mean=False, **FAST)
    desc = unpack_descriptors(est.fit_transform(Bags(videos, negatives)))
    for direction, reverse in enumerate((False, True)):
        alone = solve_dsp(videos, negatives, n_components=2, max_iter=8, reverse=reverse)
        np.testing.assert_array_equal(desc.subspaces[:, direction], alone.subspaces)


def test_include_mean_is_mean_of_normalised_frames():
    videos, _ = make_videos(n_videos=3, n_features=4)
    est = DiscriminativeSubspacePooling(2, include_mean=True, bidirectional=False, **FAST)
    desc = unpack_descriptors(est.fit_transform(videos))
    expected = [(v / np.linalg.norm(v, axis=1, keepdims=True)).mean(axis=0) for v in videos]
    np.testing.assert_allclose(desc.mean, expected)
    assert desc.subspaces.shape == (3, 1, 4, 2)


def test_bags_bring_their_own_negatives():
    videos, _ = make_videos(n_videos=3, n_features=5)
    rng = np.random.default_rng(0)
    negatives = [rng.normal(size=(4, 5)) for _ in videos]
    est = DiscriminativeSubspacePooling(2, bidirectional=False, dtype="float64", **FAST)
    X = est.fit_transform(Bags(videos, negatives))
    ref = solve_dsp(videos, negatives, n_components=2, max_iter=8, dtype="float64")
    np.testing.assert_allclose(unpack_descriptors(X).subspaces[:, 0], ref.subspaces,
                               atol=1e-10)
    # Plain videos get random negatives instead: a different result.
    assert not np.allclose(est.transform(videos), X)


def test_random_negatives_are_seeded():
    videos, _ = make_videos(n_videos=3, n_features=5)
    a = DiscriminativeSubspacePooling(2, **{**FAST, "random_state": 1}).fit_transform(videos)
    b = DiscriminativeSubspacePooling(2, **{**FAST, "random_state": 1}).fit_transform(videos)
    c = DiscriminativeSubspacePooling(2, **{**FAST, "random_state": 2}).fit_transform(videos)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_short_videos_warn_with_video_indices():
    videos, _ = make_videos(n_videos=4, n_features=5)
    videos[2] = videos[2][:1]
    est = DiscriminativeSubspacePooling(3, **FAST).fit(videos)
    with pytest.warns(UserWarning, match=r"video\(s\) \[2\]"):
        X = est.transform(videos)
    assert np.isfinite(X).all()


def test_not_fitted_and_bad_parameters():
    videos, _ = make_videos(n_videos=2, n_features=3)
    with pytest.raises(NotFittedError):
        DiscriminativeSubspacePooling().transform(videos)
    with pytest.raises(ValueError, match="n_components=4 exceeds the 3 features"):
        DiscriminativeSubspacePooling(4).fit(videos)
    with pytest.raises(ValueError, match="reduction"):
        DiscriminativeSubspacePooling(reduction="max").fit(videos)
    with pytest.raises(ValueError, match="negatives"):
        DiscriminativeSubspacePooling(negatives="adversarial").fit(videos)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            DiscriminativeSubspacePooling(device="cuda").fit(videos)


def test_clone_and_pickle_round_trip():
    videos, _ = make_videos(n_videos=3, n_features=4)
    est = DiscriminativeSubspacePooling(2, **FAST).fit(videos)
    blob = pickle.dumps(est)
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.transform(videos), est.transform(videos))
    assert all(not torch.is_tensor(v) for v in vars(est).values())
    fresh = clone(est)
    assert not hasattr(fresh, "n_features_in_")
    assert fresh.get_params() == est.get_params()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fitted_on_cuda_loads_on_cpu():
    videos, _ = make_videos(n_videos=3, n_features=4)
    est = DiscriminativeSubspacePooling(2, max_iter=8, device="cuda", random_state=0)
    X_gpu = est.fit_transform(videos)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.device_.startswith("cuda")
    loaded.set_params(device="cpu").fit(videos)
    np.testing.assert_allclose(loaded.transform(videos), X_gpu, atol=1e-4)


def test_pipeline_and_grid_search():
    videos, y = make_videos(n_videos=16, n_features=4, min_frames=6, max_frames=9)
    pipe = make_pipeline(
        DiscriminativeSubspacePooling(max_iter=5, device="cpu", random_state=0),
        LogisticRegression(max_iter=500),
    )
    search = GridSearchCV(
        pipe, {"discriminativesubspacepooling__n_components": [1, 2]}, cv=2
    )
    search.fit(videos, y)
    # Every setting's fold scores, recomputed by hand with the same folds.
    manual = {}
    for i, p in enumerate(search.cv_results_["param_discriminativesubspacepooling__n_components"]):
        scores = cross_val_score(
            clone(pipe).set_params(discriminativesubspacepooling__n_components=p),
            videos, y, cv=2,
        )
        np.testing.assert_allclose(
            [search.cv_results_[f"split{k}_test_score"][i] for k in range(2)], scores
        )
        manual[p] = scores.mean()
    best = max(manual, key=lambda p: (manual[p], -p))  # ties go to the first setting
    assert search.best_params_["discriminativesubspacepooling__n_components"] == best
    refit = clone(pipe).set_params(discriminativesubspacepooling__n_components=best)
    np.testing.assert_array_equal(
        search.predict(videos), refit.fit(videos, y).predict(videos)
    )
    # The classes of make_videos differ in mean and drift: far from chance.
    assert search.best_score_ >= 0.75


def test_n_jobs_matches_serial():
    videos, _ = make_videos(n_videos=5, n_features=4)
    serial = DiscriminativeSubspacePooling(2, dtype="float64", **FAST).fit_transform(videos)
    est = DiscriminativeSubspacePooling(2, dtype="float64", n_jobs=2, batch_size=2, **FAST)
    with joblib.parallel_config(backend="threading"):
        threaded = est.fit_transform(videos)
    np.testing.assert_allclose(threaded, serial, atol=1e-9)


def test_dask_backend_matches_serial():
    distributed = pytest.importorskip("distributed")
    videos, _ = make_videos(n_videos=4, n_features=4)
    serial = DiscriminativeSubspacePooling(2, dtype="float64", **FAST).fit_transform(videos)
    est = DiscriminativeSubspacePooling(2, dtype="float64", n_jobs=2, **FAST).fit(videos)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask's own start-up notices
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:
            with joblib.parallel_config(backend="dask"), distributed.get_task_stream(
                client
            ) as tasks:
                distributed_out = est.transform(videos)
    # The chunks really ran on the dask workers.
    assert len(tasks.data) >= 2
    np.testing.assert_allclose(distributed_out, serial, atol=1e-9)


def test_verbose_progress_bar(capsys):
    videos, _ = make_videos(n_videos=2, n_features=3)
    DiscriminativeSubspacePooling(1, **FAST).fit_transform(videos)
    assert capsys.readouterr().err == ""
    DiscriminativeSubspacePooling(1, verbose=1, **FAST).fit_transform(videos)
    assert "DSP" in capsys.readouterr().err
