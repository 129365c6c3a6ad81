"""Metrics shared by threads: no lost updates, no torn results, merges that cannot deadlock.

Every built-in metric class exported by fastkeras.metrics is enumerated (a new one without a
case here fails test_every_metric_class_has_a_case). The data are integer-valued, so sums of
any order are exact and a threaded run must equal the serial one bit for bit (the
cross-entropy metrics, whose per-sample values are logs, to float rounding). Python's switch
interval is cut to a microsecond while threads run, so that an unlocked read-modify-write
would be interrupted (and fail these tests) within a few updates.

FASTKERAS_BENCH_METRIC_LOCK=1 also runs the single-thread cost measurement of the lock
(10M scores, Mean and AUC, locked and unlocked calls interleaved; prints the medians).
"""
import copy
import inspect
import os
import pickle
import statistics
import sys
import threading
import time

import numpy as np
import pytest

from fastkeras import config, metrics
from fastkeras.metrics.metric import Metric

N_THREADS = 8


# ---- the cases: (factory, batch maker, exact) for every exported Metric class -------------

def _scores(rng, n=64):
    y = rng.integers(0, 2, size=n).astype(np.int8)
    s = (rng.integers(0, 20, size=n) / 20.0).astype(np.float32)  # on the thresholds' grid
    return y, s


def _weighted_scores(rng, n=64):
    y, s = _scores(rng, n)
    return y, s, rng.integers(0, 3, size=n).astype(np.float32)


def _multi_label(rng, n=64, labels=3):
    y = rng.integers(0, 2, size=(n, labels)).astype(np.int8)
    s = (rng.integers(0, 20, size=(n, labels)) / 20.0).astype(np.float32)
    return y, s


def _one_hot(rng, n=64, classes=6):
    t = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, size=n)]
    p = rng.integers(0, 10, size=(n, classes)).astype(np.float32)
    return t, p


def _sparse(rng, n=64, classes=6):
    t = rng.integers(0, classes, size=n)
    return t, rng.integers(0, 10, size=(n, classes)).astype(np.float32)


def _probs(rng, n=64, classes=6):
    t, p = _one_hot(rng, n, classes)
    p = (p + 1) / (p + 1).sum(axis=1, keepdims=True)
    return t, p.astype(np.float32)


def _sparse_probs(rng, n=64, classes=6):
    t, p = _probs(rng, n, classes)
    return np.argmax(t, axis=1), p


def _regression(rng, n=64):
    t = rng.choice([1.0, 2.0, 4.0], size=(n, 1))  # |t - p| / |t|: multiples of 1/4, exact
    return t, rng.integers(-5, 6, size=(n, 1)).astype(np.float64)


def _values(rng, n=64):
    return (rng.integers(0, 10, size=n).astype(np.float32),)


def _weighted_values(rng, n=64):
    return rng.integers(0, 10, size=n).astype(np.float32), rng.integers(0, 3, size=n)


def _binary_probs(rng, n=64):
    return rng.integers(0, 2, size=(n, 1)), (rng.integers(0, 5, size=(n, 1)) / 4.0)


def _ints(rng, n=64):
    return rng.integers(0, 3, size=n), rng.integers(0, 3, size=n)


