"""``python -m fastkeras.bench.server``: the prediction server under concurrent clients,
dynamic batching off and on (issue 22, item 4).

Two waitress servers run in this process on 127.0.0.1 (``serving_http.make_app`` of the
MLP 784-128-64-10, one without batching, one with ``Batching``), each with enough threads
for the most clients, so that every client's request is in the application at once. The
clients run in a separate process (spawned), so that their Python work does not take the
server's GIL: each client is a thread with its own keep-alive ``http.client`` connection
posting one row (``{"instances": [[784 floats]]}``) to /predict in a loop. For each number
of clients and each server (interleaved, in a random order each round) the clients run
for ``--seconds``; the table gives the median over rounds of requests/s and of the p50 and
p99 latencies (as the clients see them), and the rows per runner call that the server's
metrics recorded. Nothing here is a test: answers are only checked to be 200 with ten
numbers.
"""
import argparse
import json
import logging
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import threading
import time

__all__ = ["main", "measure"]


# --- the client process (standard library only) -----------------------------------------

def _client_loop(port, body, start, stop, count, out, errors):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    # as urllib3 (requests) does: without it the body's last segment waits for the server's
    # delayed ACK (40 ms a request here)
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "application/json"}
    lat = []
    try:
        for _ in range(3):  # the connection and the server's thread warm
            conn.request("POST", "/predict", body, headers)
            conn.getresponse().read()
        start.wait()
        while len(lat) < count:
            t0 = time.perf_counter()
            if t0 >= stop[0]:
                break
            conn.request("POST", "/predict", body, headers)
            r = conn.getresponse()
            data = r.read()
            t1 = time.perf_counter()
            if r.status != 200 or data.count(b",") != 9:
                errors.append(f"{r.status}: {data[:200]!r}")
                break
            lat.append(t1 - t0)
    except Exception as e:  # reported, never hangs the run
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()
    out.append(lat)


def _clients(port, body, n, seconds, count):
    """n client threads, each posting `count` requests or until `seconds` have passed:
    (requests/s, sorted latencies, errors)."""
    stop = [float("inf")]
    start = threading.Barrier(n + 1, timeout=120)
    lats, errors = [], []
    threads = [threading.Thread(target=_client_loop, args=(port, body, start, stop, count,
                                                           lats, errors), daemon=True)
               for _ in range(n)]
    for t in threads:
        t.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        errors.append("a client could not connect")
    t0 = time.perf_counter()
    stop[0] = t0 + seconds
    for t in threads:
        t.join(min(seconds, 3600.0) + 120)
    elapsed = time.perf_counter() - t0
    flat = sorted(x for lat in lats for x in lat)
    return len(flat) / elapsed, flat, errors


def _client_process(conn):
    while True:
        job = conn.recv()
        if job is None:
            return
        rate, flat, errors = _clients(*job)
        conn.send((rate, _percentile(flat, 0.5), _percentile(flat, 0.99), len(flat), errors))


def _percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --- the servers (this process) ------------------------------------------------------------

