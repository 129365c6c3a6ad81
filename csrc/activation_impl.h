/* Body of the activation kernels, included per dtype (T, SUF and the math macros). */
#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* One block of the forward pass; each kind is its own loop (vectorisable). */
FK_CLONES static void FK_FN(act_fwd_block)(int kind, int64_t n, const T *restrict x,
                                           T *restrict y, T al) {
    switch (kind) {
    case FK_ACT_RELU: /* NaN stays NaN, as TensorFlow's max(x, 0) */
        for (int64_t i = 0; i < n; ++i) y[i] = !(x[i] <= 0) ? x[i] : (T)0;
        break;
    case FK_ACT_RELU6:
        for (int64_t i = 0; i < n; ++i) y[i] = FMIN(FMAX(x[i], (T)0), (T)6);
        break;
    case FK_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : al * x[i];
        break;
    case FK_ACT_ELU:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : al * EXPM1(FMIN(x[i], (T)0));
        break;
    case FK_ACT_SELU:
        for (int64_t i = 0; i < n; ++i)
            y[i] = (T)SELU_SCALE * (x[i] > 0 ? x[i] : (T)SELU_ALPHA * EXPM1(FMIN(x[i], (T)0)));
        break;
    case FK_ACT_SIGMOID:
        for (int64_t i = 0; i < n; ++i) y[i] = SIGMOID(x[i]);
        break;
    case FK_ACT_TANH:
        for (int64_t i = 0; i < n; ++i) y[i] = TANH(x[i]);
        break;
    case FK_ACT_SOFTPLUS:
        for (int64_t i = 0; i < n; ++i) y[i] = SOFTPLUS(x[i]);
        break;
    case FK_ACT_SOFTSIGN:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] / ((T)1 + FABS(x[i]));
        break;
    case FK_ACT_SILU:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * SIGMOID(x[i]);
        break;
    case FK_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; ++i) y[i] = FMIN(FMAX(x[i] + (T)3, (T)0), (T)6) / (T)6;
        break;
    case FK_ACT_HARD_SILU:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (FMIN(FMAX(x[i] + (T)3, (T)0), (T)6) / (T)6);
        break;
    case FK_ACT_MISH:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * TANH(SOFTPLUS(x[i]));
        break;
    case FK_ACT_LOG_SIGMOID:
        for (int64_t i = 0; i < n; ++i) y[i] = -SOFTPLUS(-x[i]);
        break;
    case FK_ACT_GELU_TANH:
        for (int64_t i = 0; i < n; ++i) {
            /* 0.5 (1 + tanh(u)) = sigmoid(2u): no cancellation where tanh(u) -> -1 */
            const T v = x[i];
            y[i] = v * SIGMOID((T)(2 * SQRT_2_PI) * (v + (T)0.044715 * v * v * v));
        }
        break;
    case FK_ACT_GELU_ERF:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * NCDF(x[i]);
        break;
    default:
        break;
    }
}

FK_CLONES static void FK_FN(act_bwd_block)(int kind, int64_t n, const T *restrict x,
                                           const T *restrict y, const T *restrict g,
                                           T *restrict dx, T al) {
    switch (kind) {
    case FK_ACT_RELU:
        for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? g[i] : (T)0;
        break;
    case FK_ACT_RELU6:
        for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] > 0 && x[i] < 6) ? g[i] : (T)0;
        break;
    case FK_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? g[i] : al * g[i];
        break;
    case FK_ACT_ELU:
        for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? g[i] : g[i] * al * EXP(FMIN(x[i], (T)0));
        break;
    case FK_ACT_SELU:
        for (int64_t i = 0; i < n; ++i)
            dx[i] = g[i] * (T)SELU_SCALE *
                    (x[i] > 0 ? (T)1 : (T)SELU_ALPHA * EXP(FMIN(x[i], (T)0)));
        break;
    case FK_ACT_SIGMOID:
        if (y)
            for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * y[i] * ((T)1 - y[i]);
        else
            for (int64_t i = 0; i < n; ++i) {
                const T s = SIGMOID(x[i]);
                dx[i] = g[i] * s * ((T)1 - s);
            }
        break;
    case FK_ACT_TANH:
        if (y)
            for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * ((T)1 - y[i] * y[i]);
        else
            for (int64_t i = 0; i < n; ++i) {
                const T t = TANH(x[i]);
                dx[i] = g[i] * ((T)1 - t * t);
            }
        break;
    case FK_ACT_SOFTPLUS:
        for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * SIGMOID(x[i]);
        break;
    case FK_ACT_SOFTSIGN:
        for (int64_t i = 0; i < n; ++i) {
            const T d = (T)1 + FABS(x[i]);
            dx[i] = g[i] / (d * d);
        }
        break;
    case FK_ACT_SILU:
        for (int64_t i = 0; i < n; ++i) {
            const T s = SIGMOID(x[i]);
            dx[i] = g[i] * (s + x[i] * s * ((T)1 - s));
        }
        break;
    case FK_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] > -3 && x[i] < 3) ? g[i] / (T)6 : (T)0;
        break;
    case FK_ACT_HARD_SILU:
        for (int64_t i = 0; i < n; ++i)
            dx[i] = x[i] <= -3 ? (T)0 : (x[i] >= 3 ? g[i] : g[i] * ((T)2 * x[i] + (T)3) / (T)6);
        break;
    case FK_ACT_MISH:
        for (int64_t i = 0; i < n; ++i) {
            const T t = TANH(SOFTPLUS(x[i]));
            dx[i] = g[i] * (t + x[i] * ((T)1 - t * t) * SIGMOID(x[i]));
        }
        break;
    case FK_ACT_LOG_SIGMOID:
        for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * SIGMOID(-x[i]);
        break;
    case FK_ACT_GELU_TANH:
        for (int64_t i = 0; i < n; ++i) {
            const T v = x[i];
            const T s = SIGMOID((T)(2 * SQRT_2_PI) * (v + (T)0.044715 * v * v * v));
            const T du2 = (T)(2 * SQRT_2_PI) * ((T)1 + (T)(3 * 0.044715) * v * v);
            dx[i] = g[i] * (s + v * s * ((T)1 - s) * du2);
        }
        break;
    case FK_ACT_GELU_ERF:
        for (int64_t i = 0; i < n; ++i)
            dx[i] = g[i] * (NCDF(x[i]) + x[i] * (T)INV_SQRT_2PI * EXP((T)-0.5 * x[i] * x[i]));
        break;
    default:
        break;
    }
}

