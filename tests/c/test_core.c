/* C-only test of the static library: no Python involved. Exits non-zero on failure.
 * Proves the headers compile alone and the core is embeddable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fastkeras/fk_build.h"
#include "fastkeras/fk_status.h"
#include "fastkeras/softmax_xent.h"
#include "fastkeras/conv.h"
#include "fastkeras/pool.h"
#include "fastkeras/optim.h"
#include "fastkeras/rank_hist.h"
#include "fastkeras/dense_chain.h"
#include "fastkeras/qdense.h"
#include "fastkeras/gemm.h"
#include "fastkeras/activation.h"
#include "fastkeras/recurrent.h"
#include "fastkeras/cuda/device.h"
#include "fastkeras/cuda/dense_chain_cuda.h"
#include "fastkeras/cuda/device_ops.h"
#include "fastkeras/cuda/optim_cuda.h"
#include "fastkeras/cuda/rank_cuda.h"
#include "fastkeras/cuda/softmax_xent_cuda.h"
#include "cuda/host_copies.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { ++failures; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

/* fk_gemm: against a naive product, transposed operands, a broadcast batch, the same
 * bits for 1 and 4 threads, and bad arguments refused. */
static void test_gemm(void) {
    enum { M = 150, N = 90, K = 300 };
    double *a = malloc(sizeof(double) * M * K), *b = malloc(sizeof(double) * K * N);
    double *c1 = malloc(sizeof(double) * 2 * M * N), *c4 = malloc(sizeof(double) * 2 * M * N);
    for (int i = 0; i < M * K; i++) a[i] = sin(0.37 * i);
    for (int i = 0; i < K * N; i++) b[i] = cos(0.11 * i);
    int64_t ao[2] = {0, 0}, bo[2] = {0, 0}, co[2] = {0, M * N};
    int s1 = fk_gemm_f64(0, 0, M, N, K, a, K, b, N, c1, N, 2, ao, bo, co, 1);
    int s4 = fk_gemm_f64(0, 0, M, N, K, a, K, b, N, c4, N, 2, ao, bo, co, 4);
    CHECK(s1 == FK_OK && s4 == FK_OK, "gemm status %d %d", s1, s4);
    CHECK(memcmp(c1, c4, sizeof(double) * 2 * M * N) == 0, "gemm differs between 1 and 4 threads");
    double worst = 0;
    for (int i = 0; i < M; i += 7)
        for (int j = 0; j < N; j += 5) {
            double r = 0;
            for (int q = 0; q < K; q++) r += a[i * K + q] * b[q * N + j];
            worst = fmax(worst, fabs(r - c4[M * N + i * N + j]));
        }
    CHECK(worst < 1e-10, "gemm error %g", worst);
    /* op(A) = (A^T)^T: the (K, M) transpose read with trans_a, B^T with trans_b */
    double *at = malloc(sizeof(double) * M * K), *bt = malloc(sizeof(double) * K * N);
    for (int i = 0; i < M; i++)
        for (int q = 0; q < K; q++) at[q * M + i] = a[i * K + q];
    for (int q = 0; q < K; q++)
        for (int j = 0; j < N; j++) bt[j * K + q] = b[q * N + j];
    int st = fk_gemm_f64(1, 1, M, N, K, at, M, bt, K, c4, N, 1, NULL, NULL, NULL, 3);
    CHECK(st == FK_OK, "gemm trans status %d", st);
    worst = 0;
    for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(c4[i] - c1[i]));
    CHECK(worst < 1e-10, "gemm trans error %g", worst);
    CHECK(fk_gemm_f64(0, 0, M, N, K, a, K - 1, b, N, c4, N, 1, NULL, NULL, NULL, 1) ==
          FK_EBADSHAPE, "gemm short lda accepted");
    CHECK(fk_gemm_f64(0, 0, -1, N, K, a, K, b, N, c4, N, 1, NULL, NULL, NULL, 1) ==
          FK_EBADSHAPE, "gemm negative m accepted");
    CHECK(fk_gemm_f64(0, 0, M, N, K, NULL, K, b, N, c4, N, 1, NULL, NULL, NULL, 1) == FK_ENULL,
          "gemm NULL a accepted");
    CHECK(fk_gemm_f64(0, 0, M, N, K, a, K, b, N, c4, N, 2, NULL, NULL, NULL, 1) == FK_ENULL,
          "gemm batch without offsets accepted");
    float z[6] = {1, 1, 1, 1, 1, 1};
    CHECK(fk_gemm_f32(0, 0, 2, 3, 0, NULL, 1, NULL, 3, z, 3, 1, NULL, NULL, NULL, 2) == FK_OK &&
          z[0] == 0 && z[5] == 0, "gemm k = 0 must give zeros");
    free(a); free(b); free(c1); free(c4); free(at); free(bt);
}

static double ref_loss(int64_t c, const double *x, int64_t y) {
    double m = x[0], s = 0.0;
    for (int64_t j = 1; j < c; ++j) m = x[j] > m ? x[j] : m;
    for (int64_t j = 0; j < c; ++j) s += exp(x[j] - m);
    return m + log(s) - x[y];
}

