# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the dense-chain inference kernel (dense_chain.h).

A DenseChain holds its steps' weights (C-contiguous copies it owns, so nothing can
change or free them under a running call) and runs a whole chain of Dense /
affine layers with their activations in one C call without the GIL."""
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport calloc, malloc, free

import numpy as np
cimport numpy as cnp

from fastkeras._kernels.fk cimport *

include "_status.pxi"
include "_geom.pxi"

cnp.import_array()

STEP_LINEAR = -1
STEP_SOFTMAX = -2


def qdense_kernel():
    """The int8 kernel this process runs: "avx512_vnni" or "portable" (qdense.h)."""
    return fk_qdense_kernel().decode()


cdef class QuantizedDense:
    """A float32 Dense weight (in, out) quantised to int8 per output column, symmetric
    (scale = max |w| / 127 of the column), packed for the chain's int8 step (qdense.h).
    x_scale: the static input scale (> 0, from calibration), or 0 to scale each row by its
    own max |x| / 127 when the chain runs."""
    cdef readonly cnp.ndarray packed, w_scale, offset
    cdef readonly float x_scale
    cdef readonly int64_t n_in, n_out

    def __init__(self, weight, double x_scale=0.0):
        cdef cnp.ndarray w = np.ascontiguousarray(weight, dtype=np.float32)
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            raise ValueError(f"QuantizedDense: weight must be a non-empty (in, out) matrix, "
                             f"got shape {np.shape(weight)}")
        if w.shape[0] > FK_QDENSE_MAX_IN:
            raise ValueError(f"QuantizedDense: at most {FK_QDENSE_MAX_IN} input features "
                             f"(exact int32 sums), got {w.shape[0]}")
        if not (x_scale >= 0.0 and x_scale < np.finfo(np.float32).max):
            raise ValueError(f"QuantizedDense: x_scale must be a finite value >= 0, got "
                             f"{x_scale}")
        self.n_in, self.n_out = w.shape[0], w.shape[1]
        self.x_scale = <float>x_scale
        cdef int64_t padded = (self.n_out + FK_QDENSE_NB - 1) // FK_QDENSE_NB * FK_QDENSE_NB
        self.packed = np.empty(fk_qdense_packed_size(self.n_in, self.n_out), dtype=np.int8)
        self.w_scale = np.empty(padded, dtype=np.float32)
        self.offset = np.empty(padded, dtype=np.int32)
        cdef int st = fk_qdense_quantize(self.n_in, self.n_out, <const float *>cnp.PyArray_DATA(w),
                                         <int8_t *>cnp.PyArray_DATA(self.packed),
                                         <float *>cnp.PyArray_DATA(self.w_scale),
                                         <int32_t *>cnp.PyArray_DATA(self.offset))
        if st == FK_EBADARG:
            raise ValueError("QuantizedDense: the weight holds NaN or infinite values")
        check_status(st, "fk_qdense_quantize")
        for a in (self.packed, self.w_scale, self.offset):
            a.flags.writeable = False  # running chains read them without the GIL

    @property
    def scales(self):
        """The per-output-column weight scales (out,)."""
        return self.w_scale[:self.n_out].copy()


cdef class DenseChain:
    """steps: [(type, weight, bias or None, activation kind, alpha)], type "dense"
    (weight (in, out)) or "affine" (weight and bias (out,)); dtype float32 or float64.
    device="cuda": the weights are copied to the GPU once and every run copies the batch in
    and the result out once (the CUDA build with a device; RuntimeError elsewhere)."""
    cdef fk_chain_step *steps
    cdef fk_qdense *qsteps
    cdef fk_chain_cuda *gpu
    cdef readonly str device
    cdef int n_steps
    cdef readonly object dtype
    cdef readonly int64_t n_in, n_out
    cdef list arrays

    def __cinit__(self, steps, dtype, device="cpu"):
        self.steps = NULL
        self.qsteps = NULL
        self.gpu = NULL

    def __init__(self, steps, dtype, device="cpu"):
        if device not in ("cpu", "cuda"):
            raise ValueError(f"DenseChain: device must be 'cpu' or 'cuda', got {device!r}")
        self.device = device
        dt = np.dtype(dtype)
        if dt != np.float32 and dt != np.float64:
            raise ValueError(f"DenseChain: dtype must be float32 or float64, got {dt}")
        steps = list(steps)
        if not steps:
            raise ValueError("DenseChain: no steps")
        self.dtype = dt
        self.arrays = []
        self.steps = <fk_chain_step *>calloc(len(steps), sizeof(fk_chain_step))
        self.qsteps = <fk_qdense *>calloc(len(steps), sizeof(fk_qdense))
        if self.steps == NULL or self.qsteps == NULL:
            raise MemoryError("DenseChain: no memory for the steps")
        self.n_steps = len(steps)
        cdef cnp.ndarray w, b
        cdef QuantizedDense q
        cdef int i
        prev = None
        for i, (kind, weight, bias, act, alpha) in enumerate(steps):
            if kind == "dense_int8":
                if not isinstance(weight, QuantizedDense):
                    raise ValueError(f"DenseChain step {i}: an int8 step takes a "
                                     f"QuantizedDense, got {type(weight).__name__}")
                if dt != np.float32 or device != "cpu":
                    raise ValueError(f"DenseChain step {i}: int8 steps run in float32 chains "
                                     f"on the CPU only")
                q = weight
                n_in, n_out = q.n_in, q.n_out
                self.qsteps[i].packed = <const int8_t *>cnp.PyArray_DATA(q.packed)
                self.qsteps[i].w_scale = <const float *>cnp.PyArray_DATA(q.w_scale)
                self.qsteps[i].offset = <const int32_t *>cnp.PyArray_DATA(q.offset)
                self.qsteps[i].x_scale = q.x_scale
                self.steps[i].type = FK_STEP_DENSE_INT8
                w = q.packed
                self.arrays.append(q)  # owns packed / w_scale / offset (read-only)
            elif kind == "dense":
                w = np.ascontiguousarray(weight, dtype=dt).copy()
                if w.ndim != 2:
                    raise ValueError(f"DenseChain step {i}: a dense weight must be 2-D")
                n_in, n_out = w.shape[0], w.shape[1]
                self.steps[i].type = FK_STEP_DENSE
            elif kind == "affine":
                w = np.ascontiguousarray(weight, dtype=dt).copy()
                if w.ndim != 1:
                    raise ValueError(f"DenseChain step {i}: affine scales must be 1-D")
                n_in = n_out = w.shape[0]
                self.steps[i].type = FK_STEP_AFFINE
            else:
                raise ValueError(f"DenseChain step {i}: unknown kind {kind!r}")
            if prev is not None and n_in != prev:
                raise ValueError(f"DenseChain step {i}: takes {n_in} features, the previous "
                                 f"step gives {prev}")
            prev = n_out
            self.steps[i].in_ = n_in
            self.steps[i].out = n_out
            self.steps[i].w = (<void *>&self.qsteps[i] if kind == "dense_int8"
                               else cnp.PyArray_DATA(w))
            self.steps[i].b = NULL
            if bias is not None:
                b = np.ascontiguousarray(bias, dtype=dt).copy()
                if b.ndim != 1 or b.shape[0] != n_out:
                    raise ValueError(f"DenseChain step {i}: the bias must have {n_out} values")
                self.steps[i].b = cnp.PyArray_DATA(b)
                self.arrays.append(b)
            self.arrays.append(w)
            self.steps[i].act = int(act)
            self.steps[i].alpha = float(alpha)
            self.steps[i].packed = NULL
            if kind == "dense" and dt == np.float32 and device == "cpu":
                self._pack(i)
        self.n_in = self.steps[0].in_
        self.n_out = self.steps[self.n_steps - 1].out
        cdef int st
        cdef int f64 = dt.itemsize == 8
        if device == "cuda":
            with nogil:
                st = fk_chain_cuda_create(f64, self.n_steps, self.steps, &self.gpu)
            check_status(st, "fk_chain_cuda_create")

    cdef _pack(self, int i):
        """The step's weight and bias in the direct tiles' layout (dense_chain.h), where this
        CPU has them: blocks of rows then skip BLAS' per-call packing."""
        cdef int64_t size = fk_dense_chain_packed_size(self.steps[i].in_, self.steps[i].out)
        if size < 0:
            return
        cdef cnp.ndarray packed = np.empty(size, dtype=np.float32)
        check_status(fk_dense_chain_pack_f32(self.steps[i].in_, self.steps[i].out,
                                             <const float *>self.steps[i].w,
                                             <const float *>self.steps[i].b,
                                             <float *>cnp.PyArray_DATA(packed)),
                     "fk_dense_chain_pack_f32")
        self.arrays.append(packed)
        self.steps[i].packed = cnp.PyArray_DATA(packed)

    def __dealloc__(self):
        free(self.steps)
        free(self.qsteps)
        if self.gpu != NULL:
            fk_chain_cuda_destroy(self.gpu)

    def run(self, x, int n_threads=1):
        """(n, in) -> (n, out). x must already have the chain's dtype and be C-contiguous."""
        cdef cnp.ndarray xa = <cnp.ndarray?>x
        if xa.ndim != 2 or xa.shape[1] != self.n_in:
            raise ValueError(f"expected inputs of shape (batch, {self.n_in}), got "
                             f"{tuple(x.shape)}")
        if xa.dtype != self.dtype or not cnp.PyArray_IS_C_CONTIGUOUS(xa):
            raise ValueError(f"expected C-contiguous {self.dtype} inputs")
        cdef int64_t n = xa.shape[0]
        cdef cnp.ndarray y = np.empty((n, self.n_out), dtype=self.dtype)
        cdef int st
        cdef void *xp = cnp.PyArray_DATA(xa)
        cdef void *yp = cnp.PyArray_DATA(y)
        cdef bint single = self.dtype.itemsize == 4
        cdef fk_chain_cuda *gpu = self.gpu
        with nogil:
            if gpu != NULL and single:
                st = fk_chain_cuda_run_f32(gpu, n, <float *>xp, <float *>yp)
            elif gpu != NULL:
                st = fk_chain_cuda_run_f64(gpu, n, <double *>xp, <double *>yp)
            elif single:
                st = fk_dense_chain_f32(n, self.n_steps, self.steps, <float *>xp, <float *>yp,
                                        n_threads)
            else:
                st = fk_dense_chain_f64(n, self.n_steps, self.steps, <double *>xp,
                                        <double *>yp, n_threads)
        check_status(st, "fk_chain_cuda_run" if gpu != NULL else "fk_dense_chain")
        return y


