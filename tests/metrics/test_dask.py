"""AUC / KS over Dask partitions on a local cluster of worker processes."""
import numpy as np
import pytest

from fastkeras import metrics

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_auc_and_ks_over_a_dask_array_equal_single_process(client):
    import dask.array as da

    rng = np.random.default_rng(7)
    n = 400_000
    y = rng.integers(0, 2, size=n).astype(np.int8)
    s = np.clip(rng.uniform(size=n) * 0.7 + 0.3 * y, 0, 1).astype(np.float32)
    w = rng.uniform(size=n)
    dy, ds, dw = (da.from_array(a, chunks=50_000) for a in (y, s, w))
    for cls in (metrics.AUC, metrics.KS):
        single = cls(num_thresholds=300)
        single.update_state(y, s)
        distributed_metric = metrics.compute_dask(cls(num_thresholds=300), dy, ds)
        assert float(distributed_metric.result()) == float(single.result())
    # weighted: float sums in another order, equal to float precision
    single = metrics.AUC()
    single.update_state(y, s, sample_weight=w)
    dist = metrics.compute_dask(metrics.AUC(), dy, ds, sample_weight=dw)
    assert abs(float(dist.result()) - float(single.result())) < 1e-6


def test_auc_over_a_dask_dataframe_column(client):
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(8)
    df = pd.DataFrame({"y": rng.integers(0, 2, size=20_000),
                       "score": rng.uniform(size=20_000).astype(np.float32)})
    ddf = dd.from_pandas(df, npartitions=5)
    single = metrics.AUC()
    single.update_state(df["y"].to_numpy(), df["score"].to_numpy())
    dist = metrics.compute_dask(metrics.AUC(), ddf["y"], ddf["score"])
    assert float(dist.result()) == float(single.result())
