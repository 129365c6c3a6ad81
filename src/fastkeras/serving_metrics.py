"""Prometheus metrics of the prediction server (``GET /metrics``), with ``prometheus_client``.

Each app made by ``serving_http.make_app`` has its own registry (several apps in one
process, as tests make them, never share counters):

- ``fastkeras_requests_total{route, status}``: requests answered, by route template (the
  model's name in it, never the raw path: a flood of unknown URLs is one ``unmatched``
  series) and HTTP status;
- ``fastkeras_request_seconds{route}``: the time from routing to the answer's bytes, a
  histogram from 100 us to 10 s;
- ``fastkeras_batch_rows{model}``: rows per model call, a histogram from 1 to 65536 (with
  dynamic batching, the rows of each merged call);
- ``fastkeras_batch_queue_seconds{model}``: with dynamic batching, each request's time in
  the model's queue before its batch runs, a histogram from 10 us to 10 s.

Without ``prometheus_client`` (``pip install "fastkeras[serve]"``) the server runs as before
and ``/metrics`` answers 501 saying what to install.
"""
__all__ = ["ServerMetrics", "server_metrics"]

_LATENCY_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
                    1.0, 2.5, 5.0, 10.0)
_ROW_BUCKETS = tuple(float(2 ** k) for k in range(17))  # 1 .. 65536
_QUEUE_BUCKETS = (1e-5, 2.5e-5, 5e-5) + _LATENCY_BUCKETS


class ServerMetrics:
    """The counters and histograms of one app, in a registry of their own."""

    def __init__(self):
        import prometheus_client as pc

        self._pc = pc
        self.registry = pc.CollectorRegistry()
        self.requests = pc.Counter("fastkeras_requests", "HTTP requests answered",
                                   ["route", "status"], registry=self.registry)
        self.latency = pc.Histogram("fastkeras_request_seconds",
                                    "Seconds from routing a request to its answer", ["route"],
                                    buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.rows = pc.Histogram("fastkeras_batch_rows", "Rows per model call", ["model"],
                                 buckets=_ROW_BUCKETS, registry=self.registry)
        self.queued = pc.Histogram("fastkeras_batch_queue_seconds",
                                   "Seconds a request waited in its model's batching queue",
                                   ["model"], buckets=_QUEUE_BUCKETS, registry=self.registry)

    def answered(self, route, status, seconds):
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def model_call(self, model, rows):
        self.rows.labels(model=model).observe(rows)

    def queue_wait(self, model, seconds):
        self.queued.labels(model=model).observe(seconds)

    def exposition(self):
        """(body bytes, content type) of the text exposition format."""
        return self._pc.generate_latest(self.registry), self._pc.CONTENT_TYPE_LATEST


def server_metrics():
    """A ServerMetrics, or None where prometheus_client is not installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return None
    return ServerMetrics()
