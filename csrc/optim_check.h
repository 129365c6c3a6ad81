/* Argument checks of the fused optimizer step, shared by the CPU (optim.c) and the
 * CUDA twin (cuda/optim.cu): the same refusals in both. */
#ifndef FASTKERAS_OPTIM_CHECK_H
#define FASTKERAS_OPTIM_CHECK_H

#include <stdint.h>
#include "fastkeras/optim.h"

/* Which slots a kind reads and writes, so missing buffers are refused up front. */
static inline int fk_optim_needs(const fk_optim_args *a, int k) {
    switch (a->kind) {
    case FK_OPT_MOMENTUM:
    case FK_OPT_NESTEROV:
    case FK_OPT_ADAGRAD:
    case FK_OPT_LION:
        return k == 0;
    case FK_OPT_ADAM:
        return k < 2 || (k == 2 && a->amsgrad);
    case FK_OPT_ADADELTA:
    case FK_OPT_ADAMAX:
    case FK_OPT_NADAM:
        return k < 2;
    case FK_OPT_RMSPROP:
        return k == 0 || (k == 1 && a->momentum > 0) || (k == 2 && a->centered);
    default:
        return 0;
    }
}

static inline int fk_optim_check(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                          const void *const *params, const void *const *grads,
                          const void *const *const *slots, const void *const *ema) {
    if (!a) return FK_ENULL;
    if (a->kind < FK_OPT_SGD || a->kind > FK_OPT_LION) return FK_EBADARG;
    if (!(a->lr == a->lr) || !(a->epsilon >= 0.0) || !(a->clipvalue >= 0.0)) return FK_EBADARG;
    if (ntensors < 0) return FK_EBADSHAPE;
    if (ntensors == 0) return FK_OK;
    if (!sizes || !params || !grads) return FK_ENULL;
    for (int64_t t = 0; t < ntensors; ++t) {
        if (sizes[t] < 0) return FK_EBADSHAPE;
        if (sizes[t] == 0) continue;
        if (!params[t] || !grads[t]) return FK_ENULL;
        for (int k = 0; k < 3; ++k)
            if (fk_optim_needs(a, k) && (!slots || !slots[k] || !slots[k][t])) return FK_ENULL;
    }
    (void)ema;
    return FK_OK;
}

#endif
