#include "shared.h"

int gamma_calls;

static int helper(int x) { return x * 7 + 4; }

static const char *const names[] = { "zero", "one", "two", "three", "four" };

int gamma_fold(const int *v, int n, int (*op)(int, int))
{
    int acc = 0, i;
    gamma_calls++;
    for (i = 0; i < n; i++)
        acc = op(acc, v[i]);
    return acc;
}

int gamma_chain(int n)
{
    gamma_calls++;
    if (n <= 0)
        return helper(2);
    return helper(n) + alpha_chain(n - 1);
}

const char *gamma_name(int i)
{
    gamma_calls++;
    if (i < 0 || i >= (int)(sizeof names / sizeof names[0]))
        return "many";
    return names[i];
}
