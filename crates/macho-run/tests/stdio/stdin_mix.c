/* Reads stdin with the inline macros (getc_unlocked, getchar_unlocked)
 * mixed with getc, fgetc, getchar, ungetc, fgets, fscanf, scanf, fread and
 * getline, checks the EOF and error flags through functions and macros,
 * and, when stdin is a file (argument "seek"), seeks it. */
#include "compat.h"
#include <errno.h>

int main(int argc, char **argv) {
    char line[64];
    int c;
    errno = 0;
    for (int i = 0; i < 10; i++)
        printf("[%c]", getc_unlocked(stdin));
    ungetc('#', stdin);
    printf(" getc=%c", getc(stdin));
    c = getc_unlocked(stdin);
    ungetc(c, stdin);
    printf(" peek=%c", getchar_unlocked());
    fgets(line, sizeof line, stdin);
    printf(" fgets=%s", line);
    int a = 0, b = 0;
    int got = scanf("%d", &a);
    got += fscanf(stdin, "%d", &b);
    printf("scanned %d: %d %d\n", got, a, b);
    c = getc_unlocked(stdin);
    printf("then %d\n", c);
    char blk[100];
    size_t n = fread(blk, 1, sizeof blk, stdin);
    printf("fread %zu: %.*s|\n", n, (int)n, blk);
    char *dyn = NULL;
    size_t cap = 0;
    ssize_t len = getline(&dyn, &cap, stdin);
    printf("getline %zd: %s", len, dyn);
    long count = 0, lines = 0, sum = 0;
    for (;;) {
        int k = count % 4 == 0   ? getc_unlocked(stdin)
                : count % 4 == 1 ? getchar()
                : count % 4 == 2 ? fgetc(stdin)
                                 : getchar_unlocked();
        if (k == EOF)
            break;
        count++;
        sum += k;
        if (k == '\n')
            lines++;
    }
    /* Reading to EOF sets no errno (bzip2recover relies on it). */
    printf("rest: %ld bytes, %ld lines, sum %ld; feof %d %d, ferror %d %d, errno %d\n", count,
           lines, sum, feof(stdin) != 0, feof_unlocked(stdin) != 0, ferror(stdin) != 0,
           ferror_unlocked(stdin) != 0, errno);
    c = getc_unlocked(stdin);
    printf("at EOF again: %d %d\n", c, getc(stdin));
    clearerr_unlocked(stdin);
    printf("after clearerr_unlocked: feof %d %d\n", feof(stdin) != 0, feof_unlocked(stdin) != 0);
    printf("ungetc at EOF: %c", ungetc('u', stdin));
    c = getc_unlocked(stdin);
    printf(" read back %c, then %d\n", c, getc_unlocked(stdin));
    clearerr(stdin);
    if (argc > 1 && strcmp(argv[1], "seek") == 0) {
        rewind(stdin);
        c = getc_unlocked(stdin);
        printf("after rewind: %c, ftell %ld\n", c, ftell(stdin));
        fseek(stdin, 5000, SEEK_SET);
        fgets(line, sizeof line, stdin);
        printf("at 5000: %s", line);
        fseeko(stdin, -20, SEEK_END);
        printf("last 20 (from %lld): ", (long long)ftello(stdin));
        while ((c = getc_unlocked(stdin)) != EOF)
            putc_unlocked(c == '\n' ? '|' : c, stdout);
        printf(" ftell %ld\n", ftell(stdin));
        fseek(stdin, 3, SEEK_SET);
        c = getc_unlocked(stdin);
        fseek(stdin, 2, SEEK_CUR);
        int d = getc_unlocked(stdin);
        printf("seek 3: %c, +2: %c, ftell %ld\n", c, d, ftell(stdin));
    }
    free(dyn);
    return 0;
}