static void test_small_exact(void) {
    /* The seed example: probabilities with integer labels. */
    const float p[12] = {0.05f, 0.90f, 0.0f, 0.05f, 0.1f, 0.8f, 0.05f, 0.05f,
                         0.15f, 0.1f, 0.5f, 0.25f};
    const int64_t y[3] = {1, 2, 3};
    float loss[3];
    fk_xent_opts o;
    fk_xent_opts_init(&o);
    o.from_logits = 0;
    int st = fk_softmax_xent_sparse_fwd_f32(3, 4, p, y, loss, &o, 1);
    CHECK(st == FK_OK, "status %d", st);
    CHECK(fabs(loss[0] - 0.10536067) < 1e-6, "loss0 %.9g", loss[0]);
    CHECK(fabs(loss[1] - 2.9957323) < 1e-6, "loss1 %.9g", loss[1]);
    CHECK(fabs(loss[2] - 1.3862944) < 1e-6, "loss2 %.9g", loss[2]);
}

static void test_logits_vs_reference_and_threads(void) {
    const int64_t n = 257, c = 1003;
    float *x = malloc(sizeof(float) * n * c), *g1 = malloc(sizeof(float) * n * c),
          *g2 = malloc(sizeof(float) * n * c);
    double *xd = malloc(sizeof(double) * n * c);
    int64_t *y = malloc(sizeof(int64_t) * n);
    float l1[257], l2[257];
    srand(7);
    for (int64_t k = 0; k < n * c; ++k) {
        xd[k] = (double)rand() / RAND_MAX * 20.0 - 10.0;
        x[k] = (float)xd[k];
        xd[k] = (double)x[k];
    }
    for (int64_t i = 0; i < n; ++i) y[i] = rand() % c;
    int s1 = fk_softmax_xent_sparse_bwd_f32(n, c, x, y, NULL, g1, l1, NULL, 1);
    int s2 = fk_softmax_xent_sparse_bwd_f32(n, c, x, y, NULL, g2, l2, NULL, 2);
    CHECK(s1 == FK_OK && s2 == FK_OK, "status %d %d", s1, s2);
    CHECK(memcmp(g1, g2, sizeof(float) * n * c) == 0, "grad differs between 1 and 2 threads");
    CHECK(memcmp(l1, l2, sizeof(l1)) == 0, "loss differs between 1 and 2 threads");
    double worst = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double r = ref_loss(c, xd + i * c, y[i]);
        double e = fabs(l1[i] - r) / fabs(r);
        worst = e > worst ? e : worst;
        double gsum = 0.0;
        for (int64_t j = 0; j < c; ++j) gsum += g1[i * c + j];
        CHECK(fabs(gsum) < 1e-5, "row %lld gradient sums to %g, not 0", (long long)i, gsum);
    }
    CHECK(worst < 2e-6, "worst relative loss error %g", worst);
    free(x); free(g1); free(g2); free(xd); free(y);
}

static void test_bad_input(void) {
    float x[4] = {0, 1, 2, 3}, loss[2];
    int64_t y_bad[2] = {0, 2};
    CHECK(fk_softmax_xent_sparse_fwd_f32(2, 2, x, y_bad, loss, NULL, 1) == FK_ELABEL, "label");
    CHECK(fk_softmax_xent_sparse_fwd_f32(-1, 2, x, y_bad, loss, NULL, 1) == FK_EBADSHAPE, "n<0");
    CHECK(fk_softmax_xent_sparse_fwd_f32(2, 0, x, y_bad, loss, NULL, 1) == FK_EBADSHAPE, "c=0");
    CHECK(fk_softmax_xent_sparse_fwd_f32(2, 2, NULL, y_bad, loss, NULL, 1) == FK_ENULL, "null");
    CHECK(fk_softmax_xent_sparse_fwd_f32(INT64_MAX / 2, 64, x, y_bad, loss, NULL, 1)
              == FK_EBADSHAPE, "overflow");
    fk_xent_opts o;
    fk_xent_opts_init(&o);
    o.label_smoothing = 1.5;
    int64_t y_ok[2] = {0, 1};
    CHECK(fk_softmax_xent_sparse_fwd_f32(2, 2, x, y_ok, loss, &o, 1) == FK_EBADARG, "ls");
    CHECK(strcmp(fk_status_str(FK_ELABEL), "label out of range") == 0, "status string");
    CHECK(fk_softmax_xent_sparse_fwd_f32(0, 2, NULL, NULL, NULL, NULL, 1) == FK_OK, "empty");
}

