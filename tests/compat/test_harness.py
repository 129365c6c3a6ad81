"""The corpus harness itself: the comparison catches what it must and the seeding is the
same in both libraries."""
import types

import numpy as np

from . import harness


def test_compare_exact_and_numeric_rules():
    prog = types.SimpleNamespace(TOLERANCES={"loose*": (0.1, 0.0)})
    ref = {"count": 3, "name": "a", "flag": True, "loss": [1.0, 2.0],
           "pred": np.array([[0.5, 0.25]]), "loose_loss": [1.0], "shapes": [[None, 4]]}
    assert harness.compare(ref, dict(ref), prog) == []
    got = dict(ref, count=4, name="b", flag=False, loss=[1.0, 2.001],
               pred=np.array([[0.5, 0.2501]]), loose_loss=[1.05], shapes=[[None, 5]])
    diffs = harness.compare(ref, got, prog)
    where = sorted(d.split(":")[0] for d in diffs)
    # 2.001 vs 2.0 is beyond rtol 1e-4, 0.2501 vs 0.25 too (atol 1e-5); 1.05 is within 10%
    assert where == ["count", "flag", "loss", "name", "pred", "shapes[0][1]"]


def test_compare_reports_missing_keys_lengths_and_types():
    diffs = harness.compare({"a": 1, "b": [1.0, 2.0], "c": 1.0},
                            {"a": 1, "b": [1.0], "d": 2, "c": 1})
    assert "<results>: keys differ (missing [], extra ['d'])" in diffs
    assert any(d.startswith("b: length 1") for d in diffs)
    assert any(d.startswith("c:") for d in diffs)  # 1 (int) is not 1.0 (float)


def test_seed_weights_is_library_independent(tf):
    fk, tk = harness.fastkeras_lib().keras, harness.tf_keras_lib().keras
    built = []
    for keras in (fk, tk):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(2)])
        harness.seed_weights(model, 7)
        built.append(model.get_weights())
    assert len(built[0]) == len(built[1]) == 8
    for a, b in zip(*built):
        assert np.array_equal(a, b)
    kernel, bias, gamma, beta, mean, var = built[0][:6]
    assert not np.array_equal(kernel, np.round(kernel))          # drawn
    assert np.array_equal(bias, np.zeros(4)) and np.array_equal(gamma, np.ones(4))
    assert np.array_equal(var, np.ones(4))                         # deterministic values kept
