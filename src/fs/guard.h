/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guard.h — turn a SIGBUS raised while reading the mapped cache into an
 * error instead of a dead daemon.
 *
 * The engine mmaps the cache files; when one is truncated under a running
 * mount, touching a page past the new end raises SIGBUS. guard_run() runs a
 * function with a per-thread recovery point: a SIGBUS on that thread jumps
 * back and guard_run() reports it, after dsc_thread_recover() has released
 * what the engine had pinned in the cache's shared state. Whatever else the
 * function had allocated is leaked (rare, and better than dying); it must
 * not hold locks when it touches mapped bytes (the engine holds none: its
 * export sets are parsed before the memo lock is taken). A SIGBUS outside
 * guard_run() keeps its default action.
 */
#ifndef DSCFS_GUARD_H
#define DSCFS_GUARD_H

#include <stdbool.h>

/* Install the process-wide handler; 0 or -1 (errno set). Idempotent. */
int guard_install(void);

/* Run fn(arg) on this thread; false when it was cut short by SIGBUS. */
bool guard_run(void (*fn)(void *arg), void *arg);

#endif
