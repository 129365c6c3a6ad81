# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the fused recurrences (recurrent.h): SimpleRNN, LSTM and GRU over a
whole sequence, forward and backward through time.

Callers (fastkeras.layers.recurrent) pass C-contiguous arrays of one float dtype: the
input projections xp (B, T, G*U), the recurrent kernel (U, G*U), the states (B, U); this
layer checks every shape before the GIL is released and turns a status into an
exception naming the C function. ``cell`` is a Cell, the activations are Activation
members (the kernel's own codes, never bare integers at the call sites).
"""
from libc.stdint cimport int64_t, uint8_t
from cython cimport floating
from enum import IntEnum
import numpy as np

from fastkeras._kernels.fk cimport *

include "_status.pxi"

cdef extern from "fastkeras/activation.h" nogil:
    int FK_ACT_RELU
    int FK_ACT_SIGMOID
    int FK_ACT_TANH
    int FK_ACT_HARD_SIGMOID


class Cell(IntEnum):
    """The recurrences the kernel runs (fk_rnn_cell)."""
    SIMPLE = FK_RNN_SIMPLE
    LSTM = FK_RNN_LSTM
    GRU = FK_RNN_GRU

    @property
    def gates(self):
        return {Cell.SIMPLE: 1, Cell.LSTM: 4, Cell.GRU: 3}[self]


class Activation(IntEnum):
    """The activations the kernel supports (fk_act_kind values, FK_RNN_LINEAR)."""
    LINEAR = FK_RNN_LINEAR
    RELU = FK_ACT_RELU
    SIGMOID = FK_ACT_SIGMOID
    TANH = FK_ACT_TANH
    HARD_SIGMOID = FK_ACT_HARD_SIGMOID


cdef inline void check_shape(tuple got, tuple want, str what) except *:
    if got != want:
        raise ValueError(f"{what} has shape {got}, expected {want}")


cdef fk_rnn_opts make_opts(cell, bint reset_after, activation, recurrent_activation,
                           bint go_backwards, bint return_sequences,
                           bint zero_output_for_mask) except *:
    try:
        cell = Cell(cell)
    except ValueError:
        raise ValueError(f"cell must be a Cell ({', '.join(c.name for c in Cell)}), "
                         f"got {cell!r}") from None
    for name, value in (("activation", activation),
                        ("recurrent_activation", recurrent_activation)):
        try:
            Activation(value)
        except ValueError:
            raise ValueError(f"{name} must be an Activation "
                             f"({', '.join(a.name for a in Activation)}), got {value!r}") \
                from None
    cdef fk_rnn_opts o
    o.cell = int(cell)
    o.reset_after = reset_after
    o.activation = int(activation)
    o.recurrent_activation = int(recurrent_activation)
    o.go_backwards = go_backwards
    o.return_sequences = return_sequences
    o.zero_output_for_mask = zero_output_for_mask
    return o


cdef inline tuple shp2(Py_ssize_t a, Py_ssize_t b):
    return (int(a), int(b))


def workspace_size(cell, bint reset_after, Py_ssize_t batch, Py_ssize_t steps,
                   Py_ssize_t units):
    cdef fk_rnn_opts o = make_opts(cell, reset_after, Activation.LINEAR, Activation.LINEAR,
                                   0, 0, 0)
    return int(fk_rnn_workspace_size(&o, batch, steps, units))


def forward(const floating[:, :, ::1] xp not None, const floating[:, ::1] kernel not None,
            const floating[::1] rbias, const floating[:, ::1] h0 not None,
            const floating[:, ::1] c0, const uint8_t[:, ::1] mask,
            const floating[:, ::1] rec_mask, *, cell, bint reset_after=True,
            activation=Activation.TANH, recurrent_activation=Activation.SIGMOID,
            bint go_backwards=False, bint return_sequences=False,
            bint zero_output_for_mask=False, int n_threads=1):
    """One sequence forward. Returns (y, hT, cT or None, ws); ws goes to backward().

    xp (B, T, G*U); kernel (U, G*U); rbias (G*U) or None; h0, c0 (B, U) (c0: LSTM
    only, else None); mask (B, T) uint8 or None; rec_mask (B, U) or None."""
    cdef fk_rnn_opts o = make_opts(cell, reset_after, activation, recurrent_activation,
                                   go_backwards, return_sequences, zero_output_for_mask)
    cdef Py_ssize_t B = xp.shape[0], T = xp.shape[1], U = kernel.shape[0]
    cdef Py_ssize_t G = Cell(cell).gates
    if B < 1 or T < 1 or U < 1:
        raise ValueError(f"xp must have a positive batch and step count and the kernel "
                         f"positive units, got xp {(B, T, xp.shape[2])}, units {U}")
    check_shape(shp2(kernel.shape[0], kernel.shape[1]), (U, G * U), "kernel")
    check_shape(shp2(xp.shape[1], xp.shape[2]), (T, G * U), "xp (steps, gates * units)")
    check_shape(shp2(h0.shape[0], h0.shape[1]), (B, U), "h0")
    if rbias is not None:
        check_shape((int(rbias.shape[0]),), (G * U,), "rbias")
    if o.cell == FK_RNN_LSTM:
        if c0 is None:
            raise ValueError("c0 is required for an LSTM")
        check_shape(shp2(c0.shape[0], c0.shape[1]), (B, U), "c0")
    if mask is not None:
        check_shape(shp2(mask.shape[0], mask.shape[1]), (B, T), "mask")
    if rec_mask is not None:
        check_shape(shp2(rec_mask.shape[0], rec_mask.shape[1]), (B, U), "rec_mask")
    cdef int64_t wsn = fk_rnn_workspace_size(&o, B, T, U)
    if wsn == 0:
        check_status(fk_rnn_fwd_f32(B, T, U, &o, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                    NULL, NULL, NULL, NULL, 1), "fk_rnn_fwd")
    dt = np.float32 if floating is float else np.float64
    shape_y = (int(B), int(T), int(U)) if return_sequences else (int(B), int(U))
    y = np.empty(shape_y, dtype=dt)
    hT = np.empty((B, U), dtype=dt)
    cT = np.empty((B, U), dtype=dt) if o.cell == FK_RNN_LSTM else None
    ws = np.empty(wsn, dtype=dt)
    cdef floating[::1] yv = y.reshape(-1), hv = hT.reshape(-1), wv = ws
    cdef floating[:, ::1] cv
    cdef floating *cp = NULL
    cdef const floating *c0p = NULL
    cdef const floating *rbp = NULL
    cdef const floating *rmp = NULL
    cdef const uint8_t *mp = NULL
    if o.cell == FK_RNN_LSTM:
        cv = cT
        cp = &cv[0, 0]
        c0p = &c0[0, 0]
    if rbias is not None:
        rbp = &rbias[0]
    if rec_mask is not None:
        rmp = &rec_mask[0, 0]
    if mask is not None:
        mp = &mask[0, 0]
    cdef int st
    with nogil:
        if floating is float:
            st = fk_rnn_fwd_f32(B, T, U, &o, &xp[0, 0, 0], &kernel[0, 0], rbp, &h0[0, 0], c0p,
                                mp, rmp, &yv[0], &hv[0], cp, &wv[0], n_threads)
        else:
            st = fk_rnn_fwd_f64(B, T, U, &o, &xp[0, 0, 0], &kernel[0, 0], rbp, &h0[0, 0], c0p,
                                mp, rmp, &yv[0], &hv[0], cp, &wv[0], n_threads)
    check_status(st, "fk_rnn_fwd")
    return y, hT, cT, ws


def backward(const floating[:, ::1] kernel not None, const floating[::1] rbias,
             const uint8_t[:, ::1] mask, const floating[:, ::1] rec_mask,
             const floating[::1] ws not None, const floating[::1] dy,
             const floating[:, ::1] dhT, const floating[:, ::1] dcT, *, Py_ssize_t batch,
             Py_ssize_t steps, cell, bint reset_after=True, activation=Activation.TANH,
             recurrent_activation=Activation.SIGMOID,
             bint go_backwards=False, bint return_sequences=False,
             bint zero_output_for_mask=False, int n_threads=1):
    """Gradients of one sequence from forward()'s ws. dy (flattened y) / dhT / dcT may be
    None. Returns (dxp (B, T, G*U), dkernel (U, G*U), drbias or None, dh0, dc0 or None)."""
    cdef fk_rnn_opts o = make_opts(cell, reset_after, activation, recurrent_activation,
                                   go_backwards, return_sequences, zero_output_for_mask)
    cdef Py_ssize_t B = batch, T = steps, U = kernel.shape[0]
    cdef Py_ssize_t G = Cell(cell).gates
    if B < 1 or T < 1 or U < 1:
        raise ValueError(f"batch, steps and the kernel's units must be positive, got batch "
                         f"{B}, steps {T}, units {U}")
    check_shape(shp2(kernel.shape[0], kernel.shape[1]), (U, G * U), "kernel")
    cdef int64_t wsn = fk_rnn_workspace_size(&o, B, T, U)
    if wsn == 0:
        check_status(fk_rnn_bwd_f32(B, T, U, &o, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                    NULL, NULL, NULL, NULL, NULL, NULL, 1), "fk_rnn_bwd")
    check_shape((int(ws.shape[0]),), (int(wsn),), "ws")
    if rbias is not None:
        check_shape((int(rbias.shape[0]),), (G * U,), "rbias")
    if mask is not None:
        check_shape(shp2(mask.shape[0], mask.shape[1]), (B, T), "mask")
    if rec_mask is not None:
        check_shape(shp2(rec_mask.shape[0], rec_mask.shape[1]), (B, U), "rec_mask")
    if dy is not None:
        check_shape((int(dy.shape[0]),), (int(B * U * (T if return_sequences else 1)),), "dy")
    if dhT is not None:
        check_shape(shp2(dhT.shape[0], dhT.shape[1]), (B, U), "dhT")
    if dcT is not None:
        if o.cell != FK_RNN_LSTM:
            raise ValueError("dcT is only for an LSTM")
        check_shape(shp2(dcT.shape[0], dcT.shape[1]), (B, U), "dcT")
    dt = np.float32 if floating is float else np.float64
    dxp = np.empty((B, T, G * U), dtype=dt)
    dk = np.empty((U, G * U), dtype=dt)
    drb = np.empty(G * U, dtype=dt) if rbias is not None else None
    dh0 = np.empty((B, U), dtype=dt)
    dc0 = np.empty((B, U), dtype=dt) if o.cell == FK_RNN_LSTM else None
    cdef floating[::1] dxv = dxp.reshape(-1), dkv = dk.reshape(-1), dhv = dh0.reshape(-1)
    cdef floating[::1] drv, dcv
    cdef floating *drp = NULL
    cdef floating *dcp = NULL
    cdef const floating *rbp = NULL
    cdef const floating *rmp = NULL
    cdef const floating *dyp = NULL
    cdef const floating *dhp = NULL
    cdef const floating *dcTp = NULL
    cdef const uint8_t *mp = NULL
    if drb is not None:
        drv = drb
        drp = &drv[0]
        rbp = &rbias[0]
    if dc0 is not None:
        dcv = dc0.reshape(-1)
        dcp = &dcv[0]
    if rec_mask is not None:
        rmp = &rec_mask[0, 0]
    if mask is not None:
        mp = &mask[0, 0]
    if dy is not None:
        dyp = &dy[0]
    if dhT is not None:
        dhp = &dhT[0, 0]
    if dcT is not None:
        dcTp = &dcT[0, 0]
    cdef int st
    with nogil:
        if floating is float:
            st = fk_rnn_bwd_f32(B, T, U, &o, &kernel[0, 0], rbp, mp, rmp, &ws[0], dyp, dhp,
                                dcTp, &dxv[0], &dkv[0], drp, &dhv[0], dcp, n_threads)
        else:
            st = fk_rnn_bwd_f64(B, T, U, &o, &kernel[0, 0], rbp, mp, rmp, &ws[0], dyp, dhp,
                                dcTp, &dxv[0], &dkv[0], drp, &dhv[0], dcp, n_threads)
    check_status(st, "fk_rnn_bwd")
    return dxp, dk, drb, dh0, dc0
