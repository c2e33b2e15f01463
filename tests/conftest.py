"""Shared fixtures. Keep this small: helpers used by one test file live in that file."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so a failing case fails the same way on every run."""
    return np.random.default_rng(0)
