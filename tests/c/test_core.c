/* C-only test of the static library: no Python involved. Exits non-zero on failure.
 * Proves the headers compile alone and the core is embeddable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fastkeras/fk_build.h"
#include "fastkeras/fk_status.h"
#include "fastkeras/softmax_xent.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { ++failures; \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

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

int main(void) {
    printf("fastkeras C core %s (%s), simd %s, openmp %d\n", fk_version(), fk_compiler(),
           fk_simd_name(fk_simd_level()), fk_openmp_enabled());
    test_small_exact();
    test_logits_vs_reference_and_threads();
    test_bad_input();
    if (failures) {
        printf("%d failed\n", failures);
        return 1;
    }
    printf("all C core checks passed\n");
    return 0;
}
