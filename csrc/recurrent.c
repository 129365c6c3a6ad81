/* Fused recurrences, forward and backward through time (recurrent.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"
#include "fastkeras/activation.h"
#include "fastkeras/recurrent.h"
#include "workers.h"

static int64_t rnn_gates(int cell) {
    return cell == FK_RNN_LSTM ? 4 : cell == FK_RNN_GRU ? 3 : 1;
}

static int rnn_act_ok(int kind) {
    return kind == FK_RNN_LINEAR || kind == FK_ACT_TANH || kind == FK_ACT_SIGMOID ||
           kind == FK_ACT_HARD_SIGMOID || kind == FK_ACT_RELU;
}

/* Workspace, time-major (step k, row b): H [(T+1), B, U] states before/after each step,
 * HM [T, B, U] the states times rec_mask, C [(T+1), B, U] (LSTM), Z and A [T, B, G*U] the
 * pre- and post-activation gates, X [T, B, U]: act(c) (LSTM), the recurrent h-part
 * (GRU reset_after) or r * hm (GRU reset_after=0). */
typedef struct rnn_layout {
    int64_t H, HM, C, Z, A, X, total;
} rnn_layout;

static rnn_layout rnn_ws_layout(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U) {
    rnn_layout l;
    const int64_t G = rnn_gates(o->cell), bu = B * U;
    l.H = 0;
    l.HM = l.H + (T + 1) * bu;
    l.C = l.HM + T * bu;
    l.Z = l.C + (o->cell == FK_RNN_LSTM ? (T + 1) * bu : 0);
    l.A = l.Z + T * bu * G;
    l.X = l.A + T * bu * G;
    l.total = l.X + (o->cell == FK_RNN_SIMPLE ? 0 : T * bu);
    return l;
}

static int rnn_check(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U) {
    if (!o) return FK_ENULL;
    if (o->cell < FK_RNN_SIMPLE || o->cell > FK_RNN_GRU) return FK_EBADARG;
    if (!rnn_act_ok(o->activation)) return FK_EBADARG;
    if (o->cell != FK_RNN_SIMPLE && !rnn_act_ok(o->recurrent_activation)) return FK_EBADARG;
    if (B < 1 || T < 1 || U < 1) return FK_EBADSHAPE;
    /* every product's sizes travel as BLAS ints; the workspace must fit int64 */
    if (U > (1 << 20) || B > INT32_MAX / 4 / U || T > INT32_MAX / B) return FK_EBADSHAPE;
    if ((double)(T + 1) * (double)B * (double)U * 16.0 > 9.0e18) return FK_EBADSHAPE;
    return FK_OK;
}

int64_t fk_rnn_workspace_size(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U) {
    if (rnn_check(o, B, T, U) != FK_OK) return 0;
    return rnn_ws_layout(o, B, T, U).total;
}

/* Threads worth starting: at least 8 rows each and about 1 MFLOP of recurrent products
 * per thread (the recurrence has no barrier, so start-up is paid once). */
static int rnn_threads(int64_t B, int64_t T, int64_t U, int64_t G, int n_threads) {
    double flops = 2.0 * (double)B * (double)T * (double)U * (double)(G * U);
    int64_t t = (int64_t)(flops / 1e6);
    if (t > B / 8) t = B / 8;
    if (t > n_threads) t = n_threads;
    return t < 1 ? 1 : (int)t;
}

/* Row blocks for nt threads: two per thread where the batch allows (8 rows or more each),
 * so that a thread the scheduler parks leaves half its share to the others. */
static int rnn_blocks(int64_t B, int nt) {
    if (nt <= 1) return 1;
    int64_t b = 2 * (int64_t)nt;
    if (b > B / 8) b = B / 8;
    return b < nt ? nt : (int)b;
}

static void rnn_rows(int64_t B, int nt, int tid, int64_t *r0, int64_t *r1) {
    int64_t per = B / nt, extra = B % nt;
    *r0 = tid * per + (tid < extra ? tid : extra);
    *r1 = *r0 + per + (tid < extra ? 1 : 0);
}

#define T float
#define SUF f32
#define GEMM FK_BLAS(cblas_sgemm)
#include "recurrent_impl.h"
#undef T
#undef SUF
#undef GEMM

#define T double
#define SUF f64
#define GEMM FK_BLAS(cblas_dgemm)
#include "recurrent_impl.h"
#undef T
#undef SUF
#undef GEMM
