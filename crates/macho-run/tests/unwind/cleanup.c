/* Functions with cleanups (a personality and an LSDA: DWARF rows), one
 * with a frame bigger than a page (x86_64: the size goes through
 * ___chkstk_darwin in a register) and a dynamic alloca. */
#include "chain.h"
#include <alloca.h>

NOINLINE int via_cleanup(int x) {
    CLEANUP(via_cleanup);
    int a = x * 9 + sink;
    int r = via_dwarf(a);
    return r + a;
}

NOINLINE int via_dwarf(int x) {
    CLEANUP(via_dwarf);
    volatile char page[9000];
    page[x & 4095] = (char)x;
    char *dyn = alloca(16 + (x & 63));
    dyn[0] = (char)sink;
    int r = bottom(x + page[x & 4095] + dyn[0]);
    return r + page[17] + dyn[0];
}
