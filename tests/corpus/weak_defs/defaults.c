/* Weak default definitions.  Some are overridden by strong definitions in
 * strong.c, others are not overridden and must be used as-is. */
#include <stdio.h>

__attribute__((weak)) const char *backend_name(void) { return "default-backend"; }
__attribute__((weak)) int backend_version(void) { return 1; }
__attribute__((weak)) int tuning_value = 10;        /* overridden */
__attribute__((weak)) int fallback_value = 77;      /* not overridden */
__attribute__((weak)) int only_weak_fn(int x) { return x * 100 + 1; }  /* no override */

/* Callers inside the same object that defines the weak symbol must still
 * reach the strong override (no direct binding to the weak copy). */
void report_from_defaults(void)
{
    printf("defaults.c sees: %s v%d tuning=%d fallback=%d only_weak(3)=%d\n",
           backend_name(), backend_version(), tuning_value, fallback_value,
           only_weak_fn(3));
}
