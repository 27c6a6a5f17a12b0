/* setjmp family: values, callee-saved registers (integer and floating
   point), signal masks, and that the macOS-sized jmp_buf is not overrun. */
#include "say.h"
#include <setjmp.h>
#include <signal.h>

#ifdef NATIVE_GLIBC
/* glibc's setjmp does not save the signal mask; macOS's does (BSD
   semantics). The native reference build asks for the BSD behaviour. */
#undef setjmp
#define setjmp(b) sigsetjmp(b, 1)
#endif

static jmp_buf jb;
static sigjmp_buf sjb;
static struct {
    jmp_buf buf;
    unsigned char guard[160];
} guarded;

__attribute__((noinline)) static void jump(jmp_buf b, int depth, int v) {
    if (depth == 0)
        longjmp(b, v);
    jump(b, depth - 1, v);
}

__attribute__((noinline)) static void underscore_jump(int v) { _longjmp(guarded.buf, v); }

static int blocked(int sig) {
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

__attribute__((noinline)) static double work(double x, long n) {
    /* Values live across setjmp in callee-saved registers. */
    long a = n * 3, b = n * 5, c = n * 7;
    double d = x * 1.5, e = x * 2.5, f = x * 3.5;
    if (setjmp(jb) == 0)
        jump(jb, 20, 0);
    return (double)(a + b + c) + d + e + f;
}

int main(void) {
    volatile int rounds = 0;
    int r = setjmp(jb);
    rounds++;
    if (r < 3)
        jump(jb, 5 + r, r + 1);
    say("setjmp returned", r);
    say("rounds", rounds);
    if (setjmp(jb) == 0)
        jump(jb, 3, 0);
    else
        puts("longjmp(0) returns 1");
    say("callee-saved kept", (long)(work(2.0, 10) * 100));

    memset(guarded.guard, 0xa5, sizeof guarded.guard);
    r = _setjmp(guarded.buf);
    if (r == 0)
        underscore_jump(7);
    say("_setjmp returned", r);
    int intact = 1;
    for (size_t i = 0; i < sizeof guarded.guard; i++)
        intact &= guarded.guard[i] == 0xa5;
    say("memory after jmp_buf intact", intact);

    /* sigsetjmp(.., 1) restores the mask; (.., 0) leaves it. */
    volatile int stage = 0;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (sigsetjmp(sjb, 1) == 0) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        stage = 1;
        siglongjmp(sjb, 1);
    }
    say("mask restored: SIGUSR1 blocked", blocked(SIGUSR1));
    if (sigsetjmp(sjb, 0) == 0) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        siglongjmp(sjb, 1);
    }
    say("mask kept: SIGUSR1 blocked", blocked(SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    /* setjmp saves the mask too (BSD semantics). */
    if (setjmp(jb) == 0) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        longjmp(jb, 1);
    }
    say("setjmp restores mask: SIGUSR1 blocked", blocked(SIGUSR1));
    say("stage", stage);
    return 0;
}
