"""GET /metrics: the server's Prometheus counters and histograms (issue 22, item 4), parsed
with prometheus_client's own text parser; without prometheus_client the route says 501."""
import json

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import serving_http as sh
from fastkeras import serving_metrics
from _wsgi import call_raw  # tests/ is on sys.path (its conftest.py)

pc_parser = pytest.importorskip("prometheus_client.parser")  # in the [test] and [serve] extras


def _request(app, method, path, body=None):
    status, headers, out = call_raw(app, method, path,
                                    b"" if body is None else json.dumps(body).encode())
    return status, headers["Content-Type"], out


def _samples(app):
    status, ctype, body = _request(app, "GET", "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    found = {}
    for family in pc_parser.text_string_to_metric_families(body.decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


@pytest.fixture
def model():
    return fk.Sequential([fk.Input((4,), name="features"), fk.layers.Dense(3)], name="m")


def test_requests_latencies_and_rows_are_counted(model):
    app = sh.make_app({"m": model})
    x = np.zeros((5, 4), np.float32).tolist()
    assert _request(app, "POST", "/predict", {"instances": x})[0] == 200
    assert _request(app, "POST", "/predict", {"instances": x[:2]})[0] == 200
    assert _request(app, "POST", "/predict", {"instances": [[1, 2]]})[0] == 400
    assert _request(app, "POST", "/v1/models/m:predict", {"instances": x})[0] == 200
    assert _request(app, "GET", "/v2/models/m")[0] == 200
    assert _request(app, "GET", "/no/such/path")[0] == 404
    assert _request(app, "GET", "/v1/models/unknown-name:predict")[0] == 404
    s = _samples(app)
    count = lambda route, status: s[("fastkeras_requests_total",  # noqa: E731
                                     (("route", route), ("status", status)))]
    assert count("/predict", "200") == 2
    assert count("/predict", "400") == 1
    assert count("/v1/models/m:predict", "200") == 1
    assert count("/v2/models/m", "200") == 1
    assert count("unmatched", "404") == 2  # unknown URLs never make a series of their own
    assert s[("fastkeras_request_seconds_count", (("route", "/predict"),))] == 3
    assert s[("fastkeras_request_seconds_sum", (("route", "/predict"),))] > 0
    # rows per model call: 5, 2 and 5 rows
    assert s[("fastkeras_batch_rows_count", (("model", "m"),))] == 3
    assert s[("fastkeras_batch_rows_sum", (("model", "m"),))] == 12
    assert s[("fastkeras_batch_rows_bucket", (("le", "4.0"), ("model", "m")))] == 1


def test_each_app_has_its_own_registry(model):
    a, b = sh.make_app({"m": model}), sh.make_app({"m": model})
    _request(a, "GET", "/health")
    sa, sb = _samples(a), _samples(b)
    key = ("fastkeras_requests_total", (("route", "/health"), ("status", "200")))
    assert sa[key] == 1 and key not in sb
    # /metrics itself is counted once it has answered
    key = ("fastkeras_requests_total", (("route", "/metrics"), ("status", "200")))
    assert _samples(a)[key] == 1


def test_without_prometheus_client_the_route_says_what_to_install(model, monkeypatch):
    monkeypatch.setattr(serving_metrics, "server_metrics", lambda: None)
    app = sh.make_app(model)
    status, ctype, body = _request(app, "GET", "/metrics")
    assert status == 501 and ctype == "application/json"
    assert "prometheus_client" in json.loads(body)["error"]
    assert _request(app, "POST", "/predict", {"instances": [[0, 0, 0, 0]]})[0] == 200
    assert _request(app, "POST", "/metrics", {})[0] == 405
