/* libb.c — calls across dylibs (liba, and libc_impl through libb's own
 * re-export), and a table of pointers into other images. */
#include "inputs.h"

int (*const b_imports[3])(int) = {a_compute, c_reexported, b_entry};
int *b_counter = &a_counter;

int b_entry(int x) { return a_compute(x) + c_reexported(x) + *b_counter; }
