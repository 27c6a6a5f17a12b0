/* Globals: initialized data, zero-initialized (bss) data, large bss arrays,
 * file-local statics with colliding names, and tentative/common definitions
 * shared between objects (see globals.h: requires -fcommon). */
#include <stdio.h>
#include <string.h>
#include "globals.h"

long shared_total;                  /* third tentative definition */
char shared_buf[64];                /* second tentative definition */

int init_int = 42;
long long init_ll = -1234567890123LL;
unsigned char init_bytes[5] = { 1, 2, 3 };   /* partially initialized */
int zero_int;                                /* tentative: also common with -fcommon */
int explicit_zero = 0;                       /* explicitly zero: bss */
static int big_bss[100000];                  /* 400 KB of zero fill */
static double aligned_bss[4] __attribute__((aligned(64)));
static char init_after_bss[3] = "xy";

int main(void)
{
    int i, fails = 0;
    long sum = 0;

    printf("init_int=%d init_ll=%lld bytes=%d,%d,%d,%d,%d\n", init_int, init_ll,
           init_bytes[0], init_bytes[1], init_bytes[2], init_bytes[3],
           init_bytes[4]);
    printf("zero_int=%d explicit_zero=%d shared_counter=%d shared_total=%ld\n",
           zero_int, explicit_zero, shared_counter, shared_total);
    printf("shared_scale=%.2f\n", shared_scale);

    for (i = 0; i < 100000; i++)
        sum += big_bss[i];
    for (i = 0; i < 4; i++)
        sum += (long)aligned_bss[i];
    printf("bss sum=%ld aligned=%d\n", sum,
           (int)(((unsigned long)aligned_bss & 63) == 0));
    for (i = 0; i < 64; i++)
        if (shared_buf[i] != 0) fails |= 1;

    for (i = 1; i <= 20; i++) {
        a_bump(i);
        b_bump(i);
        big_bss[i * 4999] = i;
    }
    sum = 0;
    for (i = 0; i < 100000; i++)
        sum += (long)big_bss[i] * i;
    printf("after: shared_counter=%d shared_total=%ld\n", shared_counter,
           shared_total);
    printf("private: a=%d b=%d\n", a_private_value(), b_private_value());
    printf("big_bss weighted=%ld\n", sum);
    printf("shared_buf:");
    for (i = 0; i < 64; i++)
        putchar(shared_buf[i] ? shared_buf[i] : '.');
    printf("\n");
    printf("init_after_bss=%s\n", init_after_bss);
    init_int++;
    zero_int += 5;
    printf("mutated: init_int=%d zero_int=%d\n", init_int, zero_int);

    if (shared_counter != 11 * 210) fails |= 2;
    if (shared_total != 210 * 1000 - 210) fails |= 4;
    if (shared_scale != 2.5) fails |= 8;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 40 + fails : 0;
}
