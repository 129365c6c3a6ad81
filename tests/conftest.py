import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tf():
    """TensorFlow (tensorflow-cpu, the [test] extra), the oracle for parity tests."""
    tf = pytest.importorskip("tensorflow")
    return tf


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
