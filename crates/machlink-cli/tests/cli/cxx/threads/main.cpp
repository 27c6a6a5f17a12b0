// std::thread, mutexes, condition variables, atomics, and thread_local
// objects with destructors that run when their thread exits, and C++20's
// latch, barrier, semaphore and atomic wait.
#include "common.h"
#include <cstdio>
#include <future>
#include <thread>

int main() {
    std::printf("sum %ld\n", parallel_sum(4, 100000));
    for (const auto& line : ping_pong(3)) std::printf("%s\n", line.c_str());
    for (const auto& line : phases(4)) std::printf("%s\n", line.c_str());

    // One thread at a time, so the log has one order.
    for (const char* who : {"first", "second"}) {
        std::thread t([who] {
            touch_thread_local(who);
            register_goodbye(who);
            touch_thread_local(who);
        });
        t.join();
        std::printf("after %s: %d live\n", who, tls_live_count());
    }
    touch_thread_local("main");
    auto fut = std::async(std::launch::async, [] { return 6 * 7; });
    std::printf("async %d\n", fut.get());
    for (const auto& line : tls_log()) std::printf("%s\n", line.c_str());
    std::printf("live at end of main: %d\n", tls_live_count());
    std::printf("hardware threads known: %d\n", std::thread::hardware_concurrency() > 0);
    return 0;
}
