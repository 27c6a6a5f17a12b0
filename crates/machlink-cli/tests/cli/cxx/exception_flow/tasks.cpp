#include "work.h"
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <thread>

struct TaskFailed : std::runtime_error {
    int n;
    explicit TaskFailed(int k) : std::runtime_error("task failed"), n(k) {}
};

static void task(int n) {
    if (n % 3 == 0) throw TaskFailed(n);
    if (n % 3 == 1) throw std::invalid_argument("bad n");
}

// Captures whatever a task throws, to be rethrown later by another object.
std::exception_ptr run_task(int n) {
    try {
        task(n);
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// An exception thrown and caught on another thread, carried back to the
// caller through an exception_ptr.
int task_in_thread(int n) {
    std::exception_ptr failure;
    std::thread t([&] { failure = run_task(n); });
    t.join();
    if (!failure) return 0;
    try {
        std::rethrow_exception(failure);
    } catch (const TaskFailed& e) {
        return 1000 + e.n;
    } catch (const std::exception&) {
        return -1;
    }
}

std::string describe(std::exception_ptr p) {
    if (!p) return "no exception";
    try {
        std::rethrow_exception(p);
    } catch (const TaskFailed& e) {
        return "TaskFailed " + std::to_string(e.n);
    } catch (const std::invalid_argument&) {
        return "invalid_argument";
    } catch (const std::exception&) {
        return "std::exception";
    }
}
