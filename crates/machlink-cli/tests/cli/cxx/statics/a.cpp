#include "tracer.h"

static Tracer local_a("a.local", 1);
Tracer global_a("a.global", 2);
// Dynamic initialisation that reads another object's global: the order of
// the objects on the link line decides what it sees.
int a_computed = global_a.value * 10;

int a_value() {
    ++shared_counter();
    return a_computed + local_a.value;
}