static void test_conv_and_pool(void) {
    /* x = 1..9 as a 3x3 image, kernel 2x2 of ones, one channel: window sums */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {0.5f}, y[4];
    fk_conv_geom g = {1, {1, 3, 3}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, 1, 1, 1};
    CHECK(fk_conv_check(&g) == FK_OK, "geometry");
    int64_t ws_bytes = fk_conv_workspace_size(&g, 4, 2);
    void *ws = malloc((size_t)ws_bytes);
    int st = fk_conv_fwd_f32(&g, x, w, b, y, ws, ws_bytes, 2);
    CHECK(st == FK_OK, "conv status %d", st);
    const float want[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    for (int i = 0; i < 4; ++i) CHECK(y[i] == want[i], "conv y[%d] = %g", i, y[i]);
    float dy[4] = {1, 1, 1, 1}, dw[4], db[1], dx[9];
    CHECK(fk_conv_bwd_filter_f32(&g, x, dy, dw, db, ws, ws_bytes, 2) == FK_OK, "bwd filter");
    CHECK(dw[0] == 12 && dw[3] == 28 && db[0] == 4, "dw %g %g db %g", dw[0], dw[3], db[0]);
    CHECK(fk_conv_bwd_data_f32(&g, dy, w, dx, ws, ws_bytes, 2) == FK_OK, "bwd data");
    CHECK(dx[0] == 1 && dx[4] == 4 && dx[8] == 1, "dx %g %g %g", dx[0], dx[4], dx[8]);
    CHECK(fk_conv_fwd_f32(&g, x, w, b, y, ws, 1, 2) == FK_EBADARG, "short workspace refused");
    g.groups = 2;
    CHECK(fk_conv_check(&g) == FK_EBADSHAPE, "groups must divide channels");
    free(ws);

    fk_pool_geom pg = {1, {1, 3, 3}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, 1};
    float py[4];
    uint8_t am[4];
    CHECK(fk_maxpool_fwd_f32(&pg, x, py, am, 1) == FK_OK, "maxpool");
    CHECK(py[0] == 5 && py[1] == 6 && py[2] == 8 && py[3] == 9, "maxpool values (seed 3.9)");
    CHECK(fk_maxpool_bwd_f32(&pg, dy, am, dx, 1) == FK_OK, "maxpool bwd");
    CHECK(am[0] == 3 && am[3] == 3, "argmax is the window position (bottom-right here)");
    CHECK(dx[4] == 1 && dx[8] == 1 && dx[0] == 0, "maxpool grad to the argmax");
    am[2] = 99;
    CHECK(fk_maxpool_bwd_f32(&pg, dy, am, dx, 1) == FK_EBADARG, "corrupt argmax refused");
    pg.pad[1] = 2;
    CHECK(fk_pool_check(&pg) == FK_EBADARG, "padding >= window refused");
}

static void test_optim(void) {
    /* SGD with momentum over two tensors in one call */
    float p0[3] = {1, 2, 3}, p1[2] = {-1, 0}, g0[3] = {1, 1, 1}, g1[2] = {2, -2};
    float m0[3] = {0}, m1[2] = {0};
    float *params[2] = {p0, p1}, *mom[2] = {m0, m1};
    const float *grads[2] = {g0, g1};
    float *const *slots[3] = {mom, NULL, NULL};
    int64_t sizes[2] = {3, 2};
    fk_optim_args a;
    memset(&a, 0, sizeof a);
    a.kind = FK_OPT_MOMENTUM;
    a.lr = 0.5;
    a.momentum = 0.9;
    a.ema_momentum = -1;
    CHECK(fk_optim_step_f32(&a, 2, sizes, params, grads, NULL, slots, NULL, 2) == FK_OK, "step");
    CHECK(p0[0] == 0.5f && p1[0] == -2.0f && p1[1] == 1.0f, "values %g %g %g", p0[0], p1[0], p1[1]);
    CHECK(fk_optim_step_f32(&a, 2, sizes, params, grads, NULL, slots, NULL, 2) == FK_OK, "step 2");
    CHECK(fabsf(p0[0] - (0.5f - 0.45f - 0.5f)) < 1e-6f, "momentum p0 %g", p0[0]);
    a.kind = FK_OPT_ADAM;
    CHECK(fk_optim_step_f32(&a, 2, sizes, params, grads, NULL, slots, NULL, 2) == FK_ENULL,
          "Adam without its second slot is refused");
    a.lr = NAN;
    CHECK(fk_optim_step_f32(&a, 2, sizes, params, grads, NULL, slots, NULL, 2) == FK_EBADARG,
          "NaN learning rate refused");
}

static void test_rank(void) {
    /* the KS example of the documents: 14 scores, KS 0.625 */
    const float s[14] = {0.6f, 0.1f, 0.4f, 0.5f, 0.7f, 0.7f, 0.7f, 0.4f, 0.4f, 0.5f, 0.8f, 0.3f,
                         0.5f, 0.3f};
    const uint8_t y[14] = {1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0};
    double auc = 0, ks = 0;
    CHECK(fk_rank_exact_f32(14, s, y, NULL, &auc, &ks, 2) == FK_OK, "exact");
    CHECK(fabs(ks - 0.625) < 1e-12, "ks %g", ks);
    CHECK(fabs(auc - 0.7916666666666666) < 1e-12, "auc %g", auc);
    double pos[201] = {0}, neg[201] = {0};
    CHECK(fk_rank_hist_f32(14, s, y, NULL, 200, pos, neg, 2) == FK_OK, "hist");
    double tp = 0, fn = 0;
    for (int k = 0; k < 201; ++k) { tp += pos[k]; fn += neg[k]; }
    CHECK(tp == 8 && fn == 6, "counts %g %g", tp, fn);
    uint8_t bad[14];
    memcpy(bad, y, sizeof bad);
    bad[3] = 2;
    CHECK(fk_rank_hist_f32(14, s, bad, NULL, 200, pos, neg, 1) == FK_ELABEL, "label 2 refused");
    float sn[14];
    memcpy(sn, s, sizeof sn);
    sn[5] = NAN;
    CHECK(fk_rank_exact_f32(14, sn, y, NULL, &auc, &ks, 1) == FK_EBADARG, "NaN refused");
    const uint8_t ones[3] = {1, 1, 1};
    CHECK(fk_rank_exact_f32(3, s, ones, NULL, &auc, &ks, 1) == FK_EBADARG, "one class refused");
    /* unit weights give the unweighted answers; bad weights are refused */
    float w[14];
    for (int i = 0; i < 14; ++i) w[i] = 1.0f;
    CHECK(fk_rank_exact_f32(14, s, y, w, &auc, &ks, 2) == FK_OK, "weighted exact");
    CHECK(fabs(ks - 0.625) < 1e-12 && fabs(auc - 0.7916666666666666) < 1e-12, "weighted %g %g",
          auc, ks);
    w[4] = -1.0f;
    CHECK(fk_rank_exact_f32(14, s, y, w, &auc, &ks, 1) == FK_EBADARG, "negative weight refused");
    w[4] = INFINITY;
    CHECK(fk_rank_exact_f32(14, s, y, w, &auc, &ks, 1) == FK_EBADARG, "inf weight refused");
}

static void test_dense_chain(void) {
    /* x (3x2) -> dense 2->3 + relu -> affine (scale 2, shift 1) -> dense 3->2 + softmax */
    float x[6] = {1, -2, 0.5f, 0.25f, -1, 3};
    float w1[6] = {1, 0, -1, 0.5f, 2, 1}, b1[3] = {0.1f, -0.2f, 0.3f};
    float s2[3] = {2, 2, 2}, t2[3] = {1, 1, 1};
    float w3[6] = {1, -1, 0.5f, 0.25f, -2, 1};
    fk_chain_step steps[3] = {
        {FK_STEP_DENSE, 2, 3, w1, b1, 0 /* relu */, 0.0},
        {FK_STEP_AFFINE, 3, 3, s2, t2, FK_STEP_LINEAR, 0.0},
        {FK_STEP_DENSE, 3, 2, w3, NULL, FK_STEP_SOFTMAX, 0.0}};
    float y[6], y2[6];
    CHECK(fk_dense_chain_f32(3, 3, steps, x, y, 1) == FK_OK, "chain status");
    for (int r = 0; r < 3; r++) {
        double h[3], z[2];
        for (int j = 0; j < 3; j++) {
            double v = b1[j] + x[r * 2] * w1[j] + x[r * 2 + 1] * w1[3 + j];
            h[j] = (v > 0 ? v : 0) * 2 + 1;
        }
        for (int j = 0; j < 2; j++) z[j] = h[0] * w3[j] + h[1] * w3[2 + j] + h[2] * w3[4 + j];
        double m = z[0] > z[1] ? z[0] : z[1], e0 = exp(z[0] - m), e1 = exp(z[1] - m);
        CHECK(fabs(y[r * 2] - e0 / (e0 + e1)) < 1e-6 && fabs(y[r * 2 + 1] - e1 / (e0 + e1)) < 1e-6,
              "chain row %d: %g %g", r, y[r * 2], y[r * 2 + 1]);
    }
    CHECK(fk_dense_chain_f32(3, 3, steps, x, y2, 2) == FK_OK, "chain, 2 threads");
    CHECK(memcmp(y, y2, sizeof(y)) == 0, "chain differs between 1 and 2 threads");
    CHECK(fk_dense_chain_f32(0, 3, steps, NULL, NULL, 1) == FK_OK, "empty batch");
    CHECK(fk_dense_chain_f32(3, 0, steps, x, y, 1) == FK_EBADSHAPE, "no steps");
    CHECK(fk_dense_chain_f32(3, 3, steps, NULL, y, 1) == FK_ENULL, "null input");
    steps[1].in = 4;
    CHECK(fk_dense_chain_f32(3, 3, steps, x, y, 1) == FK_EBADSHAPE, "widths must chain");
    steps[1].in = 3;
    steps[2].act = 99;
    CHECK(fk_dense_chain_f32(3, 3, steps, x, y, 1) == FK_EBADARG, "unknown activation");
    steps[2].act = FK_STEP_SOFTMAX;
    steps[0].w = NULL;
    CHECK(fk_dense_chain_f32(3, 3, steps, x, y, 1) == FK_ENULL, "null weights");
}

/* The int8 dense step and convolution (qdense.h): a hand-checkable layer, exact against
 * the integer arithmetic, then the argument checks. */
static void test_qdense(void) {
    /* w (5 x 3): column 0 max 1.27 -> scale 0.01, column 1 all zero, column 2 max 2.54 */
    float w[15] = {1.27f, 0, 2.54f, -0.5f, 0, 1, 0.3f, 0, -2.54f, 0, 0, 0.02f, 1, 0, 0};
    const int64_t size = fk_qdense_packed_size(5, 3);
    CHECK(size == 16 * 8, "packed size %lld", (long long)size);
    int8_t packed[128];
    float ws[16];
    int32_t off[16];
    CHECK(fk_qdense_quantize(5, 3, w, packed, ws, off) == FK_OK, "quantize");
    CHECK(fabsf(ws[0] - 0.01f) < 1e-9f && ws[1] == 1.0f && fabsf(ws[2] - 0.02f) < 1e-9f &&
              ws[3] == 0.0f, "scales %g %g %g", ws[0], ws[1], ws[2]);
    /* group 0 of block 0 holds rows 0..3; byte 4c + t is Wq[t, c] */
    CHECK(packed[0] == 127 && packed[1] == -50 && packed[2] == 30 && packed[3] == 0 &&
              packed[8] == 127 && packed[9] == 50 && packed[10] == -127 && packed[11] == 1 &&
              packed[64] == 100 && packed[65] == 0, "packed bytes");
    CHECK(off[0] == 128 * (127 - 50 + 30 + 0 + 100) && off[1] == 0 &&
              off[2] == 128 * (127 + 50 - 127 + 1), "offsets %d %d", off[0], off[2]);
    fk_qdense q = {packed, ws, off, 0.0f};
    float x[10] = {1.27f, 0, -1.27f, 0.5f, 0.01f, 0, 0, 0, 0, 0}, b[3] = {0, 1, -1}, y[6];
    fk_chain_step step = {FK_STEP_DENSE_INT8, 5, 3, &q, b, FK_STEP_LINEAR, 0.0};
    CHECK(fk_dense_chain_f32(2, 1, &step, x, y, 1) == FK_OK, "int8 chain");
    /* row 0: scale 0.01, xq = {127, 0, -127, 50, 1}; column 0: 127*127 - 127*30 + 50*0 + 100 */
    const float want0 = (float)(127 * 127 - 127 * 30 + 100) * (0.01f * 0.01f);
    CHECK(fabsf(y[0] - want0) < 1e-5f && y[1] == 1.0f, "int8 row 0: %g (want %g) %g", y[0],
          want0, y[1]);
    CHECK(y[3] == 0.0f && y[4] == 1.0f && y[5] == -1.0f, "all-zero row: %g %g %g", y[3], y[4],
          y[5]);
    x[7] = NAN;
    CHECK(fk_dense_chain_f32(2, 1, &step, x, y, 1) == FK_OK && isnan(y[3]) && isnan(y[5]) &&
              !isnan(y[0]), "a NaN row gives NaN");
    CHECK(fk_dense_chain_f64(2, 1, &step, (const double *)x, (double *)y, 1) == FK_EBADARG,
          "float64 chains refuse int8 steps");
    q.x_scale = -1.0f;
    CHECK(fk_dense_chain_f32(2, 1, &step, x, y, 1) == FK_EBADARG, "negative x_scale");
    q.x_scale = 0.0f;
    q.offset = NULL;
    CHECK(fk_dense_chain_f32(2, 1, &step, x, y, 1) == FK_ENULL, "null offsets");
    q.offset = off;
    w[4] = INFINITY;
    CHECK(fk_qdense_quantize(5, 3, w, packed, ws, off) == FK_EBADARG, "inf weight");
    CHECK(fk_qdense_packed_size(FK_QDENSE_MAX_IN + 1, 3) == -1, "too many inputs");

    /* a 1-channel 3x3 image, 2x2 kernel of ones, 1 output channel, valid: window sums */
    fk_conv_geom g = {1, {1, 3, 3}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0},
                      1, 1, 1, 0};
    float k[4] = {1, 1, 1, 1}, img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[4];
    int8_t kp[16 * 4];
    float kws[16];
    int32_t koff[16];
    CHECK(fk_qdense_quantize(4, 1, k, kp, kws, koff) == FK_OK, "conv kernel");
    fk_qdense kq = {kp, kws, koff, 9.0f / 127.0f};
    CHECK(fk_qconv_fwd_f32(&g, &kq, NULL, FK_STEP_LINEAR, 0.0, img, out, 1) == FK_OK, "qconv");
    for (int i = 0; i < 4; ++i) {
        const int r = i / 2, c = i % 2;
        float sum = 0;
        for (int t = 0; t < 4; ++t) { /* xq = round(v * 127 / 9), exact in the kernel's terms */
            const float v = img[(r + t / 2) * 3 + c + t % 2];
            sum += rintf(v * (1.0f / (9.0f / 127.0f)));
        }
        const float want = sum * 127.0f * (kws[0] * (9.0f / 127.0f)); /* Wq = 127 */
        CHECK(fabsf(out[i] - want) <= 1e-5f * want, "qconv %d: %g want %g", i, out[i], want);
    }
    g.groups = 2;
    CHECK(fk_qconv_fwd_f32(&g, &kq, NULL, FK_STEP_LINEAR, 0.0, img, out, 1) != FK_OK,
          "grouped convolution refused");
}

