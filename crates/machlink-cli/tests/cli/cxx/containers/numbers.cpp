#include "common.h"
#include <algorithm>
#include <numeric>

std::vector<int> primes_below(int n) {
    std::vector<bool> composite(n, false);
    std::vector<int> primes;
    for (int i = 2; i < n; ++i) {
        if (composite[i]) continue;
        primes.push_back(i);
        for (long j = static_cast<long>(i) * i; j < n; j += i) composite[j] = true;
    }
    return primes;
}

std::vector<long> running_sums(const std::vector<int>& v) {
    std::vector<long> out(v.size());
    std::partial_sum(v.begin(), v.end(), out.begin());
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