def _rows_per_call(app, name):
    """(runner calls, rows) so far, from the app's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    got = {"fastkeras_batch_rows_count": 0.0, "fastkeras_batch_rows_sum": 0.0}
    status, body = _get(app, "/metrics")
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            if s.name in got and s.labels.get("model") == name:
                got[s.name] = s.value
    return got["fastkeras_batch_rows_count"], got["fastkeras_batch_rows_sum"]


def _get(app, path):
    import io

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "CONTENT_LENGTH": "0",
           "wsgi.input": io.BytesIO(b"")}
    got = {}
    body = b"".join(app(env, lambda status, headers: got.setdefault("s", status)))
    return got["s"], body


def _wide_mlp(lib):
    """784-2048-2048-10: a runner call of one row costs more than its HTTP request."""
    L = lib.layers
    return lib.Sequential([lib.Input(shape=(784,)), L.Dense(2048, activation="relu"),
                           L.Dense(2048, activation="relu"), L.Dense(10, activation="softmax")])


MODELS = {"mlp": ("MLP 784-128-64-10", "_mlp_model"),
          "wide": ("wide MLP 784-2048-2048-10", "_wide_mlp")}


def _make_model(kind):
    import fastkeras as fk
    from fastkeras.bench import workloads

    fn = getattr(workloads, MODELS[kind][1], None) or globals()[MODELS[kind][1]]
    return fn(fk)


class Harness:
    """The two servers (batching off and on) of one model in this process, and the client
    process. `load(mode, clients, seconds=..., count=...)` runs one measurement."""

    def __init__(self, model="mlp", threads=128, batching=None, connection_limit=1000):
        import numpy as np
        import waitress

        from fastkeras.serving_http import Batching, make_app

        self.kind = model
        self.batching = batching or Batching(max_batch_size=256, max_wait_ms=2.0)
        m = _make_model(model)
        x = np.random.default_rng(11).random((1, 784), dtype=np.float32)
        self.body = json.dumps({"instances": x.tolist()}).encode()
        self.apps = {"off": make_app({"m": m}), "on": make_app({"m": m},
                                                                batching=self.batching)}
        self.servers = {k: waitress.create_server(a, host="127.0.0.1", port=0, threads=threads,
                                                  connection_limit=connection_limit,
                                                  asyncore_use_poll=True)
                        for k, a in self.apps.items()}
        self.threads = threads
        # waitress warns on every request queued for a thread; the queue is the point here
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        for s in self.servers.values():
            threading.Thread(target=s.run, daemon=True).start()
        ctx = mp.get_context("spawn")
        self._pipe, there = ctx.Pipe()
        self._proc = ctx.Process(target=_client_process, args=(there,), daemon=True)
        self._proc.start()

    def load(self, mode, clients, seconds=float("inf"), count=float("inf")):
        """{"rps", "p50_ms", "p99_ms", "rows_per_call", "requests"} of one run."""
        calls0, rows0 = _rows_per_call(self.apps[mode], "m")
        self._pipe.send((self.servers[mode].effective_port, self.body, clients, seconds,
                         count))
        rate, p50, p99, done, errors = self._pipe.recv()
        calls1, rows1 = _rows_per_call(self.apps[mode], "m")
        if errors:
            raise RuntimeError(f"batching {mode}, {clients} clients: {errors[:3]}")
        return {"rps": rate, "p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3,
                "rows_per_call": (rows1 - rows0) / max(1.0, calls1 - calls0), "requests": done}

    def close(self):
        if self._proc.is_alive():
            self._pipe.send(None)
            self._proc.join(30)
        for s in self.servers.values():
            s.close()
        for a in self.apps.values():
            a.close()


def measure(clients=(8, 32, 128), seconds=4.0, rounds=3, threads=None, kernel_threads=None,
            batching=None, progress=print, model="mlp"):
    """The table's numbers: {(mode, clients): {"rps", "p50_ms", "p99_ms", "rows_per_call"}}
    (medians over rounds; mode "off" or "on") and the settings."""
    import fastkeras as fk

    if kernel_threads is not None:
        fk.config.set_num_threads(kernel_threads)
    threads = threads or max(clients)
    h = Harness(model, threads, batching, connection_limit=max(clients) + 64)
    samples = {}
    try:
        for r in range(rounds):
            for n in clients:
                order = ["off", "on"]
                random.shuffle(order)
                for mode in order:
                    got = h.load(mode, n, seconds=seconds)
                    samples.setdefault((mode, n), []).append(got)
                    progress(f"round {r + 1}/{rounds}, {n} clients, batching {mode}: "
                             f"{got['rps']:.0f} req/s, p50 {got['p50_ms']:.2f} ms, p99 "
                             f"{got['p99_ms']:.2f} ms, {got['rows_per_call']:.1f} rows per "
                             f"runner call ({got['requests']} requests)")
    finally:
        h.close()
    table = {k: {f: statistics.median(s[f] for s in v) for f in v[0] if f != "requests"}
             for k, v in samples.items()}
    b = h.batching
    settings = {"model": MODELS[model][0], "clients": list(clients), "seconds": seconds,
                "rounds": rounds, "waitress_threads": threads,
                "kernel_threads": fk.config.get_num_threads(),
                "batching": {"max_batch_size": b.max_batch_size, "max_wait_ms": b.max_wait_ms},
                "cores": os.cpu_count(), "loadavg": os.getloadavg()}
    return table, settings


def to_markdown(table, settings):
    b = settings["batching"]
    lines = [f"{settings['model']}, one row per POST /predict, clients in a separate process; "
             f"waitress threads {settings['waitress_threads']}, fastkeras kernel threads "
             f"{settings['kernel_threads']}, {settings['cores']} cores; batching on = "
             f"Batching(max_batch_size={b['max_batch_size']}, max_wait_ms={b['max_wait_ms']:g}); "
             f"medians of {settings['rounds']} interleaved rounds of {settings['seconds']:g} s; "
             f"load average {settings['loadavg'][0]:.2f} at the end.", "",
             "| clients | batching | requests/s | p50 ms | p99 ms | rows per runner call |",
             "|---:|---|---:|---:|---:|---:|"]
    for n in settings["clients"]:
        for mode in ("off", "on"):
            r = table[(mode, n)]
            lines.append(f"| {n} | {mode} | {r['rps']:.0f} | {r['p50_ms']:.2f} | "
                         f"{r['p99_ms']:.2f} | {r['rows_per_call']:.1f} |")
        off, on = table[("off", n)]["rps"], table[("on", n)]["rps"]
        lines.append(f"| {n} | on / off | {on / off:.2f}x | | | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m fastkeras.bench.server", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="8,32,128", help="comma-separated client counts")
    ap.add_argument("--seconds", type=float, default=4.0, help="seconds per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--threads", type=int, default=None,
                    help="waitress threads per server (default: the most clients)")
    ap.add_argument("--kernel-threads", type=int, default=None,
                    help="fastkeras.config.set_num_threads (default: as configured)")
    ap.add_argument("--max-batch-size", type=int, default=256)
    ap.add_argument("--batch-wait-ms", type=float, default=2.0)
    ap.add_argument("--model", choices=sorted(MODELS), default="mlp",
                    help="mlp: 784-128-64-10 (default); wide: 784-2048-2048-10")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)
    from fastkeras.serving_http import Batching

    clients = tuple(int(c) for c in args.clients.split(","))
    table, settings = measure(clients, args.seconds, args.rounds, args.threads,
                              args.kernel_threads,
                              Batching(args.max_batch_size, args.batch_wait_ms),
                              progress=lambda line: print(line, file=sys.stderr, flush=True),
                              model=args.model)
    print(to_markdown(table, settings))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": settings,
                       "rows": [dict(mode=m, clients=n, **v) for (m, n), v in table.items()]},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