/* The CUDA entry points in every build: argument errors first (the same as the CPU's),
 * then FK_ENOTBUILT (CPU build) or FK_ENODEVICE (CUDA build, no GPU); with a GPU, a small
 * run against the CPU kernel. */
/* The training primitives' argument checks (before any device call), in every build. */
static void test_device_ops_checks(void) {
    const int built = fk_cuda_compiled();
    const int absent = built ? FK_ENODEVICE : FK_ENOTBUILT;
    float a[6] = {0}, b[6] = {0}, y[6] = {0};
    fk_dev_op o;
    memset(&o, 0, sizeof o);
    o.op = FK_DOP_GEMM;
    o.m = 2, o.n = 3, o.k = 1;
    o.a = a, o.b = b, o.y = y;
#define DOP_EXPECT(want, what) \
    CHECK(fk_cuda_dev_op(&o, NULL) == (built ? (want) : FK_ENOTBUILT), what)
    if (fk_cuda_device_count() == 0) DOP_EXPECT(absent, "gemm without a device");
    CHECK(fk_cuda_dev_op(NULL, NULL) == (built ? FK_ENULL : FK_ENOTBUILT), "NULL op");
    o.op = FK_DOP_COUNT;
    DOP_EXPECT(FK_EBADARG, "unknown op");
    o.op = FK_DOP_GEMM;
    o.k = -1;
    DOP_EXPECT(FK_EBADSHAPE, "negative k");
    o.k = (int64_t)1 << 40, o.m = (int64_t)1 << 20, o.n = (int64_t)1 << 20;
    DOP_EXPECT(FK_EBADSHAPE, "m n k past 2**62");
    o.m = 2, o.n = 3, o.k = 1, o.b = NULL;
    DOP_EXPECT(FK_ENULL, "gemm without b");
    o.m = 0;
    DOP_EXPECT(FK_OK, "an empty product is nothing to do");
    o.m = 2, o.op = FK_DOP_BIAS_ACT, o.z = y, o.kind = FK_ACT_COUNT;
    DOP_EXPECT(FK_EBADARG, "unknown activation kind");
    o.op = FK_DOP_ACT_BWD, o.kind = FK_ACT_RELU, o.c = NULL;
    DOP_EXPECT(FK_ENULL, "activation gradient without the incoming gradient");
    o.op = FK_DOP_MSE, o.b = b, o.z = NULL;
    DOP_EXPECT(FK_ENULL, "mse without the loss");
    o.op = FK_DOP_XENT_SPARSE, o.xent = NULL;
    DOP_EXPECT(FK_ENULL, "cross-entropy without options");
    o.op = FK_DOP_GATHER, o.m = 2, o.n = 3, o.k = (int64_t)1 << 61, o.a = a, o.b = b;
    DOP_EXPECT(FK_EBADSHAPE, "gather from a source past 2**62 elements");
    o.k = 4, o.b = NULL;
    DOP_EXPECT(FK_ENULL, "gather without indices");
    o.op = FK_DOP_REGULARIZE, o.m = 1, o.n = 6, o.k = 0, o.a = a, o.y = y, o.z = b;
    o.alpha = -0.1;
    DOP_EXPECT(FK_EBADARG, "negative l1");
    o.alpha = 0.1, o.z = NULL, o.y = NULL;
    DOP_EXPECT(FK_ENULL, "penalty without its output");
    o.y = y;
    o.op = FK_DOP_BATCHNORM, o.m = 2, o.n = 3, o.kind = 4, o.alpha = 1e-3;
    DOP_EXPECT(FK_EBADARG, "batch normalization pass 4");
    o.kind = 1, o.alpha = 0;
    DOP_EXPECT(FK_EBADARG, "batch normalization with epsilon 0");
    o.alpha = 1e-3, o.d = NULL;
    DOP_EXPECT(FK_ENULL, "inference batch normalization without statistics");
    o.kind = 0, o.z = b, o.w = NULL;
    DOP_EXPECT(FK_ENULL, "training batch normalization without moving statistics");
    o.op = FK_DOP_GLOBAL_MAX, o.kind = 1, o.k = 2, o.m = 1, o.n = 3, o.b = NULL;
    DOP_EXPECT(FK_ENULL, "global max gradient without the max");
    o.kind = 0, o.k = 0;
    DOP_EXPECT(FK_EBADSHAPE, "global max over no positions");
    o.op = FK_DOP_CONV;
    DOP_EXPECT(FK_ENULL, "convolution without a geometry");
    fk_conv_geom cg = {1, {1, 1, 3}, {1, 1, 2}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0},
                       1, 1, 1};
    o.conv = &cg, o.kind = 3;
    DOP_EXPECT(FK_EBADARG, "convolution pass 3");
    o.kind = 0, cg.out[2] = 0;
    DOP_EXPECT(FK_EBADSHAPE, "convolution geometry with an empty output");
    o.op = FK_DOP_POOL;
    fk_pool_geom pg = {1, {1, 1, 4}, {1, 1, 2}, {1, 1, 2}, {1, 1, 2}, {0, 0, 0}, 1};
    o.pool = &pg, o.kind = 1, o.b = NULL;
    DOP_EXPECT(FK_ENULL, "max pooling gradient without the argmax bytes");
    pg.k[2] = 0;
    DOP_EXPECT(FK_EBADSHAPE, "empty pooling window");
