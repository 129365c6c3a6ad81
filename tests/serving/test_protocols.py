"""TensorFlow Serving's REST API (/v1) and KServe v2 / the Open Inference Protocol (/v2)
beside /predict (issue 22, item 4): every route and its errors, answers compared with
model.predict, several models in one app. The WSGI app is called in process (no sockets);
one test starts `python -m fastkeras serve a.keras b.keras`."""
import json
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import serving_http as sh
from _wsgi import call_raw  # tests/ is on sys.path (its conftest.py)


def _call(app, method, path, body=None, raw=None):
    """(status, decoded JSON answer) of one request to the WSGI app."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    status, _, out = call_raw(app, method, path, data)
    return status, json.loads(out)


@pytest.fixture
def clf():
    return fk.Sequential([fk.Input((4,), name="features"), fk.layers.Dense(8, activation="relu"),
                          fk.layers.Dense(3, activation="softmax")], name="clf")


@pytest.fixture
def two_io():
    a, b = fk.Input((3,), name="a"), fk.Input((2,), name="b")
    h = fk.layers.Concatenate()([a, b])
    return fk.Model([a, b], [fk.layers.Dense(2, name="y1")(h), fk.layers.Dense(1, name="y2")(h)],
                    name="two")


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6, atol=1e-7)


# --- TensorFlow Serving REST ----------------------------------------------------------------

def test_tf_serving_predict_row_and_columnar(clf, rng):
    app = sh.make_app({"clf": clf})
    x = rng.normal(size=(5, 4)).astype("float32")
    want = clf.predict(x, verbose=0)
    for path in ("/v1/models/clf:predict", "/v1/models/clf/versions/1:predict"):
        for body in ({"instances": x.tolist()}, {"signature_name": "serving_default",
                                                 "instances": x.tolist()}):
            status, out = _call(app, "POST", path, body)
            assert status == 200 and list(out) == ["predictions"], out
            _close(out["predictions"], want)
        for body in ({"inputs": x.tolist()}, {"inputs": {"features": x.tolist()}}):
            status, out = _call(app, "POST", path, body)
            assert status == 200 and list(out) == ["outputs"], out
            _close(out["outputs"], want)
    assert _call(app, "POST", "/predict", {"instances": x.tolist()})[0] == 200  # unchanged


def test_tf_serving_multi_output(two_io, rng):
    app = sh.make_app({"two": two_io})
    xa, xb = rng.normal(size=(3, 3)).astype("float32"), rng.normal(size=(3, 2)).astype("float32")
    w1, w2 = two_io.predict([xa, xb], verbose=0)
    rows = [{"a": u.tolist(), "b": v.tolist()} for u, v in zip(xa, xb)]
    status, out = _call(app, "POST", "/v1/models/two:predict", {"instances": rows})
    assert status == 200, out
    preds = out["predictions"]  # row format: one object per example
    assert len(preds) == 3 and all(set(p) == {"y1", "y2"} for p in preds)
    _close([p["y1"] for p in preds], w1)
    _close([p["y2"] for p in preds], w2)
    status, out = _call(app, "POST", "/v1/models/two:predict",
                        {"inputs": {"a": xa.tolist(), "b": xb.tolist()}})
    assert status == 200 and set(out["outputs"]) == {"y1", "y2"}
    _close(out["outputs"]["y1"], w1)
    _close(out["outputs"]["y2"], w2)


def test_tf_serving_status_and_metadata(clf):
    app = sh.make_app({"clf": clf})
    status_doc = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                            "status": {"error_code": "OK", "error_message": ""}}]}
    assert _call(app, "GET", "/v1/models/clf") == (200, status_doc)
    assert _call(app, "GET", "/v1/models/clf/versions/1") == (200, status_doc)
    for path in ("/v1/models/clf/metadata", "/v1/models/clf/versions/1/metadata"):
        status, meta = _call(app, "GET", path)
        assert status == 200
        assert meta["model_spec"] == {"name": "clf", "signature_name": "", "version": "1"}
        sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert sig["method_name"] == "tensorflow/serving/predict"
        assert sig["inputs"]["features"]["dtype"] == "DT_FLOAT"
        assert sig["inputs"]["features"]["tensor_shape"]["dim"] == [
            {"size": "-1", "name": ""}, {"size": "4", "name": ""}]
        (out,) = sig["outputs"].values()
        assert out["dtype"] == "DT_FLOAT" and [d["size"] for d in out["tensor_shape"]["dim"]] \
            == ["-1", "3"]


def test_tf_serving_errors(clf):
    app = sh.make_app({"clf": clf})
    bad = [
        ("POST", "/v1/models/nope:predict", {"instances": [[1, 2, 3, 4]]}, 404, "Latest(nope)"),
        ("GET", "/v1/models/nope", None, 404, "Latest(nope)"),
        ("GET", "/v1/models/nope/metadata", None, 404, "Latest(nope)"),
        ("POST", "/v1/models/clf/versions/2:predict", {"instances": [[1, 2, 3, 4]]}, 404,
         "Specific(clf, 2)"),
        ("GET", "/v1/models/clf/versions/7", None, 404, "Specific(clf, 7)"),
        ("GET", "/v1/models/clf/labels/stable", None, 404, "label"),
        ("POST", "/v1/models/clf:classify", {"examples": []}, 404, "classify"),
        ("GET", "/v1/models/clf:predict", None, 405, "POST"),
        ("POST", "/v1/models/clf", {}, 405, "GET"),
        ("POST", "/v1/models/clf:predict", {"signature_name": "other", "instances": [[1, 2, 3, 4]]},
         400, '"signature_name"'),
        ("POST", "/v1/models/clf:predict", {"signature_name": 3, "instances": [[1, 2, 3, 4]]},
         400, '"signature_name" must be a string'),
        ("POST", "/v1/models/clf:predict", {"instances": [[1, 2, 3]]}, 400,
         "input 'features': expected shape (None, 4), got (1, 3)"),
        ("POST", "/v1/models/clf:predict", {"instances": [["a", 2, 3, 4]]}, 400,
         "expected numbers"),
        ("POST", "/v1/models/clf:predict", {"rows": []}, 400, '"instances"'),
        ("POST", "/v1/models/clf:predict", {"instances": [], "inputs": []}, 400, '"instances"'),
        ("POST", "/v1/models/clf:predict", None, 400, "empty body"),
    ]
    for method, path, body, code, fragment in bad:
        status, out = _call(app, method, path, body)
        assert status == code, (path, body, out)
        assert list(out) == ["error"] and fragment in out["error"], (path, out)
    status, out = _call(app, "POST", "/v1/models/clf:predict", raw=b'{"instances": [[1, 2,')
    assert status == 400 and "malformed JSON" in out["error"]
    status, out = _call(app, "POST", "/v1/models/clf:predict",
                        raw=b'{"instances": ' + b"[" * 100 + b"]" * 100 + b"}")
    assert status == 400 and "nests" in out["error"]


# --- KServe v2 / Open Inference Protocol ---------------------------------------------------

def test_v2_health_server_and_model_metadata(clf, two_io):
    app = sh.make_app({"clf": clf, "two": two_io})
    assert _call(app, "GET", "/v2/health/live") == (200, {"live": True})
    assert _call(app, "GET", "/v2/health/ready") == (200, {"ready": True})
    status, server = _call(app, "GET", "/v2")
    assert status == 200 and server["name"] == "fastkeras" and server["version"] == fk.__version__
    assert server["extensions"] == []
    status, meta = _call(app, "GET", "/v2/models/clf")
    assert status == 200
    assert meta == {"name": "clf", "versions": ["1"], "platform": "fastkeras",
                    "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
                    "outputs": [{"name": meta["outputs"][0]["name"], "datatype": "FP32",
                                 "shape": [-1, 3]}]}
    assert _call(app, "GET", "/v2/models/clf/versions/1")[1] == meta
    status, meta = _call(app, "GET", "/v2/models/two")
    assert [t["name"] for t in meta["inputs"]] == ["a", "b"]
    assert [(t["name"], t["shape"]) for t in meta["outputs"]] == [("y1", [-1, 2]), ("y2", [-1, 1])]
    assert _call(app, "GET", "/v2/models/two/ready") == (200, {"name": "two", "ready": True})


def test_v2_infer(clf, two_io, rng):
    app = sh.make_app({"clf": clf, "two": two_io})
    x = rng.normal(size=(5, 4)).astype("float32")
    want = clf.predict(x, verbose=0)
    out_name = clf.output_names[0]
    for data, datatype in ((x.reshape(-1).tolist(), "FP32"), (x.tolist(), "FP32"),
                           (x.reshape(-1).tolist(), "FP64")):
        body = {"id": "req-7", "inputs": [{"name": "features", "shape": [5, 4],
                                           "datatype": datatype, "data": data}]}
        status, out = _call(app, "POST", "/v2/models/clf/infer", body)
        assert status == 200, out
        assert out["model_name"] == "clf" and out["model_version"] == "1"
        assert out["id"] == "req-7"
        (o,) = out["outputs"]
        assert o["name"] == out_name and o["datatype"] == "FP32" and o["shape"] == [5, 3]
        assert len(o["data"]) == 15  # flat, row-major
        _close(np.reshape(o["data"], o["shape"]), want)
    status, out = _call(app, "POST", "/v2/models/clf/versions/1/infer",
                        {"inputs": [{"name": "features", "shape": [5, 4], "datatype": "FP32",
                                     "data": x.reshape(-1).tolist()}]})
    assert status == 200 and "id" not in out
    # two inputs, two outputs, given in another order; "outputs" picks and orders them
    xa, xb = rng.normal(size=(3, 3)).astype("float32"), rng.normal(size=(3, 2)).astype("float32")
    w1, w2 = two_io.predict([xa, xb], verbose=0)
    tensors = [{"name": "b", "shape": [3, 2], "datatype": "FP32", "data": xb.ravel().tolist()},
               {"name": "a", "shape": [3, 3], "datatype": "FP32", "data": xa.ravel().tolist()}]
    status, out = _call(app, "POST", "/v2/models/two/infer", {"inputs": tensors})
    assert status == 200, out
    assert [o["name"] for o in out["outputs"]] == ["y1", "y2"]
    _close(np.reshape(out["outputs"][0]["data"], (3, 2)), w1)
    _close(np.reshape(out["outputs"][1]["data"], (3, 1)), w2)
    status, out = _call(app, "POST", "/v2/models/two/infer",
                        {"inputs": tensors, "outputs": [{"name": "y2"}]})
    assert status == 200 and [o["name"] for o in out["outputs"]] == ["y2"]
    _close(np.reshape(out["outputs"][0]["data"], (3, 1)), w2)


def test_v2_errors(clf):
    app = sh.make_app({"clf": clf})

    def t(**kw):
        d = {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
        d.update(kw)
        return {k: v for k, v in d.items() if v is not None}

    infer = "/v2/models/clf/infer"
    bad = [
        ("GET", "/v2/models/nope", None, 404, "'nope'"),
        ("GET", "/v2/models/nope/ready", None, 404, "'nope'"),
        ("POST", "/v2/models/nope/infer", {"inputs": [t()]}, 404, "'nope'"),
        ("POST", "/v2/models/clf/versions/3/infer", {"inputs": [t()]}, 404, "version '3'"),
        ("GET", infer, None, 405, "POST"),
        ("POST", "/v2/health/live", {}, 405, "GET"),
        ("POST", infer, [1, 2], 400, "JSON object"),
        ("POST", infer, {"id": "x"}, 400, '"inputs" is missing'),
        ("POST", infer, {"inputs": []}, 400, '"inputs"'),
        ("POST", infer, {"inputs": [1]}, 400, '"inputs"'),
        ("POST", infer, {"inputs": [t()], "id": 5}, 400, '"id"'),
        ("POST", infer, {"inputs": [t(name="x")]}, 400,
         'inputs[0].name: this model has no input "x"'),
        ("POST", infer, {"inputs": [t(name=None)]}, 400, 'inputs[0]: the field "name" is missing'),
        ("POST", infer, {"inputs": [t(), t()]}, 400, "given twice"),
        ("POST", infer, {"inputs": [t(shape=None)]}, 400, '"shape" is missing'),
        ("POST", infer, {"inputs": [t(shape="1x4")]}, 400, ".shape: expected a list"),
        ("POST", infer, {"inputs": [t(shape=[1, -4])]}, 400, ".shape: expected integers"),
        ("POST", infer, {"inputs": [t(shape=[1.5, 4])]}, 400, ".shape: expected integers"),
        ("POST", infer, {"inputs": [t(shape=[2, 4])]}, 400, "do not fill the shape [2, 4]"),
        ("POST", infer, {"inputs": [t(shape=[1, 3], data=[1, 2, 3])]}, 400,
         "inputs[0] ('features').shape: expected shape (None, 4), got (1, 3)"),
        ("POST", infer, {"inputs": [t(shape=[4, 1], data=[[1, 2, 3, 4]])]}, 400,
         "do not fill the shape"),
        ("POST", infer, {"inputs": [t(shape=[0, 4], data=[])]}, 400, "at least one example"),
        ("POST", infer, {"inputs": [t(datatype=None)]}, 400, '"datatype" is missing'),
        ("POST", infer, {"inputs": [t(datatype="BYTES")]}, 400, ".datatype: this input takes FP32"),
        ("POST", infer, {"inputs": [t(datatype="fp32")]}, 400, ".datatype"),
        ("POST", infer, {"inputs": [t(datatype=[1])]}, 400, ".datatype"),
        ("POST", infer, {"inputs": [t(data=None)]}, 400, '"data" is missing'),
        ("POST", infer, {"inputs": [t(data="1,2,3,4")]}, 400, ".data: expected a list"),
        ("POST", infer, {"inputs": [t(data=[1, 2, "3", 4])]}, 400, ".data: expected numbers"),
        ("POST", infer, {"inputs": [t(data=[1, 2, [3], 4])]}, 400, "rectangular"),
        ("POST", infer, {"inputs": [t(data=[1, 2, float("inf"), 4])]}, 400, "finite"),
        ("POST", infer, {"inputs": [t()], "outputs": [{"name": "nope"}]}, 400,
         'outputs[0].name: this model has no output "nope"'),
        ("POST", infer, {"inputs": [t()], "outputs": "all"}, 400, '"outputs"'),
    ]
    for method, path, body, code, fragment in bad:
        status, out = _call(app, method, path, body)
        assert status == code, (path, body, out)
        assert list(out) == ["error"] and fragment in out["error"], (body, out)
    status, out = _call(app, "POST", infer, raw=b'{"inputs": [{"name": "features", "shape": '
                        b'[1, 4], "datatype": "FP32", "data": [1, 2, 3, 4e999]}]}')
    assert status == 400 and "finite" in out["error"]
    assert _call(app, "POST", infer, {"inputs": [t()]})[0] == 200  # still serving


def test_v2_integer_inputs():
    i = fk.Input((3,), dtype="int64", name="ids")
    model = fk.Model(i, fk.layers.Flatten(name="flat")(fk.layers.Embedding(10, 2)(i)),
                     name="ints")
    app = sh.make_app({"ints": model})
    status, meta = _call(app, "GET", "/v2/models/ints")
    assert meta["inputs"] == [{"name": "ids", "datatype": "INT64", "shape": [-1, 3]}]
    x = np.array([[1, 2, 3], [9, 0, 4]], np.int64)
    want = model.predict(x, verbose=0)
    for datatype in ("INT64", "INT32", "UINT8"):
        status, out = _call(app, "POST", "/v2/models/ints/infer",
                            {"inputs": [{"name": "ids", "shape": [2, 3], "datatype": datatype,
                                         "data": x.ravel().tolist()}]})
        assert status == 200, out
        _close(np.reshape(out["outputs"][0]["data"], out["outputs"][0]["shape"]), want)
    for datatype, data, fragment in (("FP32", [1, 2, 3], "this input takes INT64"),
                                     ("INT64", [1, 2.5, 3], "expected integers"),
                                     ("INT64", [1, 2, 2**70], "out of range")):
        status, out = _call(app, "POST", "/v2/models/ints/infer",
                            {"inputs": [{"name": "ids", "shape": [1, 3], "datatype": datatype,
                                         "data": data}]})
        assert status == 400 and fragment in out["error"], out


# --- several models ------------------------------------------------------------------------

def test_several_models_in_one_app(clf, two_io, rng):
    app = sh.make_app({"first": clf, "second": two_io})
    x = rng.normal(size=(2, 4)).astype("float32")
    status, out = _call(app, "POST", "/predict", {"instances": x.tolist()})  # the first model
    assert status == 200
    _close(out["predictions"], clf.predict(x, verbose=0))
    assert _call(app, "GET", "/metadata")[1]["name"] == "clf"
    xa, xb = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")
    status, out = _call(app, "POST", "/v1/models/second:predict",
                        {"inputs": {"a": xa.tolist(), "b": xb.tolist()}})
    assert status == 200
    _close(out["outputs"]["y1"], two_io.predict([xa, xb], verbose=0)[0])
    status, out = _call(app, "POST", "/v1/models/first:predict", {"instances": x.tolist()})
    _close(out["predictions"], clf.predict(x, verbose=0))
    status, out = _call(app, "POST", "/v1/models/clf:predict", {"instances": x.tolist()})
    assert status == 404 and "['first', 'second']" in out["error"]
    # the single-model signature: the model's own name
    app = sh.make_app(clf)
    assert _call(app, "GET", "/v1/models/clf")[0] == 200
    assert _call(app, "GET", "/v2/models/clf/ready")[0] == 200
    with pytest.raises(ValueError, match="at least one model"):
        sh.make_app({})
    with pytest.raises(ValueError, match="model names"):
        sh.make_app({"a/b": clf})


def test_serve_several_files(tmp_path, clf, two_io, rng):
    pytest.importorskip("waitress")
    paths = [tmp_path / "a.keras", tmp_path / "b.keras"]
    clf.save(paths[0])
    two_io.save(paths[1])
    proc = subprocess.Popen([sys.executable, "-m", "fastkeras", "serve", *map(str, paths),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line and "['a', 'b']" in line, line
        base = "http://" + line.split("http://")[1].split()[0]
        x = rng.normal(size=(2, 4)).astype("float32")
        body = {"inputs": [{"name": "features", "shape": [2, 4], "datatype": "FP32",
                            "data": x.ravel().tolist()}]}
        req = urllib.request.Request(base + "/v2/models/a/infer", json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            out = json.loads(r.read())
        _close(np.reshape(out["outputs"][0]["data"], (2, 3)), clf.predict(x, verbose=0))
        with urllib.request.urlopen(base + "/v1/models/b", timeout=30) as r:
            assert json.loads(r.read())["model_version_status"][0]["state"] == "AVAILABLE"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with pytest.raises(ValueError, match="stems"):
        sh.serve([paths[0], paths[0]])
