"""`python -m fastkeras serve m.keras`: a real server process on loopback answered with
real HTTP requests; malformed JSON, wrong shapes, wrong methods and paths get clear 4xx
answers and the server stays up."""
import json
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import fastkeras as fk

pytest.importorskip("waitress")


def _request(url, body=None, method=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:  # waitress' own answers (far too large bodies) are plain text
            return e.code, {"error": text.decode(errors="replace")}


@pytest.fixture
def server(tmp_path):
    def start(model):
        path = tmp_path / "m.keras"
        model.save(path)
        proc = subprocess.Popen([sys.executable, "-m", "fastkeras", "serve", str(path),
                                 "--port", "0", "--max-body", "100000"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        return line.split("http://")[1].split()[0]

    procs = []
    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=30)


def test_predict_over_http_and_errors(server, rng):
    model = fk.Sequential([fk.Input((4,), name="features"), fk.layers.Dense(8, activation="relu"),
                           fk.layers.Dense(3, activation="softmax")], name="clf")
    host = server(model)
    base = f"http://{host}"
    assert _request(base + "/health") == (200, {"status": "ok"})
    status, meta = _request(base + "/metadata")
    assert status == 200 and meta["name"] == "clf"
    assert meta["inputs"] == [{"name": "features", "shape": [None, 4], "dtype": "float32"}]
    x = rng.normal(size=(5, 4)).astype("float32")
    want = model.predict(x, verbose=0)
    for body in ({"instances": x.tolist()}, {"inputs": x.tolist()},
                 {"inputs": {"features": x.tolist()}}):
        status, out = _request(base + "/predict", body)
        assert status == 200
        np.testing.assert_allclose(np.array(out["predictions"]), want, rtol=1e-6, atol=1e-7)
    bad = [
        (dict(raw=b"{not json"), 400, "malformed JSON"),
        (dict(body={"instances": [[1, 2, 3]]}), 400, r"expected shape (None, 4), got (1, 3)"),
        (dict(body={"instances": [[1, 2], [3, 4, 5, 6]]}), 400, "rectangular"),
        (dict(body={"instances": [["a", "b", "c", "d"]]}), 400, "expected numbers"),
        (dict(body={"instances": [[1, 2, float("nan"), 4]]}), 400, "finite"),
        (dict(body={"rows": []}), 400, '"instances"'),
        (dict(body={"instances": []}), 400, "non-empty"),
        (dict(body=[1, 2, 3]), 400, "JSON object"),
        (dict(raw=b" " * 200000), 413, "limit"),
        (dict(method="GET"), 405, "POST"),
    ]
    for kwargs, code, fragment in bad:
        status, out = _request(base + "/predict", **kwargs)
        assert status == code, (kwargs, out)
        assert fragment in out["error"], out
    assert _request(base + "/nowhere")[0] == 404
    try:  # far over the limit: waitress answers 413 or drops the connection mid-upload
        assert _request(base + "/predict", raw=b" " * (3 << 20))[0] == 413
    except urllib.error.URLError as e:
        assert isinstance(e.reason, ConnectionError), e
    status, out = _request(base + "/predict", {"instances": x[:2].tolist()})  # still up
    assert status == 200 and len(out["predictions"]) == 2


def test_multi_input_multi_output_model(server, rng):
    a, b = fk.Input((3,), name="a"), fk.Input((2,), name="b")
    h = fk.layers.Concatenate()([a, b])
    model = fk.Model([a, b], [fk.layers.Dense(2, name="y1")(h), fk.layers.Dense(1, name="y2")(h)])
    base = f"http://{server(model)}"
    xa, xb = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    want = model.predict([xa, xb], verbose=0)
    rows = [{"a": u.tolist(), "b": v.tolist()} for u, v in zip(xa, xb)]
    for body in ({"instances": rows}, {"inputs": {"a": xa.tolist(), "b": xb.tolist()}},
                 {"inputs": [xa.tolist(), xb.tolist()]}):
        status, out = _request(base + "/predict", body)
        assert status == 200, out
        np.testing.assert_allclose(out["predictions"]["y1"], want[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out["predictions"]["y2"], want[1], rtol=1e-6, atol=1e-7)
    status, out = _request(base + "/predict", {"instances": [{"a": [1, 2, 3]}]})
    assert status == 400 and "lacks the input 'b'" in out["error"]
    status, out = _request(base + "/predict", {"inputs": {"a": xa.tolist(), "b": xb[:2].tolist()}})
    assert status == 400 and "same number of examples" in out["error"]
