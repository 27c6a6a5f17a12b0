// RTTI and dynamic_cast across objects: typeid of polymorphic objects,
// down-casts, casts that fail, reference casts, cross-casts in a diamond
// with virtual bases, and type_info equality of a type defined in two
// objects. (A failing reference cast throws: see exceptions/.)
#include "shapes.h"
#include <cstdio>
#include <typeinfo>

void inspect(const Shape& s);
const std::type_info& local_type_here();

struct Local {
    int x;
};

int main() {
    auto shapes = make_shapes();
    double total = 0;
    int rects = 0;
    for (const auto& s : shapes) {
        inspect(*s);
        total += s->area();
        if (dynamic_cast<Rect*>(s.get())) ++rects;
    }
    std::printf("total %.2f rects %d\n", total, rects);

    Named* n = make_widget();
    Colored* c = dynamic_cast<Colored*>(n);
    Sized* z = as_sized(c);
    Widget* w = dynamic_cast<Widget*>(z);
    std::printf("widget %s color %d size %d same %d\n", n->label.c_str(), c ? c->color : -1,
                z ? z->size : -1, w != nullptr && static_cast<Named*>(w) == n);
    std::printf("typeid %s\n", typeid(*n).name());
    void* most_derived = dynamic_cast<void*>(z);
    std::printf("void cast reaches the whole object: %d\n", most_derived == static_cast<void*>(w));
    delete n;

    Circle circle(1.0);
    Shape& ref = circle;
    Rect* not_rect = dynamic_cast<Rect*>(&ref);
    std::printf("circle as rect: %s\n", not_rect ? "yes" : "null");
    std::printf("Local same type across objects: %d\n", local_type_here() == typeid(Local));
    std::printf("before: %d\n", typeid(Circle).before(typeid(Circle)));
    return 0;
}
