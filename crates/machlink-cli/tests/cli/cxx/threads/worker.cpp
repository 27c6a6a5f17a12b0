#include "common.h"
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <semaphore>
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

// C++20 waiting on atomics (libc++ builds these on __ulock_wait and
// __ulock_wake on macOS, libstdc++ on futexes): a latch, a barrier whose
// completion runs once per phase, a semaphore, and atomic wait/notify.
std::vector<std::string> phases(int workers) {
    std::vector<std::string> log;
    int phase = 0;
    std::barrier sync(workers, [&]() noexcept { log.push_back("phase " + std::to_string(phase++)); });
    std::latch done(workers);
    std::counting_semaphore<4> slots(2);
    std::atomic<int> inside{0}, most{0};
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
        pool.emplace_back([&] {
            for (int round = 0; round < 3; ++round) {
                slots.acquire();
                int now = ++inside;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                --inside;
                slots.release();
                sync.arrive_and_wait();
            }
            done.count_down();
        });
    }
    done.wait();
    for (auto& t : pool) t.join();
    log.push_back("at most " + std::to_string(most.load() <= 2 ? 2 : most.load()) + " inside");

    std::atomic<int> flag{0};
    std::thread waker([&] {
        flag.store(1);
        flag.notify_one();
    });
    flag.wait(0);
    waker.join();
    log.push_back("flag " + std::to_string(flag.load()));
    return log;
}