class _UserCount(Metric):
    """A user's metric written to Keras' contract: two variables, read-modify-write."""

    def __init__(self, name="user_count", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.hits = self.add_variable((), dtype="float64", name="hits")
        self.seen = self.add_variable((), dtype="float64", name="seen")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = float(np.sum(np.asarray(y_true) == np.asarray(y_pred)))
        self.hits.assign(self.hits.numpy() + hits)
        time.sleep(0)  # give another thread the chance to interleave
        self.seen.assign_add(float(np.size(y_true)))

    def result(self):
        seen = float(self.seen.numpy())
        return float(self.hits.numpy()) / seen if seen else 0.0

    def reset_state(self):  # overridden and calling super(): the lock is re-entrant
        super().reset_state()


class _UserCountTwice(_UserCount):
    """A subclass of a user's subclass whose update calls super() (nested locking)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(y_true, y_pred, sample_weight)
        super().update_state(y_true, y_pred, sample_weight)


CASES = {
    "Mean": (metrics.Mean, _values, True),
    "Mean-weighted": (metrics.Mean, _weighted_values, True),
    "Sum": (metrics.Sum, _values, True),
    "MeanMetricWrapper": (lambda: metrics.MeanMetricWrapper(metrics.accuracy), _ints, True),
    "Accuracy": (metrics.Accuracy, _ints, True),
    "BinaryAccuracy": (metrics.BinaryAccuracy, _binary_probs, True),
    "CategoricalAccuracy": (metrics.CategoricalAccuracy, _one_hot, True),
    "SparseCategoricalAccuracy": (metrics.SparseCategoricalAccuracy, _sparse, True),
    "TopKCategoricalAccuracy": (lambda: metrics.TopKCategoricalAccuracy(k=2), _one_hot, True),
    "SparseTopKCategoricalAccuracy": (lambda: metrics.SparseTopKCategoricalAccuracy(k=2),
                                      _sparse, True),
    "AUC": (metrics.AUC, _scores, True),
    "AUC-weighted": (lambda: metrics.AUC(curve="PR"), _weighted_scores, True),
    "AUC-thresholds": (lambda: metrics.AUC(thresholds=[0.25, 0.5, 0.75]), _scores, True),
    "AUC-multi_label": (lambda: metrics.AUC(multi_label=True), _multi_label, True),
    "KS": (metrics.KS, _scores, True),
    "TruePositives": (metrics.TruePositives, _scores, True),
    "FalsePositives": (metrics.FalsePositives, _scores, True),
    "TrueNegatives": (metrics.TrueNegatives, _scores, True),
    "FalseNegatives": (metrics.FalseNegatives, _scores, True),
    "Precision": (lambda: metrics.Precision(thresholds=[0.3, 0.6]), _weighted_scores, True),
    "Recall": (metrics.Recall, _scores, True),
    "Precision-top_k": (lambda: metrics.Precision(top_k=2, class_id=1), _one_hot, True),
    "SensitivityAtSpecificity": (lambda: metrics.SensitivityAtSpecificity(0.5), _scores, True),
    "SpecificityAtSensitivity": (lambda: metrics.SpecificityAtSensitivity(0.5), _scores, True),
    "PrecisionAtRecall": (lambda: metrics.PrecisionAtRecall(0.5), _scores, True),
    "RecallAtPrecision": (lambda: metrics.RecallAtPrecision(0.5), _scores, True),
    "FBetaScore": (lambda: metrics.FBetaScore(average="macro", beta=2.0), _one_hot, True),
    "F1Score": (metrics.F1Score, _one_hot, True),
    "MeanSquaredError": (metrics.MeanSquaredError, _regression, True),
    "MeanAbsoluteError": (metrics.MeanAbsoluteError, _regression, True),
    "RootMeanSquaredError": (metrics.RootMeanSquaredError, _regression, True),
    "MeanAbsolutePercentageError": (metrics.MeanAbsolutePercentageError, _regression, True),
    "BinaryCrossentropy": (metrics.BinaryCrossentropy, _binary_probs, False),
    "CategoricalCrossentropy": (metrics.CategoricalCrossentropy, _probs, False),
    "SparseCategoricalCrossentropy": (metrics.SparseCategoricalCrossentropy, _sparse_probs,
                                      False),
    "MeanSquaredLogarithmicError": (metrics.MeanSquaredLogarithmicError, _probs, False),
    "LogCoshError": (metrics.LogCoshError, _regression, False),
    "Hinge": (metrics.Hinge, _binary_probs, False),
    "SquaredHinge": (metrics.SquaredHinge, _binary_probs, False),
    "CategoricalHinge": (metrics.CategoricalHinge, _probs, False),
    "KLDivergence": (metrics.KLDivergence, _probs, False),
    "Poisson": (metrics.Poisson, _probs, False),
    "CosineSimilarity": (metrics.CosineSimilarity, _probs, False),
    "PearsonCorrelation": (metrics.PearsonCorrelation, _probs, False),
    "ConcordanceCorrelation": (metrics.ConcordanceCorrelation, _probs, False),
    "R2Score": (metrics.R2Score, _regression, False),
    "IoU": (lambda: metrics.IoU(3, [0, 2]), _ints, True),
    "MeanIoU": (lambda: metrics.MeanIoU(3), _ints, True),
    "BinaryIoU": (metrics.BinaryIoU, _binary_probs, True),
    "OneHotIoU": (lambda: metrics.OneHotIoU(6, [1, 3]), _probs, True),
    "OneHotMeanIoU": (lambda: metrics.OneHotMeanIoU(6), _probs, True),
    "user-subclass": (_UserCount, _ints, True),
    "user-subclass-of-subclass": (_UserCountTwice, _ints, True),
}


def _exported_metric_classes():
    return {name: obj for name, obj in vars(metrics).items()
            if isinstance(obj, type) and issubclass(obj, Metric) and obj is not Metric}


def test_every_metric_class_has_a_case():
    covered = set()
    for factory, _, _ in CASES.values():
        covered.add(type(factory()).__name__)
    missing = set(_exported_metric_classes()) - covered
    assert not missing, f"metric classes without a thread-safety case: {sorted(missing)}"


# ---- helpers ------------------------------------------------------------------------------

@pytest.fixture
def fast_switching():
    """Threads switch every microsecond: an unguarded read-modify-write loses updates."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run_threads(targets, timeout=120):
    """Start the targets together; re-raise the first error; fail on a hang (deadlock)."""
    errors = []
    start = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                start.wait()
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running: a deadlock?"
    if errors:
        raise errors[0]


def _value(r):
    return np.asarray(getattr(r, "_value", r), np.float64)


def _state(m):
    return [np.asarray(v.numpy(), np.float64) for v in m.variables]


def _assert_same(a, b, exact, what):
    if exact:
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=what)


