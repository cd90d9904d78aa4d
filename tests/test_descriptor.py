import numpy as np
import pytest

from skdsp.descriptor import descriptor_feature_names, pack_descriptors, unpack_descriptors


def _bases(n, n_dir, d, p, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n * n_dir, d, p)))
    return q.reshape(n, n_dir, d, p)


@pytest.mark.parametrize("with_mean", [False, True])
@pytest.mark.parametrize("n_dir", [1, 2])
def test_round_trip(with_mean, n_dir):
    U = _bases(5, n_dir, 7, 3)
    mean = np.arange(35.0).reshape(5, 7) if with_mean else None
    X = pack_descriptors(U, mean)
    assert X.shape == (5, 4 + 7 * with_mean + n_dir * 7 * 3)
    out = unpack_descriptors(X)
    np.testing.assert_array_equal(out.subspaces, U)
    assert out.n_components == 3 and out.n_directions == n_dir and out.n_features == 7
    if with_mean:
        np.testing.assert_array_equal(out.mean, mean)
    else:
        assert out.mean is None
    names = descriptor_feature_names(n_dir, 7, 3, with_mean, "dsp")
    assert len(names) == X.shape[1] and len(set(names)) == len(names)


def test_foreign_rows_are_refused():
    with pytest.raises(ValueError, match="header"):
        unpack_descriptors(np.random.default_rng(0).normal(size=(4, 30)))
    X = pack_descriptors(_bases(3, 1, 4, 2))
    with pytest.raises(ValueError, match="describes 12 columns, but the rows have 13"):
        unpack_descriptors(np.hstack([X, np.ones((3, 1))]))
    with pytest.raises(ValueError, match="shape"):
        unpack_descriptors(np.ones(5))
