/* Static constructors/destructors and atexit handlers.
 *
 * Ordering rules relied upon (identical on ELF/glibc and Mach-O/dyld):
 *  - within ONE translation unit, constructors run in increasing priority
 *    order, then unprioritized ones in source order; destructors run in the
 *    reverse order (decreasing priority);
 *  - atexit handlers registered in main run (LIFO) before the static
 *    destructors;
 *  - everything prints to stdout and is flushed by exit().
 * Cross-TU constructor order is NOT relied upon (it differs: ELF sorts
 * prioritized constructors across all objects, Mach-O only within each
 * object), so lib.c's constructor only records that it ran. */
#include <stdio.h>
#include <stdlib.h>

extern int lib_ctor_ran;
extern int lib_value;

static char log_buf[64];
static int log_len;
static int ctor_sum;

static void note(char c)
{
    if (log_len < 63)
        log_buf[log_len++] = c;
}

__attribute__((constructor(300))) static void ctor_300(void) { note('c'); ctor_sum += 300; }
__attribute__((constructor(101))) static void ctor_101(void) { note('a'); ctor_sum += 101; }
__attribute__((constructor)) static void ctor_plain1(void) { note('d'); ctor_sum += 1; }
__attribute__((constructor(200))) static void ctor_200(void) { note('b'); ctor_sum += 200; }
__attribute__((constructor)) static void ctor_plain2(void) { note('e'); ctor_sum += 2; }

__attribute__((destructor(101))) static void dtor_101(void) { printf("dtor 101 (last)\n"); }
__attribute__((destructor(200))) static void dtor_200(void) { printf("dtor 200\n"); }
__attribute__((destructor)) static void dtor_plain(void)
{
    printf("dtor plain (first dtor), lib_value=%d\n", lib_value);
    fprintf(stderr, "stderr from destructor\n");
}

static void at1(void) { printf("atexit 1 (registered first, runs last of atexit)\n"); }
static void at2(void) { printf("atexit 2\n"); }
static void at3(void) { printf("atexit 3 (registered last, runs first)\n"); }

int main(void)
{
    log_buf[log_len] = 0;
    printf("constructor order: %s\n", log_buf);
    printf("ctor_sum=%d lib_ctor_ran=%d lib_value=%d\n", ctor_sum,
           lib_ctor_ran, lib_value);
    if (atexit(at1) || atexit(at2) || atexit(at3))
        return 99;
    printf("main returning\n");
    fflush(stdout);
    lib_value = 5;
    if (ctor_sum != 604 || lib_ctor_ran != 1)
        return 61;
    return 0;
}
