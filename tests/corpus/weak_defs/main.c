/* Weak definitions: weak defaults in defaults.c, strong overrides in
 * strong.c, a weak function and a weak variable with no override, and a
 * weak definition in main.c itself.  (A weak *undefined* reference to a
 * symbol nobody defines is deliberately not used: ld64 rejects it unless
 * some dylib provides the symbol.) */
#include <stdio.h>

const char *backend_name(void);
int backend_version(void);
int only_weak_fn(int);
extern int tuning_value;
extern int fallback_value;
void report_from_defaults(void);

/* A weak definition in main.c that nobody else defines. */
__attribute__((weak)) int main_weak_helper(int x) { return x + 5; }

int main(void)
{
    int fails = 0;
    printf("main sees: %s v%d tuning=%d fallback=%d only_weak(4)=%d\n",
           backend_name(), backend_version(), tuning_value, fallback_value,
           only_weak_fn(4));
    report_from_defaults();
    printf("main_weak_helper(1)=%d\n", main_weak_helper(1));

    tuning_value++;
    report_from_defaults();

    if (backend_version() != 2) fails |= 1;
    if (tuning_value != 21) fails |= 2;
    if (fallback_value != 77) fails |= 4;
    if (only_weak_fn(0) != 1) fails |= 8;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 50 + fails : 0;
}
