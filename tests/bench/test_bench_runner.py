"""The benchmark runner's bookkeeping (never its timings): every row runs at the thread
count it states, for every library; bandwidth bounds come from STREAM passes with the
row's mix of streams inside its own rounds; a time under the bound is reported."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import _numpy_blas
from fastkeras.bench import bandwidth as bw
from fastkeras.bench import peers, runner, torch_peers
from fastkeras.bench.workloads import WORKLOADS, Workload


@pytest.fixture
def small_streams(monkeypatch):
    monkeypatch.setattr(bw, "STREAM_BYTES", 4 * 2**20)
    before = fk.config.get_num_threads()
    yield
    fk.config.set_num_threads(before)


def _recording_workload(name, seen, threads=None, **kw):
    def make():
        seen.setdefault(name, {})["make"] = (fk.config.get_num_threads(),
                                             _numpy_blas.get_threads())

        def run():
            seen[name]["run"] = (fk.config.get_num_threads(), _numpy_blas.get_threads())

        return {"fastkeras": run, "numpy": lambda: np.zeros(10).sum()}

    return Workload(name, make, threads=threads, cold=False, **kw)


def _run(monkeypatch, workloads, **kw):
    monkeypatch.setattr(runner, "WORKLOADS", workloads)
    return runner.run_benchmarks(repeats=2, warmup=0, cold=False, progress=False, **kw)


def test_every_row_runs_at_the_thread_count_it_states(monkeypatch, small_streams):
    seen = {}
    res = _run(monkeypatch, [_recording_workload("run's count", seen),
                             _recording_workload("own count", seen, threads=1)], threads=2)
    blas = 2 if _numpy_blas.controlled() else None
    assert seen["run's count"] == {"make": (2, blas), "run": (2, blas)}
    blas1 = 1 if _numpy_blas.controlled() else None
    assert seen["own count"] == {"make": (1, blas1), "run": (1, blas1)}
    assert [r["threads"] for r in res["rows"]] == [2, 1]
    assert res["threads"] == 2
    assert res["rows"][1]["thread_settings"]["fastkeras"] == 1
    md = runner.to_markdown(res)
    assert "**2 threads** unless a row says otherwise (fastkeras 2" in md
    assert "**own count** (1 thread: fastkeras 1" in md
    assert "**run's count** (2 threads" in md
    assert fk.config.get_num_threads() == 2  # the run's count is left in place


def test_bandwidth_bound_from_the_rows_own_stream_mix(monkeypatch, small_streams):
    seen = {}
    mix = bw.Traffic("1 read, 2 updated", reads=1, updates=2)
    w = _recording_workload("stream row", seen, bytes_moved=5 * 4 * 2**20, traffic=mix)
    res = _run(monkeypatch, [w], threads=2)
    row = res["rows"][0]
    assert set(row["stream_GBps"]) == {"1", "2"}
    assert all(v > 0 for v in row["stream_GBps"].values())
    assert row["bound_kind"] == "1 read, 2 updated bandwidth"
    best = max(row["stream_GBps"].values()) * 1e9
    assert row["bound_s"] == pytest.approx(w.bytes_moved / best)
    assert set(row["median_s"]) == {"fastkeras", "numpy"}  # the STREAM passes are not rows
    assert "from STREAM loops in the same rounds" in runner.to_markdown(res)


def test_a_time_under_the_bound_is_reported_not_hidden(monkeypatch, small_streams):
    seen = {}
    w = _recording_workload("impossible", seen, bytes_moved=10**13)  # 10 TB in microseconds
    res = _run(monkeypatch, [w], threads=1)
    assert res["rows"][0]["above_bound"] == ["fastkeras", "numpy"]
    assert "Faster than the measured bound: fastkeras, numpy" in runner.to_markdown(res)


def test_compute_bound_rows_scale_the_one_core_peak_by_their_threads(monkeypatch,
                                                                     small_streams):
    monkeypatch.setattr(runner, "measure_peak_flops", lambda n: 1e9 * n)
    seen = {}
    res = _run(monkeypatch, [_recording_workload("flops", seen, flops=4e9, threads=2)],
               threads=1)
    assert res["rows"][0]["bound_s"] == pytest.approx(2.0)
    assert res["rows"][0]["bound_kind"] == "compute"


def test_busy_core_is_recorded(monkeypatch, small_streams):
    seen = {}
    res = _run(monkeypatch, [_recording_workload("busy", seen)], threads=1, busy_core=True)
    assert res["busy_core"] is True
    assert "one other core busy" in runner.to_markdown(res)


def test_bad_thread_counts():
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        runner.run_benchmarks(threads=0, name_filter="no such row")
    with pytest.raises(SystemExit):
        runner.main(["--threads", "0"])


def test_traffic_records():
    assert bw.Traffic("adam", reads=1, updates=3).bytes_per_element(4) == 28
    assert bw.COPY.bytes_per_element(4) == 8 and bw.READ2.bytes_per_element(4) == 8
    with pytest.raises(ValueError, match="at least one stream"):
        bw.Traffic("nothing")
    with pytest.raises(ValueError, match="negative"):
        bw.Traffic("bad", reads=-1, writes=2)
    loops = bw.StreamLoops(bw.ADD_UPDATE, 2, stream_bytes=4096)
    assert loops.bytes_per_pass == 3 * 4096
    loops.run(2)
    with pytest.raises(ValueError, match=r"threads must be in 1..2, got 3"):
        loops.run(3)
    loops.close()


def test_every_host_bandwidth_row_declares_its_stream_mix():
    for w in WORKLOADS:
        if w.bytes_moved and not w.device_bandwidth:
            assert isinstance(w.traffic, bw.Traffic), w.name
            # its bytes are whole elements of its mix (float32, or scores + int8 labels)
            assert w.bytes_moved > 0


def test_settings_describe_what_each_library_runs_with():
    peers.pin(1)
    s = peers.settings()
    assert s.fastkeras == 1
    text = s.describe()
    assert text.startswith("fastkeras 1, NumPy's BLAS ")


def test_torch_peers_refuse_a_peer_that_computes_something_else():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.integers(0, 5, 8)
    loss_fn = fk.losses.SparseCategoricalCrossentropy(from_logits=True)
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        loss = loss_fn(y, v)
    grad = np.asarray(tape.gradient(loss, v))
    step = torch_peers.xent(x, y, float(np.asarray(loss)), grad)  # agrees: returned
    assert step is not None
    with pytest.raises(AssertionError, match="PyTorch's cross-entropy gradient differs"):
        torch_peers.xent(x, y, float(np.asarray(loss)), grad * 2)


def test_torch_lstm_peer_matches_the_keras_layer():
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    dy = rng.standard_normal((3, 7, 6)).astype(np.float32)
    layer = fk.layers.LSTM(6, return_sequences=True)
    vx = fk.Variable(x)
    with fk.GradientTape() as tape:
        y = layer(vx)
    dx = tape.gradient(y, vx, output_gradients=dy)
    assert torch_peers.lstm(layer, x, dy, np.asarray(y), np.asarray(dx)) is not None
