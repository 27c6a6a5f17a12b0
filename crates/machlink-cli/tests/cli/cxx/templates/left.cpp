#include "common.h"

FnPtr left_counter_fn() { return &call_counter; }
int* left_calls() { return call_counter(); }
const char* left_greeting() { return greeting(); }

int left_work() {
    Stack<int> s;
    for (int i = 1; i <= 5; ++i) s.push(i * i);
    int sum = 0;
    while (!s.empty()) sum += s.pop();
    int v[] = {4, 9, 2, 7};
    ++per_type_count<int>();
    std::printf("left: %s %d\n", join(1, 2.5, 3L).c_str(), largest(v, 4));
    return sum;
}
