#include "shared.h"

int beta_calls;

static int helper(int x) { return x * 5 - 2; }

static unsigned rotl(unsigned v, int r) { return (v << r) | (v >> (32 - r)); }

long beta_mul(long a, long b)
{
    beta_calls++;
    return a * b;
}

int beta_chain(int n)
{
    beta_calls++;
    if (n <= 0)
        return helper(1);
    return helper(n) + gamma_chain(n - 1);
}

unsigned beta_hash(const char *s)
{
    unsigned h = 2166136261u;
    beta_calls++;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
        h = rotl(h, 3);
    }
    return h;
}