def _batches(make, seed, n):
    rng = np.random.default_rng(seed)
    return [make(rng) for _ in range(n)]


# ---- concurrent updates equal the serial result ------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_concurrent_updates_equal_serial(case, fast_switching):
    factory, make, exact = CASES[case]
    per_thread = 25
    batches = _batches(make, 1, N_THREADS * per_thread)

    serial = factory()
    for b in batches:
        serial.update_state(*b)

    shared = factory()
    chunks = [batches[i::N_THREADS] for i in range(N_THREADS)]
    calls = factory()  # the same through __call__ (update + result as one step)
    _run_threads([lambda c=c: [shared.update_state(*b) for b in c] for c in chunks] +
                 [lambda c=c: [calls(*b) for b in c] for c in chunks])

    for m in (shared, calls):
        _assert_same(_value(m.result()), _value(serial.result()), exact, f"{case} result")
        for got, want in zip(_state(m), _state(serial)):
            _assert_same(got, want, exact, f"{case} state")


def test_mean_from_issue_counts_every_update(fast_switching):
    """The report: 8 threads x 2,000 updates of a Mean counted 7,534."""
    m = metrics.Mean()
    _run_threads([lambda: [m.update_state(1.0) for _ in range(2000)]] * N_THREADS)
    assert float(m.count.numpy()) == 16000.0
    assert float(m.total.numpy()) == 16000.0


# ---- reads, resets and merges racing updates -----------------------------------------------

def _allowed_results(factory, batch, k_max):
    """result() after 0, 1, ..., k_max updates with the same batch: every state that a
    whole number of updates can leave (resets and merges included)."""
    m, out = factory(), []
    out.append(_value(m.result()))
    m.update_state(*batch)
    m.reset_state()  # a reset state can differ from a fresh one (built shapes)
    out.append(_value(m.result()))
    for _ in range(k_max):
        m.update_state(*batch)
        out.append(_value(m.result()))
    return out


