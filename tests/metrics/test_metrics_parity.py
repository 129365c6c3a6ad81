"""Metrics vs tf.keras (1e-6), exact AUC/KS vs scikit-learn / SciPy (1e-12), seeds, merging."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import metrics


def _batches(rng, n_batches=3, n=400, ties=False):
    out = []
    for _ in range(n_batches):
        y = rng.integers(0, 2, size=n)
        s = rng.uniform(size=n).astype(np.float32)
        if ties:
            s = np.round(s * 10) / 10
        s = np.clip(s + 0.2 * y, 0, 1).astype(np.float32)
        w = rng.uniform(0, 2, size=n).astype(np.float32)
        out.append((y, s, w))
    return out


@pytest.mark.parametrize("curve,summation", [("ROC", "interpolation"), ("ROC", "minoring"),
                                             ("ROC", "majoring"), ("PR", "interpolation"),
                                             ("PR", "minoring"), ("PR", "majoring")])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_tf_keras_over_batches(tf, rng, curve, summation, weighted):
    ref = tf.keras.metrics.AUC(num_thresholds=50, curve=curve, summation_method=summation)
    mine = metrics.AUC(num_thresholds=50, curve=curve, summation_method=summation)
    for y, s, w in _batches(rng):
        ref.update_state(y, s, sample_weight=w if weighted else None)
        mine.update_state(y, s, sample_weight=w if weighted else None)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6, atol=1e-7)


def test_auc_multi_label_label_weights_and_logits(tf, rng):
    y = rng.integers(0, 2, size=(300, 3))
    logits = (rng.normal(size=(300, 3)) + y).astype(np.float32)
    kw = dict(num_thresholds=100, multi_label=True, label_weights=[0.2, 1.0, 0.5],
              from_logits=True)
    ref, mine = tf.keras.metrics.AUC(**kw), metrics.AUC(**kw)
    ref.update_state(y, logits)
    mine.update_state(y, logits)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives",
                                  "FalseNegatives", "Precision", "Recall"])
@pytest.mark.parametrize("thresholds", [None, [0.2, 0.5, 0.77]])
def test_confusion_metrics_match_tf_keras(tf, rng, name, thresholds):
    ref = getattr(tf.keras.metrics, name)(thresholds=thresholds)
    mine = getattr(metrics, name)(thresholds=thresholds)
    for y, s, w in _batches(rng, n=200):
        ref.update_state(y, s, sample_weight=w)
        mine.update_state(y, s, sample_weight=w)
    np.testing.assert_allclose(np.asarray(mine.result()), ref.result().numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,y_true,y_pred", [
    ("Accuracy", [[1], [2], [3], [4]], [[0], [2], [3], [4]]),
    ("BinaryAccuracy", [[1], [1], [0], [0]], [[0.98], [0.6], [0.3], [0.7]]),
    ("CategoricalAccuracy", [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]),
    ("SparseCategoricalAccuracy", [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]),
    ("TopKCategoricalAccuracy", [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]),
    ("SparseTopKCategoricalAccuracy", [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]),
    ("MeanSquaredError", [[0, 1], [0, 0]], [[1, 1], [0, 0]]),
    ("MeanAbsoluteError", [[0, 1], [0, 0]], [[1, 1], [0, 0]]),
    ("RootMeanSquaredError", [[0, 1], [0, 0]], [[1, 1], [0, 0]]),
    ("MeanAbsolutePercentageError", [[0, 1], [0, 0]], [[1, 1], [0, 0]]),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_metrics_match_tf_keras(tf, name, y_true, y_pred, weighted):
    kwargs = {"k": 1} if "TopK" in name else {}
    ref, mine = getattr(tf.keras.metrics, name)(**kwargs), getattr(metrics, name)(**kwargs)
    sw = [0.3, 0.7] if len(y_true) == 2 else [0.1, 0.4, 0.2, 0.3]
    for _ in range(2):
        ref.update_state(np.asarray(y_true), np.asarray(y_pred, np.float32),
                         sample_weight=sw if weighted else None)
        mine.update_state(y_true, y_pred, sample_weight=sw if weighted else None)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


def test_mean_and_sum_match_tf_keras(tf, rng):
    v = rng.normal(size=(5, 3))
    w = rng.uniform(size=5)
    for cls in ("Mean", "Sum"):
        ref, mine = getattr(tf.keras.metrics, cls)(), getattr(metrics, cls)()
        ref.update_state(v, sample_weight=w)
        mine.update_state(v, sample_weight=w)
        np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_exact_auc_equals_scikit_learn(rng, ties, dtype, weighted):
    from sklearn.metrics import roc_auc_score

    n = 5000
    y = rng.integers(0, 2, size=n)
    s = (rng.normal(size=n) + 0.5 * y).astype(dtype)
    if ties:
        s = np.round(s, 1).astype(dtype)
    w = rng.uniform(0.1, 3, size=n) if weighted else None
    ref = roc_auc_score(y, s, sample_weight=w)
    got = metrics.roc_auc_score(y, s, sample_weight=w)
    assert abs(got - ref) <= 1e-12


@pytest.mark.parametrize("ties", [False, True])
def test_exact_ks_equals_scipy(rng, ties):
    from scipy.stats import ks_2samp

    y = rng.integers(0, 2, size=4000)
    s = rng.normal(size=4000) + 0.3 * y
    if ties:
        s = np.round(s, 1)
    ref = ks_2samp(s[y == 1], s[y == 0]).statistic
    assert abs(metrics.ks_statistic(y, s) - ref) <= 1e-12


def test_seed_examples():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert float(m.result()) == 0.75
    out = metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert repr(out.numpy()) == "array([0., 1.], dtype=float32)"
    assert float(metrics.sparse_categorical_accuracy(
        [2, 1, 1, 0], [[0.1, 0.6, 0.3], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.9, 0, 0.1]]
    ).numpy().mean()) == 0.75
    y_true = [[1], [1], [1], [0], [1], [1], [1], [0], [0], [0], [1], [0], [1], [0]]
    y_pred = [[0.6], [0.1], [0.4], [0.5], [0.7], [0.7], [0.7], [0.4], [0.4], [0.5], [0.8], [0.3],
              [0.5], [0.3]]
    ks = metrics.KS()
    ks.update_state(y_true, y_pred)
    assert abs(float(ks.result()) - 0.625) < 1e-7
    assert metrics.ks_statistic(y_true, y_pred) == 0.625


def test_merge_equals_single_pass_and_reset(rng):
    batches = _batches(rng, n_batches=4)
    whole = metrics.AUC()
    parts = [metrics.AUC() for _ in batches]
    for (y, s, w), part in zip(batches, parts):
        whole.update_state(y, s, sample_weight=w)
        part.update_state(y, s, sample_weight=w)
    parts[0].merge_state(parts[1:])
    assert float(parts[0].result()) == float(whole.result())
    mean_a, mean_b = metrics.Mean(), metrics.Mean()
    mean_a.update_state([1.0, 2.0])
    mean_b.update_state([3.0])
    mean_a.merge_state([mean_b])
    assert float(mean_a.result()) == 2.0
    whole.reset_state()
    assert float(whole.result()) == 0.0
    whole.reset_states()
    with pytest.raises(ValueError, match="cannot merge"):
        whole.merge_state([metrics.Mean()])


def test_memmap_chunks_stream_through_update_state(tmp_path, rng):
    n = 100_000
    scores = np.memmap(tmp_path / "s.dat", dtype=np.float32, mode="w+", shape=(n,))
    labels = np.memmap(tmp_path / "y.dat", dtype=np.int8, mode="w+", shape=(n,))
    labels[:] = rng.integers(0, 2, size=n)
    scores[:] = np.clip(rng.uniform(size=n) * 0.8 + 0.2 * labels, 0, 1)
    streamed = metrics.AUC(num_thresholds=1000)
    for i in range(0, n, 7919):
        streamed.update_state(labels[i:i + 7919], scores[i:i + 7919])
    once = metrics.AUC(num_thresholds=1000)
    once.update_state(np.asarray(labels), np.asarray(scores))
    assert float(streamed.result()) == float(once.result())
    exact = metrics.roc_auc_score(labels, scores)
    assert abs(float(once.result()) - exact) < 2e-3  # the binned error bound, see README


def test_bad_input_messages():
    with pytest.raises(ValueError, match="contains 1 NaN scores"):
        metrics.AUC().update_state([0, 1], [0.5, np.nan])
    assert metrics.roc_auc_score([0, 1, 1], [0.1, np.nan, 0.9], nan="drop") == 1.0
    with pytest.raises(ValueError, match="binary labels"):
        metrics.AUC().update_state([0, 2], [0.5, 0.6])
    with pytest.raises(ValueError, match="the lengths must match"):
        metrics.AUC().update_state([0, 1, 1], [0.5, 0.6])
    with pytest.raises(ValueError, match="is empty"):
        metrics.roc_auc_score([], [])
    with pytest.raises(ValueError, match="Only one class present"):
        metrics.roc_auc_score([1, 1], [0.2, 0.3])
    with pytest.raises(TypeError, match="`y_pred` must hold numbers"):
        metrics.AUC().update_state([0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="`num_thresholds` must be an integer > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get("auroc")
    assert isinstance(metrics.get("AUC"), metrics.AUC) and isinstance(metrics.get("acc"),
                                                                       metrics.Accuracy)


def test_histograms_identical_for_any_thread_count(rng):
    n = 2_000_000
    s = rng.uniform(size=n).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    w = rng.uniform(size=n).astype(np.float32)
    before = fk.config.get_num_threads()
    results = []
    try:
        for t in (1, 2, 3):
            fk.config.set_num_threads(t)
            m = metrics.AUC(num_thresholds=500)
            m.update_state(y, s, sample_weight=w)
            results.append((m.pos.numpy(), m.neg.numpy(), metrics.roc_auc_score(y, s, w)))
    finally:
        fk.config.set_num_threads(before)
    for r in results[1:]:
        assert np.array_equal(r[0], results[0][0]) and np.array_equal(r[1], results[0][1])
        assert r[2] == results[0][2]


@pytest.mark.parametrize("name,value", [("SensitivityAtSpecificity", 0.7),
                                        ("SpecificityAtSensitivity", 0.6),
                                        ("PrecisionAtRecall", 0.5), ("RecallAtPrecision", 0.65)])
def test_at_value_metrics_match_tf_keras(tf, rng, name, value):
    ref = getattr(tf.keras.metrics, name)(value, num_thresholds=100)
    mine = getattr(metrics, name)(value, num_thresholds=100)
    for y, s, w in _batches(rng, n=300):
        ref.update_state(y, s, sample_weight=w)
        mine.update_state(y, s, sample_weight=w)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.4])
@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_fbeta_matches_tf_keras(tf, rng, average, threshold, beta):
    y = np.eye(4)[rng.integers(0, 4, size=60)].astype(np.float32)
    p = rng.uniform(size=(60, 4)).astype(np.float32)
    w = rng.uniform(size=60).astype(np.float32)
    ref = tf.keras.metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    mine = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    ref.update_state(y, p, sample_weight=w)
    mine.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(np.asarray(mine.result()), ref.result().numpy(), rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("name,kwargs", [("BinaryCrossentropy", {}),
                                         ("BinaryCrossentropy", {"from_logits": True,
                                                                 "label_smoothing": 0.1}),
                                         ("CategoricalCrossentropy", {}),
                                         ("SparseCategoricalCrossentropy", {"from_logits": True})])
def test_crossentropy_metrics_match_tf_keras(tf, rng, name, kwargs):
    p = rng.uniform(0.01, 1, size=(20, 3)).astype(np.float32)
    if name == "BinaryCrossentropy":
        y = rng.integers(0, 2, size=(20, 3)).astype(np.float32)
    elif name == "CategoricalCrossentropy":
        p = p / p.sum(-1, keepdims=True)
        y = np.eye(3)[rng.integers(0, 3, size=20)].astype(np.float32)
    else:
        y = rng.integers(0, 3, size=20)
    ref, mine = getattr(tf.keras.metrics, name)(**kwargs), getattr(metrics, name)(**kwargs)
    ref.update_state(y, p)
    mine.update_state(y, p)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


def test_document_custom_metrics_run_as_written():
    """../shared/seeds/000 (KS) and 002 (CategoricalTruePositives) with tf -> fastkeras.ops."""
    import fastkeras as keras
    from fastkeras import ops

    class KSMetric(keras.metrics.Metric):
        def __init__(self, name="ks", **kwargs):
            super(KSMetric, self).__init__(name=name, **kwargs)
            self.true_positives = self.add_weight(name="tp", shape=(101,), initializer="zeros")
            self.false_positives = self.add_weight(name="fp", shape=(101,), initializer="zeros")

        @keras.function
        def update_state(self, y_true, y_pred):
            y_true = ops.cast(ops.reshape(y_true, (-1,)), "bool")
            y_pred = ops.cast(100 * ops.reshape(y_pred, (-1,)), "int32")
            for i in ops.arange(0, ops.reshape(y_true, (-1,)).shape[0]):
                if y_true[i]:
                    self.true_positives[y_pred[i]].assign(self.true_positives[y_pred[i]] + 1.0)
                else:
                    self.false_positives[y_pred[i]].assign(self.false_positives[y_pred[i]] + 1.0)
            return (self.true_positives, self.false_positives)

        @keras.function
        def result(self):
            cum_positive_ratio = ops.true_divide(ops.cumsum(self.true_positives),
                                                 ops.sum(self.true_positives))
            cum_negative_ratio = ops.true_divide(ops.cumsum(self.false_positives),
                                                 ops.sum(self.false_positives))
            return ops.max(ops.abs(cum_positive_ratio - cum_negative_ratio))

    y_true = ops.constant([[1], [1], [1], [0], [1], [1], [1], [0], [0], [0], [1], [0], [1], [0]])
    y_pred = ops.constant([[0.6], [0.1], [0.4], [0.5], [0.7], [0.7], [0.7], [0.4], [0.4], [0.5],
                           [0.8], [0.3], [0.5], [0.3]])
    myks = KSMetric()
    myks.update_state(y_true, y_pred)
    assert abs(float(myks.result()) - 0.625) < 1e-7

    from _seed_code import CategoricalTruePositives

    m = CategoricalTruePositives()
    m.update_state([[1], [0], [2]], [[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    assert float(m.result().numpy()) == 2.0
    assert abs(float(m.b.numpy())) <= 0.05
    m.reset_states()
    assert float(m.result().numpy()) == 0.0


@pytest.mark.parametrize("name", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [{"top_k": 2}, {"class_id": 1}, {"top_k": 1, "class_id": 2},
                                    {"thresholds": [0.3, 0.6], "class_id": 0}])
def test_precision_recall_top_k_and_class_id_match_tf_keras(tf, rng, name, kwargs):
    y = rng.integers(0, 2, size=(50, 4)).astype(np.float32)
    p = rng.uniform(size=(50, 4)).astype(np.float32)
    ref, mine = getattr(tf.keras.metrics, name)(**kwargs), getattr(metrics, name)(**kwargs)
    ref.update_state(y, p)
    mine.update_state(y, p)
    np.testing.assert_allclose(np.asarray(mine.result()), ref.result().numpy(), rtol=1e-6)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_with_explicit_thresholds_matches_tf_keras(tf, rng, curve):
    th = [0.1, 0.25, 0.3, 0.5, 0.75, 0.9]
    ref = tf.keras.metrics.AUC(thresholds=th, curve=curve)
    mine = metrics.AUC(thresholds=th, curve=curve)
    for y, s, w in _batches(rng, n=200):
        ref.update_state(y, s, sample_weight=w)
        mine.update_state(y, s, sample_weight=w)
    np.testing.assert_allclose(float(mine.result()), float(ref.result()), rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_large_input_threads_and_ties(rng, weighted):
    """Above the parallel grain: blocks cut at tie groups, every thread count agrees,
    and the result still equals scikit-learn / SciPy."""
    from scipy.stats import ks_2samp
    from sklearn.metrics import roc_auc_score

    n = 700_000
    y = rng.integers(0, 2, size=n).astype(np.int8)
    s = np.round(rng.normal(size=n) + 0.4 * y, 2).astype(np.float32)  # many ties
    w = rng.uniform(0.1, 3, size=n) if weighted else None
    before = fk.config.get_num_threads()
    got = []
    try:
        for t in (1, 2, 3):
            fk.config.set_num_threads(t)
            got.append((metrics.roc_auc_score(y, s, sample_weight=w),
                        metrics.ks_statistic(y, s, sample_weight=w)))
    finally:
        fk.config.set_num_threads(before)
    assert got[1] == got[0] and got[2] == got[0]
    assert abs(got[0][0] - roc_auc_score(y, s, sample_weight=w)) <= 1e-12
    if weighted:  # weighted CDFs at every distinct score, from NumPy
        u, inv = np.unique(s, return_inverse=True)
        cp = np.cumsum(np.bincount(inv, weights=w * (y == 1), minlength=u.size))
        cn = np.cumsum(np.bincount(inv, weights=w * (y == 0), minlength=u.size))
        ref_ks = np.max(np.abs(cp / cp[-1] - cn / cn[-1]))
    else:
        ref_ks = ks_2samp(s[y == 1], s[y == 0]).statistic
    assert abs(got[0][1] - ref_ks) <= 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_exact_refuses_bad_weights(rng, dtype, bad):
    """Weights of the scores' dtype go to the kernel without a copy; it checks them."""
    y = rng.integers(0, 2, size=1000).astype(np.int8)
    s = rng.uniform(size=1000).astype(dtype)
    w = rng.uniform(size=1000).astype(dtype)
    w[7] = bad
    for fn in (metrics.roc_auc_score, metrics.ks_statistic):
        with pytest.raises(ValueError, match="`sample_weight` must be finite and >= 0"):
            fn(y, s, sample_weight=w)
    with pytest.raises(ValueError, match="Only one class"):
        metrics.roc_auc_score(y, s, sample_weight=np.zeros(1000, dtype))
