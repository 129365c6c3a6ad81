/* The per-element update of every optimizer kind, shared by the CPU loop (optim_impl.h)
 * and the CUDA kernel (cuda/optim.cu), so both compute the same operations in the same
 * order. The arithmetic follows Keras 3's update_step formulas operation by operation
 * in T, so trajectories track tf.keras closely.
 *
 * Each body reads g (the scaled, clipped gradient) and w (the parameter after weight
 * decay), updates w and the slots s0, s1, s2 at index i. In scope: the scalars lr, b1,
 * b2, eps, rho, mom, alpha, c1, c2, vcorr and one (all of type T) and SQRT(x). */
#ifndef FASTKERAS_OPTIM_BODIES_H
#define FASTKERAS_OPTIM_BODIES_H

#define FK_OPT_BODY_SGD w = w - g * lr;
#define FK_OPT_BODY_MOMENTUM const T m = s0[i] * mom - g * lr; s0[i] = m; w = w + m;
#define FK_OPT_BODY_NESTEROV                                                            \
    const T m = s0[i] * mom - g * lr; s0[i] = m; w = w + (m * mom - g * lr);
#define FK_OPT_BODY_ADAM                                                                \
    const T m = s0[i] + (g - s0[i]) * (one - b1);                                      \
    const T v = s1[i] + (g * g - s1[i]) * (one - b2); s0[i] = m; s1[i] = v;            \
    w = w - (m * alpha) / (SQRT(v) + eps);
#define FK_OPT_BODY_AMSGRAD                                                             \
    const T m = s0[i] + (g - s0[i]) * (one - b1);                                      \
    T v = s1[i] + (g * g - s1[i]) * (one - b2); s0[i] = m; s1[i] = v;                  \
    v = s2[i] > v ? s2[i] : v; s2[i] = v;                                              \
    w = w - (m * alpha) / (SQRT(v) + eps);
#define FK_OPT_BODY_ADAGRAD                                                             \
    const T acc = s0[i] + g * g; s0[i] = acc; w = w - (lr * g) / SQRT(acc + eps);
#define FK_OPT_BODY_ADADELTA                                                            \
    const T ag = rho * s0[i] + (one - rho) * (g * g);                                  \
    const T dv = -((SQRT(s1[i] + eps) * g) / SQRT(ag + eps)); s0[i] = ag;              \
    s1[i] = rho * s1[i] + (one - rho) * (dv * dv); w = w + lr * dv;
#define FK_OPT_BODY_RMSPROP                                                             \
    const T v = rho * s0[i] + (one - rho) * (g * g); s0[i] = v;                        \
    w = w - (lr * g) / SQRT(v + eps);
#define FK_OPT_BODY_RMSPROP_MOMENTUM                                                    \
    const T v = rho * s0[i] + (one - rho) * (g * g); s0[i] = v;                        \
    const T inc = (lr * g) / SQRT(v + eps);                                            \
    const T mo = mom * s1[i] + inc; s1[i] = mo; w = w - mo;
#define FK_OPT_BODY_RMSPROP_CENTERED                                                    \
    const T v = rho * s0[i] + (one - rho) * (g * g); s0[i] = v;                        \
    const T mg = rho * s2[i] + (one - rho) * g; s2[i] = mg;                            \
    w = w - (lr * g) / SQRT(v - mg * mg + eps);
#define FK_OPT_BODY_RMSPROP_CENTERED_MOMENTUM                                           \
    const T v = rho * s0[i] + (one - rho) * (g * g); s0[i] = v;                        \
    const T mg = rho * s2[i] + (one - rho) * g; s2[i] = mg;                            \
    const T inc = (lr * g) / SQRT(v - mg * mg + eps);                                  \
    const T mo = mom * s1[i] + inc; s1[i] = mo; w = w - mo;
#define FK_OPT_BODY_ADAMAX                                                              \
    const T m = s0[i] + (g - s0[i]) * (one - b1); const T ag = g < 0 ? -g : g;         \
    const T bu = b2 * s1[i]; const T u = bu > ag ? bu : ag; s0[i] = m; s1[i] = u;      \
    w = w - (lr * m) / (alpha * (u + eps));
#define FK_OPT_BODY_NADAM                                                               \
    const T m = s0[i] + (g - s0[i]) * (one - b1);                                      \
    const T v = s1[i] + (g * g - s1[i]) * (one - b2); s0[i] = m; s1[i] = v;            \
    w = w - ((c1 * m + c2 * g) * lr) / (SQRT(v / vcorr) + eps);
#define FK_OPT_BODY_LION                                                                \
    const T c = s0[i] * b1 + g * (one - b1);                                           \
    const T sg = c != c ? c : (T)(c > 0) - (T)(c < 0); /* sign, NaN stays */           \
    w = w - lr * sg;                                                                    \
    s0[i] = s0[i] * b2 + g * (one - b2);

#endif
