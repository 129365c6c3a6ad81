"""Hangs and runaway sizes: the watchdog that turns a hung example into a failed run, and
the size-like arguments (strides, dilations, pool sizes, output padding, num_thresholds)
fuzzed with 0, negatives, values past int32 / int64, floats, strings and tuples of the wrong
length. Each call returns the right answer or refuses with a ValueError / TypeError naming
the argument; none loops, allocates beyond memory, or is killed."""
import os
import subprocess
import sys
import textwrap

import numpy as np
from hypothesis import strategies as st

import fastkeras as fk
from fastkeras import ops
from fastkeras._limits import physical_memory

from ._fuzzing import _refused, fuzz

ODD_SIZES = [0, -1, -(2 ** 63), 1, 2, 3, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 62, 2 ** 63 - 1, 2 ** 63,
             2 ** 64, 1.5, 2.0, None, "a", True, np.int64(2), np.uint8(1)]
sizes = st.one_of(st.sampled_from(ODD_SIZES),
                  st.lists(st.sampled_from(ODD_SIZES), min_size=0, max_size=4).map(tuple))


def test_the_watchdog_stops_a_hung_example(tmp_path):
    """A property that never returns: the process ends with status 1 within the limit and
    the log names the property and shows where it was stuck."""
    log = tmp_path / "hang.log"
    code = textwrap.dedent("""
        import time
        from fuzz._fuzzing import watchdog
        def stuck_in_a_loop():
            while True:
                time.sleep(0.01)
        watchdog(stuck_in_a_loop, seconds=1)()
    """)
    env = dict(os.environ, FASTKERAS_FUZZ_HANG_LOG=str(log),
               PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60,
                          capture_output=True)
    assert done.returncode == 1
    text = log.read_text()
    assert "stuck_in_a_loop ran past 1 s" in text
    assert "Timeout" in text and 'line 6 in stuck_in_a_loop' in text, text


