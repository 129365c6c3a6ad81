/* CPU-only builds: the CUDA entry points exist and say they were not built,
 * so C and Cython callers link the same API whatever the build. */
#include "fastkeras/cuda/softmax_xent_cuda.h"
#include "fastkeras/cuda/conv_cuda.h"

int fk_cuda_device_count(void) { return 0; }
int fk_cuda_device_name(char *buf, int len) {
    if (buf && len > 0) buf[0] = '\0';
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
