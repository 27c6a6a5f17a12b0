#include "shared.h"

int alpha_calls;

/* file-local helper with the same name as helpers in other files */
static int helper(int x) { return x * 3 + 1; }

int alpha_add(int a, int b)
{
    alpha_calls++;
    return a + b;
}

int alpha_chain(int n)
{
    alpha_calls++;
    if (n <= 0)
        return helper(0);
    /* alpha -> beta -> gamma -> alpha ... with n strictly decreasing */
    return helper(n) + beta_chain(n - 1);
}
