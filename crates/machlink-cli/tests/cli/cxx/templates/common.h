// Templates and inline functions that every object instantiates: each
// object carries a weak copy, and the link keeps one.
#pragma once
#include <cstdio>
#include <string>

template <typename T>
struct Stack {
    T items[16];
    int n = 0;
    void push(const T& v) { items[n++] = v; }
    T pop() { return items[--n]; }
    bool empty() const { return n == 0; }
    static int instances;
    Stack() { ++instances; }
};
template <typename T>
int Stack<T>::instances = 0;

template <typename T>
T largest(const T* v, int n) {
    T best = v[0];
    for (int i = 1; i < n; ++i)
        if (best < v[i]) best = v[i];
    return best;
}

template <int N>
struct Fact {
    static constexpr long value = N * Fact<N - 1>::value;
};
template <>
struct Fact<0> {
    static constexpr long value = 1;
};

// Its address and its static local must be the same from every object.
inline int* call_counter() {
    static int calls = 0;
    ++calls;
    return &calls;
}

inline const char* greeting() { return "hello from an inline function"; }

// A template with a static local: one per instantiation, shared by all.
template <typename T>
int& per_type_count() {
    static int count = 0;
    return count;
}

template <typename... Ts>
std::string join(const Ts&... parts) {
    std::string out;
    ((out += std::to_string(parts), out += ';'), ...);
    return out;
}

using FnPtr = int* (*)();
FnPtr left_counter_fn();
FnPtr right_counter_fn();
int* left_calls();
int* right_calls();
int left_work();
int right_work();
const char* left_greeting();
