"""What the fuzz properties share: the `arrays` strategy (every NumPy dtype, shapes with 0
and 1, strided / Fortran / read-only layouts, NaN and infinity), the `fuzz` decorator
(hypothesis settings + a per-example hang watchdog) and `_refused`.

FASTKERAS_FUZZ_EXAMPLES   examples per property (default 40)
FASTKERAS_FUZZ_HANG_S     seconds one example may run before the watchdog stops the
                          process (default 120): a hang fails the run instead of stalling it
FASTKERAS_FUZZ_HANG_LOG   where the watchdog writes the name of the running property and
                          every thread's traceback (default: fastkeras-fuzz-hang.log in the
                          temporary directory; empty unless a hang happened; .ci/run prints it
                          when pytest fails)"""
import faulthandler
import functools
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

EXAMPLES = int(os.environ.get("FASTKERAS_FUZZ_EXAMPLES", "40"))
HANG_S = float(os.environ.get("FASTKERAS_FUZZ_HANG_S", "120"))
HANG_LOG = os.environ.get("FASTKERAS_FUZZ_HANG_LOG") or os.path.join(
    tempfile.gettempdir(), "fastkeras-fuzz-hang.log")
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_log = None


def watchdog(fn, seconds=None):
    """Run fn with a watchdog armed: past `seconds` faulthandler's own C thread (it needs no
    GIL, so it fires even inside a C kernel that holds it) writes every thread's traceback to
    HANG_LOG and exits the process with status 1. Under pytest's capture stderr is a temporary
    file that dies with the process, hence the log file."""
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        global _log
        if _log is None:
            _log = open(HANG_LOG, "w")  # noqa: SIM115 - kept open for faulthandler
        _log.seek(0)
        _log.truncate()
        _log.write(f"hang: {fn.__module__}.{fn.__qualname__} ran past "
                   f"{seconds or HANG_S} s on one example\n")
        _log.flush()
        faulthandler.dump_traceback_later(seconds or HANG_S, exit=True, file=_log)
        try:
            return fn(*args, **kwargs)
        finally:
            faulthandler.cancel_dump_traceback_later()
            _log.seek(0)
            _log.truncate()  # the log is non-empty only after a hang
    return guarded


def fuzz(**strategies):
    """@fuzz(x=arrays(), ...): a hypothesis property whose every example runs under the
    watchdog. The result also exposes `.hypothesis.fuzz_one_input` for atheris."""
    def decorate(fn):
        return SETTINGS(given(**strategies)(watchdog(fn)))
    return decorate


DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128", "U3", "datetime64[s]",
          "object"]
FLOAT = ("float32", "float64")


def _fill(rng, shape, dtype, specials):
    """Random values of `dtype`; floats get NaN / inf / huge values when `specials`."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(max(info.min, -50), min(info.max, 50), size=shape,
                            endpoint=True).astype(dt)
    if dt.kind == "U":
        return np.full(shape, "ab", dtype=dt)
    if dt.kind == "M":
        return np.zeros(shape, dtype=dt)
    if dt.kind == "O":
        return np.empty(shape, dtype=object)
    v = rng.normal(size=shape) * 3
    if dt.kind == "c":
        v = v + 1j * rng.normal(size=shape)
    v = v.astype(dt)
    if specials and v.size:
        flat = v.reshape(-1)
        for special in (np.nan, np.inf, -np.inf, 1e30):
            flat[rng.integers(0, flat.size)] = special
    return v


@st.composite
def arrays(draw, dtypes=DTYPES, min_dims=0, max_dims=4, max_side=6, shape=None):
    """(array, description): any dtype and shape, possibly strided or read-only."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, max_side]), min_size=min_dims,
                                    max_size=max_dims)))
    specials = draw(st.booleans())
    layout = draw(st.sampled_from(["c", "strided", "fortran", "readonly"]))
    if layout == "strided" and len(shape):
        big = _fill(rng, (shape[0] * 2,) + tuple(shape[1:]), dtype, specials)
        a = big[::2]
    else:
        a = np.array(_fill(rng, shape, dtype, specials))  # 0-d arrays, not NumPy scalars
        if layout == "fortran":
            a = np.asfortranarray(a)
        if layout == "readonly":
            a.flags.writeable = False
    return a


def _refused(fn, *args, **kwargs):
    """Call fn; True if it raised a clean ValueError / TypeError with a message."""
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        assert str(e), f"{type(e).__name__} without a message"
        return True
    return False


