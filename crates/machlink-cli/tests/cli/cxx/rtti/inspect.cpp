#include "shapes.h"
#include <cstdio>
#include <typeinfo>

// A type whose type_info is emitted here as a weak definition (no key
// function): the copy in main.cpp must be coalesced with this one.
struct Local {
    int x;
};

const std::type_info& local_type_here() { return typeid(Local); }

void inspect(const Shape& s) {
    const std::type_info& t = typeid(s);
    std::printf("%-7s area %6.2f typeid %s", s.name().c_str(), s.area(), t.name());
    if (auto r = dynamic_cast<const Rect*>(&s)) std::printf(" rect %gx%g", r->w, r->h);
    if (dynamic_cast<const Square*>(&s)) std::printf(" (square)");
    if (t == typeid(Circle)) std::printf(" (exactly a circle)");
    std::printf("\n");
}
