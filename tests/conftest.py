"""Hypothesis profiles for the property-based tests (tests/test_fuzz.py).

``ci`` (the default): a bounded, derandomised search, so that the suite stays fast and
gives the same verdict on every run. ``thorough``: many more examples, drawn afresh each
run, for a longer search on a developer's machine::

    pytest tests/test_fuzz.py --hypothesis-profile=thorough
"""

import pytest
import torch
from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=_SLOW_IS_FINE,
)
# --hypothesis-profile, read after this file, overrides the default.
settings.load_profile("ci")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread: tiny problems run fastest, and steadiest on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
