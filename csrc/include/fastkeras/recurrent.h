/* fastkeras C core: a whole recurrence (SimpleRNN, LSTM, GRU) in one call, forward and
 * backward through time.
 *
 * The caller computes the input projections of every step up front (one GEMM:
 * xp = x W + input bias, [B, T, G*U] row-major, G = 1 / 4 / 3 gate blocks of U columns
 * in Keras' order: SimpleRNN; LSTM i, f, c, o; GRU z, r, h). Each step then does
 *   a = (h * rec_mask) K + rb                      K [U, G*U], rb [G*U] or NULL
 *   SimpleRNN: h = act(xp_t + a)
 *   LSTM:      i, f, o = ract(..), g = act(..); c = f c + i g; h = o act(c)
 *   GRU reset_after=1: z, r = ract(xp + a), hh = act(xp_h + r a_h)
 *   GRU reset_after=0: z, r as above (a = hm K_zr + rb), hh = act(xp_h + (r hm) K_h + rb_h)
 *                      h = z h_prev + (1 - z) hh
 * (hm = h * rec_mask, the recurrent-dropout mask drawn once per sequence.) With a [B, T]
 * mask (1 = step taken), a masked row keeps its states and repeats its previous output
 * (zeros at the first step, or always with zero_output_for_mask). go_backwards reads the
 * steps last to first and writes outputs in that order (Keras' RNN).
 *
 * Activations are fk_act_kind values of activation.h or FK_RNN_LINEAR (the identity).
 * Batch rows are independent, so with enough rows (8 or more a thread) up to n_threads
 * OpenMP threads each run the recurrence on their own block of rows; the products run
 * single-threaded BLAS. Each thread's products cover its own block of rows, so results can
 * differ in the last bits between thread counts (the BLAS blocks a product by its size). */
#ifndef FASTKERAS_RECURRENT_H
#define FASTKERAS_RECURRENT_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum fk_rnn_cell { FK_RNN_SIMPLE = 0, FK_RNN_LSTM = 1, FK_RNN_GRU = 2 };
enum { FK_RNN_LINEAR = -1 };

typedef struct fk_rnn_opts {
    int cell;                 /* fk_rnn_cell */
    int reset_after;          /* GRU only: the reset gate after the recurrent product */
    int activation;           /* fk_act_kind or FK_RNN_LINEAR */
    int recurrent_activation; /* fk_act_kind or FK_RNN_LINEAR (LSTM, GRU) */
    int go_backwards;
    int return_sequences;     /* y holds every step's output, else only the last */
    int zero_output_for_mask;
} fk_rnn_opts;

/* Elements (of the float type) of the workspace the forward pass fills and the backward
 * pass reads: (B, T, U) sizes; 0 for bad sizes. */
int64_t fk_rnn_workspace_size(const fk_rnn_opts *o, int64_t B, int64_t T, int64_t U);

/* Forward. xp [B, T, G*U]; k [U, G*U]; rb [G*U] or NULL; h0 [B, U]; c0 [B, U] (LSTM only,
 * else ignored); mask [B, T] of 0/1 or NULL; rec_mask [B, U] or NULL.
 * Writes y [B, T, U] (return_sequences) or [B, U]; hT [B, U]; cT [B, U] (LSTM); ws of
 * fk_rnn_workspace_size elements (kept for the backward pass). */
int fk_rnn_fwd_f32(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const float *xp,
                   const float *k, const float *rb, const float *h0, const float *c0,
                   const uint8_t *mask, const float *rec_mask, float *y, float *hT, float *cT,
                   float *ws, int n_threads);
int fk_rnn_fwd_f64(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const double *xp,
                   const double *k, const double *rb, const double *h0, const double *c0,
                   const uint8_t *mask, const double *rec_mask, double *y, double *hT,
                   double *cT, double *ws, int n_threads);

/* Backward, from the forward's ws and the same inputs. dy like y, dhT / dcT [B, U]; any of
 * them may be NULL (no gradient). Writes dxp [B, T, G*U], dk [U, G*U], drb [G*U] (when rb
 * and drb are not NULL), dh0 [B, U], dc0 [B, U] (LSTM). Allocates its own scratch
 * (about T*B*G*U elements): FK_ENOMEM if that fails. */
int fk_rnn_bwd_f32(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const float *k,
                   const float *rb, const uint8_t *mask, const float *rec_mask, const float *ws,
                   const float *dy, const float *dhT, const float *dcT, float *dxp, float *dk,
                   float *drb, float *dh0, float *dc0, int n_threads);
int fk_rnn_bwd_f64(int64_t B, int64_t T, int64_t U, const fk_rnn_opts *o, const double *k,
                   const double *rb, const uint8_t *mask, const double *rec_mask,
                   const double *ws, const double *dy, const double *dhT, const double *dcT,
                   double *dxp, double *dk, double *drb, double *dh0, double *dc0,
                   int n_threads);

#ifdef __cplusplus
}
#endif
#endif
