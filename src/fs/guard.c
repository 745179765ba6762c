/* SPDX-License-Identifier: BSD-2-Clause */
/* guard.c — see guard.h. */
#include "guard.h"

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "dsc/dsc.h"

static _Thread_local sigjmp_buf *recovery;

static void on_sigbus(int sig)
{
    sigjmp_buf *jb = recovery;
    if (jb)
        siglongjmp(*jb, 1);
    /* Not ours: die the way SIGBUS would have killed us. */
    signal(sig, SIG_DFL);
    raise(sig);
}

int guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    return sigaction(SIGBUS, &sa, NULL);
}

bool guard_run(void (*fn)(void *arg), void *arg)
{
    sigjmp_buf jb;
    sigjmp_buf *volatile outer = recovery;
    if (sigsetjmp(jb, 1)) {
        recovery = outer;
        dsc_thread_recover(); /* the export sets fn's lookups had pinned */
        return false;
    }
    recovery = &jb;
    fn(arg);
    recovery = outer;
    return true;
}
