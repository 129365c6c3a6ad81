# Declarations of the fastkeras C API (csrc/include/fastkeras), and of the internal
# host-copy wrappers of the CUDA twins (csrc/cuda/host_copies.h). Every kernel is
# noexcept nogil: it returns a status and never touches Python.
from libc.stdint cimport int64_t, int32_t, int8_t, uint8_t

cdef extern from "fastkeras/fk_status.h" nogil:
    int FK_OK
    int FK_EBADSHAPE
    int FK_ENULL
    int FK_ELABEL
    int FK_EBADARG
    int FK_ENOMEM
    int FK_ENODEVICE
    int FK_ECUDA
    int FK_ENOTBUILT
    int FK_EHOSTPTR
    const char *fk_status_str(int status) noexcept

cdef extern from "fastkeras/fk_build.h" nogil:
    const char *fk_version() noexcept
    const char *fk_compiler() noexcept
    int fk_openmp_enabled() noexcept
    int fk_default_num_threads() noexcept
    int fk_cuda_compiled() noexcept
    int fk_simd_compiled_max() noexcept
    int fk_simd_cpu_max() noexcept
    int fk_simd_level() noexcept
    const char *fk_simd_name(int level) noexcept
    double fk_peak_gflops(int n_threads, double seconds) noexcept
    int fk_stream_pass(float *const *read, int n_read, float *const *update, int n_update,
                       float *const *write, int n_write, int64_t n, int n_threads,
                       double *checksum) noexcept

