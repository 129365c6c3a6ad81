"""Metrics over data partitioned by Dask: per-partition states, merged exactly.

Every built-in metric's state adds (score histograms, counts, sums), so a metric
can be computed partition by partition on a Dask cluster and the partial states
merged with ``merge_state``: the result equals the single-process one (for
integer-valued counts bit for bit; weighted sums up to float addition order).
"""
import numpy as np

__all__ = ["dask_metric_state", "compute_dask"]


def dask_metric_state(metric_cls, config, y_true, y_pred, sample_weight=None):
    """Run on a worker: the state arrays of a fresh metric updated with one partition."""
    metric = metric_cls.from_config(config)
    metric.update_state(np.asarray(y_true), np.asarray(y_pred),
                        sample_weight=None if sample_weight is None else np.asarray(sample_weight))
    # the state itself (metric._variables): `variables` lists Keras' view of it, which for
    # the histogram metrics is derived counts
    return [v.numpy() for v in metric._variables]


def _partitions(x, like=None):
    """Delayed partitions of a 1-D dask array or a dask Series (aligned to `like`)."""
    import dask.array as da

    if hasattr(x, "to_dask_array") and not isinstance(x, da.Array):  # dask Series / DataFrame
        return list(x.to_delayed()), None
    if isinstance(x, da.Array):
        x = x.reshape(-1) if x.ndim > 1 and like is None else x
        if like is not None:
            x = x.rechunk(like)
        return list(x.to_delayed().ravel()), x.chunks
    raise TypeError(f"expected a dask array or Series, got {type(x).__name__}")


def compute_dask(metric, y_true, y_pred, sample_weight=None, scheduler=None):
    """Update `metric` with dask data, one task per partition, then merge: returns the
    metric (its result() is the value over all the data).

    y_true, y_pred and sample_weight are 1-D dask arrays (rechunked to y_true's chunks)
    or dask Series with the same partitions."""
    import dask

    parts_t, chunks = _partitions(y_true)
    parts_p, _ = _partitions(y_pred, chunks)
    parts_w = _partitions(sample_weight, chunks)[0] if sample_weight is not None else \
        [None] * len(parts_t)
    if not (len(parts_t) == len(parts_p) == len(parts_w)):
        raise ValueError(f"y_true, y_pred and sample_weight have {len(parts_t)}, {len(parts_p)} "
                         f"and {len(parts_w)} partitions; they must be aligned")
    task = dask.delayed(dask_metric_state, pure=True)
    cls, config = type(metric), metric.get_config()
    states = dask.compute(*[task(cls, config, t, p, w)
                            for t, p, w in zip(parts_t, parts_p, parts_w)], scheduler=scheduler)
    partials = []
    for state in states:
        m = cls.from_config(config)
        for var, value in zip(m._variables, state):
            var._value = np.array(value, copy=True)  # a state may take its shape from the data
        partials.append(m)
    if partials:
        metric.merge_state(partials)
    return metric
