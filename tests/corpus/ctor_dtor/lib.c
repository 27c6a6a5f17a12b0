/* A constructor/destructor pair in a second object.  The constructor only
 * records that it ran (its order relative to main.c's constructors is
 * platform dependent).  The destructor writes to stderr only, so its order
 * relative to main.c's stdout output is not observable. */
#include <stdio.h>

int lib_ctor_ran;
int lib_value = -1;

__attribute__((constructor)) static void lib_ctor(void)
{
    lib_ctor_ran++;
    lib_value = 42;
}

__attribute__((destructor)) static void lib_dtor(void)
{
    fprintf(stderr, "lib destructor: lib_value=%d\n", lib_value);
}
