/* The dylib of dylib_main.c: a thread-local, exported data, an initialiser. */
#include <stdio.h>
_Thread_local int tl = 5;
int shared = 40;
int *shared_ptr = &shared;
int lib_add(int a) { tl += a; return tl + *shared_ptr; }
__attribute__((constructor)) static void libinit(void) { puts("lib init"); }
