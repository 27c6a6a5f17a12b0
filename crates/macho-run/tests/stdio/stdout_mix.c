/* Writes to stdout and stderr with the inline macros (putc_unlocked,
 * putchar_unlocked) mixed with the stdio functions, across buffer
 * boundaries and buffering modes, with warn/err, and exits (through errx)
 * with bytes still in the buffers. Run with stdout and stderr on one pipe, the interleaving shows
 * every flush. */
#include "compat.h"
#include <err.h>
#include <errno.h>

static void burst(FILE *f, const char *tag, int n) {
    size_t len = strlen(tag);
    for (int i = 0; i < n; i++)
        putc_unlocked(tag[i % len], f);
}

int main(void) {
    /* stdout: fully buffered on a pipe, line-buffered on a terminal;
     * stderr: unbuffered. */
    for (int i = 0; i < 60; i++) {
        burst(stdout, "abcdefghij", 37 + 3 * i);
        putc_unlocked('\n', stdout);
        fprintf(stdout, "line %d via fprintf, ", i);
        putc('p', stdout);
        fputc('q', stdout);
        putchar('r');
        putchar_unlocked('s');
        fputs(" fputs", stdout);
        fwrite(" fwrite\n", 1, 8, stdout);
        if (i % 7 == 0) {
            putc_unlocked('E', stderr);
            fprintf(stderr, "rr %d\n", i);
        }
        if (i % 11 == 0)
            puts("puts line");
        printf("printf %s %d %.3f %5.1e\n", "x", i, i / 3.0, i * 1e5);
    }
    burst(stdout, "partial", 20);
    fputs("<stderr while stdout holds a partial line>\n", stderr);
    putc_unlocked('\n', stdout);
    fflush(stdout);

    /* Unbuffered stdout: every byte at once. */
    setvbuf(stdout, NULL, _IONBF, 0);
    burst(stdout, "UNBUF", 12);
    fputs("|e1|", stderr);
    burst(stdout, "unbuf", 5);
    fputs("|e2|\n", stderr);

    /* A 64-byte buffer of the program's. */
    static char buf[64];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    for (int i = 0; i < 5; i++) {
        burst(stdout, "0123456789", 30);
        fputs("|e|", stderr);
    }
    fputs("\n", stderr);
    fflush(stdout);

    /* Line-buffered, with the program's buffer. */
    setvbuf(stdout, buf, _IOLBF, sizeof buf);
    for (int i = 0; i < 6; i++) {
        burst(stdout, "ab", 5 + i);
        putc_unlocked('\n', stdout);
        burst(stdout, "cd", 3);
        fputs("|L|", stderr);
    }
    burst(stdout, "a long line that does not fit the 64-byte line buffer ", 150);
    fputs("|overflowed|", stderr);
    putc_unlocked('\n', stdout);
    fputs("|after newline|\n", stderr);

    /* stderr fully buffered: its inline bytes wait too. */
    static char ebuf[128];
    setvbuf(stderr, ebuf, _IOFBF, sizeof ebuf);
    burst(stderr, "buffered stderr ", 50);
    putc_unlocked('\n', stderr);
    errno = ENOENT;
    perror("perror");
    fflush(stderr);

    printf("ferror %d %d feof %d %d\n", ferror(stdout) != 0, ferror_unlocked(stdout) != 0,
           feof(stdout) != 0, feof_unlocked(stdout) != 0);
    printf("fileno %d %d %d %d\n", fileno(stdout), fileno_unlocked(stdout),
           fileno(stderr), fileno_unlocked(stdin));

    /* warn and err write after what stderr holds. */
    burst(stderr, "before warn;", 12);
    errno = EACCES;
    warn("warn %d", 3);
    warnx("warnx %s", "x");

    /* Left for exit to flush. */
    burst(stdout, "pending at exit;", 40);
    burst(stderr, "stderr pending at exit;", 46);
    errx(0, "errx %d", 0);
}
