/* Non-local jumps: setjmp/longjmp (nested buffers, longjmp with 0 must
 * make setjmp return 1, volatile locals preserved, jumping out of deep
 * recursion and across an object boundary), sigsetjmp/siglongjmp with and
 * without saving the signal mask, and _setjmp/_longjmp.
 *
 * NOTE for runtimes: macOS jmp_buf is int[37] (148 bytes) and sigjmp_buf is
 * int[38] (152 bytes); glibc's jmp_buf is 200 bytes.  Buffers here live both
 * in globals and on the stack. */
#include <stdio.h>
#include <setjmp.h>
#include <signal.h>

extern void deep_throw(jmp_buf *env, int depth, int code);   /* thrower.c */
extern int thrower_depth_reached;

static jmp_buf outer_env, inner_env;
static sigjmp_buf sig_env;
static int trace[32];
static int ntrace;

static void mark(int v)
{
    if (ntrace < 32)
        trace[ntrace++] = v;
}

static void inner_work(int n)
{
    mark(100 + n);
    if (n == 3)
        longjmp(inner_env, n);       /* caught by the inner setjmp */
    if (n == 5)
        longjmp(outer_env, 0);       /* 0 -> setjmp returns 1 */
    inner_work(n + 1);
}

static int nested(void)
{
    volatile int attempts = 0;
    int r;

    r = setjmp(outer_env);
    mark(r);
    if (r != 0) {
        printf("outer setjmp returned %d after %d attempts\n", r, attempts);
        return r;
    }
    for (;;) {
        int ri = setjmp(inner_env);
        attempts++;
        mark(1000 + ri);
        if (ri == 0)
            inner_work(0);           /* jumps back with 3 */
        else
            inner_work(ri + 1);      /* 4, 5 -> longjmp(outer, 0) */
    }
}

static int sig_test(int savemask)
{
    volatile int count = 0;
    int r = sigsetjmp(sig_env, savemask);
    count++;
    if (r < 3)
        siglongjmp(sig_env, r + 1);
    return count * 10 + r;
}

static int underscore_test(void)
{
    jmp_buf local_env;                /* on the stack */
    volatile int v = 7;
    int r = _setjmp(local_env);
    if (r == 0) {
        v = 8;
        _longjmp(local_env, 42);
    }
    return r + v;                     /* 42 + 8 */
}

int main(void)
{
    jmp_buf env;
    volatile long acc = 1;
    volatile int stage = 0;
    int r, i, fails = 0;

    r = nested();
    printf("trace:");
    for (i = 0; i < ntrace; i++)
        printf(" %d", trace[i]);
    printf("\n");
    if (r != 1) fails |= 1;

    /* stack jmp_buf, jump out of recursion in another object */
    r = setjmp(env);
    if (r == 0) {
        acc = 99;
        stage = 1;
        deep_throw(&env, 0, 77);
        fails |= 2;                   /* not reached */
    }
    printf("deep_throw returned %d stage=%d acc=%ld depth=%d\n", r, stage, acc,
           thrower_depth_reached);
    if (r != 77 || acc != 99) fails |= 4;

    /* loop driven by longjmp */
    stage = 0;
    r = setjmp(env);
    stage++;
    acc = acc * 3 + r;
    if (r < 5)
        longjmp(env, r + 1);
    printf("loop: stage=%d acc=%ld\n", stage, acc);

    r = sig_test(1);
    printf("sigsetjmp(savemask=1) -> %d\n", r);
    if (r != 43) fails |= 8;
    r = sig_test(0);
    printf("sigsetjmp(savemask=0) -> %d\n", r);
    r = underscore_test();
    printf("_setjmp/_longjmp -> %d\n", r);
    if (r != 50) fails |= 16;

    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 110 + fails : 0;
}
