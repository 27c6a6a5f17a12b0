#include "errors.h"
#include <stdexcept>

// Catches what the callee throws by its base class, in another object.
int guarded_call(void (*f)(int), int arg) {
    Guard g("guarded_call");
    try {
        f(arg);
    } catch (const ParseError& e) {
        std::printf("  caught ParseError line %d: %s\n", e.line, e.what.c_str());
        return 2;
    } catch (const AppError& e) {
        std::printf("  caught AppError(%s) code %d: %s\n", e.kind(), e.code, e.what.c_str());
        return 1;
    } catch (int v) {
        std::printf("  caught int %d\n", v);
        return 3;
    }
    return 0;
}

// Catches, adds context and rethrows the same object with `throw;`.
void rethrow_as_app(int which) {
    try {
        if (which == 0) throw_io(5);
        throw_parse(9);
    } catch (AppError& e) {
        e.what += " (seen by rethrow_as_app)";
        std::printf("  rethrowing %s\n", e.kind());
        throw;
    }
}

// A try block inside a catch handler inside a try block.
int nested(int which) {
    int result = 0;
    try {
        Guard outer("nested.outer");
        try {
            Guard inner("nested.inner");
            if (which == 0) throw_int(10);
            throw_io(11);
        } catch (int v) {
            std::printf("  inner caught int %d\n", v);
            result += v;
            try {
                throw_parse(v + 1);
            } catch (const ParseError& p) {
                std::printf("  handler's own try caught line %d\n", p.line);
                result += p.line;
            }
            throw std::logic_error("from inner handler");
        }
    } catch (const std::logic_error&) {
        std::printf("  outer caught logic_error\n");
        result += 100;
    } catch (const AppError& e) {
        std::printf("  outer caught %s %d\n", e.kind(), e.code);
        result += e.code;
    }
    return result;
}
