/* Compiled with -fno-omit-frame-pointer: an RBP frame with saved
 * registers (x86_64), a frame record with saved register pairs (arm64). */
#include "chain.h"

NOINLINE int via_frame(int x) {
    /* Values live across the call in callee-saved registers. */
    int a = x * 3 + sink, b = x * 5 - sink, c = x ^ 0x55, d = x + 11;
    double p = x * 0.25 + sink, q = p * 3.5;
    int r = via_small(a + b);
    return r + a * b - c * d + (int)(p * q);
}
