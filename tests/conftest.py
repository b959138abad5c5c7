"""Shared fixtures: the two frameworks, imported once per test process, quietly."""

import numpy as np
import pytest

from convlib.proof.frameworks import load_tf, load_torch


@pytest.fixture(scope="session")
def tf():
    return load_tf()


@pytest.fixture(scope="session")
def torch():
    return load_torch()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
