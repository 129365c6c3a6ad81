/* Internal: fastkeras' own worker threads, for loops whose items a busy core must not
 * hold back.
 *
 * fk_workers_run(n_threads, items, fn, ctx) calls fn(ctx, i, slot) once for every i in
 * [0, items), on the calling thread and up to n_threads - 1 pool threads. Items are
 * taken one at a time from a shared counter, and the caller returns as soon as every
 * item is done: it never waits for a worker that has not started (an OpenMP region's
 * closing barrier does, so one descheduled worker costs the whole team a scheduler
 * time slice, ~10 ms, on a loaded machine). Idle workers sleep on a condition variable
 * (no spinning). One job at a time: a call made while another runs does its items on
 * its own thread. After fork() the child starts with no workers. */
#ifndef FASTKERAS_WORKERS_H
#define FASTKERAS_WORKERS_H

#include <stdint.h>

/* slot: which of the call's threads runs the item, in [0, n_threads) (0: the caller).
 * No two items run at once in one slot, so per-thread workspaces are indexed by it. */
typedef void (*fk_work_fn)(void *ctx, int64_t item, int slot);

void fk_workers_run(int n_threads, int64_t items, fk_work_fn fn, void *ctx);

/* Pool threads started so far (they stay, asleep, for later calls). */
int fk_workers_started(void);

#endif