def _is_allowed(r, allowed, exact):
    for a in allowed:
        if a.shape == r.shape and (np.array_equal(a, r) if exact else
                                   np.allclose(a, r, rtol=1e-5, atol=1e-6)):
            return True
    return False


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_during_updates_resets_and_merges_are_whole(case, fast_switching):
    factory, make, exact = CASES[case]
    batch = make(np.random.default_rng(2))
    updates, merges, resets = 20, 10, 5
    total = N_THREADS * updates + 2 * merges + 1
    allowed = _allowed_results(factory, batch, total)

    shared = factory()
    shared.update_state(*batch)  # built (FBetaScore, multi-label AUC take shapes from data)
    others = []
    for _ in range(2 * merges):
        o = factory()
        o.update_state(*batch)
        others.append(o)
    seen = []

    def update():
        for _ in range(updates):
            shared.update_state(*batch)

    def read():
        for _ in range(updates):
            seen.append(_value(shared.result()))

    def merge(part):
        for o in part:
            shared.merge_state([o])

    def reset():
        for _ in range(resets):
            shared.reset_state()
            seen.append(_value(shared.result()))

    _run_threads([update] * (N_THREADS - 2) + [read, read,
                  lambda: merge(others[:merges]), lambda: merge(others[merges:]), reset])
    torn = [r for r in seen if not _is_allowed(r, allowed, exact)]
    assert not torn, f"{case}: {len(torn)} of {len(seen)} results match no whole state"
    assert _is_allowed(_value(shared.result()), allowed, exact)

    # without the resets, every update and merge counts
    shared.reset_state()
    _run_threads([update] * (N_THREADS - 2) + [read, lambda: merge(others[:merges]),
                                               lambda: merge(others[merges:])])
    want = allowed[1 + (N_THREADS - 2) * updates + 2 * merges]
    _assert_same(_value(shared.result()), want, exact, f"{case} after updates and merges")


@pytest.mark.parametrize("case", ["Mean", "AUC", "FBetaScore", "user-subclass"])
def test_cross_merges_do_not_deadlock(case, fast_switching):
    """a.merge_state([b]) and b.merge_state([a]) at once: the locks are taken in one order."""
    factory, make, exact = CASES[case]
    batch = make(np.random.default_rng(3))
    a, b = factory(), factory()
    a.update_state(*batch)
    b.update_state(*batch)
    rounds = 30
    _run_threads([lambda: [a.merge_state([b]) for _ in range(rounds)],
                  lambda: [b.merge_state(iter([a])) for _ in range(rounds)],
                  lambda: [a.update_state(*batch) for _ in range(rounds)],
                  lambda: [b.result() for _ in range(rounds)]], timeout=60)
    assert np.isfinite(_value(a.result())).all() and np.isfinite(_value(b.result())).all()


# ---- what the wrapping must keep -------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_pickle_copy_and_config_survive_the_lock(case):
    factory, make, exact = CASES[case]
    m = factory()
    for b in _batches(make, 4, 3):
        m.update_state(*b)
    m.result()  # the lock now exists
    want = _value(m.result())
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert c.__dict__.get("_metric_lock") is not m.__dict__.get("_metric_lock")
        _assert_same(_value(c.result()), want, True, f"{case} copy")
        c.update_state(*make(np.random.default_rng(5)))  # independent state, working lock
        _assert_same(_value(m.result()), want, True, f"{case} original after the copy's update")
    shallow = copy.copy(m)
    assert shallow._metric_lock is m._metric_lock  # shares the variables, so the lock
    if not case.startswith("user") and case != "MeanMetricWrapper":
        config_ = m.get_config()
        assert "_metric_lock" not in config_
        type(m).from_config(config_).update_state(*make(np.random.default_rng(6)))


