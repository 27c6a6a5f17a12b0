// Standard containers, strings and algorithms across objects.
#include "common.h"
#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>

struct Node {
    int id;
    std::shared_ptr<Node> next;
    explicit Node(int i) : id(i) {}
    ~Node() { std::printf("free node %d\n", id); }
};

int main() {
    auto counts = word_counts("The cat and the hat. And THE bat, the end!");
    for (const auto& [word, n] : counts) std::printf("%s=%d ", word.c_str(), n);
    std::printf("\n");

    auto parts = split("a,bb,,ccc,", ',');
    std::printf("%zu parts:", parts.size());
    for (const auto& p : parts) std::printf(" [%s]", p.c_str());
    std::printf("\n%s\n", upper("mixed Case 123").c_str());

    auto primes = primes_below(60);
    std::printf("%zu primes, last %d\n", primes.size(), primes.back());
    auto sums = running_sums(primes);
    std::printf("running sum %ld\n", sums.back());
    std::printf("median %.2f\n", median({5.5, 1.0, 9.0, 3.25}));

    std::vector<int> v(primes.begin(), primes.begin() + 8);
    std::reverse(v.begin(), v.end());
    std::rotate(v.begin(), v.begin() + 3, v.end());
    for (int x : v) std::printf("%d ", x);
    std::printf("| found 13 at %ld\n", std::find(v.begin(), v.end(), 13) - v.begin());
    std::sort(v.begin(), v.end(), std::greater<int>());
    std::printf("binary_search(7) %d\n", std::binary_search(v.rbegin(), v.rend(), 7));

    // Hash containers iterate in an order of their own: sort before printing.
    std::unordered_map<std::string, int> lengths;
    for (const auto& p : parts) lengths[p] = static_cast<int>(p.size());
    std::vector<std::pair<std::string, int>> sorted(lengths.begin(), lengths.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [k, n] : sorted) std::printf("{%s:%d}", k.c_str(), n);
    std::printf("\n");

    std::set<int> s = {5, 1, 4, 1, 5, 9, 2, 6};
    std::deque<int> dq(s.begin(), s.end());
    dq.push_front(0);
    dq.push_back(10);
    std::list<int> l(dq.begin(), dq.end());
    l.remove_if([](int x) { return x % 2; });
    std::printf("set %zu deque %zu list", s.size(), dq.size());
    for (int x : l) std::printf(" %d", x);
    std::printf("\n");

    std::function<int(int)> fib = [&](int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
    std::printf("fib(20) %d\n", fib(20));
    std::printf("accumulate %d\n", std::accumulate(v.begin(), v.end(), 0));

    std::optional<int> maybe;
    std::variant<int, std::string> var = std::string("text");
    std::printf("optional %d variant %zu %s\n", maybe.value_or(-1), var.index(),
                std::get<std::string>(var).c_str());

    std::string big;
    for (int i = 0; i < 1000; ++i) big += std::to_string(i % 10);
    std::printf("big %zu %s %zu\n", big.size(), big.substr(995).c_str(), big.rfind("789"));

    // Seeded from the system (arc4random on macOS): only that it draws.
    std::random_device rd;
    std::uniform_int_distribution<int> die(1, 6);
    int rolls_in_range = 0;
    for (int i = 0; i < 100; ++i) rolls_in_range += die(rd) <= 6;
    std::mt19937 fixed(42);
    std::printf("random_device %d rolls, mt19937(42) %u\n", rolls_in_range, static_cast<unsigned>(fixed()));

    auto head = std::make_shared<Node>(1);
    head->next = std::make_shared<Node>(2);
    head->next->next = std::make_shared<Node>(3);
    std::weak_ptr<Node> weak = head->next;
    std::printf("use_count %ld\n", weak.use_count());
    head.reset();
    std::printf("expired %d\n", weak.expired());
    auto owned = std::make_unique<Node>(4);
    return 0;
}