cdef extern from "fastkeras/softmax_xent.h" nogil:
    ctypedef struct fk_xent_opts:
        int from_logits
        double label_smoothing
        double epsilon
        int has_ignore_class
        int64_t ignore_class
        double grad_scale
    void fk_xent_opts_init(fk_xent_opts *opts) noexcept
    int fk_softmax_xent_sparse_fwd_f32(int64_t n, int64_t c, const float *x, const int64_t *labels,
                                       float *loss, const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_sparse_fwd_f64(int64_t n, int64_t c, const double *x, const int64_t *labels,
                                       double *loss, const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_dense_fwd_f32(int64_t n, int64_t c, const float *x, const float *targets,
                                      float *loss, const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_dense_fwd_f64(int64_t n, int64_t c, const double *x, const double *targets,
                                      double *loss, const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_sparse_bwd_f32(int64_t n, int64_t c, const float *x, const int64_t *labels,
                                       const float *gscale, float *grad, float *loss,
                                       const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_sparse_bwd_f64(int64_t n, int64_t c, const double *x, const int64_t *labels,
                                       const double *gscale, double *grad, double *loss,
                                       const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_dense_bwd_f32(int64_t n, int64_t c, const float *x, const float *targets,
                                      const float *gscale, float *grad, float *loss,
                                      const fk_xent_opts *opts, int n_threads) noexcept
    int fk_softmax_xent_dense_bwd_f64(int64_t n, int64_t c, const double *x, const double *targets,
                                      const double *gscale, double *grad, double *loss,
                                      const fk_xent_opts *opts, int n_threads) noexcept

cdef extern from "fastkeras/cuda/device.h" nogil:
    int fk_cuda_device_count() noexcept
    int fk_cuda_device_name(char *buf, int length) noexcept
    const char *fk_cuda_last_error() noexcept
    int fk_cuda_copy(void *dst, const void *src, int64_t nbytes, int direction) noexcept
    int fk_cuda_malloc(void **ptr, int64_t nbytes) noexcept
    int fk_cuda_free(void *ptr) noexcept
    double fk_cuda_peak_bandwidth() noexcept

cdef extern from "fastkeras/conv.h" nogil:
    ctypedef struct fk_conv_geom:
        int64_t n
        int64_t[3] in_ "in"
        int64_t[3] out
        int64_t[3] k
        int64_t[3] stride
        int64_t[3] dil
        int64_t[3] pad
        int64_t cin
        int64_t cout
        int64_t groups
        int32_t algo
    int fk_conv_check(const fk_conv_geom *g) noexcept
    int64_t fk_conv_workspace_size(const fk_conv_geom *g, int elem_size, int n_threads) noexcept
    int fk_conv_fwd_f32(const fk_conv_geom *g, const float *x, const float *w, const float *bias,
                        float *y, void *ws, int64_t ws_bytes, int n_threads) noexcept
    int fk_conv_fwd_f64(const fk_conv_geom *g, const double *x, const double *w,
                        const double *bias, double *y, void *ws, int64_t ws_bytes,
                        int n_threads) noexcept
    int fk_conv_bwd_data_f32(const fk_conv_geom *g, const float *dy, const float *w, float *dx,
                             void *ws, int64_t ws_bytes, int n_threads) noexcept
    int fk_conv_bwd_data_f64(const fk_conv_geom *g, const double *dy, const double *w,
                             double *dx, void *ws, int64_t ws_bytes, int n_threads) noexcept
    int fk_conv_bwd_filter_f32(const fk_conv_geom *g, const float *x, const float *dy, float *dw,
                               float *db, void *ws, int64_t ws_bytes, int n_threads) noexcept
    int fk_conv_bwd_filter_f64(const fk_conv_geom *g, const double *x, const double *dy,
                               double *dw, double *db, void *ws, int64_t ws_bytes,
                               int n_threads) noexcept
    const char *fk_blas_name() noexcept

cdef extern from "fastkeras/conv_direct.h" nogil:
    int fk_conv_direct_usable(const fk_conv_geom *g) noexcept
    int64_t fk_conv_direct_packed_size(const fk_conv_geom *g) noexcept
    int fk_conv_direct_pack_f32(const fk_conv_geom *g, const float *w, const float *bias,
                                float *packed) noexcept
    int64_t fk_conv_direct_workspace_size(const fk_conv_geom *g, int act, int n_threads) noexcept
    int fk_conv_direct_fwd_f32(const fk_conv_geom *g, const float *x, const float *packed,
                               int act, double alpha, float *y, void *ws, int64_t ws_bytes,
                               int n_threads) noexcept

cdef extern from "fastkeras/pool.h" nogil:
    ctypedef struct fk_pool_geom:
        int64_t n
        int64_t[3] in_ "in"
        int64_t[3] out
        int64_t[3] k
        int64_t[3] stride
        int64_t[3] pad
        int64_t c
    int fk_pool_check(const fk_pool_geom *g) noexcept
    int fk_maxpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, uint8_t *argmax,
                           int n_threads) noexcept
    int fk_maxpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, uint8_t *argmax,
                           int n_threads) noexcept
    int fk_maxpool_bwd_f32(const fk_pool_geom *g, const float *dy, const uint8_t *argmax,
                           float *dx, int n_threads) noexcept
    int fk_maxpool_bwd_f64(const fk_pool_geom *g, const double *dy, const uint8_t *argmax,
                           double *dx, int n_threads) noexcept
    int fk_maxpool_bwd_recompute_f32(const fk_pool_geom *g, const float *x, const float *y,
                                     const float *dy, float *dx, int all_ties,
                                     int n_threads) noexcept
    int fk_maxpool_bwd_recompute_f64(const fk_pool_geom *g, const double *x, const double *y,
                                     const double *dy, double *dx, int all_ties,
                                     int n_threads) noexcept
    int fk_avgpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, int n_threads) noexcept
    int fk_avgpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, int n_threads) noexcept
    int fk_avgpool_bwd_f32(const fk_pool_geom *g, const float *dy, float *dx, int n_threads) noexcept
    int fk_avgpool_bwd_f64(const fk_pool_geom *g, const double *dy, double *dx, int n_threads) noexcept

cdef extern from "fastkeras/optim.h" nogil:
    ctypedef struct fk_optim_args:
        int kind
        double lr
        double beta1
        double beta2
        double epsilon
        double rho
        double momentum
        int amsgrad
        int centered
        double alpha
        double c1
        double c2
        double vcorr
        double weight_decay
        double clipvalue
        double ema_momentum
    int fk_optim_step_f32(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                          float **params, const float **grads, const double *gscale,
                          float ***slots, float **ema, int n_threads) noexcept
    int fk_optim_step_f64(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                          double **params, const double **grads, const double *gscale,
                          double ***slots, double **ema, int n_threads) noexcept

cdef extern from "fastkeras/rank_hist.h" nogil:
    int fk_rank_hist_f32(int64_t n, const float *scores, const uint8_t *labels,
                         const float *weights, int64_t num_thresholds, double *pos, double *neg,
                         int n_threads) noexcept
    int fk_rank_hist_f64(int64_t n, const double *scores, const uint8_t *labels,
                         const double *weights, int64_t num_thresholds, double *pos, double *neg,
                         int n_threads) noexcept
    int fk_rank_exact_f32(int64_t n, const float *scores, const uint8_t *labels,
                          const float *weights, double *auc, double *ks, int n_threads) noexcept
    int fk_rank_exact_f64(int64_t n, const double *scores, const uint8_t *labels,
                          const double *weights, double *auc, double *ks, int n_threads) noexcept

cdef extern from "fastkeras/cuda/rank_cuda.h" nogil:
    int fk_rank_hist_f32_cuda(int64_t n, const float *scores, const void *labels, int label_type,
                              const float *weights, int64_t num_thresholds, double *pos,
                              double *neg, void *stream) noexcept
    int fk_rank_hist_f64_cuda(int64_t n, const double *scores, const void *labels,
                              int label_type, const double *weights, int64_t num_thresholds,
                              double *pos, double *neg, void *stream) noexcept

cdef extern from "fastkeras/cuda/optim_cuda.h" nogil:
    int fk_optim_step_f32_cuda(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                               float **params, const float **grads, const double *gscale,
                               float ***slots, float **ema, void *stream) noexcept
    int fk_optim_step_f64_cuda(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                               double **params, const double **grads, const double *gscale,
                               double ***slots, double **ema, void *stream) noexcept

# Internal host-copy wrappers of the CUDA twins (csrc/cuda/host_copies.h, not a public
# header): host arrays in and out, for the tests.
cdef extern from "cuda/host_copies.h" nogil:
    int fk_softmax_xent_dense_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                                const float *targets, const float *gscale,
                                                float *grad, float *loss,
                                                const fk_xent_opts *opts) noexcept
    int fk_softmax_xent_dense_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                                const double *targets, const double *gscale,
                                                double *grad, double *loss,
                                                const fk_xent_opts *opts) noexcept
    int fk_softmax_xent_sparse_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                                 const int64_t *labels, const float *gscale,
                                                 float *grad, float *loss,
                                                 const fk_xent_opts *opts) noexcept
    int fk_softmax_xent_sparse_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                                 const int64_t *labels, const double *gscale,
                                                 double *grad, double *loss,
                                                 const fk_xent_opts *opts) noexcept
    int fk_conv_f32_cuda_host(int which, const fk_conv_geom *g, const float *a, const float *b,
                              const float *bias, float *out, float *out2) noexcept
    int fk_conv_f64_cuda_host(int which, const fk_conv_geom *g, const double *a, const double *b,
                              const double *bias, double *out, double *out2) noexcept
    int fk_pool_f32_cuda_host(int which, const fk_pool_geom *g, const float *inp, float *out,
                              uint8_t *argmax) noexcept
    int fk_pool_f64_cuda_host(int which, const fk_pool_geom *g, const double *inp, double *out,
                              uint8_t *argmax) noexcept
    int fk_optim_step_f32_cuda_host(const fk_optim_args *a, int64_t ntensors,
                                    const int64_t *sizes, float **params, const float **grads,
                                    const double *gscale, float ***slots, float **ema) noexcept
    int fk_optim_step_f64_cuda_host(const fk_optim_args *a, int64_t ntensors,
                                    const int64_t *sizes, double **params, const double **grads,
                                    const double *gscale, double ***slots,
                                    double **ema) noexcept
    int fk_rank_hist_f32_cuda_host(int64_t n, const float *scores, const uint8_t *labels,
                                   const float *weights, int64_t num_thresholds, double *pos,
                                   double *neg) noexcept
    int fk_rank_hist_f64_cuda_host(int64_t n, const double *scores, const uint8_t *labels,
                                   const double *weights, int64_t num_thresholds, double *pos,
                                   double *neg) noexcept

