"""Runs a corpus program with one library and compares two runs' results.

The oracle is Keras 3 on TensorFlow imported as the guides import it (``import keras``;
``keras.Model is tf.keras.Model``), fastkeras the library under test.

A program (``programs/<name>.py``) is a keras-io guide or example ported mechanically:
``import keras`` becomes ``keras = lib.keras``, ``tf.GradientTape`` becomes
``lib.GradientTape`` (``keras.GradientTape`` in fastkeras), ``tf.function`` becomes
``lib.function``, ``tf.*`` math becomes ``keras.ops``, tf.data pipelines become NumPy
arrays or Python generators and downloaded datasets become small offline stand-ins of the
same shapes. Two things are added so that the two runs can be compared number for number:
the initial weights come from one fixed NumPy stream (``seed_weights``), and ``fit`` gets
``shuffle=False`` where the batch order matters.

``run(lib)`` returns a dict of results (shapes, parameter counts, losses, metrics,
predictions). ``compare`` checks shapes, counts, strings and booleans exactly and numbers
with the program's tolerances (``TOLERANCES``: key pattern -> (rtol, atol)).
"""
import contextlib
import fnmatch
import importlib
import os
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


@dataclass
class Lib:
    """What a ported program sees of a library."""
    name: str
    keras: Any
    GradientTape: Any
    function: Callable

    @property
    def ops(self):
        return self.keras.ops


def fastkeras_lib():
    import fastkeras
    return Lib("fastkeras", fastkeras, fastkeras.GradientTape, fastkeras.function)


def tf_keras_lib():
    """The oracle: Keras 3 on the TensorFlow backend, imported as the guides do
    (``import keras``). Its classes are tf.keras' (``keras.Model is tf.keras.Model``);
    the ``keras`` module also has the names tf.keras' facade leaves out (keras.saving)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as tests/conftest.py
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf
    import keras
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"the oracle needs Keras' TensorFlow backend, not {keras.backend.backend()}")
    return Lib("tf.keras", keras, tf.GradientTape, tf.function)


# ---------------------------------------------------------------- helpers for programs

def seed_weights(model, seed=0):
    """Overwrite a built model's weights with values from a fixed NumPy stream, the same
    in both libraries. Weights whose values are all integers (zeros, ones, an identity, a
    forget gate's ones, BatchNormalization's statistics) are the library's deterministic
    initial values and stay; other kernels (2 or more dimensions) get Glorot-uniform draws;
    other vectors and scalars (random biases) are rounded to integers."""
    rng = np.random.default_rng(seed)
    new = []
    for w in model.get_weights():
        w = np.asarray(w)
        if np.issubdtype(w.dtype, np.integer) or np.array_equal(w, np.round(w)):
            new.append(w)
        elif w.ndim >= 2:
            receptive = int(np.prod(w.shape[:-2])) if w.ndim > 2 else 1
            fan_in, fan_out = w.shape[-2] * receptive, w.shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            new.append(rng.uniform(-limit, limit, size=w.shape).astype(w.dtype))
        else:
            new.append(np.round(w).astype(w.dtype))
    model.set_weights(new)
    return model


def digits(size=8, flat=False):
    """scikit-learn's 8x8 digits (offline stand-in for MNIST): images in [0, 1], shape
    (n, size, size, 1) (nearest-neighbour upsampled when size > 8) or (n, size*size)."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype("float32")
    if size != 8:
        factor = size // 8
        x = np.kron(x, np.ones((1, factor, factor), dtype="float32"))
    x = x[..., None]
    if flat:
        x = x.reshape(len(x), -1)
    return x, d.target.astype("int64")


def to_numpy(x):
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def history(h):
    return {k: [float(v) for v in vals] for k, vals in h.history.items()}


def shape(x):
    return [None if d is None else int(d) for d in tuple(x)]


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="compat-")


# ---------------------------------------------------------------- running and comparing

def load_program(name):
    return importlib.import_module(f"{__package__}.programs.{name}")


@dataclass
class Outcome:
    name: str
    lib: str
    results: Any = None
    error: str = None        # "ExceptionType: message" when the program raised
    where: str = None        # the program line that raised


@contextlib.contextmanager
def dense_oracle_gradients(lib, enabled):
    """For programs with ``ORACLE_DENSE_GRADIENTS = True``: the oracle's optimizers get
    Embedding gradients as dense tensors instead of ``tf.IndexedSlices``. Keras 3 on
    TensorFlow squares the slices of an IndexedSlices gradient before rows repeated in a
    batch are summed (its sparse-aware ``ops.square``), so Adam's second moment of a token
    seen twice is g1^2 + g2^2, not (g1 + g2)^2; fastkeras keeps Adam's definition, which
    is what tf.keras computes from the dense gradient (README, compatibility corpus)."""
    if not enabled or lib.name != "tf.keras":
        yield
        return
    import tensorflow as tf
    from keras.src.optimizers import base_optimizer

    original = base_optimizer.BaseOptimizer.apply_gradients

    def apply_dense(self, grads_and_vars):
        return original(self, [(tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices)
                                else g, v) for g, v in grads_and_vars])

    base_optimizer.BaseOptimizer.apply_gradients = apply_dense
    try:
        yield
    finally:
        base_optimizer.BaseOptimizer.apply_gradients = original


