"""Hardening of `python -m fastkeras serve` (issue 18, part 6): every malformed request gets
a 4xx JSON answer (huge integers, deep nesting, strings / booleans / null where numbers go),
idle connections cannot starve /health, and request parsing stays lean (the body's numbers go
straight into NumPy). Real servers on 127.0.0.1, bounded in count and time; the parser itself
is also checked against json.loads on random documents."""
import http.client
import json
import random
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import serving_http as sh

pytest.importorskip("waitress")


@pytest.fixture
def server(tmp_path):
    """start(model, *flags) -> port of a `python -m fastkeras serve` process on loopback."""
    procs = []

    def start(model, *flags):
        path = tmp_path / f"m{len(procs)}.keras"
        model.save(path)
        proc = subprocess.Popen([sys.executable, "-m", "fastkeras", "serve", str(path),
                                 "--port", "0", *flags],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(proc)
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        return int(line.split("http://127.0.0.1:")[1].split()[0])

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=30)


def _post(port, body, path="/predict", timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def _health(port, timeout=5):
    """(status, milliseconds) of one GET /health on a fresh connection."""
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        return r.status, (time.perf_counter() - t) * 1e3
    finally:
        c.close()


def _mlp():
    return fk.Sequential([fk.Input((4,), name="x"), fk.layers.Dense(3)], name="mlp")


def test_malformed_requests_get_4xx_json(server, rng):
    model = _mlp()
    port = server(model)
    row = "[1, 2, 3, {}]"
    bad = [  # (body, fragment of the error)
        ('{"instances": [%s]}' % row.format("9" * 400), "finite"),  # was a 500 (OverflowError)
        ('{"instances": [%s]}' % row.format("-" + "9" * 400), "finite"),
        ('{"instances": [%s]}' % row.format("1e999"), "finite"),
        ('{"instances": [%s]}' % row.format("NaN"), "finite"),
        ('{"instances": [%s]}' % row.format("-Infinity"), "finite"),
        ('{"instances": [%s]}' % row.format('"1.5"'), 'got the string "1.5" at [0][3]'),
        ('{"instances": [%s]}' % row.format("true"), "got the boolean true at [0][3]"),
        ('{"instances": [%s]}' % row.format("null"), "got null at [0][3]"),
        ('{"instances": [%s]}' % row.format("{}"), "got an object at [0][3]"),
        ('{"instances": [[1, 2, 3, 4], [1, 2, 3]]}', "rectangular"),
        ('{"instances": [[1, 2, 3, 4], [1, 2, 3, [4]]]}', "rectangular"),
        ('{"instances": [[1, 2, 3, 4],]}', "malformed JSON: Expecting value"),
        ('{"instances": [[1, 2, 3, 01]]}', "malformed JSON"),
        ('{"instances": [[1, 2, 3, 1.2.3]]}', "malformed JSON"),
        ('{"instances": [[1, 2, 3 4]]}', "malformed JSON: Expecting ',' delimiter"),
        ('{"instances": [[1, 2, 3, 4]], "x": [1,, 2]}', "malformed JSON"),  # outside the input
        ("[" * 5000 + "]" * 5000, "more than 64 levels"),  # was a 500 (RecursionError)
        ('{"instances": ' + "[" * 5000 + "1" + "]" * 5000 + "}", "more than 64 levels"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, "more than 64 levels"),
        ('{"instances": [[1, 2, 3, 4]]}'.encode("utf-16"), "malformed JSON"),
        (b'{"instances": [[1, 2, 3, 4]], "\xff": 1}', "UTF-8"),
        ('{"instances": [[1, 2, 3, 4]]} trailing', "malformed JSON: Extra data"),
    ]
    for body, fragment in bad:
        status, out = _post(port, body if isinstance(body, bytes) else body.encode())
        assert status == 400, (body[:80], out)
        assert fragment in out["error"], (body[:80], out)
    x = rng.normal(size=(3, 4)).astype("float32")
    want = model.predict(x, verbose=0)
    pretty = json.dumps({"inputs": {"x": x.tolist()}}, indent=2)  # newlines and indentation
    exact = json.dumps({"instances": [[float(v) for v in r] for r in x]}).replace("e-", "E-")
    for body in (pretty, exact):
        status, out = _post(port, body.encode())
        assert status == 200, out
        np.testing.assert_allclose(out["predictions"], want, rtol=1e-6, atol=1e-7)


def test_integer_inputs_are_checked(server):
    ids = fk.Input((3,), dtype="int32", name="ids")
    model = fk.Model(ids, fk.layers.Embedding(10, 2)(ids))
    port = server(model)
    status, out = _post(port, b'{"instances": [[1, 2, 3], [4, 5, 6e0]]}')
    assert status == 200 and np.array(out["predictions"]).shape == (2, 3, 2), out
    for body, fragment in [(b'{"instances": [[1, 2, 3.5]]}', "expected integers"),
                           (b'{"instances": [[1, 2, 3000000000]]}', "out of range"),
                           (b'{"instances": [[1, 2, ' + b"9" * 400 + b"]]}", "out of range")]:
        status, out = _post(port, body)
        assert status == 400 and fragment in out["error"], (body[:60], out)


def test_idle_connections_do_not_starve_health(server):
    """200 connections that sent half a header and wait: /health still answers at once."""
    port = server(_mlp())
    socks = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            socks.append(s)
        time.sleep(0.5)
        answers = [_health(port) for _ in range(10)]
    finally:
        for s in socks:
            s.close()
    assert all(status == 200 for status, _ in answers), answers
    ms = sorted(t for _, t in answers)
    assert ms[len(ms) // 2] < 100 and ms[-1] < 1000, ms


def test_stalled_connections_are_closed(server):
    """With the limit full of stalled connections, the channel timeout frees it: the server
    closes them and /health (queued behind them) gets its answer."""
    port = server(_mlp(), "--connection-limit", "12", "--channel-timeout", "1")
    socks = []
    try:
        for _ in range(15):  # more than the limit (which counts the server's own 2 sockets)
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
            socks.append(s)
        t = time.perf_counter()
        status, _ = _health(port, timeout=20)
        waited = time.perf_counter() - t
        assert status == 200 and waited < 15, waited
        deadline = time.monotonic() + 20
        for s in socks:  # each is closed by the server: EOF (or a reset)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                assert s.recv(1024) == b""
            except ConnectionResetError:
                pass
    finally:
        for s in socks:
            s.close()


def test_cli_refuses_bad_limits(tmp_path):
    for flag in ("--connection-limit", "--channel-timeout"):
        r = subprocess.run([sys.executable, "-m", "fastkeras", "serve", str(tmp_path / "m.keras"),
                            flag, "0"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "at least 1" in r.stderr, r.stderr


# -- the parser on its own ----------------------------------------------------------------

def _parse(body, shape=(None, 4), dtype="float32", budget=None):
    meta = {"inputs": [{"name": "x", "shape": list(shape), "dtype": dtype}]}
    return sh._parse_request(body if isinstance(body, bytes) else body.encode(), meta, budget)


def test_parse_matches_numpy_exactly(rng):
    x = np.concatenate([rng.normal(size=(50, 4)) * 10.0 ** rng.integers(-30, 30, (50, 1)),
                        rng.integers(-2**40, 2**40, (50, 4))])
    for body in (json.dumps({"instances": x.tolist()}), json.dumps({"inputs": x.tolist()})):
        (got,) = _parse(body)
        np.testing.assert_array_equal(got, np.asarray(json.loads(body)[next(iter(
            json.loads(body)))], dtype="float32"))
    (got,) = _parse(json.dumps({"instances": x.tolist()}), dtype="float64")
    np.testing.assert_array_equal(got, x)
    big = [[2**62 + 1, -2**63, 0, 2**63 - 1]]
    (got,) = _parse(json.dumps({"instances": big}), dtype="int64")
    assert got.tolist() == big
    multi = {"inputs": [{"name": "a", "shape": [None, 2], "dtype": "float32"},
                        {"name": "b", "shape": [None], "dtype": "float32"}]}
    rows = b'{"instances": [{"a": [1, 2], "b": 3}, {"b": 6, "a": [4, 5]}]}'
    a, b = sh._parse_request(rows, multi)
    assert a.tolist() == [[1, 2], [4, 5]] and b.tolist() == [3, 6]
    a, b = sh._parse_request(b'{"inputs": [[[1, 2], [4, 5]], [3, 6]]}', multi)
    assert a.tolist() == [[1, 2], [4, 5]] and b.tolist() == [3, 6]


def test_answer_pieces_are_json_dumps(monkeypatch, rng):
    """Answers are encoded a block of rows at a time, to exactly json.dumps' bytes."""
    monkeypatch.setattr(sh, "_ANSWER_BLOCK", 7)
    for a in (rng.normal(size=(50, 3)).astype("float32"), np.array([[np.nan, -np.inf]] * 9),
              np.zeros((0, 3)), np.float32(2.5), rng.normal(size=(30,)),
              rng.normal(size=(9, 2, 2)), np.zeros((5, 0)), rng.integers(0, 9, (40, 2))):
        assert b"".join(sh._json_pieces(a)) == json.dumps(np.asarray(a).tolist()).encode()


def test_placeholders_avoid_the_body(monkeypatch):
    """Segments stand in json.loads' text as numbers 0.<nonce>e-k: a nonce the body holds
    is drawn again; duplicate keys keep the last value, as json.loads does."""
    draws = iter([b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"])
    monkeypatch.setattr(sh.os, "urandom", lambda n: next(draws))
    body = '{"inputs": [[0.100000001e-1, 2, 3, 4]], "inputs": [[0.100000001e-0, 1, 1, 1]]}'
    (got,) = _parse(body)
    assert got.tolist() == [[np.float32(0.100000001), 1, 1, 1]]


def test_parse_refuses_what_would_not_fit():
    many = "[" + ",".join(['{"v": [1, 2, 3, 4]}'] * 5000) + "]"
    with pytest.raises(sh._HTTPError, match="MiB as Python objects") as e:
        _parse('{"instances": [[1, 2, 3, 4]], "extra": %s}' % many, budget=1 << 20)
    assert e.value.status == 413
    _parse('{"instances": [[1, 2, 3, 4]], "extra": %s}' % many)  # the default budget: fine


def _random_json(r, depth=0):
    k = r.random() if depth < 5 else r.random() * 0.5
    if k < 0.3:
        return r.choice(["0", "-0", "17", "-3.25", "1E+5", "2.5e-3", "9" * 25, "1e999",
                         repr(r.gauss(0, 1e3))])
    if k < 0.38:
        return r.choice(["true", "false", "null", "NaN", "-Infinity"])
    if k < 0.45:
        return json.dumps(r.choice(["a", "é", "[[1]]", 'q"', "b\\", "{", ""]),
                          ensure_ascii=r.random() < 0.5)
    ws = lambda: r.choice(["", "", " ", "\n "])
    if k < 0.8:
        if r.random() < 0.5:  # rectangular numbers
            shape = [r.randint(0, 3) for _ in range(r.randint(1, 3))]

            def rec(s):
                if not s:
                    return r.choice(["1", "-2.5", "3e2", "0"])
                return "[" + ",".join(ws() + rec(s[1:]) for _ in range(s[0])) + ws() + "]"
            return rec(shape)
        return "[" + ",".join(ws() + _random_json(r, depth + 1)
                              for _ in range(r.randint(0, 4))) + "]"
    return "{" + ",".join(json.dumps(r.choice("abc")) + ws() + ":" + _random_json(r, depth + 1)
                          for _ in range(r.randint(0, 3))) + "}"


def _mutate(r, s):
    for _ in range(r.randint(1, 3)):
        i = r.randint(0, len(s))
        ch = r.choice(list('[]{},:"\\ 0123456789.-+eEtrunlf') + ["\x00", "é"])
        s = s[:i] + ch + s[i + (r.random() < 0.5):]
    return s


def _normal(v):
    """Segments materialized as float64 lists (ragged ones as "ragged")."""
    if isinstance(v, sh._SegView):
        try:
            shape = v.shape("x")
        except sh._HTTPError as e:
            assert "rectangular" in str(e), e
            return "ragged"
        out = np.empty(shape, np.float64)
        try:
            v.doc.fill([v], out.reshape(-1), "x")
        except sh._HTTPError as e:
            assert "finite" in str(e), e
        return _normal(out.tolist())
    if isinstance(v, list):
        kids = [_normal(x) for x in v]
        return "ragged" if "ragged" in kids or _ragged(kids) else kids
    if isinstance(v, (dict, sh._Obj)):
        return {k: _normal(x) for k, x in v.items()}
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            f = float(v)
        except OverflowError:
            f = float("inf") if v > 0 else float("-inf")
        return "nan" if f != f else f
    return v


def _ragged(kids):
    """A list of numbers and number lists of different shapes."""
    def shape(k):
        if isinstance(k, float) or k == "nan":
            return ()
        if isinstance(k, list) and all(isinstance(x, (float, list)) or x == "nan" for x in k):
            shapes = {shape(x) for x in k}
            return None if None in shapes or len(shapes) > 1 else (len(k),) + (
                shapes.pop() if shapes else ())
        return None
    numeric = [k for k in kids if isinstance(k, (float, list)) or k == "nan"]
    return (len(numeric) == len(kids) and kids and shape(kids) is None
            and all(shape(k) is not None for k in kids))


@pytest.mark.parametrize("chunks", [(1 << 20, 1 << 22, 1 << 18), (5, 3, 2), (1, 1, 1)])
def test_parse_agrees_with_json_loads(monkeypatch, chunks):
    """Random and mutated documents (tiny chunk sizes put every boundary somewhere): the same
    values as json.loads, or an error exactly where and as json.loads says."""
    monkeypatch.setattr(sh, "_CHUNK", chunks[0])
    monkeypatch.setattr(sh, "_TS_STEP", chunks[1])
    monkeypatch.setattr(sh, "_STRUCT_STEP", chunks[2])
    r = random.Random(sum(chunks))
    for _ in range(400):
        s = _random_json(r)
        if r.random() < 0.5:
            s = _mutate(r, s)
        raw = s.encode("utf-8", "surrogatepass")
        try:
            want, want_err = json.loads(raw.decode()), None
        except (ValueError, RecursionError) as e:
            want, want_err = None, e
        try:
            got, got_err = sh._Doc(raw, 1 << 30).loads(), None
        except sh._HTTPError as e:
            got, got_err = None, e
        if want_err is None:
            assert got_err is None, (raw, got_err)
            assert _normal(got) == _normal(want), raw
        else:
            assert got_err is not None and got_err.status == 400, (raw, want_err)
            if isinstance(want_err, json.JSONDecodeError):
                assert str(got_err) == (f"malformed JSON: {want_err.msg}: line "
                                        f"{want_err.lineno} column {want_err.colno} "
                                        f"(char {want_err.pos})"), raw


_MEASURE = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from fastkeras import serving_http as sh
    rows = np.round(np.random.default_rng(0).normal(size=(int(sys.argv[1]), 1)), 3)
    raw = json.dumps({"instances": rows.tolist()}).encode()
    meta = {"inputs": [{"name": "x", "shape": [None, 1], "dtype": "float32"}]}
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    open("/proc/self/clear_refs", "w").write("5")  # VmHWM := VmRSS
    base, t = status("VmRSS"), time.perf_counter()
    (x,) = sh._parse_request(raw, meta)
    seconds = time.perf_counter() - t
    assert np.array_equal(x, rows.astype("float32"))
    print(json.dumps({"body": len(raw), "grew": status("VmHWM") - base, "seconds": seconds}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_parse_memory_is_bounded():
    """A body of 1.6 million one-number rows (16 MB, json.loads + np.asarray: ~20x): the
    parse grows the process by less than 4x the body (+ 32 MB of fixed working space)."""
    r = subprocess.run([sys.executable, "-c", _MEASURE, "1600000"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["grew"] < 4 * got["body"] + (32 << 20), got
