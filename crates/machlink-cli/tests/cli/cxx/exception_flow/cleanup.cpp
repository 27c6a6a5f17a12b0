#include "work.h"
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <deque>

Resource::Resource(int i) : id(i) { std::printf("  acquire %d\n", id); }
Resource::~Resource() { std::printf("  release %d\n", id); }

// Resources held in locals, a deque and a unique_ptr are all released
// when an exception leaves the function. (A deque: libc++ and libstdc++
// both destroy its elements front to back; their vectors do not agree.)
int use_resources(int fail_at) {
    Resource first(1);
    std::deque<std::unique_ptr<Resource>> held;
    for (int i = 2; i < 6; ++i) {
        if (i == fail_at) throw std::range_error("resource limit");
        held.push_back(std::make_unique<Resource>(i));
    }
    auto last = std::make_unique<Resource>(9);
    return static_cast<int>(held.size());
}

static int may_throw(int v) {
    if (v < 0) throw std::domain_error("negative");
    return v * 2;
}

int noexcept_caller(int v) noexcept {
    try {
        return may_throw(v);
    } catch (const std::domain_error&) {
        return -1;
    }
}
