import numpy as np
import pytest

from skdsp import Bags
from skdsp.bags import check_bags


def test_bags_index_and_slice():
    pos = [np.full((3, 2), i, dtype=float) for i in range(4)]
    neg = [-p for p in pos]
    bags = Bags(pos, neg)
    assert len(bags) == 4 and bags.n_features == 2
    p, n = bags[2]
    assert np.all(p == 2) and np.all(n == -2)
    sub = bags[[3, 1]]
    assert isinstance(sub, Bags) and np.all(sub.positive[0] == 3) and np.all(sub.negative[1] == -1)
    assert len(bags[1:3]) == 2


def test_negatives_may_differ_in_count_not_in_features():
    Bags([np.ones((3, 2))], [np.ones((7, 2))])
    with pytest.raises(ValueError, match=r"negative\[0\] has 3 features, but the positive bags has 2"):
        Bags([np.ones((3, 2))], [np.ones((3, 3))])


def test_one_negative_bag_per_video():
    with pytest.raises(ValueError, match="2 positive bags but 1 negative"):
        Bags([np.ones((3, 2))] * 2, [np.ones((3, 2))])


def test_check_bags_plain_and_bags():
    pos, neg = check_bags([np.ones((3, 2))])
    assert neg is None and pos[0].shape == (3, 2)
    pos, neg = check_bags(Bags([np.ones((3, 2))], [np.zeros((1, 2))]), n_features=2)
    assert neg[0].shape == (1, 2)
    with pytest.raises(ValueError, match="fit has 5"):
        check_bags(Bags([np.ones((3, 2))], [np.zeros((1, 2))]), n_features=5)
