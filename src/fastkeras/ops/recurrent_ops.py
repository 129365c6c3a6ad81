"""A whole recurrence (SimpleRNN, LSTM, GRU) as one tape op, in the C core (recurrent.h).

``recurrence(xp, recurrent_kernel, recurrent_bias, h0, c0, spec, mask, rec_mask)`` runs
every step of a sequence from its input projections ``xp`` (B, T, G*U) (the caller's one
matrix product ``x W (+ b)``, a tape op of its own) and returns ``(y, h_T, c_T)``. The
forward keeps the C workspace; the backward is one C call through time and returns the
gradients of xp, the recurrent kernel, the recurrent bias and the initial states.

The three results are slices of one packed tape output (B, T_y + 1 [+ 1], U), so one
backward serves all of them."""
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from fastkeras import config
from fastkeras._kernels import recurrent as _kr
from fastkeras.ops.math import getitem, make
from fastkeras.ops.tensor import as_array

__all__ = ["Cell", "Activation", "RecurrenceSpec", "recurrence", "enabled", "step_path"]

Cell = _kr.Cell
Activation = _kr.Activation

_state = threading.local()


def enabled():
    """True unless this thread is inside ``step_path()``: recurrent layers may then run a
    covered configuration through ``recurrence``."""
    return not getattr(_state, "off", False)


@contextmanager
def step_path():
    """Inside, recurrent layers of this thread run step by step (tests, benchmarks)."""
    saved = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = saved


@dataclass(frozen=True)
class RecurrenceSpec:
    """What one fused recurrence computes (the kernel's fk_rnn_opts)."""
    cell: Cell
    activation: Activation = Activation.TANH
    recurrent_activation: Activation = Activation.SIGMOID
    reset_after: bool = True  # GRU only
    go_backwards: bool = False
    return_sequences: bool = False
    zero_output_for_mask: bool = False

    def options(self):
        return dict(cell=self.cell, reset_after=self.reset_after, activation=self.activation,
                    recurrent_activation=self.recurrent_activation,
                    go_backwards=self.go_backwards, return_sequences=self.return_sequences,
                    zero_output_for_mask=self.zero_output_for_mask)


def _shape_error(name, got, want):
    return ValueError(f"recurrence: `{name}` must have shape {want}, got {tuple(got)}")


def recurrence(xp, recurrent_kernel, recurrent_bias, h0, c0, spec, mask=None, rec_mask=None):
    """y, h_T, c_T (None unless LSTM) of the recurrence ``spec`` over xp (B, T, G*U).

    recurrent_kernel (U, G*U); recurrent_bias (G*U,) or None (added to the recurrent
    product each step); h0, c0 (B, U) (c0: LSTM only); mask (B, T) bools or None;
    rec_mask (B, U) or None (the state's dropout mask, values not tensors: no gradient).
    y is (B, T, U) with return_sequences, else (B, U). All float arrays share one dtype,
    float32 or float64."""
    spec_cell = Cell(spec.cell)
    lstm = spec_cell == Cell.LSTM
    a_xp, a_k, a_h0 = as_array(xp), as_array(recurrent_kernel), as_array(h0)
    if a_xp.ndim != 3:
        raise ValueError(f"recurrence: `xp` must be (batch, steps, gates * units), got shape "
                         f"{a_xp.shape}")
    b, t, gu = a_xp.shape
    if a_k.ndim != 2 or a_k.shape[0] < 1 or a_k.shape[1] != spec_cell.gates * a_k.shape[0]:
        raise ValueError(f"recurrence: `recurrent_kernel` must be (units, {spec_cell.gates} * "
                         f"units) for {spec_cell.name}, got shape {a_k.shape}")
    u = a_k.shape[0]
    if b < 1 or t < 1 or gu != a_k.shape[1]:
        raise _shape_error("xp", a_xp.shape, f"(batch >= 1, steps >= 1, {a_k.shape[1]})")
    dt = a_xp.dtype
    if dt not in (np.float32, np.float64):
        raise TypeError(f"recurrence: `xp` must be float32 or float64, got {dt}")
    if a_h0.shape != (b, u):
        raise _shape_error("h0", a_h0.shape, (b, u))
    a_c0 = None
    if lstm:
        if c0 is None:
            raise ValueError("recurrence: `c0` is required for an LSTM")
        a_c0 = as_array(c0)
        if a_c0.shape != (b, u):
            raise _shape_error("c0", a_c0.shape, (b, u))
    a_rb = None
    if recurrent_bias is not None:
        a_rb = as_array(recurrent_bias)
        if a_rb.shape != (gu,):
            raise _shape_error("recurrent_bias", a_rb.shape, (gu,))
    m = None
    if mask is not None:
        m = np.asarray(as_array(mask))
        if m.shape != (b, t):
            raise _shape_error("mask", m.shape, (b, t))
        m = np.ascontiguousarray(m.astype(bool, copy=False)).view(np.uint8)
    rm = None
    if rec_mask is not None:
        rm = np.asarray(as_array(rec_mask))
        if rm.shape != (b, u):
            raise _shape_error("rec_mask", rm.shape, (b, u))
        rm = np.ascontiguousarray(rm, dtype=dt)
    for name, a in (("recurrent_kernel", a_k), ("h0", a_h0), ("c0", a_c0),
                    ("recurrent_bias", a_rb)):
        if a is not None and a.dtype != dt:
            raise TypeError(f"recurrence: `{name}` has dtype {a.dtype}, expected {dt} "
                            "(the dtype of `xp`)")

    def c(a):
        return None if a is None else np.ascontiguousarray(a, dtype=dt)

    k_c = c(a_k)
    rb_c = c(a_rb)
    opts = spec.options()
    y, h_t, c_t, ws = _kr.forward(c(a_xp), k_c, rb_c, c(a_h0), c(a_c0), m, rm,
                                  n_threads=config.get_num_threads(), **opts)
    ty = t if spec.return_sequences else 1
    packed = np.empty((b, ty + 1 + int(lstm), u), dt)
    packed[:, :ty] = y.reshape(b, ty, u)
    packed[:, ty] = h_t
    if lstm:
        packed[:, ty + 1] = c_t
    inputs = [xp, recurrent_kernel, h0]
    if lstm:
        inputs.append(c0)
    if recurrent_bias is not None:
        inputs.append(recurrent_bias)

    def backward(g, needs):
        g = np.ascontiguousarray(g, dtype=dt)
        dy = np.ascontiguousarray(g[:, :ty]).reshape(-1)
        dht = np.ascontiguousarray(g[:, ty])
        dct = np.ascontiguousarray(g[:, ty + 1]) if lstm else None
        dxp, dk, drb, dh0, dc0 = _kr.backward(k_c, rb_c, m, rm, ws, dy, dht, dct, batch=b,
                                              steps=t, n_threads=config.get_num_threads(),
                                              **opts)
        out = [dxp, dk, dh0]
        if lstm:
            out.append(dc0)
        if recurrent_bias is not None:
            out.append(drb)
        return tuple(out)

    out = make(packed, tuple(inputs), backward)
    y_t = getitem(out, (slice(None), slice(0, t))) if spec.return_sequences \
        else getitem(out, (slice(None), 0))
    h_out = getitem(out, (slice(None), ty))
    c_out = getitem(out, (slice(None), ty + 1)) if lstm else None
    return y_t, h_out, c_out
