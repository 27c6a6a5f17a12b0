// A global object that says when it is constructed and destroyed.
#pragma once
#include <cstdio>

struct Tracer {
    const char* name;
    int value;
    explicit Tracer(const char* n, int v) : name(n), value(v) { std::printf("construct %s %d\n", name, value); }
    ~Tracer() { std::printf("destroy %s\n", name); }
};

int a_value();
int b_value();
Tracer& lazy_in_b();

// An inline function with a static local: one object for every caller,
// whichever object's copy of the function the linker keeps.
inline int& shared_counter() {
    static int count = 100;
    return count;
}
