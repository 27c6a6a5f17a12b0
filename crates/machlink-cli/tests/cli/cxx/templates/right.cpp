#include "common.h"

FnPtr right_counter_fn() { return &call_counter; }
int* right_calls() { return call_counter(); }

int right_work() {
    Stack<double> d;
    d.push(1.5);
    d.push(2.25);
    Stack<int> s;
    s.push(10);
    double v[] = {1.5, -3.0, 8.25};
    ++per_type_count<int>();
    ++per_type_count<double>();
    std::printf("right: %s %g %g\n", join(Fact<10>::value, 'x').c_str(), largest(v, 3), d.pop());
    return s.pop();
}
