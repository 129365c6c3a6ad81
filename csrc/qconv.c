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
    int64_t in_size, positions, taps, taps_k, k4, out_size;
} qconv_sizes;

static qconv_sizes sizes_of(const fk_conv_geom *g) {
    qconv_sizes s;
    s.in_size = g->in[0] * g->in[1] * g->in[2] * g->cin;
    s.positions = g->out[0] * g->out[1] * g->out[2];
    s.taps = g->k[0] * g->k[1] * g->k[2];
    s.taps_k = s.taps * g->cin;
    s.k4 = (s.taps_k + 3) / 4;
    s.out_size = s.positions * g->cout;
    return s;
}

/* The gather as runs: for each output position, its taps in order as runs of bytes, each a
 * copy from the image (src >= 0) or padding (src = -1), neighbouring taps that read
 * neighbouring bytes merged (a 3x3 stride-1 tap window inside the image is 3 runs of
 * 3 * cin bytes). The same for every image: built once per call. */
typedef struct gather_run {
    int64_t src, len;
} gather_run;

/* runs of every position (at most taps each); start[p]..start[p + 1] are position p's */
static int64_t gather_runs(const fk_conv_geom *g, gather_run *runs, int64_t *start) {
    int64_t r = 0, p = 0;
    const int64_t cin = g->cin;
    for (int64_t o0 = 0; o0 < g->out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g->out[1]; ++o1)
            for (int64_t o2 = 0; o2 < g->out[2]; ++o2, ++p) {
                start[p] = r;
                for (int64_t t0 = 0; t0 < g->k[0]; ++t0) {
                    const int64_t i0 = o0 * g->stride[0] - g->pad[0] + t0 * g->dil[0];
                    for (int64_t t1 = 0; t1 < g->k[1]; ++t1) {
                        const int64_t i1 = o1 * g->stride[1] - g->pad[1] + t1 * g->dil[1];
                        for (int64_t t2 = 0; t2 < g->k[2]; ++t2) {
                            const int64_t i2 = o2 * g->stride[2] - g->pad[2] + t2 * g->dil[2];
                            const int64_t src =
                                i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 ||
                                        i2 >= g->in[2]
                                    ? -1
                                    : ((i0 * g->in[1] + i1) * g->in[2] + i2) * cin;
                            gather_run *last = r > start[p] ? &runs[r - 1] : NULL;
                            if (last && ((src < 0 && last->src < 0) ||
                                         (src >= 0 && last->src >= 0 && last->src + last->len == src)))
                                last->len += cin;
                            else
                                runs[r++] = (gather_run){src, cin};
                        }
                    }
                }
            }
    start[p] = r;
    return r;
}

/* The byte rows of one image: row p holds every tap of output position p, then zeros.
 * Runs up to FK_GATHER_SLACK bytes move as one fixed-size copy (inlined, where a libc call
 * per short run cost more than the product): the bytes past the run land where the next
 * run or row writes next, or in the buffers' slack; the image has slack past its end too. */
#define FK_GATHER_SLACK 16

static void gather_rows(const gather_run *runs, const int64_t *start, int64_t positions,
                        int64_t ld, const uint8_t *restrict img, uint8_t *restrict rows) {
    uint8_t pad[FK_GATHER_SLACK];
    memset(pad, 128, sizeof pad);
    for (int64_t p = 0; p < positions; ++p) {
        uint8_t *row = rows + p * ld, *end = row + ld;
        for (int64_t r = start[p]; r < start[p + 1]; ++r) {
            const gather_run u = runs[r];
            const uint8_t *from = u.src < 0 ? pad : img + u.src;
            if (u.len <= FK_GATHER_SLACK)
                memcpy(row, from, FK_GATHER_SLACK);
            else if (u.src < 0)
                memset(row, 128, (size_t)u.len);
            else
                memcpy(row, from, (size_t)u.len);
            row += u.len;
        }
        if (end - row <= FK_GATHER_SLACK)
            memcpy(row, pad, FK_GATHER_SLACK);
        else
            memset(row, 128, (size_t)(end - row));
    }
}

static int qconv_images(const fk_conv_geom *g, const qconv_sizes *s, const gather_run *runs,
                        const int64_t *start,
                        const fk_qdense *q, const float *bias, int act, double alpha, int64_t n,
                        const float *x, float *y) {
    const int64_t ld = 4 * s->k4;
    /* the image, its slack, the rows, their slack, the row scales (float aligned) */
    const int64_t img_bytes = (s->in_size + FK_GATHER_SLACK + 3) / 4 * 4;
    const int64_t rows_bytes = s->positions * ld + FK_GATHER_SLACK;
    uint8_t *img = (uint8_t *)malloc((size_t)(img_bytes + rows_bytes) +
                                     (size_t)s->positions * sizeof(float));
    if (!img) return FK_ENOMEM;
    memset(img + s->in_size, 128, (size_t)(img_bytes - s->in_size));
    uint8_t *rows = img + img_bytes;
    float *xs = (float *)(rows + rows_bytes);
    int st = FK_OK;
    for (int64_t b = 0; b < n && st == FK_OK; ++b) {
        const float *xb = x + b * s->in_size;
        float *yb = y + b * s->out_size;
        const float scale = fk_q8_scale(q->x_scale, s->in_size, xb);
        const int bad = fk_q8_quantize(s->in_size, xb, scale, img);
        gather_rows(runs, start, s->positions, ld, img, rows);
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
    gather_run *runs = (gather_run *)malloc((size_t)(s.positions * s.taps) * sizeof(gather_run) +
                                            (size_t)(s.positions + 1) * sizeof(int64_t));
    if (!runs) return FK_ENOMEM;
    int64_t *start = (int64_t *)(runs + s.positions * s.taps);
    gather_runs(g, runs, start);
    if (t <= 1) {
        st = qconv_images(g, &s, runs, start, q, bias, act, alpha, g->n, x, y);
        free(runs);
        return st;
    }
    int status = FK_OK;
#pragma omp parallel for num_threads((int)t) schedule(static)
    for (int64_t i = 0; i < t; ++i) {
        const int64_t b0 = g->n * i / t, b1 = g->n * (i + 1) / t;
        const int r = qconv_images(g, &s, runs, start, q, bias, act, alpha, b1 - b0,
                                   x + b0 * s.in_size, y + b0 * s.out_size);
        if (r != FK_OK) {
#pragma omp atomic write
            status = r;
        }
    }
    free(runs);
    return status;
}