#undef DOP_EXPECT
}

static void test_cuda_entry_points(void) {
    const int devices = fk_cuda_device_count();
    const int absent = fk_cuda_compiled() ? FK_ENODEVICE : FK_ENOTBUILT;
    CHECK(devices >= 0, "device count %d", devices);
    printf("CUDA: compiled %d, devices %d\n", fk_cuda_compiled(), devices);
    float s[6] = {0.1f, 0.9f, 0.5f, 0.5f, 0.3f, 0.7f};
    uint8_t y[6] = {0, 1, 0, 1, 0, 1};
    double pos[201] = {0}, neg[201] = {0}, cpos[201] = {0}, cneg[201] = {0};
    CHECK(fk_rank_hist_f32_cuda_host(6, s, y, NULL, 1, pos, neg) ==
              (fk_cuda_compiled() ? FK_EBADSHAPE : FK_ENOTBUILT), "one threshold refused");
    CHECK(fk_rank_hist_f32_cuda_host(6, s, y, NULL, 200, NULL, neg) ==
              (fk_cuda_compiled() ? FK_ENULL : FK_ENOTBUILT), "NULL histogram refused");
    CHECK(fk_rank_hist_f32_cuda_host(0, s, y, NULL, 200, pos, neg) ==
              (fk_cuda_compiled() ? FK_OK : FK_ENOTBUILT), "nothing to bin");
    float p[1] = {1.0f}, g[1] = {0.5f};
    float *params[1] = {p};
    const float *grads[1] = {g};
    int64_t sizes[1] = {1};
    fk_optim_args a;
    memset(&a, 0, sizeof a);
    a.kind = FK_OPT_ADAM;
    a.ema_momentum = -1;
    float *const *noslots[3] = {NULL, NULL, NULL};
    CHECK(fk_optim_step_f32_cuda_host(&a, 1, sizes, params, grads, NULL, noslots, NULL) ==
              (fk_cuda_compiled() ? FK_ENULL : FK_ENOTBUILT), "Adam without slots refused");
    fk_xent_opts o = {1, 0.0, 1e-7, 0, -1, 1.0};
    float x[3] = {1, 2, 3}, t[3] = {0, 0, 1}, lossv[1];
    if (devices == 0) {
        CHECK(fk_rank_hist_f32_cuda_host(6, s, y, NULL, 200, pos, neg) == absent, "hist");
        a.kind = FK_OPT_SGD;
        CHECK(fk_optim_step_f32_cuda_host(&a, 1, sizes, params, grads, NULL, noslots, NULL) ==
                  absent, "optim");
        CHECK(fk_softmax_xent_dense_bwd_f32_cuda_host(1, 3, x, t, NULL, NULL, lossv, &o) ==
                  absent, "dense xent");
        void *ptr = (void *)1;
        CHECK(fk_cuda_malloc(&ptr, 16) == absent && ptr == NULL, "malloc");
        CHECK(fk_cuda_copy(x, t, 4, 0) == absent, "copy");
        CHECK(fk_cuda_peak_bandwidth() == (double)absent, "bandwidth");
        const float wchain[6] = {1, 2, 3, 4, 5, 6};
        fk_chain_step step = {FK_STEP_DENSE, 3, 2, wchain, NULL, FK_STEP_SOFTMAX, 0.0};
        fk_chain_cuda *plan = (fk_chain_cuda *)1;
        CHECK(fk_chain_cuda_create(0, 1, &step, &plan) == absent && plan == NULL, "chain");
        step.in = 0;
        CHECK(fk_chain_cuda_create(0, 1, &step, &plan) ==
                  (fk_cuda_compiled() ? FK_EBADSHAPE : FK_ENOTBUILT), "chain shape refused");
        fk_chain_cuda_destroy(NULL);
        return;
    }
    CHECK(fk_rank_hist_f32_cuda_host(6, s, y, NULL, 200, pos, neg) == FK_OK, "hist");
    CHECK(fk_rank_hist_f32(6, s, y, NULL, 200, cpos, cneg, 1) == FK_OK, "cpu hist");
    CHECK(memcmp(pos, cpos, sizeof pos) == 0 && memcmp(neg, cneg, sizeof neg) == 0,
          "GPU histogram equals the CPU's");
}


