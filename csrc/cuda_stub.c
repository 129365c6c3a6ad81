/* CPU-only builds: the CUDA entry points exist and say they were not built,
 * so C and Cython callers link the same API whatever the build: the public
 * fastkeras/cuda headers and the internal host-copy wrappers (cuda/host_copies.h). */
#include "fastkeras/cuda/softmax_xent_cuda.h"
#include "fastkeras/cuda/dense_chain_cuda.h"
#include "fastkeras/cuda/device_ops.h"
#include "fastkeras/cuda/optim_cuda.h"
#include "fastkeras/cuda/rank_cuda.h"
#include "cuda/host_copies.h"

int fk_cuda_device_count(void) { return 0; }
int fk_cuda_device_name(char *buf, int len) {
    if (buf && len > 0) buf[0] = '\0';
    return FK_ENOTBUILT;
}
const char *fk_cuda_last_error(void) { return ""; }
int fk_cuda_copy(void *dst, const void *src, int64_t bytes, int direction) {
    return FK_ENOTBUILT;
}
double fk_cuda_peak_bandwidth(void) { return FK_ENOTBUILT; }
int fk_cuda_malloc(void **ptr, int64_t bytes) {
    if (ptr) *ptr = 0;
    return FK_ENOTBUILT;
}
int fk_cuda_free(void *ptr) { return ptr ? FK_ENOTBUILT : FK_OK; }
int fk_rank_hist_f32_cuda(int64_t n, const float *scores, const void *labels, int label_type,
                          const float *weights, int64_t nt, double *pos, double *neg,
                          void *stream) {
    return FK_ENOTBUILT;
}
int fk_rank_hist_f64_cuda(int64_t n, const double *scores, const void *labels, int label_type,
                          const double *weights, int64_t nt, double *pos, double *neg,
                          void *stream) {
    return FK_ENOTBUILT;
}
int fk_rank_hist_f32_cuda_host(int64_t n, const float *scores, const uint8_t *labels,
                               const float *weights, int64_t nt, double *pos, double *neg) {
    return FK_ENOTBUILT;
}
int fk_rank_hist_f64_cuda_host(int64_t n, const double *scores, const uint8_t *labels,
                               const double *weights, int64_t nt, double *pos, double *neg) {
    return FK_ENOTBUILT;
}
int fk_optim_step_f32_cuda(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                           float *const *params, const float *const *grads, const double *gscale,
                           float *const *const *slots, float *const *ema, void *stream) {
    return FK_ENOTBUILT;
}
int fk_optim_step_f64_cuda(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                           double *const *params, const double *const *grads,
                           const double *gscale, double *const *const *slots, double *const *ema,
                           void *stream) {
    return FK_ENOTBUILT;
}
int fk_optim_step_f32_cuda_host(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                                float *const *params, const float *const *grads,
                                const double *gscale, float *const *const *slots,
                                float *const *ema) {
    return FK_ENOTBUILT;
}
int fk_optim_step_f64_cuda_host(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                                double *const *params, const double *const *grads,
                                const double *gscale, double *const *const *slots,
                                double *const *ema) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_sparse_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                        const int64_t *labels, const float *gscale, float *grad,
                                        float *loss, const fk_xent_opts *opts, void *stream) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_sparse_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                        const int64_t *labels, const double *gscale,
                                        double *grad, double *loss, const fk_xent_opts *opts,
                                        void *stream) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_sparse_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                             const int64_t *labels, const float *gscale,
                                             float *grad, float *loss, const fk_xent_opts *opts) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_sparse_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                             const int64_t *labels, const double *gscale,
                                             double *grad, double *loss,
                                             const fk_xent_opts *opts) {
    return FK_ENOTBUILT;
}
int fk_conv_f32_cuda_host(int which, const fk_conv_geom *g, const float *a, const float *b,
                          const float *bias, float *out, float *out2) {
    return FK_ENOTBUILT;
}
int fk_conv_f64_cuda_host(int which, const fk_conv_geom *g, const double *a, const double *b,
                          const double *bias, double *out, double *out2) {
    return FK_ENOTBUILT;
}
int fk_pool_f32_cuda_host(int which, const fk_pool_geom *g, const float *in, float *out,
                          uint8_t *argmax) {
    return FK_ENOTBUILT;
}
int fk_pool_f64_cuda_host(int which, const fk_pool_geom *g, const double *in, double *out,
                          uint8_t *argmax) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_dense_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                       const float *targets, const float *gscale, float *grad,
                                       float *loss, const fk_xent_opts *opts, void *stream) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_dense_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                       const double *targets, const double *gscale,
                                       double *grad, double *loss, const fk_xent_opts *opts,
                                       void *stream) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_dense_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                            const float *targets, const float *gscale,
                                            float *grad, float *loss, const fk_xent_opts *opts) {
    return FK_ENOTBUILT;
}
int fk_softmax_xent_dense_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                            const double *targets, const double *gscale,
                                            double *grad, double *loss,
                                            const fk_xent_opts *opts) {
    return FK_ENOTBUILT;
}
int fk_chain_cuda_create(int f64, int n_steps, const fk_chain_step *steps, fk_chain_cuda **out) {
    if (out) *out = 0;
    return FK_ENOTBUILT;
}
int fk_chain_cuda_run_f32(fk_chain_cuda *plan, int64_t n, const float *x, float *y) {
    return FK_ENOTBUILT;
}
int fk_chain_cuda_run_f64(fk_chain_cuda *plan, int64_t n, const double *x, double *y) {
    return FK_ENOTBUILT;
}
void fk_chain_cuda_destroy(fk_chain_cuda *plan) {}
int fk_cuda_dev_op(const fk_dev_op *op, void *stream) { return FK_ENOTBUILT; }
int fk_cuda_gemm_backend(int request) { return 0; }
