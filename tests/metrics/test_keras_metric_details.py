"""Metrics as Keras 3 defines them: variables (names, shapes, values), AUC.thresholds,
every curve and summation method, negative sample weights, label_weights without
multi_label, top_k's tie rule, sample-weight shapes against (N, C) labels, the IoU family.
Every value is compared with tf.keras on the same inputs."""
import inspect

import numpy as np
import pytest

import fastkeras as fk

CTOR = {"SensitivityAtSpecificity": (0.5,), "SpecificityAtSensitivity": (0.5,),
        "PrecisionAtRecall": (0.5,), "RecallAtPrecision": (0.5,), "IoU": (2, [0, 1]),
        "MeanIoU": (2,), "OneHotIoU": (4, [0, 1]), "OneHotMeanIoU": (4,)}
ONE_HOT = {"CategoricalAccuracy", "TopKCategoricalAccuracy", "CategoricalCrossentropy",
           "FBetaScore", "F1Score", "CategoricalHinge", "KLDivergence", "OneHotIoU",
           "OneHotMeanIoU"}
SPARSE = {"SparseCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
          "SparseCategoricalCrossentropy"}


def _data(name, rng):
    if name in ONE_HOT:
        return np.eye(4)[rng.integers(0, 4, 8)].astype("float32"), \
            rng.random((8, 4)).astype("float32")
    if name in SPARSE:
        return rng.integers(0, 4, 8), rng.random((8, 4)).astype("float32")
    if name in ("Mean", "Sum"):
        return (rng.random(8).astype("float32"),)
    return (rng.random((8, 1)) > 0.5).astype("float32"), rng.random((8, 1)).astype("float32")


def _keras_metric_classes():
    import keras

    return sorted(n for n, c in vars(keras.metrics).items()
                  if inspect.isclass(c) and issubclass(c, keras.metrics.Metric)
                  and n not in ("Metric", "MeanMetricWrapper"))


def test_every_keras_metric_class_exists():
    pytest.importorskip("tensorflow")
    missing = [n for n in _keras_metric_classes() if not hasattr(fk.metrics, n)]
    assert not missing


@pytest.mark.parametrize("name", [
    "AUC", "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives",
    "FalseNegatives", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "PrecisionAtRecall", "RecallAtPrecision", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
    "OneHotMeanIoU", "Mean", "Sum", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "RootMeanSquaredError", "R2Score", "FBetaScore", "F1Score",
    "Hinge", "KLDivergence", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"])
def test_variables_and_results_as_keras(tf, name):
    rng = np.random.default_rng(0)
    args = CTOR.get(name, ())
    km, fm = getattr(tf.keras.metrics, name)(*args), getattr(fk.metrics, name)(*args)
    batch = _data(name, rng)
    for m in (km, fm):
        m.update_state(*batch)
        m.update_state(*batch)
    kv = [(v.name, tuple(v.shape)) for v in km.variables]
    fv = [(v.name, tuple(v.shape)) for v in fm.variables]
    assert fv == kv
    for a, b in zip(fm.variables, km.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fm.result()), np.asarray(km.result()), rtol=1e-5,
                               atol=1e-6)


def test_confusion_attributes(tf):
    rng = np.random.default_rng(1)
    t, p = (rng.random(30) > 0.5).astype("float32"), rng.random(30).astype("float32")
    for name in ("AUC", "Precision", "Recall", "SensitivityAtSpecificity"):
        args = CTOR.get(name, ())
        km, fm = getattr(tf.keras.metrics, name)(*args), getattr(fk.metrics, name)(*args)
        km.update_state(t, p), fm.update_state(t, p)
        for attr in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            if hasattr(km, attr):
                np.testing.assert_allclose(np.asarray(getattr(fm, attr)),
                                           np.asarray(getattr(km, attr)), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"num_thresholds": 5}, {"thresholds": [0.3, 0.6]}])
