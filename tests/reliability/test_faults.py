"""Fault tests: kernels on shared read-only inputs from 8 threads while another thread
keeps changing the thread count; no memory growth over 10,000 training and prediction
steps; NaN in training stops it (TerminateOnNaN); float16 / bfloat16-like inputs and
denormals; sizes that overflow or exceed memory refused before any allocation."""
import gc
import os
import threading
import tracemalloc

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops


def test_kernels_from_8_threads_while_the_thread_count_changes(rng):
    x = rng.normal(size=(64, 300)).astype(np.float32)
    x.flags.writeable = False  # shared and read-only
    y = rng.integers(0, 300, size=64)
    img = rng.normal(size=(4, 12, 12, 8)).astype(np.float32)
    img.flags.writeable = False
    k = rng.normal(size=(3, 3, 8, 16)).astype(np.float32)
    scores = rng.random(50000).astype(np.float32)
    labels = (rng.random(50000) < 0.3).astype(np.int8)

    def work():
        loss = fk.losses.sparse_categorical_crossentropy(y, x, from_logits=True)
        auc = fk.metrics.AUC()
        auc.update_state(labels, scores)
        return (np.asarray(loss), np.asarray(ops.conv(img, k, 1, "same")),
                np.asarray(ops.max_pool(img, 2)), np.asarray(ops.gelu(x)),
                float(auc.result()))

    serial = work()
    stop = threading.Event()
    before = fk.config.get_num_threads()

    def flip():  # set_num_threads from another thread, all the time
        n = 1
        while not stop.is_set():
            fk.config.set_num_threads(n)
            n = 3 - n

    errors, mismatches = [], []

    def worker():
        try:
            for _ in range(15):
                got = work()
                for a, b in zip(got, serial):
                    if not np.array_equal(a, b):
                        mismatches.append((a, b))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        flipper.join()
        fk.config.set_num_threads(before)
    assert not errors, errors
    assert not mismatches, "results changed with the thread count or across threads"


def _rss_bytes():
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_no_memory_growth_over_10000_steps(rng):
    model = fk.Sequential([fk.Input((20,)), fk.layers.Dense(32, activation="relu"),
                           fk.layers.BatchNormalization(), fk.layers.Dense(4,
                                                                           activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    runner = model.compile_for_inference()
    x = rng.normal(size=(16, 20)).astype(np.float32)
    y = rng.integers(0, 4, size=16)

    def steps(n):
        for _ in range(n):
            model.train_on_batch(x, y)
            model.predict(x, verbose=0)
            runner(x)

    steps(300)  # warm: caches, pools and lazily built state settle
    gc.collect()
    tracemalloc.start()
    rss0 = _rss_bytes()
    snap0 = tracemalloc.take_snapshot()
    steps(10000)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    rss1 = _rss_bytes()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert grown < 512 * 1024, f"Python allocations grew by {grown} bytes"
    assert rss1 - rss0 < 16 * 2 ** 20, f"RSS grew by {(rss1 - rss0) / 2 ** 20:.1f} MB"


def test_terminate_on_nan_stops_training(rng):
    model = fk.Sequential([fk.Input((3,)), fk.layers.Dense(1)])
    model.compile(fk.optimizers.SGD(1e30), "mse")  # diverges to inf, then NaN
    x = rng.normal(size=(64, 3)).astype(np.float32) * 1e10
    y = rng.normal(size=(64, 1)).astype(np.float32)
    hist = model.fit(x, y, batch_size=8, epochs=5, verbose=0,
                     callbacks=[fk.callbacks.TerminateOnNaN()])
    assert len(hist.history["loss"]) == 1  # stopped in the first epoch
    assert not np.isfinite(hist.history["loss"][0])


def test_half_precision_inputs_are_computed_in_float32(rng):
    """float16 inputs (and bfloat16-like values stored as float16 / float32) are cast to
    float32 for the kernels; outputs keep float16 where TensorFlow's would."""
    x16 = rng.normal(size=(8, 10)).astype(np.float16)
    y = rng.integers(0, 10, size=8)
    loss = np.asarray(fk.losses.sparse_categorical_crossentropy(y, x16, from_logits=True))
    ref = np.asarray(fk.losses.sparse_categorical_crossentropy(y, x16.astype(np.float32),
                                                               from_logits=True))
    np.testing.assert_allclose(loss.astype(np.float32), ref, rtol=1e-3)
    s = np.asarray(ops.sigmoid(x16))
    assert s.dtype == np.float16
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x16.astype(np.float64))), rtol=2e-3)


def test_denormals_and_extremes_stay_exact(rng):
    tiny = np.array([1e-45, -1e-45, 1e-40, 0.0, -0.0], dtype=np.float32)  # denormal floats
    np.testing.assert_array_equal(np.asarray(ops.relu(tiny)), np.maximum(tiny, 0))
    s = np.asarray(ops.sigmoid(tiny))
    np.testing.assert_allclose(s, 0.5, rtol=1e-7)
    big = np.array([[1e38, -1e38, 0.0]], dtype=np.float32)
    out = np.asarray(fk.losses.sparse_categorical_crossentropy(np.array([1]), big,
                                                               from_logits=True))
    assert np.isfinite(out).all() and out[0] > 1e37  # the true value, not inf or NaN


def test_overflowing_sizes_are_refused_before_allocation():
    with pytest.raises(ValueError, match="bytes"):
        fk.layers.Dense(2 ** 40)(fk.Input((2 ** 30,)))
    with pytest.raises(ValueError, match="negative or unknown"):
        fk.layers.Layer().add_weight(shape=(-1, 3))
    with pytest.raises((ValueError, MemoryError), match="shape|size|large|memory|bytes"):
        ops.zeros((2 ** 62, 2 ** 10))