/* Fused recurrences: a linear SimpleRNN by hand, an LSTM's gradient by central
 * differences (masks, go_backwards, return_sequences), and the refusals. */
static double rnn_lstm_loss(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U,
                            const double *xp, const double *k, const double *rb,
                            const double *h0, const double *c0, const uint8_t *mask,
                            double *ws) {
    double y[2 * 4 * 3], hT[2 * 3], cT[2 * 3], s = 0;
    if (fk_rnn_fwd_f64(B, T, U, o, xp, k, rb, h0, c0, mask, NULL, y, hT, cT, ws, 1) != FK_OK)
        return NAN;
    for (int64_t i = 0; i < B * T * U; ++i) s += y[i] * (double)(i % 5 - 2);
    for (int64_t i = 0; i < B * U; ++i) s += hT[i] + 2 * cT[i];
    return s;
}

static void test_recurrent(void) {
    fk_rnn_opts o = {FK_RNN_SIMPLE, 0, FK_RNN_LINEAR, FK_RNN_LINEAR, 0, 0, 0};
    const double xp[3] = {1, 2, 3}, k1[1] = {0.5}, h0[1] = {0};
    double y[1], hT[1], ws[64], dxp[3], dk[1], dh0[1], dhT[1] = {1};
    CHECK(fk_rnn_workspace_size(&o, 1, 3, 1) <= 64, "workspace %lld",
          (long long)fk_rnn_workspace_size(&o, 1, 3, 1));
    int st = fk_rnn_fwd_f64(1, 3, 1, &o, xp, k1, NULL, h0, NULL, NULL, NULL, y, hT, NULL, ws, 1);
    CHECK(st == FK_OK && fabs(hT[0] - 4.25) < 1e-15 && fabs(y[0] - 4.25) < 1e-15,
          "linear rnn %d %g", st, hT[0]);
    st = fk_rnn_bwd_f64(1, 3, 1, &o, k1, NULL, NULL, NULL, ws, NULL, dhT, NULL, dxp, dk, NULL,
                        dh0, NULL, 1);
    CHECK(st == FK_OK && fabs(dxp[0] - 0.25) < 1e-15 && fabs(dxp[1] - 0.5) < 1e-15 &&
              fabs(dxp[2] - 1) < 1e-15 && fabs(dk[0] - 3) < 1e-15 && fabs(dh0[0] - 0.125) < 1e-15,
          "linear rnn backward %d %g %g %g %g %g", st, dxp[0], dxp[1], dxp[2], dk[0], dh0[0]);
    /* LSTM, B=2 T=4 U=3, a mask with a hole and a fully masked row */
    enum { B = 2, T = 4, U = 3, GU = 12 };
    fk_rnn_opts l = {FK_RNN_LSTM, 0, FK_ACT_TANH, FK_ACT_SIGMOID, 1, 1, 0};
    double x[B * T * GU], k[U * GU], rb[GU], hh[B * U], cc[B * U], lws[4096];
    const uint8_t mask[B * T] = {1, 0, 1, 1, 0, 0, 0, 0};
    srand(3);
    for (int i = 0; i < B * T * GU; ++i) x[i] = (double)rand() / RAND_MAX - 0.5;
    for (int i = 0; i < U * GU; ++i) k[i] = (double)rand() / RAND_MAX - 0.5;
    for (int i = 0; i < GU; ++i) rb[i] = (double)rand() / RAND_MAX - 0.5;
    for (int i = 0; i < B * U; ++i) {
        hh[i] = (double)rand() / RAND_MAX - 0.5;
        cc[i] = (double)rand() / RAND_MAX - 0.5;
    }
    CHECK(fk_rnn_workspace_size(&l, B, T, U) <= 4096, "lstm workspace");
    (void)rnn_lstm_loss(&l, B, T, U, x, k, rb, hh, cc, mask, lws);
    double dy[B * T * U], dht[B * U], dct[B * U], gx[B * T * GU], gk[U * GU], grb[GU];
    double gh[B * U], gc[B * U];
    for (int i = 0; i < B * T * U; ++i) dy[i] = (double)(i % 5 - 2);
    for (int i = 0; i < B * U; ++i) { dht[i] = 1; dct[i] = 2; }
    st = fk_rnn_bwd_f64(B, T, U, &l, k, rb, mask, NULL, lws, dy, dht, dct, gx, gk, grb, gh, gc, 1);
    CHECK(st == FK_OK, "lstm backward %d", st);
    double scratch[4096];
    /* central differences of the loss in each entry of x, then of k */
    double *const wrt[2] = {x, k};
    const double *const grads[2] = {gx, gk};
    const int64_t sizes[2] = {B * T * GU, U * GU};
    double worst = 0;
    for (int which = 0; which < 2; ++which) {
        double *v = wrt[which];
        for (int64_t i = 0; i < sizes[which]; ++i) {
            const double old = v[i], h = 1e-6;
            v[i] = old + h;
            double fp = rnn_lstm_loss(&l, B, T, U, x, k, rb, hh, cc, mask, scratch);
            v[i] = old - h;
            double fm = rnn_lstm_loss(&l, B, T, U, x, k, rb, hh, cc, mask, scratch);
            v[i] = old;
            double e = fabs((fp - fm) / (2 * h) - grads[which][i]);
            worst = e > worst ? e : worst;
        }
    }
    CHECK(worst < 1e-7, "lstm gradient vs central differences: worst %g", worst);
    /* refusals */
    fk_rnn_opts bad = l;
    bad.activation = FK_ACT_SOFTPLUS;
    CHECK(fk_rnn_workspace_size(&bad, B, T, U) == 0, "softplus refused");
    CHECK(fk_rnn_fwd_f64(B, T, U, &bad, x, k, rb, hh, cc, NULL, NULL, y, hT, cc, lws, 1) ==
              FK_EBADARG, "bad activation");
    bad = l;
    bad.cell = 7;
    CHECK(fk_rnn_fwd_f64(B, T, U, &bad, x, k, rb, hh, cc, NULL, NULL, y, hT, cc, lws, 1) ==
              FK_EBADARG, "bad cell");
    CHECK(fk_rnn_fwd_f64(0, T, U, &l, x, k, rb, hh, cc, NULL, NULL, y, hT, cc, lws, 1) ==
              FK_EBADSHAPE, "empty batch");
    CHECK(fk_rnn_fwd_f64(B, T, U, &l, x, k, rb, hh, NULL, NULL, NULL, y, hT, cc, lws, 1) ==
              FK_ENULL, "lstm without c0");
    CHECK(fk_rnn_bwd_f64(B, T, U, NULL, k, rb, NULL, NULL, lws, NULL, NULL, NULL, gx, gk, grb,
                         gh, gc, 1) == FK_ENULL, "no options");
    CHECK(fk_rnn_workspace_size(&l, INT64_MAX / 4, T, U) == 0, "huge batch refused");
}

