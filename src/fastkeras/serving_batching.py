"""Dynamic batching for the prediction server: concurrent requests to one model are merged
into one runner call (TensorFlow Serving's ``max_batch_size`` / ``batch_timeout_micros``).

Each served model with batching on has one ``_Batcher``: a queue of pending requests. A
request puts its arrays on the queue and waits until ``max_wait_ms`` after its arrival for
others; then (or as soon as ``max_batch_size`` rows are queued) one thread takes up to
``max_batch_size`` rows of the oldest requests, concatenates the ones whose inputs have
equal per-row shapes and dtypes (one runner call per such group), runs them and hands each
request its own rows. If a merged call raises, each of its requests is run alone, so a
request the model refuses gets its own error and the others their answers. A request of
``max_batch_size`` rows or more runs at once, alone. One merged call runs at a time per
model; requests arriving meanwhile queue up and form the next batch.

The thread that runs a batch is a server thread that is there anyway: the first to find the
batch due (an arriving request that fills it, a request whose wait is over, or the thread
that has just finished the previous batch, for up to ``_TURNS`` batches in a row). There is
no batcher thread of its own: under CPython's GIL, waking one costs its turn behind every
busy server thread (with 128 waitress threads a dedicated batcher thread made the server 3x
slower than no batching at all), where a thread that is already running holds the GIL.

Merging assumes that a model's output rows depend only on their own input rows, which holds
for inference with every built-in layer (BatchNormalization uses its moving statistics).
"""
import collections
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["Batching"]

_TURNS = 4  # merged calls one request's thread runs in a row (its own first)


@dataclass(frozen=True)
class Batching:
    """Dynamic batching of concurrent requests to one model.

    max_batch_size: the most rows one merged runner call takes (a request of that many rows
        or more runs alone, at once);
    max_wait_ms: how long the oldest queued request waits for others before its batch runs
        (0: merge only what is already queued when the batcher looks)."""

    max_batch_size: int = 256
    max_wait_ms: float = 2.0

    def __post_init__(self):
        n = self.max_batch_size
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"Batching: max_batch_size must be an integer >= 1, got {n!r}")
        w = self.max_wait_ms
        if (isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating))
                or not math.isfinite(w) or w < 0):
            raise ValueError(f"Batching: max_wait_ms must be a finite number >= 0 "
                             f"(milliseconds), got {w!r}")
        object.__setattr__(self, "max_batch_size", int(n))
        object.__setattr__(self, "max_wait_ms", float(w))


class _Request:
    """One queued request: its arrays, what may be merged with it, and its answer."""

    __slots__ = ("arrays", "key", "rows", "deadline", "taken", "done", "out", "error")

    def __init__(self, arrays, wait_s):
        self.arrays, self.rows = arrays, len(arrays[0])
        self.deadline = time.perf_counter() + wait_s
        self.key = tuple((a.shape[1:], a.dtype.str) for a in arrays)
        self.taken, self.done, self.out, self.error = False, threading.Event(), None, None


class _Batcher:
    """The queue of one model. `run(arrays)` is the model call (a list of arrays, one per
    input -> a list of outputs); `waited(seconds)`, if given, observes each request's time in
    the queue."""

    def __init__(self, run, config, waited=None):
        self._run, self._config, self._waited = run, config, waited
        self._lock = threading.Lock()
        self._queue = collections.deque()
        self._rows = 0  # rows queued
        self._running = False  # a merged call is in progress
        self._closed = False
        self._poll_s = max(config.max_wait_ms * 1e-3, 1e-3)  # past the deadline

    def __call__(self, arrays):
        """The outputs of the model on `arrays`, merged with concurrent requests."""
        cfg = self._config
        if not arrays or len(arrays[0]) >= cfg.max_batch_size or self._closed:
            return self._run(arrays)
        req = _Request(arrays, cfg.max_wait_ms * 1e-3)
        with self._lock:
            self._queue.append(req)
            self._rows += req.rows
            batch = self._due()
        while True:
            if batch:
                self._run_batches(batch)
            if req.done.is_set():
                break
            if req.taken:  # in a batch another thread runs
                req.done.wait()
                break
            left = req.deadline - time.perf_counter()
            if req.done.wait(left if left > 0 else self._poll_s):
                break
            with self._lock:  # past its deadline: run what is queued unless a call runs
                batch = self._due()
        if req.error is not None:
            raise req.error
        return req.out

    def close(self):
        """Later requests run alone, at once (those queued are answered as before)."""
        self._closed = True

    def _due(self):
        """The requests to run now in this thread, if no merged call runs and the queue holds
        a full batch or its oldest request is past its deadline (else None); the caller holds
        the lock."""
        q = self._queue
        if not self._running and q and (self._rows >= self._config.max_batch_size
                                        or q[0].deadline <= time.perf_counter()):
            self._running = True
            return self._take()
        return None

    def _take(self):
        """Up to max_batch_size rows of the oldest requests (the caller holds the lock)."""
        q, batch, rows = self._queue, [], 0
        while q and (not batch or rows + q[0].rows <= self._config.max_batch_size):
            req = q.popleft()
            req.taken = True
            batch.append(req)
            rows += req.rows
        self._rows -= rows
        return batch

    def _run_batches(self, batch):
        """Run `batch`, then (at most _TURNS batches in all) what became due meanwhile: this
        thread holds the GIL already, where waking another would wait for it behind every
        busy server thread."""
        for turn in range(_TURNS):
            try:
                self._execute(batch)
            finally:
                with self._lock:
                    self._running = False
                    batch = self._due() if turn + 1 < _TURNS else None
            if not batch:
                return

    def _execute(self, batch):
        try:
            if self._waited is not None:
                now, wait_s = time.perf_counter(), self._config.max_wait_ms * 1e-3
                for req in batch:
                    self._waited(now - (req.deadline - wait_s))
            groups = {}
            for req in batch:
                groups.setdefault(req.key, []).append(req)
            for group in groups.values():
                self._run_group(group)
        finally:  # nothing may leave a request waiting forever
            for req in batch:
                if not req.done.is_set():
                    req.error = req.error or RuntimeError("the batcher failed to answer")
                    req.done.set()

    def _run_group(self, group):
        if len(group) > 1:
            try:
                merged = [np.concatenate(parts) for parts in zip(*(r.arrays for r in group))]
                outs = self._run(merged)
                total = sum(r.rows for r in group)
                if any(np.ndim(o) == 0 or len(o) != total for o in outs):
                    raise ValueError("the outputs do not have a row per input row")
            except Exception:  # someone's rows made the model fail: each alone, below
                pass
            else:
                start = 0
                for req in group:
                    req.out = [o[start:start + req.rows] for o in outs]
                    start += req.rows
                    req.done.set()
                return
        for req in group:
            try:
                req.out = self._run(req.arrays)
            except Exception as e:
                req.error = e
            req.done.set()