def execute(name, lib):
    """Run one program with one library; exceptions become an Outcome with .error."""
    prog = load_program(name)
    # each library's own stream, reset per program: dropout masks and random initial
    # values differ between the libraries but not from one run to the next
    lib.keras.utils.set_random_seed(1337)
    try:
        with warnings.catch_warnings(), \
                dense_oracle_gradients(lib, getattr(prog, "ORACLE_DENSE_GRADIENTS", False)):
            warnings.simplefilter("ignore")
            return Outcome(name, lib.name, results=normalize(prog.run(lib)))
    except Exception as e:  # a failing program is a result, not a crash of the harness
        tb = traceback.extract_tb(e.__traceback__)
        frames = [f for f in tb if "/programs/" in f.filename]
        where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}: {frames[-1].line}" \
            if frames else None
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return Outcome(name, lib.name, error=f"{type(e).__name__}: {msg}"[:300], where=where)


def normalize(obj):
    """Plain Python / NumPy values: dicts, lists, str, bool, int, None, float arrays."""
    if isinstance(obj, dict):
        return {str(k): normalize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [normalize(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    arr = to_numpy(obj)
    if arr.dtype == bool:
        return arr.tolist()
    if np.issubdtype(arr.dtype, np.integer):
        return arr.tolist()
    return arr.astype("float64")


def tolerance(prog, key):
    tol = getattr(prog, "TOLERANCES", {})
    for pattern, value in tol.items():
        if fnmatch.fnmatchcase(key, pattern):
            return value
    return DEFAULT_RTOL, DEFAULT_ATOL


def compare(ref, got, prog=None, path=""):
    """Differences between the oracle's results (ref) and ours (got), as strings."""
    top = path.split(".")[0].split("[")[0]
    rtol, atol = tolerance(prog, top) if prog is not None else (DEFAULT_RTOL, DEFAULT_ATOL)
    where = path or "<results>"
    if isinstance(ref, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected a dict, got {type(got).__name__}"]
        diffs = []
        missing, extra = sorted(set(ref) - set(got)), sorted(set(got) - set(ref))
        if missing or extra:
            diffs.append(f"{where}: keys differ (missing {missing}, extra {extra})")
        for k in ref:
            if k in got:
                diffs += compare(ref[k], got[k], prog, f"{path}.{k}" if path else k)
        return diffs
    if isinstance(ref, list) and isinstance(got, list):
        if ref and got and all(isinstance(v, str) for v in ref + got):
            if ref == got:
                return []
            missing = [v for v in ref if v not in got]
            extra = [v for v in got if v not in ref]
            if missing or extra:
                return [f"{where}: strings differ (missing {missing}, extra {extra})"]
            return [f"{where}: order {got} != tf.keras {ref}"]
        if len(ref) != len(got):
            return [f"{where}: length {len(got)} != tf.keras {len(ref)} "
                    f"({_short(got)} vs {_short(ref)})"]
        if not all(isinstance(v, float) for v in ref + got):
            diffs = []
            for i, (r, g) in enumerate(zip(ref, got)):
                diffs += compare(r, g, prog, f"{path}[{i}]")
            return diffs
    if _is_floaty(ref) and _is_floaty(got):
        a, b = np.asarray(ref, dtype="float64"), np.asarray(got, dtype="float64")
        if a.shape != b.shape:
            return [f"{where}: shape {list(b.shape)} != tf.keras {list(a.shape)}"]
        if not np.allclose(b, a, rtol=rtol, atol=atol, equal_nan=True):
            err = np.abs(b - a)
            rel = float(np.max(err / (np.abs(a) + 1e-30)))
            return [f"{where}: {_short(b)} != tf.keras {_short(a)} "
                    f"(max abs {float(err.max()):.3g}, max rel {rel:.3g}; rtol {rtol}, atol {atol})"]
        return []
    if isinstance(ref, np.ndarray) or isinstance(got, np.ndarray):
        return [f"{where}: {_short(got)} != tf.keras {_short(ref)}"]
    if ref != got or type(ref) is not type(got) and not (_is_int(ref) and _is_int(got)):
        return [f"{where}: {_short(got)} != tf.keras {_short(ref)}"]
    return []


def _is_float(v):
    return isinstance(v, (float, np.ndarray))


def _is_floaty(v):
    """A float, a float array, or a (non-empty) list of floats."""
    if isinstance(v, list):
        return len(v) > 0 and all(isinstance(x, float) for x in v)
    return _is_float(v)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _short(v):
    try:
        s = np.array2string(np.asarray(v, dtype="float64"), precision=6, threshold=6,
                            edgeitems=2) if _is_floaty(v) else repr(v)
    except ValueError:
        s = repr(v)
    return s if len(s) < 160 else s[:157] + "..."