def test_wrapped_methods_keep_names_docs_and_signatures():
    assert metrics.AUC.update_state.__name__ == "update_state"
    assert list(inspect.signature(metrics.AUC.update_state).parameters) == [
        "self", "y_true", "y_pred", "sample_weight"]
    assert metrics.Mean.update_state.__qualname__ == "Mean.update_state"
    assert metrics.Metric.merge_state.__doc__.startswith("Add the states")
    # each definition wrapped once, where defined; inherited ones are not wrapped again
    assert metrics.KS.update_state is metrics.AUC.update_state
    assert "update_state" not in vars(metrics.AUC)


def test_a_metric_built_without_init_still_locks(fast_switching):
    """The lock is created on first use, however the instance came to be."""
    m = metrics.Mean.__new__(metrics.Mean)
    m.__dict__.update(copy.deepcopy(metrics.Mean()).__dict__)
    m.__dict__.pop("_metric_lock", None)
    _run_threads([lambda: [m.update_state(1.0) for _ in range(500)]] * N_THREADS)
    assert float(m.count.numpy()) == 500.0 * N_THREADS


def test_deepcopy_during_updates_is_a_whole_state(fast_switching):
    m = metrics.Mean()
    copies = []
    _run_threads([lambda: [m.update_state([1.0, 1.0]) for _ in range(300)]] * 4 +
                 [lambda: [copies.append(copy.deepcopy(m)) for _ in range(50)]])
    for c in copies:
        assert float(c.count.numpy()) == float(c.total.numpy())  # never half an update
        assert float(c.count.numpy()) % 2 == 0


# ---- single-thread cost (opt-in benchmark) -----------------------------------------------

@pytest.mark.skipif(not os.environ.get("FASTKERAS_BENCH_METRIC_LOCK"),
                    reason="benchmark: set FASTKERAS_BENCH_METRIC_LOCK=1")
def test_lock_costs_nothing_measurable_on_10m_scores(capsys):
    """update_state on 10M scores, through the locked method and its unlocked original
    (__wrapped__), interleaved so machine noise hits both alike; medians of 101 runs."""
    rng = np.random.default_rng(0)
    n, runs = 10_000_000, 101
    s = rng.uniform(size=n).astype(np.float32)
    y = (rng.uniform(size=n) < 0.3).astype(np.int8)
    mean, auc = metrics.Mean(), metrics.AUC()
    pairs = {
        "Mean": (lambda: mean.update_state(s),
                 lambda: type(mean).update_state.__wrapped__(mean, s)),
        "AUC": (lambda: auc.update_state(y, s),
                lambda: type(auc).update_state.__wrapped__(auc, y, s)),
    }
    lines = [f"threads={config.get_num_threads()} OMP_NUM_THREADS="
             f"{os.environ.get('OMP_NUM_THREADS')} n={n} runs={runs}"]
    for name, (locked, unlocked) in pairs.items():
        times = {"locked": [], "unlocked": []}
        for f in (locked, unlocked):
            f()  # warm-up
        for i in range(runs):
            for key, f in ((("locked", locked), ("unlocked", unlocked)) if i % 2 else
                           (("unlocked", unlocked), ("locked", locked))):
                t0 = time.perf_counter()
                f()
                times[key].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        lines.append(f"{name}.update_state 10M: locked {med['locked']:.2f} ms, unlocked "
                     f"{med['unlocked']:.2f} ms ({100 * (med['locked'] / med['unlocked'] - 1):+.1f}%)")
    # the lock alone: an uncontended acquire/release pair around a no-op update
    tiny = metrics.Sum()
    x = np.zeros(0, np.float32)
    t0 = time.perf_counter()
    for _ in range(20000):
        tiny.update_state(x)
    t_locked = (time.perf_counter() - t0) / 20000
    t0 = time.perf_counter()
    for _ in range(20000):
        metrics.Sum.update_state.__wrapped__(tiny, x)
    t_plain = (time.perf_counter() - t0) / 20000
    lines.append(f"lock overhead per call: {(t_locked - t_plain) * 1e6:.2f} us "
                 f"(empty Sum update {t_plain * 1e6:.1f} us unlocked)")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
