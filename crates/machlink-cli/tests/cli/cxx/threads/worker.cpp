#include "common.h"
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

long parallel_sum(int threads, long upto) {
    std::atomic<long> total{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&total, t, threads, upto] {
            long local = 0;
            for (long i = t; i <= upto; i += threads) local += i;
            total.fetch_add(local);
        });
    }
    for (auto& th : pool) th.join();
    return total.load();
}

// Two threads take turns through a mutex and a condition variable.
std::vector<std::string> ping_pong(int rounds) {
    std::mutex m;
    std::condition_variable cv;
    bool ping_turn = true;
    std::vector<std::string> log;
    auto player = [&](bool is_ping) {
        for (int i = 0; i < rounds; ++i) {
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return ping_turn == is_ping; });
            log.push_back(std::string(is_ping ? "ping " : "pong ") + std::to_string(i));
            ping_turn = !is_ping;
            cv.notify_all();
        }
    };
    std::thread pong(player, false);
    std::thread ping(player, true);
    ping.join();
    pong.join();
    return log;
}
