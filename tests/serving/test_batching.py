"""Dynamic batching in the prediction server (issue 22, item 4): concurrent requests to one
model, from /predict, /v1 and /v2 alike, merged into one runner call; each request gets its
own rows and its own error. The WSGI app is called in process from many threads at once.

No timing assertions: where a test needs the merge to happen, the batch size is the exact
number of rows sent and the wait is a minute, so the batch runs when it is full (and a
failure shows as a thread still running after a generous join, not as a hang)."""
import json
import threading

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import serving_http as sh
from fastkeras.serving_http import Batching
from _wsgi import call_raw  # tests/ is on sys.path (its conftest.py)

_JOIN_S = 120  # per thread; only reached if a request never returns
_LONG_MS = 60_000.0  # "wait until the batch is full"


class _Counting:
    """Wraps a runner: counts its calls and their rows; raises ValueError on rows whose first
    feature is over 100 (a model refusing one request's inputs)."""

    def __init__(self, runner):
        self.runner, self.calls, self.lock = runner, [], threading.Lock()

    def __call__(self, x, batch_size=None):
        first = x[0] if isinstance(x, list) else x
        with self.lock:
            self.calls.append(len(first))
        if np.any(first.reshape(len(first), -1)[:, 0] > 100):
            raise ValueError("feature 0 over 100 in this request")
        return self.runner(x, batch_size=batch_size)


def _counting(model):
    """Make the app's runner a _Counting one (make_app calls compile_for_inference)."""
    real = model.compile_for_inference()
    counter = _Counting(real)
    model.compile_for_inference = lambda device="cpu": counter
    return counter, real


@pytest.fixture
def clf():
    return fk.Sequential([fk.Input((4,), name="features"),
                          fk.layers.Dense(8, activation="relu"),
                          fk.layers.Dense(3, activation="softmax")], name="clf")


def _post(app, path, body):
    status, _, out = call_raw(app, "POST", path, json.dumps(body).encode())
    return status, json.loads(out)


def _concurrently(fns):
    """Call every fn at once (a barrier first) from its own thread; their results in order."""
    results = [None] * len(fns)
    barrier = threading.Barrier(len(fns), timeout=_JOIN_S)

    def work(i):
        barrier.wait()
        results[i] = fns[i]()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(_JOIN_S)
    assert not any(t.is_alive() for t in threads), "a request never returned"
    return results


def _predict_body(route, x):
    if route == "/predict":
        return {"instances": x.tolist()}
    if route == "/v1/models/clf:predict":
        return {"inputs": {"features": x.tolist()}}
    return {"inputs": [{"name": "features", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.reshape(-1).tolist()}]}


def _answer(route, out):
    if route == "/predict":
        return np.asarray(out["predictions"], np.float32)
    if route == "/v1/models/clf:predict":
        return np.asarray(out["outputs"], np.float32)
    o = out["outputs"][0]
    return np.asarray(o["data"], np.float32).reshape(o["shape"])


# --- the configuration ---------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"max_batch_size": 0}, "max_batch_size"), ({"max_batch_size": -3}, "max_batch_size"),
    ({"max_batch_size": 2.5}, "max_batch_size"), ({"max_batch_size": True}, "max_batch_size"),
    ({"max_batch_size": "8"}, "max_batch_size"), ({"max_wait_ms": -1}, "max_wait_ms"),
    ({"max_wait_ms": float("nan")}, "max_wait_ms"), ({"max_wait_ms": float("inf")}, "max_wait_ms"),
    ({"max_wait_ms": "2"}, "max_wait_ms"), ({"max_wait_ms": None}, "max_wait_ms")])
def test_bad_config_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Batching(**kwargs)


def test_config_defaults_and_types(clf):
    b = Batching()
    assert (b.max_batch_size, b.max_wait_ms) == (256, 2.0)
    b = Batching(np.int64(8), 0)
    assert type(b.max_batch_size) is int and type(b.max_wait_ms) is float
    with pytest.raises(ValueError, match="batching"):
        sh.make_app(clf, batching={"max_batch_size": 8})
    with pytest.raises(ValueError, match="batching"):
        sh.serve("no-such-file.keras", batching=8)


