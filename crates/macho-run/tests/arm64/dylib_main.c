/* Uses dylib_lib.c, linked as @rpath/libx.dylib: two-level binds, the
   dylib's thread-local and initialiser. */
#include <stdio.h>
#include <string.h>
int lib_add(int);
extern int *shared_ptr;
int main(void) { char b[8]; int r = lib_add(2) + *shared_ptr; b[0] = '0' + r / 10; b[1] = '0' + r % 10; b[2] = 0; puts(b); return 0; }