def test_auc_thresholds_as_keras_lists_them(tf, kwargs):
    np.testing.assert_allclose(fk.metrics.AUC(**kwargs).thresholds,
                               tf.keras.metrics.AUC(**kwargs).thresholds, rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(fk.metrics.PrecisionAtRecall(0.5, num_thresholds=7).thresholds,
                               tf.keras.metrics.PrecisionAtRecall(0.5,
                                                                  num_thresholds=7).thresholds)


def _both(tf, make, *args, **kwargs):
    out = []
    for lib in (tf.keras, fk):
        m = make(lib)
        m.update_state(*args, **kwargs)
        out.append(float(np.asarray(m.result())))
    return out


@pytest.mark.parametrize("curve", ["ROC", "PR", "PRGAIN"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
def test_auc_curves_and_summation_methods(tf, curve, method):
    rng = np.random.default_rng(2)
    t, p = (rng.random(60) > 0.5).astype("float32"), rng.random(60).astype("float32")
    w = rng.random(60).astype("float32")
    want, got = _both(tf, lambda L: L.metrics.AUC(curve=curve, summation_method=method,
                                                 num_thresholds=50), t, p, sample_weight=w)
    assert got == pytest.approx(want, rel=1e-5)


def test_auc_refuses_an_unknown_curve():
    with pytest.raises(ValueError, match="Invalid AUC curve value"):
        fk.metrics.AUC(curve="NOPE")


@pytest.mark.parametrize("name", ["AUC", "Precision", "Recall", "TruePositives",
                                  "SensitivityAtSpecificity", "Mean", "BinaryAccuracy"])
def test_negative_sample_weights_as_keras(tf, name):
    rng = np.random.default_rng(3)
    t, p = (rng.random(20) > 0.5).astype("float32"), rng.random(20).astype("float32")
    w = rng.normal(size=20).astype("float32")
    args = CTOR.get(name, ())
    data = (p,) if name == "Mean" else (t, p)
    want, got = _both(tf, lambda L: getattr(L.metrics, name)(*args), *data, sample_weight=w)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_exact_auc_function_still_refuses_negative_weights():
    with pytest.raises(ValueError, match=">= 0"):
        fk.metrics.roc_auc_score([0, 1, 1], [0.1, 0.4, 0.8], sample_weight=[1, -1, 1])


def test_label_weights_without_multi_label(tf):
    rng = np.random.default_rng(4)
    t, p = (rng.random((10, 3)) > 0.5).astype("float32"), rng.random((10, 3)).astype("float32")
    for multi in (False, True):
        want, got = _both(tf, lambda L: L.metrics.AUC(multi_label=multi,
                                                     label_weights=[1, 2, 0.5]), t, p)
        assert got == pytest.approx(want, rel=1e-5)
    w = rng.random(10).astype("float32")
    want, got = _both(tf, lambda L: L.metrics.AUC(label_weights=[1, 2, 0.5]), t, p,
                      sample_weight=w)
    assert got == pytest.approx(want, rel=1e-5)


def test_top_k_keeps_exactly_k_lower_index_first(tf):
    ties = np.array([[0.5, 0.5, 0.5, 0.1], [0.2, 0.2, 0.3, 0.3]], "float32")
    labels = np.array([[0, 0, 1, 0], [1, 0, 0, 0.0]], "float32")
    for name, kw in (("Precision", {"top_k": 1}), ("Recall", {"top_k": 2}),
                     ("Precision", {"top_k": 2, "class_id": 1})):
        want, got = _both(tf, lambda L: getattr(L.metrics, name)(**kw), labels, ties)
        assert got == pytest.approx(want, abs=1e-7), (name, kw)
    for name in ("TopKCategoricalAccuracy",):
        want, got = _both(tf, lambda L: getattr(L.metrics, name)(k=1), labels, ties)
        assert got == pytest.approx(want)


@pytest.mark.parametrize("shape", [(6,), (6, 1), (1, 3), (6, 3)], ids=str)
@pytest.mark.parametrize("name", ["Precision", "Recall", "AUC", "TruePositives",
                                  "BinaryAccuracy", "MeanSquaredError", "CategoricalAccuracy",
                                  "CategoricalCrossentropy"])
def test_sample_weight_shapes_against_n_by_c_labels(tf, name, shape):
    rng = np.random.default_rng(5)
    y = np.eye(3)[rng.integers(0, 3, 6)].astype("float32")
    p = rng.random((6, 3)).astype("float32")
    w = rng.random(shape).astype("float32")
    try:
        want = _both(tf, lambda L: getattr(L.metrics, name)(), y, p, sample_weight=w)[0]
    except (ValueError, tf.errors.InvalidArgumentError):
        with pytest.raises(ValueError, match="sample_weight"):
            m = getattr(fk.metrics, name)()
            m.update_state(y, p, sample_weight=w)
        return
    m = getattr(fk.metrics, name)()
    m.update_state(y, p, sample_weight=w)
    assert float(np.asarray(m.result())) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("name,args,kw", [
    ("IoU", (3, [0, 2]), {}), ("IoU", (3, [1]), {"ignore_class": 0}),
    ("MeanIoU", (3,), {}), ("MeanIoU", (4,), {"sparse_y_pred": False}),
    ("OneHotIoU", (3, [0, 1]), {}), ("OneHotMeanIoU", (3,), {}),
    ("BinaryIoU", (), {"threshold": 0.3}), ("BinaryIoU", (), {"target_class_ids": [1]})])
def test_iou_family_matches_keras_with_integer_weights(tf, name, args, kw):
    rng = np.random.default_rng(6)
    n = args[0] if args else 2
    if name.startswith("OneHot"):
        t, p = np.eye(n)[rng.integers(0, n, 12)], rng.random((12, n))
    elif name == "BinaryIoU":
        t, p = rng.integers(0, 2, 12), rng.random(12)
    elif kw.get("sparse_y_pred") is False:
        t, p = rng.integers(0, n, 12), rng.random((12, n))
    else:
        t, p = rng.integers(0, n, 12), rng.integers(0, n, 12)
    w = rng.integers(0, 3, 12)
    for sw in (None, w):
        want, got = _both(tf, lambda L: getattr(L.metrics, name)(*args, **kw), t, p,
                          sample_weight=sw)
        assert got == pytest.approx(want, rel=1e-6)
    cfg = getattr(fk.metrics, name)(*args, **kw).get_config()
    want_cfg = getattr(tf.keras.metrics, name)(*args, **kw).get_config()
    for c in (cfg, want_cfg):  # Keras numbers repeated default names (io_u_3)
        c.pop("dtype"), c.pop("name")
    assert cfg == want_cfg


def test_binary_iou_keeps_fractional_weights():
    # Keras 3.15 truncates them in its integer matrix and gives 0.0; its documentation
    # states 0.17361112, the exact value
    m = fk.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert float(m.result()) == pytest.approx(0.17361112, rel=1e-6)
    m.reset_state()
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert float(m.result()) == pytest.approx(0.33333334, rel=1e-6)


def test_mean_reduces_n_by_c_values_under_row_weights(tf):
    rng = np.random.default_rng(7)
    v = rng.random((5, 3)).astype("float32")
    for shape in [(5, 1), (1, 3), (5, 3), (5,)]:
        w = rng.random(shape).astype("float32")
        for name in ("Mean", "Sum"):
            want, got = _both(tf, lambda L: getattr(L.metrics, name)(), v, sample_weight=w)
            assert got == pytest.approx(want, rel=1e-5), (name, shape)
