// Static constructors and destructors across objects: initialisers run in
// link order, destructors in reverse (interleaved with atexit handlers and
// function-local statics by the order they were registered).
#include "tracer.h"

Tracer global_main("main.global", 5);

int main() {
    std::printf("main starts\n");
    std::printf("a_value %d\n", a_value());
    std::printf("b_value %d\n", b_value());
    std::printf("lazy %s %d\n", lazy_in_b().name, lazy_in_b().value);
    static Tracer in_main("main.static", 6);
    std::printf("shared counter %d\n", shared_counter());
    std::printf("main returns\n");
    return 3;
}
