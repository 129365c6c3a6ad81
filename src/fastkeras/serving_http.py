"""``python -m fastkeras serve m.keras --port 8080``: a small JSON prediction server.

The HTTP side is waitress (a production WSGI server, pure Python: ``pip install
"fastkeras[serve]"``); the model runs through ``compile_for_inference()``, which every
server thread calls at once. Requests and answers:

- ``GET /health`` -> ``{"status": "ok"}``
- ``GET /metadata`` -> the model's name, inputs and outputs (names, shapes, dtypes)
- ``POST /predict`` with ``{"instances": [...]}`` (one entry per example, TensorFlow
  Serving's row format; for several inputs each entry is a dict by input name) or
  ``{"inputs": ...}`` (whole arrays: one nested list, a list per input, or a dict by
  input name) -> ``{"predictions": [...]}`` (several outputs: a dict by output name).

Bad requests get a 4xx answer with ``{"error": "..."}`` and the server carries on:
malformed JSON or a missing field (400), wrong shapes or non-numeric values (400),
a body over ``max_body`` bytes (413), another method (405), another path (404).
"""
import json

import numpy as np

__all__ = ["make_app", "serve"]


class _HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error"}


def _metadata(model):
    def spec(t, name):
        return {"name": name, "shape": list(t.shape), "dtype": t.dtype.name}

    ins = model.inputs or []
    names = [t._keras_history[0].name for t in ins]
    outs = model.outputs or []
    return {"name": model.name,
            "inputs": [spec(t, n) for t, n in zip(ins, names)],
            "outputs": [spec(t, n) for t, n in zip(outs, model.output_names)]}


def _as_array(value, spec, what):
    try:
        arr = np.asarray(value, dtype=spec["dtype"])
    except (ValueError, TypeError) as e:
        raise _HTTPError(400, f"{what}: expected numbers of dtype {spec['dtype']} in a "
                              f"rectangular nested list ({e})") from None
    want = spec["shape"]
    if arr.ndim != len(want) or any(w is not None and w != g
                                    for w, g in zip(want[1:], arr.shape[1:])):
        raise _HTTPError(400, f"{what}: expected shape {tuple(want)}, got {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise _HTTPError(400, f"{what}: the values must be finite (no NaN or infinity)")
    return arr


def _parse_inputs(body, meta):
    """The request's model inputs as arrays, in the model's input order."""
    specs = meta["inputs"]
    names = [s["name"] for s in specs]
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise _HTTPError(400, 'the body must be a JSON object with "instances" (a list of '
                              'examples) or "inputs" (whole arrays)')
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise _HTTPError(400, '"instances" must be a non-empty list of examples')
        if len(specs) == 1:
            columns = [rows]
        else:
            if not all(isinstance(r, dict) for r in rows):
                raise _HTTPError(400, f"this model has inputs {names}: each instance must be "
                                      "an object with one entry per input")
            try:
                columns = [[r[n] for r in rows] for n in names]
            except KeyError as e:
                raise _HTTPError(400, f"an instance lacks the input {e.args[0]!r}; the "
                                      f"inputs are {names}") from None
    else:
        given = body["inputs"]
        if isinstance(given, dict):
            missing = [n for n in names if n not in given]
            if missing:
                raise _HTTPError(400, f'"inputs" lacks {missing}; the inputs are {names}')
            columns = [given[n] for n in names]
        elif len(specs) == 1:
            columns = [given]
        elif isinstance(given, list) and len(given) == len(specs):
            columns = given
        else:
            raise _HTTPError(400, f"this model has {len(specs)} inputs {names}: give "
                                  '"inputs" as an object by name or a list of arrays')
    arrays = [_as_array(c, s, f"input {s['name']!r}") for c, s in zip(columns, specs)]
    if len({len(a) for a in arrays}) != 1:
        raise _HTTPError(400, "every input must have the same number of examples")
    return arrays


def make_app(model, max_body=64 << 20, batch_size=1024):
    """The WSGI application serving `model` (see the module's docstring)."""
    runner = model.compile_for_inference()
    meta = _metadata(model)
    out_names = [o["name"] for o in meta["outputs"]]

    def predict(body):
        arrays = _parse_inputs(body, meta)
        out = runner(arrays[0] if len(arrays) == 1 else arrays, batch_size=batch_size)
        if isinstance(out, list):
            return {"predictions": {n: np.asarray(o).tolist() for n, o in zip(out_names, out)}}
        return {"predictions": np.asarray(out).tolist()}

    def read_body(environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _HTTPError(400, "bad Content-Length") from None
        if length > max_body:
            raise _HTTPError(413, f"the body is {length:,} bytes; the limit is {max_body:,}")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not raw:
            raise _HTTPError(400, "empty body: send a JSON object")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise _HTTPError(400, f"malformed JSON: {e}") from None

    def app(environ, start_response):
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        routes = {"/health": ("GET", lambda: {"status": "ok"}),
                  "/metadata": ("GET", lambda: meta),
                  "/predict": ("POST", lambda: predict(read_body(environ)))}
        try:
            if path not in routes:
                raise _HTTPError(404, f"no such path {path!r}; try /predict, /metadata or "
                                      "/health")
            want, handler = routes[path]
            if method != want:
                raise _HTTPError(405, f"{path} takes {want} requests")
            status, payload = 200, handler()
        except _HTTPError as e:
            status, payload = e.status, {"error": str(e)}
        except (ValueError, TypeError) as e:  # the model refused the inputs
            status, payload = 400, {"error": str(e)}
        except Exception as e:  # never take the server down
            status, payload = 500, {"error": f"{type(e).__name__}: {e}"}
        data = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        if status == 405:
            headers.append(("Allow", routes[path][0]))
        start_response(f"{status} {_REASONS[status]}", headers)
        return [data]

    return app


def serve(model_path, host="127.0.0.1", port=8080, threads=4, custom_objects=None,
          max_body=64 << 20, ready=print):
    """Load `model_path` and serve it until interrupted (blocks)."""
    try:
        import waitress
    except ImportError:
        raise ImportError('the server needs waitress: pip install "fastkeras[serve]" (or pip '
                          "install waitress)") from None
    from fastkeras.models import load_model

    model = load_model(model_path, custom_objects=custom_objects, compile=False)
    app = make_app(model, max_body=max_body)
    # waitress refuses (413, plain text) bodies far over the limit before reading them;
    # the application answers the ones just over it with its JSON error
    server = waitress.create_server(app, host=host, port=port, threads=threads,
                                    max_request_body_size=max_body + (1 << 20))
    ready(f"fastkeras serving {model.name!r} on http://{host}:{server.effective_port} "
          "(POST /predict, GET /metadata, GET /health)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
