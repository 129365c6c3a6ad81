/* Body of the fused optimizer step, included once per dtype (T, SUF, SQRT). The
 * per-element arithmetic is optim_bodies.h (shared with the CUDA kernel). */
#include "optim_bodies.h"

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* The loop shared by every optimizer: gradient scaling and clipping, decoupled
 * weight decay, BODY (which updates w and the slots), the store and the EMA. The
 * kind is fixed for the whole loop, so each expansion vectorises; the flags are
 * loop-invariant (the compiler unswitches them). */
#define FK_OPT_LOOP1(DECAY, EMA, BODY)                                          \
    for (int64_t i = 0; i < n; ++i) {                                            \
        T g = gr[i] * gs;                                                        \
        g = g < -cv ? -cv : (g > cv ? cv : g); /* cv = inf when not clipping */  \
        T w = p[i];                                                              \
        if (DECAY) w = w - w * wd * lr;                                          \
        BODY                                                                     \
        p[i] = w;                                                                \
        if (EMA) ema[i] = em * ema[i] + (one - em) * w;                          \
    }
/* Decay and EMA become compile-time constants in each of the four copies, so
 * the loops have no control flow left and vectorise. */
#define FK_OPT_LOOP(BODY)                                                        \
    if (decay) {                                                                 \
        if (use_ema) { FK_OPT_LOOP1(1, 1, BODY) } else { FK_OPT_LOOP1(1, 0, BODY) } \
    } else {                                                                     \
        if (use_ema) { FK_OPT_LOOP1(0, 1, BODY) } else { FK_OPT_LOOP1(0, 0, BODY) } \
    }

/* One contiguous run of elements of one tensor (compiled per ISA: FK_CLONES). */
FK_CLONES static void FK_FN(optim_run)(const fk_optim_args *a, int64_t n, T *restrict p,
                                       const T *restrict gr, T gs, T *restrict s0,
                                       T *restrict s1, T *restrict s2, T *restrict ema) {
    const T lr = (T)a->lr, b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon;
    const T rho = (T)a->rho, mom = (T)a->momentum, alpha = (T)a->alpha;
    const T c1 = (T)a->c1, c2 = (T)a->c2, vcorr = (T)a->vcorr;
    const T wd = (T)a->weight_decay, one = (T)1;
    const T cv = a->clipvalue > 0 ? (T)a->clipvalue : (T)INFINITY;
    const T em = (T)a->ema_momentum;
    const int decay = a->weight_decay != 0.0, use_ema = ema != 0;
    switch (a->kind) {
    case FK_OPT_SGD: FK_OPT_LOOP(FK_OPT_BODY_SGD) break;
    case FK_OPT_MOMENTUM: FK_OPT_LOOP(FK_OPT_BODY_MOMENTUM) break;
    case FK_OPT_NESTEROV: FK_OPT_LOOP(FK_OPT_BODY_NESTEROV) break;
    case FK_OPT_ADAM:
        if (a->amsgrad) {
            FK_OPT_LOOP(FK_OPT_BODY_AMSGRAD)
        } else {
            FK_OPT_LOOP(FK_OPT_BODY_ADAM)
        }
        break;
    case FK_OPT_ADAGRAD: FK_OPT_LOOP(FK_OPT_BODY_ADAGRAD) break;
    case FK_OPT_ADADELTA: FK_OPT_LOOP(FK_OPT_BODY_ADADELTA) break;
    case FK_OPT_RMSPROP:
        if (a->centered && a->momentum > 0) {
            FK_OPT_LOOP(FK_OPT_BODY_RMSPROP_CENTERED_MOMENTUM)
        } else if (a->centered) {
            FK_OPT_LOOP(FK_OPT_BODY_RMSPROP_CENTERED)
        } else if (a->momentum > 0) {
            FK_OPT_LOOP(FK_OPT_BODY_RMSPROP_MOMENTUM)
        } else {
            FK_OPT_LOOP(FK_OPT_BODY_RMSPROP)
        }
        break;
    case FK_OPT_ADAMAX: FK_OPT_LOOP(FK_OPT_BODY_ADAMAX) break;
    case FK_OPT_NADAM: FK_OPT_LOOP(FK_OPT_BODY_NADAM) break;
    case FK_OPT_LION: FK_OPT_LOOP(FK_OPT_BODY_LION) break;
    default:
        break;
    }
}
#undef FK_OPT_LOOP
#undef FK_OPT_LOOP1

int FK_FN(fk_optim_step)(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                         T *const *params, const T *const *grads, const double *gscale,
                         T *const *const *slots, T *const *ema, int n_threads) {
    int st = fk_optim_check(a, ntensors, sizes, (const void *const *)params,
                            (const void *const *)grads, (const void *const *const *)slots,
                            (const void *const *)ema);
    if (st != FK_OK) return st;
    /* Work items: fixed blocks of FK_OPTIM_BLOCK elements of one tensor. */
    int64_t items = 0;
    for (int64_t t = 0; t < ntensors; ++t) items += (sizes[t] + FK_OPTIM_BLOCK - 1) / FK_OPTIM_BLOCK;
    int64_t total = 0;
    for (int64_t t = 0; t < ntensors; ++t) total += sizes[t];
    int nt = n_threads < 1 ? 1 : n_threads;
    if (total < FK_OPTIM_GRAIN || items < 2) nt = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        const unsigned csr = fk_flush_denormals_begin(); /* decayed slots: see denormals.h */
        int64_t t = 0, first_item = 0; /* the tensor holding the current item, found incrementally */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t it = 0; it < items; ++it) {
            if (it < first_item) {
                t = 0;
                first_item = 0;
            }
            while ((sizes[t] + FK_OPTIM_BLOCK - 1) / FK_OPTIM_BLOCK <= it - first_item) {
                first_item += (sizes[t] + FK_OPTIM_BLOCK - 1) / FK_OPTIM_BLOCK;
                ++t;
            }
            const int64_t off = (it - first_item) * FK_OPTIM_BLOCK;
            const int64_t n = sizes[t] - off < FK_OPTIM_BLOCK ? sizes[t] - off : FK_OPTIM_BLOCK;
            T *s0 = slots && slots[0] && slots[0][t] ? slots[0][t] + off : (T *)0;
            T *s1 = slots && slots[1] && slots[1][t] ? slots[1][t] + off : (T *)0;
            T *s2 = slots && slots[2] && slots[2][t] ? slots[2][t] + off : (T *)0;
            T *em = ema && ema[t] ? ema[t] + off : (T *)0;
            FK_FN(optim_run)(a, n, params[t] + off, grads[t] + off,
                             gscale ? (T)gscale[t] : (T)1, s0, s1, s2, em);
        }
        fk_flush_denormals_end(csr);
    }
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
