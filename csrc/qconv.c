/* The int8 convolution for inference (qdense.h): per image, the input quantised to
 * unsigned bytes (the static scale, or the image's own max |x| / 127), gathered into
 * im2col rows of bytes (taps outside the image are zero, i.e. 128), one integer product
 * against the kernel packed as an int8 dense layer (Kd*Kh*Kw*Cin, Cout), dequantised with
 * the bias, then the activation. Images are split over threads when the products pay. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastkeras/activation.h"
#include "fastkeras/conv.h"
#include "fastkeras/fk_status.h"
#include "fastkeras/qdense.h"
#include "qdense_impl.h"

typedef struct qconv_sizes {
    int64_t in_size, positions, taps_k, k4, out_size;
} qconv_sizes;

static qconv_sizes sizes_of(const fk_conv_geom *g) {
    qconv_sizes s;
    s.in_size = g->in[0] * g->in[1] * g->in[2] * g->cin;
    s.positions = g->out[0] * g->out[1] * g->out[2];
    s.taps_k = g->k[0] * g->k[1] * g->k[2] * g->cin;
    s.k4 = (s.taps_k + 3) / 4;
    s.out_size = s.positions * g->cout;
    return s;
}

/* the byte rows of one image: row p holds every tap of output position p */
static void gather_rows(const fk_conv_geom *g, const qconv_sizes *s, const uint8_t *img,
                        uint8_t *rows) {
    const int64_t ld = 4 * s->k4, cin = g->cin;
    int64_t p = 0;
    for (int64_t o0 = 0; o0 < g->out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g->out[1]; ++o1)
            for (int64_t o2 = 0; o2 < g->out[2]; ++o2, ++p) {
                uint8_t *row = rows + p * ld;
                for (int64_t t0 = 0; t0 < g->k[0]; ++t0) {
                    const int64_t i0 = o0 * g->stride[0] - g->pad[0] + t0 * g->dil[0];
                    for (int64_t t1 = 0; t1 < g->k[1]; ++t1) {
                        const int64_t i1 = o1 * g->stride[1] - g->pad[1] + t1 * g->dil[1];
                        for (int64_t t2 = 0; t2 < g->k[2]; ++t2, row += cin) {
                            const int64_t i2 = o2 * g->stride[2] - g->pad[2] + t2 * g->dil[2];
                            if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 ||
                                i2 >= g->in[2])
                                memset(row, 128, (size_t)cin);
                            else
                                memcpy(row, img + ((i0 * g->in[1] + i1) * g->in[2] + i2) * cin,
                                       (size_t)cin);
                        }
                    }
                }
                memset(row, 128, (size_t)(ld - s->taps_k));
            }
}

static int qconv_images(const fk_conv_geom *g, const qconv_sizes *s, const fk_qdense *q,
                        const float *bias, int act, double alpha, int64_t n, const float *x,
                        float *y) {
    const int64_t ld = 4 * s->k4;
    uint8_t *img = (uint8_t *)malloc((size_t)(s->in_size + s->positions * ld) +
                                     (size_t)s->positions * sizeof(float) + 4);
    if (!img) return FK_ENOMEM;
    uint8_t *rows = img + s->in_size;
    float *xs = (float *)(rows + s->positions * ld + (4 - s->in_size % 4) % 4);
    int st = FK_OK;
    for (int64_t b = 0; b < n && st == FK_OK; ++b) {
        const float *xb = x + b * s->in_size;
        float *yb = y + b * s->out_size;
        const float scale = fk_q8_scale(q->x_scale, s->in_size, xb);
        const int bad = fk_q8_quantize(s->in_size, xb, scale, img);
        gather_rows(g, s, img, rows);
        for (int64_t p = 0; p < s->positions; ++p) xs[p] = scale;
        fk_qgemm_args a = {s->positions, s->k4, g->cout, rows, q->packed, q->offset,
                           q->w_scale, xs, bias, yb};
        fk_qgemm(&a);
        if (bad)
            for (int64_t i = 0; i < s->out_size; ++i) yb[i] = NAN;
        if (act >= 0) st = fk_act_fwd_f32(act, s->out_size, yb, yb, alpha, 1);
    }
    free(img);
    return st;
}

int fk_qconv_fwd_f32(const fk_conv_geom *g, const fk_qdense *q, const float *bias, int act,
                     double alpha, const float *x, float *y, int n_threads) {
    if (!g || !q) return FK_ENULL;
    int st = fk_conv_check(g);
    if (st != FK_OK) return st;
    if (g->groups != 1 || act < -1 || act >= FK_ACT_COUNT) return FK_EBADARG;
    const qconv_sizes s = sizes_of(g);
    if (s.taps_k > FK_QDENSE_MAX_IN) return FK_EBADSHAPE;
    if (!q->packed || !q->w_scale || !q->offset) return FK_ENULL;
    if (!(q->x_scale >= 0.0f) || !(q->x_scale < INFINITY)) return FK_EBADARG;
    if (g->n == 0) return FK_OK;
    if (!x || !y) return FK_ENULL;
    /* threads: about 8 M integer ops each (the VNNI rate is ~4x float32's), whole images */
    const double ops = 2.0 * (double)g->n * (double)s.positions * (double)s.taps_k * (double)g->cout;
    int64_t t = (int64_t)(ops / 8e6);
    if (t > g->n) t = g->n;
    if (t > n_threads) t = n_threads;
    if (t <= 1) return qconv_images(g, &s, q, bias, act, alpha, g->n, x, y);
    int status = FK_OK;
#pragma omp parallel for num_threads((int)t) schedule(static)
    for (int64_t i = 0; i < t; ++i) {
        const int64_t b0 = g->n * i / t, b1 = g->n * (i + 1) / t;
        const int r = qconv_images(g, &s, q, bias, act, alpha, b1 - b0, x + b0 * s.in_size,
                                   y + b0 * s.out_size);
        if (r != FK_OK) {
#pragma omp atomic write
            status = r;
        }
    }
    return status;
}
