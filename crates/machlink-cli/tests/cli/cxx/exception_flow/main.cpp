// Exceptions as values (exception_ptr, rethrow_exception), across threads,
// through RAII cleanup in containers and smart pointers, std exception
// hierarchies caught by base, and function-try-blocks.
#include "work.h"
#include <cstdio>
#include <stdexcept>

struct Holder {
    Resource r;
    int value;
    Holder(int v) try : r(v), value(v) {
        if (v > 50) throw std::overflow_error("too big");
    } catch (const std::overflow_error&) {
        std::printf("  function-try-block saw overflow for %d\n", v);
        // rethrown implicitly
    }
};

int main() {
    for (int n = 0; n < 6; ++n) std::printf("task %d: %s\n", n, describe(run_task(n)).c_str());
    for (int n = 3; n < 6; ++n) std::printf("thread task %d -> %d\n", n, task_in_thread(n));

    for (int fail_at : {4, 9}) {
        try {
            std::printf("use_resources -> %d\n", use_resources(fail_at));
        } catch (const std::runtime_error& e) {
            std::printf("caught runtime_error at %d\n", fail_at);
        }
    }
    std::printf("noexcept_caller %d %d\n", noexcept_caller(4), noexcept_caller(-4));

    for (int v : {7, 70}) {
        try {
            Holder h(v);
            std::printf("holder %d\n", h.value);
        } catch (const std::exception&) {
            std::printf("holder %d failed\n", v);
        }
    }
    int caught = 0;
    for (int i = 0; i < 200; ++i) {
        try {
            run_task(3) ? throw i : (void)0;
        } catch (int k) {
            caught += k;
        }
    }
    std::printf("caught sum %d\n", caught);
    return 0;
}
