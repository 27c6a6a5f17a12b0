// Exceptions thrown in one object and caught by type in another: class
// hierarchies, rethrow, nested try blocks, destructors run while the stack
// unwinds, constructors that throw, catch(...), and std exceptions.
#include "errors.h"
#include <stdexcept>
#include <typeinfo>
#include <vector>

struct Circle {
    virtual ~Circle() {}
};
struct Rect {
    virtual ~Rect() {}
};

int main() {
    std::printf("guarded io -> %d\n", guarded_call(throw_io, 7));
    std::printf("guarded parse -> %d\n", guarded_call(throw_parse, 42));
    std::printf("guarded int -> %d\n", guarded_call(throw_int, -1));

    for (int which = 0; which < 2; ++which) {
        try {
            rethrow_as_app(which);
        } catch (const IoError& e) {
            std::printf("main caught IoError: %s\n", e.what.c_str());
        } catch (const AppError& e) {
            std::printf("main caught AppError(%s): %s\n", e.kind(), e.what.c_str());
        }
    }

    std::printf("nested(0) = %d\n", nested(0));
    std::printf("nested(1) = %d\n", nested(1));

    for (int at = 0; at < 4; ++at) {
        try {
            std::printf("deep returned %d\n", deep(0, at == 3 ? 99 : at));
        } catch (const std::runtime_error&) {
            std::printf("deep threw at %d\n", at);
        } catch (...) {
            std::printf("deep threw something else\n");
        }
    }

    try {
        throw_in_constructor();
    } catch (const AppError& e) {
        std::printf("constructor threw %s %d\n", e.what.c_str(), e.code);
    }

    std::vector<int> v(3);
    try {
        v.at(10) = 1;
    } catch (const std::out_of_range&) {
        std::printf("out_of_range from the library\n");
    }
    Circle c;
    try {
        Circle& cref = c;
        Rect& r = dynamic_cast<Rect&>(cref);
        (void)r;
    } catch (const std::bad_cast&) {
        std::printf("bad_cast from dynamic_cast\n");
    }
    try {
        throw 2.5;
    } catch (...) {
        std::printf("catch-all\n");
    }
    std::printf("done\n");
    return 0;
}