cdef extern from "fastkeras/elementwise.h" nogil:
    int fk_erf_f32(int64_t n, const float *x, float *out, int n_threads) noexcept
    int fk_erf_f64(int64_t n, const double *x, double *out, int n_threads) noexcept

cdef extern from "fastkeras/activation.h" nogil:
    int FK_ACT_COUNT
    int fk_act_fwd_f32(int kind, int64_t n, const float *x, float *y, double alpha,
                       int n_threads) noexcept
    int fk_act_fwd_f64(int kind, int64_t n, const double *x, double *y, double alpha,
                       int n_threads) noexcept
    int fk_act_bwd_f32(int kind, int64_t n, const float *x, const float *y, const float *g,
                       float *dx, double alpha, int n_threads) noexcept
    int fk_act_bwd_f64(int kind, int64_t n, const double *x, const double *y, const double *g,
                       double *dx, double alpha, int n_threads) noexcept

cdef extern from "fastkeras/qdense.h" nogil:
    int FK_QDENSE_NB
    int FK_QDENSE_MAX_IN
    ctypedef struct fk_qdense:
        const int8_t *packed
        const float *w_scale
        const int32_t *offset
        float x_scale
    int64_t fk_qdense_packed_size(int64_t in_, int64_t out) noexcept
    int fk_qdense_quantize(int64_t in_, int64_t out, const float *w, int8_t *packed,
                           float *w_scale, int32_t *offset) noexcept
    const char *fk_qdense_kernel() noexcept
    int fk_qconv_fwd_f32(const fk_conv_geom *g, const fk_qdense *q, const float *bias, int act,
                         double alpha, const float *x, float *y, int n_threads) noexcept


