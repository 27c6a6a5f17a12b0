/* Compiled with -fomit-frame-pointer (x86_64: frameless rows, with the
 * stack size in the encoding for a small frame, or read from the
 * function's `sub $N, %rsp` for one too big for the encoding's 8 bits). */
#include "chain.h"

NOINLINE int via_small(int x) {
    int a = x + sink, b = x - sink;
    int r = via_big(a);
    return r + a - b;
}

NOINLINE int via_big(int x) {
    volatile char buf[3000];
    buf[x & 1023] = (char)x;
    int a = x * 7 + sink, b = buf[x & 1023];
    int r = via_regs(a);
    return r + a + b + buf[5];
}

/* Many values live across the call: every callee-saved register. */
NOINLINE int via_regs(int x) {
    int a = x + sink, b = a * 3, c = b ^ 7, d = c + a, e = d * b, f = e - c;
    int g = f + 9, h = g * 2 + a, i = h - b + sink;
    int r = via_cleanup(a);
    return r + a + b * c + d * e + f * g + h * i;
}
