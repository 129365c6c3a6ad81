// CUDA twin of the dense chain (GPU inference): weights uploaded once, one copy of the
// batch each way per run. Products by cuBLAS or the tiled kernel (gemm.cu), then one
// element-wise kernel adds the bias and applies the activation; softmax runs one block
// per row with block reductions in double.
#include <math.h>
#include "activation.cuh"
#include "gemm.cuh"
#include "fastkeras/cuda/dense_chain_cuda.h"
#include "../chain_check.h"

struct fk_chain_cuda {
    int f64 = 0;
    int64_t widest = 0;
    std::vector<fk_chain_step> steps;  // w / b: device pointers owned by `weights`
    fkcuda::Buffers weights;
};

namespace {

constexpr int kThreads = 256;

// z = act(z + b) for DENSE (x unused), z = act(x * w + b) for AFFINE; (rows, width).
template <typename T>
__global__ void bias_act(int64_t total, int64_t width, const T *__restrict__ x,
                         const T *__restrict__ w, const T *__restrict__ b, T *__restrict__ z,
                         int affine, int kind, T al) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = i % width;
        T v = affine ? x[i] * w[j] : z[i];
        if (b) v += b[j];
        z[i] = fkcuda::activate(kind, v, al);
    }
}

template <typename T>
int run(fk_chain_cuda *p, int64_t n, const T *x, T *y) {
    if (!p || (n > 0 && (!x || !y))) return FK_ENULL;
    if ((sizeof(T) == 8) != (p->f64 != 0)) return FK_EBADARG;
    int64_t widest = 0;
    int rc = check_steps(n, (int)p->steps.size(), p->steps.data(), 0, &widest);
    if (rc != FK_OK || n == 0) return rc;
    const int64_t in0 = p->steps.front().in, out = p->steps.back().out;
    const int64_t width = in0 > widest ? in0 : widest;
    // two work buffers wide enough for any step, used in turn: the batch goes into the first
    fkcuda::Buffers bufs;
    void *cur = nullptr, *nxt = nullptr;
    rc = bufs.alloc(&cur, (size_t)(n * width) * sizeof(T));
    if (rc == FK_OK) rc = bufs.alloc(&nxt, (size_t)(n * width) * sizeof(T));
    if (rc == FK_OK)
        rc = fkcuda::status_of(cudaMemcpy(cur, x, (size_t)(n * in0) * sizeof(T),
                                          cudaMemcpyHostToDevice));
    if (rc != FK_OK) return rc;
    for (const fk_chain_step &s : p->steps) {
        const T *src = (const T *)cur;
        T *dst = (T *)nxt;
        const int64_t total = n * s.out;
        if (s.type == FK_STEP_DENSE) {
            rc = fkcuda::gemm<T>(0, 0, n, s.out, s.in, src, (const T *)s.w, T(0), dst, 0);
            if (rc != FK_OK) return rc;
        }
        bias_act<T><<<fkcuda::blocks_for(total, kThreads), kThreads>>>(
            total, s.out, src, (const T *)s.w, (const T *)s.b, dst, s.type == FK_STEP_AFFINE,
            s.act, T(s.alpha));
        if (s.act == FK_STEP_SOFTMAX)
            fkcuda::softmax_rows<T><<<(unsigned)(n < 65535 ? n : 65535), fkcuda::kRowThreads>>>(
                n, s.out, dst, dst);
        rc = fkcuda::status_of(cudaGetLastError());
        if (rc != FK_OK) return rc;
        void *t = cur;  // this step's input buffer takes the next step's output
        cur = nxt;
        nxt = t;
    }
    return fkcuda::status_of(cudaMemcpy(y, cur, (size_t)(n * out) * sizeof(T),
                                        cudaMemcpyDeviceToHost));
}

}  // namespace

extern "C" int fk_chain_cuda_create(int f64, int n_steps, const fk_chain_step *steps,
                                    fk_chain_cuda **out) {
    if (!out) return FK_ENULL;
    *out = nullptr;
    int64_t widest = 0;
    int rc = check_steps(1, n_steps, steps, 0, &widest);
    if (rc != FK_OK) return rc;
    rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    fk_chain_cuda *p = new (std::nothrow) fk_chain_cuda;
    if (!p) return FK_ENOMEM;
    p->f64 = f64 != 0;
    p->widest = widest;
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    for (int i = 0; i < n_steps && rc == FK_OK; ++i) {
        fk_chain_step s = steps[i];
        const size_t nw = (size_t)(s.type == FK_STEP_DENSE ? s.in * s.out : s.out);
        void *dw = nullptr, *db = nullptr;
        rc = p->weights.upload(&dw, s.w, nw * es);
        if (rc == FK_OK && s.b) rc = p->weights.upload(&db, s.b, (size_t)s.out * es);
        s.w = dw;
        s.b = s.b ? db : nullptr;
        p->steps.push_back(s);
    }
    if (rc != FK_OK) {
        delete p;
        return rc;
    }
    *out = p;
    return FK_OK;
}

extern "C" int fk_chain_cuda_run_f32(fk_chain_cuda *p, int64_t n, const float *x, float *y) {
    return run<float>(p, n, x, y);
}
extern "C" int fk_chain_cuda_run_f64(fk_chain_cuda *p, int64_t n, const double *x, double *y) {
    return run<double>(p, n, x, y);
}
extern "C" void fk_chain_cuda_destroy(fk_chain_cuda *p) { delete p; }
