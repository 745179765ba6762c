/* SPDX-License-Identifier: BSD-2-Clause */
/* guard.c — see guard.h. */
#include "guard.h"

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dsc/dsc.h"

struct frame {
    sigjmp_buf jb;                  /* only when a page cannot be replaced */
    volatile sig_atomic_t faulted;
};

static _Thread_local struct frame *volatile current;
static uintptr_t page_mask;
static unsigned long replaced; /* atomic */

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    struct frame *f = current;
    if (f) {
        f->faulted = 1;
        /* A page of a cache file cut short under its mapping: map a page
         * of zeros in its place, read-only like the cache, and let the
         * read resume. The function then runs to its end on garbage (the
         * engine takes any bytes) and frees what it allocated; guard_run
         * reports the fault. mmap is a plain system call on Linux. */
        void *page = (void *)((uintptr_t)si->si_addr & page_mask);
        __atomic_add_fetch(&replaced, 1, __ATOMIC_SEQ_CST); /* lock-free: fine in a handler */
        if (mmap(page, page_mask ? ~page_mask + 1 : 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) != MAP_FAILED)
            return;
        siglongjmp(f->jb, 1);
    }
    /* Not ours: die the way SIGBUS would have killed us. */
    signal(sig, SIG_DFL);
    raise(sig);
}

int guard_install(void)
{
    long page = sysconf(_SC_PAGESIZE);
    page_mask = ~(uintptr_t)((page > 0 ? page : 4096) - 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    return sigaction(SIGBUS, &sa, NULL);
}

bool guard_run(void (*fn)(void *arg), void *arg)
{
    struct frame f;
    f.faulted = 0;
    struct frame *volatile outer = current;
    /* No signal mask to save (a system call per run): the handler runs
     * with the thread's own mask (SA_NODEFER, empty sa_mask), so a jump
     * out of it leaves the mask as it was. */
    if (sigsetjmp(f.jb, 0)) {
        current = outer;
        dsc_thread_recover(); /* the export sets fn's lookups had pinned */
        return false;
    }
    current = &f;
    fn(arg);
    current = outer;
    return !f.faulted;
}

unsigned long guard_replaced(void) { return __atomic_load_n(&replaced, __ATOMIC_SEQ_CST); }