def test_cli_flags(monkeypatch, capsys):
    from fastkeras.__main__ import main

    seen = []
    monkeypatch.setattr(sh, "serve", lambda *a, **k: seen.append(k["batching"]))
    assert main(["serve", "m.keras"]) == 0
    assert main(["serve", "m.keras", "--batch-wait-ms", "5"]) == 0
    assert main(["serve", "m.keras", "--max-batch-size", "64", "--batch-wait-ms", "0.5"]) == 0
    assert seen == [None, Batching(256, 5.0), Batching(64, 0.5)]
    for flag, value in (("--max-batch-size", "0"), ("--batch-wait-ms", "-1")):
        with pytest.raises(SystemExit) as e:
            main(["serve", "m.keras", flag, value])
        assert e.value.code == 2 and flag in capsys.readouterr().err


# --- merging ---------------------------------------------------------------------------------

def test_concurrent_requests_are_merged_and_get_their_own_rows(clf, rng):
    counter, runner = _counting(clf)
    rows = [1, 2, 1, 3, 1, 1, 2, 1, 1, 3, 1, 2]
    app = sh.make_app({"clf": clf}, batching=Batching(max_batch_size=sum(rows),
                                                      max_wait_ms=_LONG_MS))
    routes = ["/predict", "/v1/models/clf:predict", "/v2/models/clf/infer"]
    xs = [rng.normal(size=(n, 4)).astype("float32") for n in rows]
    fns = [lambda i=i: _post(app, routes[i % 3], _predict_body(routes[i % 3], xs[i]))
           for i in range(len(rows))]
    answers = _concurrently(fns)
    assert counter.calls == [sum(rows)]  # one runner call for all twelve requests
    for i, (status, out) in enumerate(answers):
        assert status == 200, out
        got = _answer(routes[i % 3], out)
        # float32, exactly what the runner gives on this request's rows alone
        np.testing.assert_array_equal(got, runner(xs[i]))
        np.testing.assert_allclose(got, clf.predict(xs[i], verbose=0), rtol=1e-6, atol=1e-7)
    app.close()


def test_merged_calls_in_the_metrics(clf, rng):
    pc_parser = pytest.importorskip("prometheus_client.parser")
    app = sh.make_app({"clf": clf}, batching=Batching(max_batch_size=8, max_wait_ms=_LONG_MS))
    x = rng.normal(size=(1, 4)).astype("float32")
    answers = _concurrently([lambda: _post(app, "/predict", {"instances": x.tolist()})] * 8)
    assert all(status == 200 for status, _ in answers)
    _, _, body = call_raw(app, "GET", "/metrics")
    s = {(m.name, tuple(sorted(m.labels.items()))): m.value
         for f in pc_parser.text_string_to_metric_families(body.decode()) for m in f.samples}
    assert s[("fastkeras_batch_rows_count", (("model", "clf"),))] == 1
    assert s[("fastkeras_batch_rows_sum", (("model", "clf"),))] == 8
    assert s[("fastkeras_batch_queue_seconds_count", (("model", "clf"),))] == 8
    assert s[("fastkeras_batch_queue_seconds_sum", (("model", "clf"),))] >= 0
    assert s[("fastkeras_requests_total", (("route", "/predict"), ("status", "200")))] == 8