/* Blocks of FK_ACT_BLOCK elements on the worker pool (workers.h). */
typedef struct {
    int kind;
    int64_t n;
    const T *x, *y, *g;
    T *out;
    T alpha;
} FK_FN(act_job);

static void FK_FN(act_fwd_item)(void *ctx, int64_t b, int slot) {
    const FK_FN(act_job) *j = (const FK_FN(act_job) *)ctx;
    (void)slot;
    const int64_t lo = b * FK_ACT_BLOCK, m = j->n - lo < FK_ACT_BLOCK ? j->n - lo : FK_ACT_BLOCK;
    FK_FN(act_fwd_block)(j->kind, m, j->x + lo, j->out + lo, j->alpha);
}

static void FK_FN(act_bwd_item)(void *ctx, int64_t b, int slot) {
    const FK_FN(act_job) *j = (const FK_FN(act_job) *)ctx;
    (void)slot;
    const int64_t lo = b * FK_ACT_BLOCK, m = j->n - lo < FK_ACT_BLOCK ? j->n - lo : FK_ACT_BLOCK;
    FK_FN(act_bwd_block)(j->kind, m, j->x + lo, j->y ? j->y + lo : (const T *)0, j->g + lo,
                         j->out + lo, j->alpha);
}

int FK_FN(fk_act_fwd)(int kind, int64_t n, const T *x, T *y, double alpha, int n_threads) {
    if (kind < 0 || kind >= FK_ACT_COUNT) return FK_EBADARG;
    if (n < 0) return FK_EBADSHAPE;
    if (n == 0) return FK_OK;
    if (!x || !y) return FK_ENULL;
    const int nt = n < FK_ACT_GRAIN || n_threads < 1 ? 1 : n_threads;
    if (nt == 1 && n <= FK_ACT_BLOCK) { /* small calls (a recurrence's rows): no region */
        FK_FN(act_fwd_block)(kind, n, x, y, (T)alpha);
        return FK_OK;
    }
    const int64_t blocks = (n + FK_ACT_BLOCK - 1) / FK_ACT_BLOCK;
    FK_FN(act_job) job = {kind, n, x, (const T *)0, (const T *)0, y, (T)alpha};
    fk_workers_run(nt, blocks, FK_FN(act_fwd_item), &job);
    return FK_OK;
}

int FK_FN(fk_act_bwd)(int kind, int64_t n, const T *x, const T *y, const T *g, T *dx,
                      double alpha, int n_threads) {
    if (kind < 0 || kind >= FK_ACT_COUNT) return FK_EBADARG;
    if (n < 0) return FK_EBADSHAPE;
    if (n == 0) return FK_OK;
    if (!x || !g || !dx) return FK_ENULL;
    const int nt = n < FK_ACT_GRAIN || n_threads < 1 ? 1 : n_threads;
    if (nt == 1 && n <= FK_ACT_BLOCK) { /* small calls (a recurrence's rows): no region */
        FK_FN(act_bwd_block)(kind, n, x, y, g, dx, (T)alpha);
        return FK_OK;
    }
    const int64_t blocks = (n + FK_ACT_BLOCK - 1) / FK_ACT_BLOCK;
    FK_FN(act_job) job = {kind, n, x, y, g, dx, (T)alpha};
    fk_workers_run(nt, blocks, FK_FN(act_bwd_item), &job);
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
