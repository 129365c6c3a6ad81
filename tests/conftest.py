import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The oracle with oneDNN on every x86 CPU: TensorFlow turns it on by itself only where the
# CPU has AVX-512 / VNNI-class features, and without it TF's CPU kernels refuse
# channels_first convolutions and pooling, which the parity suite compares.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

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
    from fastkeras.ops.convolution import convolution_algorithm

    with convolution_algorithm("winograd"):
        yield


@pytest.fixture(autouse=True)
def _isolated_custom_objects():
    """Objects a test registers (keras.saving.register_keras_serializable) are forgotten
    after it: the registry is global, and a name registered by one test (a corpus program's
    `custom_fn`) must not resolve in another that expects it unknown."""
    from fastkeras.saving import object_registration as reg

    objects, names = dict(reg._GLOBAL_CUSTOM_OBJECTS), dict(reg._GLOBAL_CUSTOM_NAMES)
    yield
    reg._GLOBAL_CUSTOM_OBJECTS.clear()
    reg._GLOBAL_CUSTOM_OBJECTS.update(objects)
    reg._GLOBAL_CUSTOM_NAMES.clear()
    reg._GLOBAL_CUSTOM_NAMES.update(names)
