/* fastkeras' worker threads (workers.h). */
#include "workers.h"

#if defined(_WIN32)

void fk_workers_run(int n_threads, int64_t items, fk_work_fn fn, void *ctx) {
    for (int64_t i = 0; i < items; i++) fn(ctx, i, 0);
}
int fk_workers_started(void) { return 0; }

#else
#include <pthread.h>

#define FK_WORKERS_MAX 255

/* Everything below is guarded by mu. A job is published by bumping gen; workers
 * join it until `want` have, then take items while next < items. The caller's ctx
 * is touched only between taking an item and counting it done, and the caller waits
 * for done == items, so no worker reads a finished job's ctx. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, finished;
    int started;
    int busy; /* a job is running: other callers run theirs inline */
    uint64_t gen;
    int want, joined;
    int64_t items, next, done;
    fk_work_fn fn;
    void *ctx;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
       .finished = PTHREAD_COND_INITIALIZER, .started = 0};

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void after_fork_child(void) {
    /* the child has only the forking thread: no workers, and no job of the parent */
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.wake, NULL);
    pthread_cond_init(&g.finished, NULL);
    g.started = 0;
    g.busy = 0;
    g.want = g.joined = 0;
    g.items = g.next = g.done = 0;
}

static void install_atfork(void) { pthread_atfork(NULL, NULL, after_fork_child); }

/* Take items until none is left; called and returns with mu held. */
static void take_items(int slot) {
    while (g.next < g.items) {
        int64_t i = g.next++;
        fk_work_fn fn = g.fn;
        void *ctx = g.ctx;
        pthread_mutex_unlock(&g.mu);
        fn(ctx, i, slot);
        pthread_mutex_lock(&g.mu);
        if (++g.done == g.items) pthread_cond_signal(&g.finished);
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g.mu);
    uint64_t seen = g.gen;
    for (;;) {
        while (g.gen == seen) pthread_cond_wait(&g.wake, &g.mu);
        seen = g.gen;
        if (g.joined >= g.want) continue;
        take_items(++g.joined); /* slots 1..want; the caller is 0 */
    }
    return NULL; /* not reached */
}

/* Start workers until `n` exist (best effort: a failed start leaves fewer). */
static void grow(int n) {
    if (n > FK_WORKERS_MAX) n = FK_WORKERS_MAX;
    while (g.started < n) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        g.started++;
    }
}

void fk_workers_run(int n_threads, int64_t items, fk_work_fn fn, void *ctx) {
    if (items <= 0) return;
    if (n_threads <= 1 || items == 1) {
        for (int64_t i = 0; i < items; i++) fn(ctx, i, 0);
        return;
    }
    pthread_once(&g_atfork_once, install_atfork);
    pthread_mutex_lock(&g.mu);
    if (g.busy) { /* another thread's job holds the pool: do this one here */
        pthread_mutex_unlock(&g.mu);
        for (int64_t i = 0; i < items; i++) fn(ctx, i, 0);
        return;
    }
    int want = n_threads - 1;
    if (want > items - 1) want = (int)(items - 1);
    grow(want);
    if (want > g.started) want = g.started;
    g.busy = 1;
    g.fn = fn;
    g.ctx = ctx;
    g.items = items;
    g.next = g.done = 0;
    g.want = want;
    g.joined = 0;
    g.gen++;
    if (want > 0) pthread_cond_broadcast(&g.wake);
    take_items(0);
    while (g.done < g.items) pthread_cond_wait(&g.finished, &g.mu);
    g.items = g.next = g.done = 0;
    g.want = 0;
    g.fn = NULL;
    g.ctx = NULL;
    g.busy = 0;
    pthread_mutex_unlock(&g.mu);
}

int fk_workers_started(void) {
    pthread_mutex_lock(&g.mu);
    int n = g.started;
    pthread_mutex_unlock(&g.mu);
    return n;
}
#endif
