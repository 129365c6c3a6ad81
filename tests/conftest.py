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


@pytest.fixture
def winograd_always():
    """Force the Winograd convolution path (by default it starts at 8192 output
    positions, so the tests' small shapes would take the im2col products)."""
    from fastkeras._kernels import conv

    previous = conv.set_winograd_min_positions(0)
    yield
    conv.set_winograd_min_positions(previous)
