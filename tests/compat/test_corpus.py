"""Every corpus program, run with fastkeras and with tf.keras, must give the same results
(see harness.py for the port rules and the comparison; manifest.py for known failures)."""
import pytest

from . import harness
from .manifest import FAILING
from .programs import ALL


def _param(name):
    if name in FAILING:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=FAILING[name]))
    return name


@pytest.fixture(scope="module")
def oracle(tf):
    lib = harness.tf_keras_lib()
    cache = {}

    def results(name):
        if name not in cache:
            cache[name] = harness.execute(name, lib)
        return cache[name]
    return results


@pytest.fixture(scope="module")
def ours():
    return harness.fastkeras_lib()


@pytest.mark.parametrize("name", [_param(n) for n in ALL])
def test_program_matches_tf_keras(name, oracle, ours):
    # fastkeras first: when it raises, the (slower) oracle run is not needed for the verdict;
    # report.py runs both always, and checks that every program runs on Keras
    got = harness.execute(name, ours)
    assert got.error is None, f"fastkeras raised {got.error} at {got.where}"
    ref = oracle(name)
    # the program must run on Keras: otherwise the port, not fastkeras, is wrong
    assert ref.error is None, f"Keras failed: {ref.error} at {ref.where}"
    diffs = harness.compare(ref.results, got.results, harness.load_program(name))
    assert not diffs, "results differ from Keras:\n" + "\n".join(diffs)


def test_manifest_names_only_corpus_programs():
    assert set(FAILING) <= set(ALL), sorted(set(FAILING) - set(ALL))