/* fk_stream_pass: reads untouched and summed, updates u = 0.5 u + 0.25, writes 0.25,
 * over a length that is not a whole number of blocks, on 1 and 3 threads; refusals. */
static void test_stream_pass(void) {
    enum { N = 40000 };
    float *r = malloc(sizeof(float) * N), *u = malloc(sizeof(float) * N);
    float *w = malloc(sizeof(float) * N);
    for (int threads = 1; threads <= 3; threads += 2) {
        for (int i = 0; i < N; i++) { r[i] = 1.0f; u[i] = 2.0f; w[i] = -1.0f; }
        float *rs[1] = {r}, *us[1] = {u}, *ws[1] = {w};
        double sum = -1.0;
        int st = fk_stream_pass(rs, 1, us, 1, ws, 1, N, threads, &sum);
        CHECK(st == FK_OK, "stream pass status %d", st);
        CHECK(fabs(sum - N) < 1e-3, "stream checksum %g, expected %d", sum, N);
        int bad = 0;
        for (int i = 0; i < N; i++)
            bad += r[i] != 1.0f || u[i] != 1.25f || w[i] != 0.25f;
        CHECK(bad == 0, "%d elements wrong after a stream pass (%d threads)", bad, threads);
    }
    double sum;
    float *none[1] = {NULL};
    CHECK(fk_stream_pass(NULL, 0, NULL, 0, NULL, 0, N, 1, &sum) == FK_EBADARG, "no streams");
    CHECK(fk_stream_pass(none, 1, NULL, 0, NULL, 0, N, 1, &sum) == FK_ENULL, "NULL stream");
    CHECK(fk_stream_pass(&r, 1, NULL, 0, NULL, 0, -1, 1, &sum) == FK_EBADSHAPE, "negative n");
    CHECK(fk_stream_pass(&r, 1, NULL, 0, NULL, 0, N, 1, NULL) == FK_EBADARG, "NULL checksum");
    free(r);
    free(u);
    free(w);
}

int main(void) {
    printf("fastkeras C core %s (%s), simd %s, openmp %d\n", fk_version(), fk_compiler(),
           fk_simd_name(fk_simd_level()), fk_openmp_enabled());
    test_small_exact();
    test_logits_vs_reference_and_threads();
    test_bad_input();
    test_conv_and_pool();
    test_optim();
    test_rank();
    test_dense_chain();
    test_qdense();
    test_recurrent();
    test_cuda_entry_points();
    test_device_ops_checks();
    test_gemm();
    test_stream_pass();
    if (failures) {
        printf("%d failed\n", failures);
        return 1;
    }
    printf("all C core checks passed\n");
    return 0;
}
