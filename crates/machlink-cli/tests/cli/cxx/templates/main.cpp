// Weak definitions coalesced across objects: template instances, inline
// functions and their static locals, static data members of templates.
#include "common.h"

int main() {
    std::printf("left_work %d\n", left_work());
    std::printf("right_work %d\n", right_work());
    std::printf("same inline function: %d\n", left_counter_fn() == right_counter_fn());
    std::printf("same address here: %d\n", left_counter_fn() == &call_counter);
    int* a = left_calls();
    int* b = right_calls();
    int* c = call_counter();
    std::printf("same static local: %d %d, calls %d\n", a == b, b == c, *c);
    std::printf("Stack<int> instances %d, Stack<double> %d\n", Stack<int>::instances,
                Stack<double>::instances);
    std::printf("per type: int %d double %d char %d\n", per_type_count<int>(),
                per_type_count<double>(), per_type_count<char>());
    std::printf("same string: %d %s\n", left_greeting() == greeting(), greeting());
    std::printf("fact %ld %ld\n", Fact<5>::value, Fact<15>::value);
    return 0;
}