def test_several_inputs_and_outputs_merged(rng):
    a, b = fk.Input((3,), name="a"), fk.Input((2,), name="b")
    h = fk.layers.Concatenate()([a, b])
    model = fk.Model([a, b], [fk.layers.Dense(2, name="y1")(h), fk.layers.Dense(1, name="y2")(h)],
                     name="two")
    counter, runner = _counting(model)
    app = sh.make_app({"two": model}, batching=Batching(max_batch_size=6, max_wait_ms=_LONG_MS))
    xs = [(rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32"))
          for n in (1, 2, 3)]

    def infer(xa, xb):
        return _post(app, "/v2/models/two/infer", {"inputs": [
            {"name": "b", "shape": list(xb.shape), "datatype": "FP32", "data": xb.tolist()},
            {"name": "a", "shape": list(xa.shape), "datatype": "FP32", "data": xa.tolist()}]})

    answers = _concurrently([lambda x=x: infer(*x) for x in xs])
    assert counter.calls == [6]
    for (xa, xb), (status, out) in zip(xs, answers):
        assert status == 200, out
        want = runner([xa, xb])
        for o, w in zip(out["outputs"], want):
            np.testing.assert_array_equal(np.asarray(o["data"], np.float32).reshape(o["shape"]), w)


def test_a_lone_request_is_answered(clf, rng):
    x = rng.normal(size=(2, 4)).astype("float32")
    want = clf.predict(x, verbose=0)
    for wait in (0.0, 1.0, 20.0):
        app = sh.make_app(clf, batching=Batching(max_batch_size=64, max_wait_ms=wait))
        status, out = _post(app, "/predict", {"instances": x.tolist()})
        assert status == 200, out
        np.testing.assert_allclose(out["predictions"], want, rtol=1e-6, atol=1e-7)


def test_a_request_of_a_full_batch_runs_at_once(clf, rng):
    counter, runner = _counting(clf)
    app = sh.make_app(clf, batching=Batching(max_batch_size=4, max_wait_ms=_LONG_MS))
    x = rng.normal(size=(5, 4)).astype("float32")
    status, out = _concurrently([lambda: _post(app, "/predict", {"instances": x.tolist()})])[0]
    assert status == 200 and counter.calls == [5]
    np.testing.assert_array_equal(np.asarray(out["predictions"], np.float32), runner(x))


def test_only_equal_row_shapes_are_merged(rng):
    inp = fk.Input((None, 3), name="seq")
    model = fk.Model(inp, fk.layers.Dense(2)(fk.layers.GlobalAveragePooling1D()(inp)), name="s")
    counter, runner = _counting(model)
    app = sh.make_app(model, batching=Batching(max_batch_size=6, max_wait_ms=_LONG_MS))
    xs = [rng.normal(size=(1, steps, 3)).astype("float32") for steps in (2, 5, 2, 5, 5, 2)]
    answers = _concurrently([lambda x=x: _post(app, "/predict", {"instances": x.tolist()})
                             for x in xs])
    assert sorted(counter.calls) == [3, 3]  # one call per sequence length
    for x, (status, out) in zip(xs, answers):
        assert status == 200, out
        np.testing.assert_array_equal(np.asarray(out["predictions"], np.float32), runner(x))


def test_errors_stay_with_their_request(clf, rng):
    counter, runner = _counting(clf)
    app = sh.make_app({"clf": clf}, batching=Batching(max_batch_size=6, max_wait_ms=_LONG_MS))
    xs = [rng.normal(size=(1, 4)).astype("float32") for _ in range(6)]
    xs[2][0, 0] = 1000.0  # the model refuses this one
    routes = ["/predict", "/v1/models/clf:predict", "/v2/models/clf/infer"] * 2
    answers = _concurrently([lambda i=i: _post(app, routes[i], _predict_body(routes[i], xs[i]))
                             for i in range(6)])
    # the merged call failed, then each request ran alone
    assert counter.calls == [6] + [1] * 6
    for i, (status, out) in enumerate(answers):
        if i == 2:
            assert status == 400 and "feature 0 over 100" in out["error"], out
        else:
            assert status == 200, out
            np.testing.assert_array_equal(_answer(routes[i], out), runner(xs[i]))


def test_a_malformed_request_does_not_disturb_the_batch(clf, rng):
    counter, runner = _counting(clf)
    app = sh.make_app({"clf": clf}, batching=Batching(max_batch_size=4, max_wait_ms=_LONG_MS))
    xs = [rng.normal(size=(1, 4)).astype("float32") for _ in range(4)]
    fns = [lambda x=x: _post(app, "/predict", {"instances": x.tolist()}) for x in xs]
    fns.insert(2, lambda: _post(app, "/predict", {"instances": [[1.0, 2.0]]}))  # wrong shape
    answers = _concurrently(fns)
    assert counter.calls == [4]  # refused while parsing: never queued
    assert answers[2][0] == 400 and "shape" in answers[2][1]["error"]
    for x, (status, out) in zip(xs, answers[:2] + answers[3:]):
        assert status == 200, out
        np.testing.assert_array_equal(np.asarray(out["predictions"], np.float32), runner(x))


def test_no_threads_of_its_own_and_close(clf, rng):
    before = set(threading.enumerate())
    counter, _ = _counting(clf)
    app = sh.make_app(clf, batching=Batching(max_batch_size=4, max_wait_ms=_LONG_MS))
    x = rng.normal(size=(1, 4)).astype("float32").tolist()
    answers = _concurrently([lambda: _post(app, "/predict", {"instances": x})] * 4)
    assert all(status == 200 for status, _ in answers) and counter.calls == [4]
    assert set(threading.enumerate()) <= before  # the server's threads ran the batch
    app.close()
    # after close, requests run alone at once (a lone one would otherwise wait a minute)
    status, out = _post(app, "/predict", {"instances": x})
    assert status == 200 and counter.calls == [4, 1]
