/* long double is double on Apple arm64 and IEEE quad in glibc aarch64:
   the `l` functions must reach the host's double functions. */
#include "say.h"
#include <math.h>
#include <stdlib.h>

static long scaled(long double v) { return (long)(v * 1000000); }

int main(void) {
    volatile long double two = 2.0L, half = 0.5L;
    say("sqrtl", scaled(sqrtl(two)));
    say("powl", scaled(powl(two, 10.5L)));
    say("expl", scaled(expl(half)));
    say("logl", scaled(logl(10.0L * two)));
    say("sinl+cosl", scaled(sinl(half) + cosl(half)));
    say("atan2l", scaled(atan2l(two, half)));
    say("fabsl", scaled(fabsl(-two)));
    say("floorl", scaled(floorl(-2.5L)));
    say("fmal", scaled(fmal(two, 3.25L, half)));
    int e;
    say("frexpl", scaled(frexpl(48.0L, &e)));
    say("frexpl exponent", e);
    long double ip;
    say("modfl fraction", scaled(modfl(7.375L, &ip)));
    say("modfl integer", scaled(ip));
    say("ldexpl", scaled(ldexpl(half, 5)));
    say("lroundl", lroundl(2.5L));
    char *end;
    say("strtold", scaled(strtold("1.5e2rest", &end)));
    say("strtold end", *end == 'r');
    say("nexttowardf up *1e9", (long)((nexttowardf(1.0f, two) - 1.0f) * 1e9f));
    say("nexttowardf same", (long)nexttowardf(3.0f, 3.0L));
    say("nexttoward down", nexttoward(1.0, 0.0L) < 1.0);
    return 0;
}
