// Exception types defined in throwers.cpp (key functions there), thrown in
// one object and caught by type in another.
#pragma once
#include <cstdio>
#include <string>

struct AppError {
    std::string what;
    int code;
    AppError(std::string w, int c) : what(std::move(w)), code(c) {}
    virtual ~AppError();
    virtual const char* kind() const;
};
struct IoError : AppError {
    using AppError::AppError;
    const char* kind() const override;
};
struct ParseError : AppError {
    int line;
    ParseError(std::string w, int l) : AppError(std::move(w), 2), line(l) {}
    const char* kind() const override;
};

// Prints its name when the stack unwinds through it.
struct Guard {
    const char* name;
    explicit Guard(const char* n) : name(n) { std::printf("  enter %s\n", name); }
    ~Guard() { std::printf("  leave %s\n", name); }
};

// throwers.cpp
void throw_io(int code);
void throw_parse(int line);
void throw_int(int v);
int deep(int depth, int throw_at);
void throw_in_constructor();

// guards.cpp
int guarded_call(void (*f)(int), int arg);
void rethrow_as_app(int which);
int nested(int which);