cdef extern from "fastkeras/dense_chain.h" nogil:
    int FK_STEP_DENSE
    int FK_STEP_AFFINE
    int FK_STEP_DENSE_INT8
    int FK_STEP_LINEAR
    int FK_STEP_SOFTMAX
    ctypedef struct fk_chain_step:
        int type
        int64_t in_ "in"
        int64_t out
        const void *w
        const void *b
        int act
        double alpha
        const void *packed
    int64_t fk_dense_chain_packed_size(int64_t in_, int64_t out) noexcept
    int fk_dense_chain_pack_f32(int64_t in_, int64_t out, const float *w, const float *b,
                                float *packed) noexcept
    int fk_dense_chain_f32(int64_t n, int n_steps, const fk_chain_step *steps, const float *x,
                           float *y, int n_threads) noexcept
    int fk_dense_chain_f64(int64_t n, int n_steps, const fk_chain_step *steps,
                           const double *x, double *y, int n_threads) noexcept


cdef extern from "fastkeras/gemm.h" nogil:
    int fk_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                    int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                    int64_t batch, const int64_t *a_off, const int64_t *b_off,
                    const int64_t *c_off, int n_threads) noexcept
    int fk_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const double *a,
                    int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc,
                    int64_t batch, const int64_t *a_off, const int64_t *b_off,
                    const int64_t *c_off, int n_threads) noexcept
    int64_t fk_gemm_pieces(int64_t m, int64_t n, int64_t k) noexcept
    int fk_gemm_threads(int64_t m, int64_t n, int64_t k, int64_t batch, int n_threads) noexcept
    int fk_blas_pool_threads() noexcept


cdef extern from "fastkeras/cuda/dense_chain_cuda.h" nogil:
    ctypedef struct fk_chain_cuda:
        pass
    int fk_chain_cuda_create(int f64, int n_steps, const fk_chain_step *steps,
                             fk_chain_cuda **out) noexcept
    int fk_chain_cuda_run_f32(fk_chain_cuda *plan, int64_t n, const float *x, float *y) noexcept
    int fk_chain_cuda_run_f64(fk_chain_cuda *plan, int64_t n, const double *x,
                              double *y) noexcept
    void fk_chain_cuda_destroy(fk_chain_cuda *plan) noexcept


cdef extern from "fastkeras/cuda/device_ops.h" nogil:
    int FK_DOP_GEMM
    int FK_DOP_BIAS_ACT
    int FK_DOP_ACT_BWD
    int FK_DOP_COL_SUM
    int FK_DOP_MUL
    int FK_DOP_MSE
    int FK_DOP_XENT_SPARSE
    int FK_DOP_XENT_DENSE
    int FK_DOP_CONV
    int FK_DOP_POOL
    int FK_DOP_GATHER
    int FK_DOP_REGULARIZE
    int FK_DOP_BATCHNORM
    int FK_DOP_GLOBAL_MAX
    ctypedef struct fk_dev_op:
        int op, f64, kind, ta, tb
        int64_t m, n, k
        double alpha, beta
        const void *a
        const void *b
        const void *c
        const void *d
        void *y
        void *z
        void *w
        const fk_xent_opts *xent
        const fk_conv_geom *conv
        const fk_pool_geom *pool
    int fk_cuda_dev_op(const fk_dev_op *op, void *stream) noexcept
    int fk_cuda_gemm_backend(int request) noexcept

cdef extern from "fastkeras/recurrent.h" nogil:
    int FK_RNN_SIMPLE
    int FK_RNN_LSTM
    int FK_RNN_GRU
    int FK_RNN_LINEAR
    ctypedef struct fk_rnn_opts:
        int cell
        int reset_after
        int activation
        int recurrent_activation
        int go_backwards
        int return_sequences
        int zero_output_for_mask
    int64_t fk_rnn_workspace_size(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U) noexcept
    int fk_rnn_fwd_f32(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const float *xp,
                       const float *k, const float *rb, const float *h0, const float *c0,
                       const uint8_t *mask, const float *rec_mask, float *y, float *hT,
                       float *cT, float *ws, int n_threads) noexcept
    int fk_rnn_fwd_f64(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const double *xp,
                       const double *k, const double *rb, const double *h0, const double *c0,
                       const uint8_t *mask, const double *rec_mask, double *y, double *hT,
                       double *cT, double *ws, int n_threads) noexcept
    int fk_rnn_bwd_f32(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const float *k,
                       const float *rb, const uint8_t *mask, const float *rec_mask,
                       const float *ws, const float *dy, const float *dhT, const float *dcT,
                       float *dxp, float *dk, float *drb, float *dh0, float *dc0,
                       int n_threads) noexcept
    int fk_rnn_bwd_f64(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const double *k,
                       const double *rb, const uint8_t *mask, const double *rec_mask,
                       const double *ws, const double *dy, const double *dhT,
                       const double *dcT, double *dxp, double *dk, double *drb, double *dh0,
                       double *dc0, int n_threads) noexcept
