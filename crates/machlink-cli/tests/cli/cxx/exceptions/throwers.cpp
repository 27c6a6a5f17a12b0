#include "errors.h"
#include <stdexcept>

AppError::~AppError() {}
const char* AppError::kind() const { return "app"; }
const char* IoError::kind() const { return "io"; }
const char* ParseError::kind() const { return "parse"; }

void throw_io(int code) {
    Guard g("throw_io");
    throw IoError("disk on fire", code);
}

void throw_parse(int line) {
    Guard g("throw_parse");
    throw ParseError("unexpected token", line);
}

void throw_int(int v) { throw v; }

int deep(int depth, int throw_at) {
    Guard g(depth == 0 ? "deep0" : depth == 1 ? "deep1" : depth == 2 ? "deep2" : "deeper");
    if (depth == throw_at) throw std::runtime_error("deep");
    if (depth == 3) return 0;
    return deep(depth + 1, throw_at) + 1;
}

struct Part {
    int id;
    explicit Part(int i) : id(i) {
        if (i == 3) throw IoError("part 3 is broken", 33);
        std::printf("  part %d built\n", id);
    }
    ~Part() { std::printf("  part %d destroyed\n", id); }
};

struct Machine {
    Part a{1}, b{2}, c{3};
    Machine() { std::printf("  machine body (never)\n"); }
};

void throw_in_constructor() { Machine m; }
