/* Cross-object calls: four translation units calling each other through a
 * shared header, with same-named static helpers in each file, extern
 * counters, and a cross-object function pointer (alpha_add passed to gamma). */
#include <stdio.h>
#include "shared.h"

static int helper(int x) { return -x; }

int main(void)
{
    int v[6] = { 1, 2, 3, 4, 5, 6 };
    int i, fails = 0;
    int sum = gamma_fold(v, 6, alpha_add);
    long prod = beta_mul(123456L, 1000003L);

    printf("fold(alpha_add) = %d\n", sum);
    printf("beta_mul = %ld\n", prod);
    for (i = 0; i <= 9; i++)
        printf("alpha_chain(%d) = %d\n", i, alpha_chain(i));
    for (i = 0; i < 6; i++)
        printf("gamma_name(%d) = %s hash=%08x\n", i, gamma_name(i),
               beta_hash(gamma_name(i)));
    printf("helper(main) = %d\n", helper(5));
    printf("calls: alpha=%d beta=%d gamma=%d\n", alpha_calls, beta_calls,
           gamma_calls);

    if (sum != 21) fails |= 1;
    if (prod != 123456L * 1000003L) fails |= 2;
    if (alpha_chain(0) != 1) fails |= 4;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 10 + fails : 0;
}