cdef object plan_dtype(dtype, str who):
    dt = np.dtype(dtype)
    if dt != np.float32 and dt != np.float64:
        raise ValueError(f"{who}: dtype must be float32 or float64, got {dt}")
    return dt


cdef int64_t batch_of(cnp.ndarray xa, dtype, int64_t in_size, tuple in_shape) except -1:
    """The batch size of a plan's input, after checking its dtype, layout and size."""
    shape = (<object>xa).shape
    if xa.dtype != dtype or not cnp.PyArray_IS_C_CONTIGUOUS(xa) or xa.ndim < 1:
        raise ValueError(f"expected C-contiguous {dtype} inputs")
    cdef int64_t n = xa.shape[0]
    if cnp.PyArray_SIZE(xa) != n * in_size:
        raise ValueError(f"expected inputs of shape (batch,) + {in_shape}, got {shape}")
    return n


cdef class ConvPlan:
    """A channels-last convolution with its bias and activation, planned once for serving:
    the geometry is parsed and checked here (only the batch size changes per call), the
    kernel and bias are private contiguous copies, and one GIL-free call runs the
    convolution (workspace from malloc) and the activation."""
    cdef fk_conv_geom g
    cdef cnp.ndarray kernel, bias, packed
    cdef readonly QuantizedDense quantized
    cdef fk_qdense q
    cdef readonly str algorithm
    cdef int act
    cdef double alpha
    cdef readonly object dtype
    cdef readonly tuple in_shape, out_shape
    cdef int64_t in_size, out_size

    def __init__(self, dict geom, kernel, bias, int act, double alpha, dtype,
                 int8_x_scale=None):
        """int8_x_scale: run in int8 (qdense.h's fk_qconv_fwd_f32), the kernel quantised per
        output channel, the input by this static scale (> 0) or per image (0)."""
        dt = plan_dtype(dtype, "ConvPlan")
        self.dtype = dt
        cdef int d
        self.g.n = 1
        for d in range(3):
            self.g.in_[d] = geom_triple(geom, "in")[d]
            self.g.out[d] = geom_triple(geom, "out")[d]
            self.g.k[d] = geom_triple(geom, "k")[d]
            self.g.stride[d] = geom_triple(geom, "stride")[d]
            self.g.dil[d] = geom_triple(geom, "dil")[d]
            self.g.pad[d] = geom_triple(geom, "pad")[d]
        self.g.cin, self.g.cout, self.g.groups = geom["cin"], geom["cout"], geom["groups"]
        self.g.algo = geom.get("algo", 0)
        check_status(fk_conv_check(&self.g), "fk_conv_check")
        if act < STEP_SOFTMAX or act >= FK_ACT_COUNT:
            raise ValueError(f"ConvPlan: unknown activation kind {act}")
        self.kernel = np.ascontiguousarray(kernel, dtype=dt).reshape(-1).copy()
        want = (self.g.k[0] * self.g.k[1] * self.g.k[2] * (self.g.cin // self.g.groups) *
                self.g.cout)
        if self.kernel.shape[0] != want:
            raise ValueError(f"ConvPlan: the kernel has {self.kernel.shape[0]} values, the "
                             f"geometry needs {want}")
        self.bias = None if bias is None else np.ascontiguousarray(bias, dtype=dt).copy()
        if self.bias is not None and (self.bias.ndim != 1 or self.bias.shape[0] != self.g.cout):
            raise ValueError(f"ConvPlan: the bias must have {self.g.cout} values")
        self.act, self.alpha = act, alpha
        # float32 on AVX2 / AVX-512, ungrouped 1-D / 2-D: the direct kernel on weights
        # packed here (conv_direct.h); elsewhere the training pass' im2col / Winograd
        self.packed = None
        self.quantized = None
        self.algorithm = "im2col"
        if int8_x_scale is not None:
            if dt != np.float32 or act == STEP_SOFTMAX or self.g.groups != 1:
                raise ValueError("ConvPlan: int8 runs float32, ungrouped convolutions without "
                                 "a softmax")
            self.quantized = QuantizedDense(self.kernel.reshape(-1, self.g.cout),
                                            float(int8_x_scale))
            self.q.packed = <const int8_t *>cnp.PyArray_DATA(self.quantized.packed)
            self.q.w_scale = <const float *>cnp.PyArray_DATA(self.quantized.w_scale)
            self.q.offset = <const int32_t *>cnp.PyArray_DATA(self.quantized.offset)
            self.q.x_scale = self.quantized.x_scale
            self.algorithm = "int8"
        elif dt == np.float32 and act != STEP_SOFTMAX and fk_conv_direct_usable(&self.g):
            self.packed = np.empty(fk_conv_direct_packed_size(&self.g), dtype=np.float32)
            check_status(fk_conv_direct_pack_f32(
                &self.g, <float *>cnp.PyArray_DATA(self.kernel),
                NULL if self.bias is None else <float *>cnp.PyArray_DATA(self.bias),
                <float *>cnp.PyArray_DATA(self.packed)), "fk_conv_direct_pack_f32")
            self.algorithm = "direct"
        self.in_size = self.g.in_[0] * self.g.in_[1] * self.g.in_[2] * self.g.cin
        self.out_size = self.g.out[0] * self.g.out[1] * self.g.out[2] * self.g.cout
        self.in_shape = tuple(geom["in_shape"])
        self.out_shape = tuple(geom["out_shape"])

    def run(self, x, int n_threads=1):
        """(n,) + in_shape -> (n,) + out_shape; x C-contiguous in the plan's dtype."""
        cdef cnp.ndarray xa = <cnp.ndarray?>x
        cdef int64_t n = batch_of(xa, self.dtype, self.in_size, self.in_shape)
        cdef cnp.ndarray y = np.empty((n,) + self.out_shape, dtype=self.dtype)
        cdef fk_conv_geom g = self.g
        g.n = n
        if self.quantized is not None:
            return self._run_int8(g, xa, y, n_threads)
        if self.packed is not None:
            return y if n == 0 else self._run_direct(g, xa, y, n_threads)
        cdef cnp.ndarray z = y if self.act == STEP_LINEAR else np.empty_like(y)
        if n == 0:
            return z
        cdef int es = self.dtype.itemsize
        cdef int64_t nbytes = fk_conv_workspace_size(&g, es, n_threads)
        if nbytes < 0:
            raise ValueError("fk_conv_workspace_size: invalid geometry")
        cdef void *xp = cnp.PyArray_DATA(xa)
        cdef void *yp = cnp.PyArray_DATA(y)
        cdef void *zp = cnp.PyArray_DATA(z)
        cdef const void *wp = cnp.PyArray_DATA(self.kernel)
        cdef const void *bp = NULL if self.bias is None else cnp.PyArray_DATA(self.bias)
        cdef int act = self.act
        cdef double alpha = self.alpha
        cdef int st = FK_OK
        cdef void *ws
        with nogil:
            ws = malloc(<size_t>(nbytes if nbytes > 0 else 1))
            if ws == NULL:
                st = FK_ENOMEM
            elif es == 4:
                st = fk_conv_fwd_f32(&g, <float *>xp, <float *>wp, <float *>bp, <float *>yp, ws,
                                     nbytes, n_threads)
                if st == FK_OK and act >= 0:
                    st = fk_act_fwd_f32(act, n * self.out_size, <float *>yp, <float *>zp, alpha,
                                        n_threads)
            else:
                st = fk_conv_fwd_f64(&g, <double *>xp, <double *>wp, <double *>bp,
                                     <double *>yp, ws, nbytes, n_threads)
                if st == FK_OK and act >= 0:
                    st = fk_act_fwd_f64(act, n * self.out_size, <double *>yp, <double *>zp,
                                        alpha, n_threads)
            free(ws)
        check_status(st, "fk_conv_fwd")
        if act == STEP_SOFTMAX:
            e = np.exp(y - y.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return z

    cdef _run_int8(self, fk_conv_geom g, cnp.ndarray xa, cnp.ndarray y, int n_threads):
        """The int8 kernel: quantise, gather, integer product, bias, activation; one call."""
        cdef const float *xp = <const float *>cnp.PyArray_DATA(xa)
        cdef float *yp = <float *>cnp.PyArray_DATA(y)
        cdef const float *bp = (NULL if self.bias is None
                                else <const float *>cnp.PyArray_DATA(self.bias))
        cdef int act = self.act
        cdef double alpha = self.alpha
        cdef int st
        with nogil:
            st = fk_qconv_fwd_f32(&g, &self.q, bp, act, alpha, xp, yp, n_threads)
        check_status(st, "fk_qconv_fwd_f32")
        return y

    cdef _run_direct(self, fk_conv_geom g, cnp.ndarray xa, cnp.ndarray y, int n_threads):
        """The direct kernel: bias and activation in its tiles, one GIL-free call."""
        cdef int act = self.act
        cdef int64_t nbytes = fk_conv_direct_workspace_size(&g, act, n_threads)
        if nbytes < 0:
            raise ValueError("fk_conv_direct_workspace_size: invalid geometry")
        cdef const float *xp = <const float *>cnp.PyArray_DATA(xa)
        cdef const float *pp = <const float *>cnp.PyArray_DATA(self.packed)
        cdef float *yp = <float *>cnp.PyArray_DATA(y)
        cdef double alpha = self.alpha
        cdef int st = FK_OK
        cdef void *ws
        with nogil:
            ws = malloc(<size_t>(nbytes if nbytes > 0 else 1))
            if ws == NULL:
                st = FK_ENOMEM
            else:
                st = fk_conv_direct_fwd_f32(&g, xp, pp, act, alpha, yp, ws, nbytes, n_threads)
            free(ws)
        check_status(st, "fk_conv_direct_fwd_f32")
        return y


cdef class PoolPlan:
    """Max or average pooling (channels last) planned once for serving."""
    cdef fk_pool_geom g
    cdef bint is_max
    cdef readonly object dtype
    cdef readonly tuple in_shape, out_shape
    cdef int64_t in_size

    def __init__(self, dict geom, bint is_max, dtype):
        dt = plan_dtype(dtype, "PoolPlan")
        self.dtype, self.is_max = dt, is_max
        cdef int d
        self.g.n = 1
        for d in range(3):
            self.g.in_[d] = geom_triple(geom, "in")[d]
            self.g.out[d] = geom_triple(geom, "out")[d]
            self.g.k[d] = geom_triple(geom, "k")[d]
            self.g.stride[d] = geom_triple(geom, "stride")[d]
            self.g.pad[d] = geom_triple(geom, "pad")[d]
        self.g.c = geom["c"]
        check_status(fk_pool_check(&self.g), "fk_pool_check")
        self.in_size = self.g.in_[0] * self.g.in_[1] * self.g.in_[2] * self.g.c
        self.in_shape = tuple(geom["in_shape"])
        self.out_shape = tuple(geom["out_shape"])

    def run(self, x, int n_threads=1):
        cdef cnp.ndarray xa = <cnp.ndarray?>x
        cdef int64_t n = batch_of(xa, self.dtype, self.in_size, self.in_shape)
        cdef cnp.ndarray y = np.empty((n,) + self.out_shape, dtype=self.dtype)
        if n == 0:
            return y
        cdef fk_pool_geom g = self.g
        g.n = n
        cdef void *xp = cnp.PyArray_DATA(xa)
        cdef void *yp = cnp.PyArray_DATA(y)
        cdef bint single = self.dtype.itemsize == 4, is_max = self.is_max
        cdef int st
        with nogil:
            if is_max and single:
                st = fk_maxpool_fwd_f32(&g, <float *>xp, <float *>yp, NULL, n_threads)
            elif is_max:
                st = fk_maxpool_fwd_f64(&g, <double *>xp, <double *>yp, NULL, n_threads)
            elif single:
                st = fk_avgpool_fwd_f32(&g, <float *>xp, <float *>yp, n_threads)
            else:
                st = fk_avgpool_fwd_f64(&g, <double *>xp, <double *>yp, n_threads)
        check_status(st, "fk_pool_fwd")
        return y
