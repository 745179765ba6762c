/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guard.h — turn a SIGBUS raised while reading the mapped cache into an
 * error instead of a dead daemon.
 *
 * The engine mmaps the cache files; when one is truncated under a running
 * mount, touching a page past the new end raises SIGBUS. guard_run() runs a
 * function with a per-thread guard: a SIGBUS on that thread maps a page of
 * zeros over the page that faulted, and the function reads on. It runs to
 * its end on bytes that are no longer the cache's, so it must take any
 * bytes (the engine does: hostile input is its contract) and it frees what
 * it allocated and unpins what it pinned; guard_run() then reports the
 * fault, and the caller drops the result. Only when no page can be mapped
 * does the guard jump out of the function: dsc_thread_recover() then
 * releases what the engine had pinned in the cache's shared state, and
 * whatever else the function held is leaked. The function must not hold
 * locks when it touches mapped bytes (the engine holds none: its export
 * sets are parsed before the memo lock is taken). A SIGBUS outside
 * guard_run() keeps its default action.
 */
#ifndef DSCFS_GUARD_H
#define DSCFS_GUARD_H

#include <stdbool.h>

/* Install the process-wide handler; 0 or -1 (errno set). Idempotent. */
int guard_install(void);

/* Run fn(arg) on this thread; false when it met a SIGBUS (its results
 * are then garbage: free them and fail). */
bool guard_run(void (*fn)(void *arg), void *arg);

/* Pages of zeros the guard has mapped over the cache so far, process-wide
 * (counted before each is mapped). While it is 0, every byte a function
 * read from the mapped cache came from the file or faulted on its own
 * thread. */
unsigned long guard_replaced(void);

#endif
