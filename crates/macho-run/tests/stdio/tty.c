/* On a terminal: stdout is line-buffered, so a partial line written with
 * putc_unlocked waits for its newline, while stderr goes at once; reading
 * stdin (a terminal, line-buffered) first flushes the partial prompt. */
#include "compat.h"

int main(void) {
    for (int i = 0; i < 3; i++) {
        const char *s = "inline partial line";
        while (*s)
            putc_unlocked(*s++, stdout);
        fputs("[stderr]", stderr);
        putc_unlocked('\n', stdout);
        fputs("[stderr after newline]\n", stderr);
    }
    fputs("prompt> ", stdout);
    putc_unlocked('?', stdout);
    int c = getc_unlocked(stdin);
    fprintf(stderr, "[read %d]\n", c);
    putc_unlocked('!', stdout);
    fputs("[stderr before exit]\n", stderr);
    return 0;
}
