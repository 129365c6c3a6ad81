/* Argument checks of the dense chain, shared by the CPU (dense_chain.c) and the CUDA twin
 * (cuda/dense_chain.cu). */
#ifndef FASTKERAS_CHAIN_CHECK_H
#define FASTKERAS_CHAIN_CHECK_H

#include <math.h>
#include <stdint.h>
#include "fastkeras/activation.h"
#include "fastkeras/dense_chain.h"
#include "fastkeras/qdense.h"

/* cpu_f32: whether FK_STEP_DENSE_INT8 steps and packed weights may appear (the float32 CPU
 * chain). */
static inline int check_qdense(const fk_chain_step *s) {
    const fk_qdense *q = (const fk_qdense *)s->w;
    if (s->in > FK_QDENSE_MAX_IN) return FK_EBADSHAPE;
    if (!q->packed || !q->w_scale || !q->offset) return FK_ENULL;
    if (!(q->x_scale >= 0.0f) || !(q->x_scale < INFINITY)) return FK_EBADARG;
    return FK_OK;
}

static inline int check_steps(int64_t n, int n_steps, const fk_chain_step *steps, int cpu_f32,
                              int64_t *widest) {
    if (n < 0 || n_steps < 1 || !steps) return FK_EBADSHAPE;
    int64_t w = 0;
    for (int i = 0; i < n_steps; i++) {
        const fk_chain_step *s = &steps[i];
        if (s->in < 1 || s->out < 1 || s->in > INT32_MAX || s->out > INT32_MAX)
            return FK_EBADSHAPE;
        if (i > 0 && s->in != steps[i - 1].out) return FK_EBADSHAPE;
        if (!s->w) return FK_ENULL;
        if (s->type == FK_STEP_DENSE_INT8) {
            if (!cpu_f32) return FK_EBADARG;
            int st = check_qdense(s);
            if (st != FK_OK) return st;
        } else if (s->type == FK_STEP_AFFINE ? s->in != s->out : s->type != FK_STEP_DENSE) {
            return FK_EBADARG;
        }
        if (s->act < FK_STEP_SOFTMAX || s->act >= FK_ACT_COUNT) return FK_EBADARG;
        if (s->packed && (!cpu_f32 || s->type != FK_STEP_DENSE)) return FK_EBADARG;
        if (s->out > w) w = s->out;
    }
    if (n > INT32_MAX || (w > 0 && n > INT64_MAX / w / 2)) return FK_EBADSHAPE;
    *widest = w;
    return FK_OK;
}

#endif
