/* SPDX-License-Identifier: BSD-2-Clause */
/* inputs.h — declarations shared by the builder's input dylibs. */
#ifndef DSCBUILD_INPUTS_H
#define DSCBUILD_INPUTS_H

void *sys_alloc(unsigned long n);
void sys_free(void *p);
int sys_puts(const char *s);
extern int sys_errno;
extern char sys_big[];
__attribute__((weak_import)) int sys_optional(void);
__attribute__((weak_import)) int sys_absent(void);

int a_compute(int x);
extern int a_counter;
int c_reexported(int x);
int sys_weak_hook(void);
int b_entry(int x);

#endif
