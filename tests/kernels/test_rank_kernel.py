"""The rank bridge (fastkeras._kernels.rank: hist, exact) against float64 NumPy references:
Keras-threshold histograms (counts and weighted counts), exact ROC AUC (ties count one
half) and the two-sample KS statistic; thread-count independence and bad input."""
import numpy as np
import pytest

from fastkeras._kernels import rank as kr
from fastkeras.kernel_errors import KernelValueError, Status


def _ref_hist(s, y, w, T):
    """tf.keras' thresholds: [-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7]; the bucket of a
    score is the number of thresholds strictly below it."""
    thr = np.array([-1e-7] + [i / (T - 1) for i in range(1, T - 1)] + [1 + 1e-7])
    b = (s.astype(np.float64)[:, None] > thr[None, :]).sum(axis=1)
    w = np.ones(len(s)) if w is None else w.astype(np.float64)
    pos = np.bincount(b, weights=w * (y == 1), minlength=T + 1)
    neg = np.bincount(b, weights=w * (y == 0), minlength=T + 1)
    return pos, neg


def _ref_exact(s, y, w):
    s = s.astype(np.float64)
    w = np.ones(len(s)) if w is None else w.astype(np.float64)
    p, n = y == 1, y == 0
    sp, sn, wp, wn = s[p], s[n], w[p], w[n]
    gt = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    auc = (wp[:, None] * wn[None, :] * gt).sum() / (wp.sum() * wn.sum())
    u = np.unique(s)
    fp = np.array([wp[sp <= t].sum() for t in u]) / wp.sum()
    fn = np.array([wn[sn <= t].sum() for t in u]) / wn.sum()
    return auc, np.abs(fp - fn).max()


def _data(rng, n, dtype, ties=False):
    s = rng.uniform(-0.2, 1.2, n)
    if ties:
        s = np.round(s * 8) / 8  # many ties, some exactly on thresholds
    y = (rng.uniform(size=n) < 0.4).astype(np.uint8)
    y[:2] = (0, 1)
    w = rng.uniform(0, 2, n)
    return s.astype(dtype), y, w.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("T", [3, 5, 200])
def test_hist_matches_reference(rng, dtype, weighted, T):
    s, y, w = _data(rng, 3000, dtype, ties=T == 5)
    w = w if weighted else None
    pos, neg = np.zeros(T + 1), np.zeros(T + 1)
    kr.hist(s, y, w, T, pos, neg)
    rp, rn = _ref_hist(s, y, w, T)
    np.testing.assert_allclose(pos, rp, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(neg, rn, rtol=1e-12, atol=1e-9)
    # the histograms accumulate
    kr.hist(s, y, w, T, pos, neg)
    np.testing.assert_allclose(pos, 2 * rp, rtol=1e-12, atol=1e-9)


def test_hist_scores_on_thresholds_and_outside():
    s = np.array([-1.0, -1e-8, 0.0, 0.25, 0.5, 0.5000001, 1.0, 1.00000005, 2.0])
    y = np.ones(len(s), np.uint8)
    pos, neg = np.zeros(6), np.zeros(6)
    kr.hist(s, y, None, 5, pos, neg)
    np.testing.assert_array_equal(pos, _ref_hist(s, y, None, 5)[0])
    assert neg.sum() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_exact_matches_reference(rng, dtype, weighted, ties):
    s, y, w = _data(rng, 700, dtype, ties)
    w = w if weighted else None
    auc, ks = kr.exact(s, y, w)
    ra, rk = _ref_exact(s, y, w)
    assert auc == pytest.approx(ra, rel=1e-10, abs=1e-12)
    assert ks == pytest.approx(rk, rel=1e-10, abs=1e-12)


def test_exact_perfect_and_inverted():
    s = np.array([0.1, 0.2, 0.8, 0.9])
    y = np.array([0, 0, 1, 1], np.uint8)
    assert kr.exact(s, y, None) == (1.0, 1.0)
    auc, ks = kr.exact(s, 1 - y, None)
    assert auc == 0.0 and ks == 1.0
    assert kr.exact(np.zeros(4), y, None) == (0.5, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_independent_of_threads(rng, dtype):
    n = 300_000  # above the kernels' parallel grain
    s, y, w = _data(rng, n, dtype)
    out = []
    for nt in (1, 2):
        pos, neg = np.zeros(201), np.zeros(201)
        kr.hist(s, y, w, 200, pos, neg, n_threads=nt)
        out.append((pos, neg, kr.exact(s, y, w, n_threads=nt), kr.exact(s, y, None, n_threads=nt)))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    assert out[0][2] == out[1][2] and out[0][3] == out[1][3]


def test_empty_input():
    pos, neg = np.zeros(4), np.zeros(4)
    kr.hist(np.zeros(0), np.zeros(0, np.uint8), None, 3, pos, neg)
    assert not pos.any() and not neg.any()
    with pytest.raises(KernelValueError) as e:
        kr.exact(np.zeros(0), np.zeros(0, np.uint8), None)
    assert e.value.status is Status.BAD_ARG


def test_bad_input():
    s, y, w = np.linspace(0, 1, 8), np.array([0, 1] * 4, np.uint8), np.ones(8)
    pos, neg = np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="labels has 7 entries, expected 8"):
        kr.hist(s, y[:7], None, 3, pos, neg)
    with pytest.raises(ValueError, match="weights has 7 entries"):
        kr.hist(s, y, w[:7], 3, pos, neg)
    with pytest.raises(ValueError, match="num_thresholds \\+ 1 = 5 bins"):
        kr.hist(s, y, None, 4, pos, neg)
    with pytest.raises(ValueError, match="labels has 7 entries"):
        kr.exact(s, y[:7], None)
    with pytest.raises(ValueError, match="weights has 9 entries"):
        kr.exact(s, y, np.ones(9))
    # dtypes: int scores, float32 weights with float64 scores, non-uint8 labels
    with pytest.raises((TypeError, ValueError)):
        kr.hist(np.arange(8), y, None, 3, pos, neg)
    with pytest.raises((TypeError, ValueError)):
        kr.exact(s, y, w.astype(np.float32))
    with pytest.raises((TypeError, ValueError)):
        kr.exact(s, y.astype(np.int64), None)
    with pytest.raises((TypeError, ValueError)):
        kr.hist(s, y, None, 3, pos.astype(np.float32), neg)
    with pytest.raises((TypeError, ValueError)):
        kr.exact(s.reshape(2, 4), y, None)
    # labels outside {0, 1}, NaN scores, bad weights: typed statuses
    for args, status in [((s, np.full(8, 2, np.uint8), None), Status.LABEL),
                         ((np.full(8, np.nan), y, None), Status.BAD_ARG),
                         ((s, y, np.full(8, -1.0)), Status.BAD_ARG),
                         ((s, y, np.full(8, np.inf)), Status.BAD_ARG),
                         ((s, np.ones(8, np.uint8), None), Status.BAD_ARG)]:  # one class only
        with pytest.raises(KernelValueError) as e:
            kr.exact(*args)
        assert e.value.status is status and e.value.function == "fk_rank_exact"
    with pytest.raises(KernelValueError) as e:
        kr.hist(s, np.full(8, 2, np.uint8), None, 3, pos, neg)
    assert e.value.status is Status.LABEL
    with pytest.raises(KernelValueError) as e:
        kr.hist(np.full(8, np.nan), y, None, 3, pos, neg)
    assert e.value.status is Status.BAD_ARG
    with pytest.raises(ValueError):
        kr.hist(s, y, None, 1, np.zeros(2), np.zeros(2))  # fewer than 2 thresholds