def _reference_conv(x, k, s, d, padding):
    """Direct 2-D convolution in Python integers (dilations up to 2**63 are fine)."""
    hw, ksz = x.shape[1], k.shape[0]
    eff = [(ksz - 1) * d[i] + 1 for i in range(2)]
    if padding == "valid":
        out = [(hw - eff[i]) // s[i] + 1 for i in range(2)]
        before = [0, 0]
    else:
        out = [-(-hw // s[i]) for i in range(2)]
        before = [max((out[i] - 1) * s[i] + eff[i] - hw, 0) // 2 for i in range(2)]
    y = np.zeros((x.shape[0], out[0], out[1], k.shape[3]))
    for oi in range(out[0]):
        for oj in range(out[1]):
            for a in range(ksz):
                for b in range(ksz):
                    i = oi * s[0] - before[0] + a * d[0]
                    j = oj * s[1] - before[1] + b * d[1]
                    if 0 <= i < hw and 0 <= j < hw:
                        y[:, oi, oj] += x[:, i, j] @ k[a, b]
    return y


def _too_far(hw, s, ksz, d):
    """Window positions past 2**61: refused (the C core indexes them in int64)."""
    return any(hw * s[i] + (ksz - 1) * d[i] + 1 > 2 ** 61 for i in range(len(s)))


def _as_pair(v, n=2, minimum=1):
    """What a valid size argument for n spatial axes means, or None where it is refused."""
    items = v if isinstance(v, tuple) else (v,) * n
    ok = len(items) == n and all(isinstance(i, (int, np.integer)) and
                                 not isinstance(i, (bool, np.bool_)) and minimum <= i < 2 ** 63
                                 for i in items)
    return tuple(int(i) for i in items) if ok else None


@fuzz(strides=sizes, dilation=sizes, hw=st.integers(1, 9), ksz=st.integers(1, 3),
      padding=st.sampled_from(["valid", "same"]))
def test_conv_size_arguments(strides, dilation, hw, ksz, padding):
    rng = np.random.default_rng(hw * 10 + ksz)
    x = rng.normal(size=(2, hw, hw, 2))
    k = rng.normal(size=(ksz, ksz, 2, 3))
    s, d = _as_pair(strides), _as_pair(dilation)
    if s is None or d is None:
        assert _refused(ops.conv, x, k, strides, padding, dilation_rate=dilation)
        return
    if (ksz - 1) * max(d) + 1 > hw and padding == "valid" or _too_far(hw, s, ksz, d):
        assert _refused(ops.conv, x, k, strides, padding, dilation_rate=dilation)
        return
    try:
        y = np.asarray(ops.conv(x, k, strides, padding, dilation_rate=dilation))
    except ValueError as e:  # Keras refuses strides > 1 together with dilation > 1
        assert max(s) > 1 and max(d) > 1 and "dilation" in str(e), e
        return
    np.testing.assert_allclose(y, _reference_conv(x, k, s, d, padding), rtol=1e-12,
                               atol=1e-12)


@fuzz(pool=sizes, strides=st.one_of(st.none(), sizes), hw=st.integers(1, 9),
      kind=st.sampled_from(["max", "average"]), padding=st.sampled_from(["valid", "same"]))
def test_pool_size_arguments(pool, strides, hw, kind, padding):
    x = np.random.default_rng(hw).normal(size=(1, hw, hw, 2))
    fn = ops.max_pool if kind == "max" else ops.average_pool
    nd = len(pool) if isinstance(pool, tuple) and len(pool) in (1, 2) else 2  # (k,): 1-D
    k = _as_pair(pool, nd)
    s = k if strides is None else _as_pair(strides, nd)
    if k is None or s is None or (padding == "valid" and max(k) > hw) or \
            any(hw * s[i] + k[i] > 2 ** 61 for i in range(nd)):
        assert _refused(fn, x, pool, strides, padding)
        return
    y = np.asarray(fn(x, pool, strides, padding))
    if padding == "valid":
        out = tuple((hw - k[i]) // s[i] + 1 for i in range(nd))
    else:
        out = tuple(-(-hw // s[i]) for i in range(nd))
    assert y.shape == (1,) + (hw,) * (2 - nd) + out + (2,)  # 1-D: the first axis is batch
    assert np.isfinite(y).all()
    if max(k) == 1:  # a 1x1 window is a strided copy
        np.testing.assert_array_equal(y, x[(slice(None),) * (3 - nd) + tuple(
            slice(None, None, si) for si in s)])


@fuzz(n=st.sampled_from(ODD_SIZES), metric=st.sampled_from(["AUC", "KS"]))
def test_num_thresholds(n, metric):
    make = getattr(fk.metrics, metric)
    valid = isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n > 1
    if not valid or (n + 1) * 8 * 4 > physical_memory():  # 2 histograms + initial copies
        assert _refused(make, num_thresholds=n)
        return
    m = make(num_thresholds=n)
    if n > 10 ** 6:
        return  # allowed on this machine; too slow to fill here
    m.update_state([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3])
    # perfectly separated once a threshold falls between 0.3 and 0.8; 2 thresholds see nothing
    assert float(m.result()) == (1.0 if n > 2 else 0.0 if metric == "KS" else 0.5)


@fuzz(strides=sizes, dilation=sizes, opad=st.one_of(st.none(), sizes), hw=st.integers(1, 4),
      ksz=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]))
def test_conv_transpose_size_arguments(strides, dilation, opad, hw, ksz, padding):
    """The output grows with strides and dilation: past memory it is refused, never
    allocated; otherwise it has Keras' shape and is the adjoint of conv."""
    rng = np.random.default_rng(hw * 10 + ksz)
    x = rng.normal(size=(1, hw, hw, 2))
    k = rng.normal(size=(ksz, ksz, 3, 2))
    s, d = _as_pair(strides), _as_pair(dilation)
    p = None if opad is None else _as_pair(opad, minimum=0)
    call = (lambda: ops.conv_transpose(x, k, strides, padding, output_padding=opad,
                                       dilation_rate=dilation))
    if s is None or d is None or (opad is not None and p is None) or \
            (max(s) > 1 and max(d) > 1) or (p is not None and any(p[i] >= s[i] for i in range(2))) \
            or _too_far(hw, s, ksz, d):
        assert _refused(call)
        return
    eff = [(ksz - 1) * d[i] + 1 for i in range(2)]
    if p is None:
        out = [hw * s[i] + (max(eff[i] - s[i], 0) if padding == "valid" else 0) for i in range(2)]
    else:
        out = [(hw - 1) * s[i] + eff[i] - 2 * (eff[i] // 2 if padding == "same" else 0) + p[i]
               for i in range(2)]
    if min(out) < 1 or out[0] * out[1] * 3 * 8 > physical_memory():
        assert _refused(call)
        return
    if out[0] * out[1] > 10 ** 6:
        return  # allowed here, too big to check quickly
    y = np.asarray(call())
    assert y.shape == (1, out[0], out[1], 3)
    # adjoint: <conv_transpose(x), g> == <x, conv(g)> with the same geometry
    g = rng.normal(size=y.shape)
    if p is None:
        gx = np.asarray(ops.conv(g, k, s, padding, dilation_rate=d))
        if gx.shape == x.shape:
            np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, gx), rtol=1e-9, atol=1e-9)
