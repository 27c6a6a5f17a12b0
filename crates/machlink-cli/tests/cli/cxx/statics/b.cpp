#include "tracer.h"
#include <cstdlib>

extern Tracer global_a;
Tracer global_b("b.global", 3);
int b_from_a = global_a.value + 40;

static void at_exit_b() { std::printf("atexit handler of b\n"); }
static int registered = (std::atexit(at_exit_b), 1);

Tracer& lazy_in_b() {
    static Tracer lazy("b.lazy", 4);
    return lazy;
}

int b_value() {
    shared_counter() += 10;
    return b_from_a + registered;
}
