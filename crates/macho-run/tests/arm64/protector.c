/* Built with -fstack-protector-all: every function checks its canary
   (___stack_chk_guard) on return; `smash` overruns a buffer so the check
   fails and the program aborts through ___stack_chk_fail. */
#include "say.h"
#include <stdlib.h>

__attribute__((noinline)) static int fill(char *buf, int n) {
    for (volatile int i = 0; i < n; i++)
        buf[i] = (char)('a' + i % 26);
    return buf[n - 1];
}

__attribute__((noinline)) static int local_work(int n) {
    char buf[32];
    return fill(buf, n);
}

int main(int argc, char **argv) {
    say("in bounds", local_work(32));
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "smash") == 0)
        say("overrun", local_work(96));
    return 0;
}
