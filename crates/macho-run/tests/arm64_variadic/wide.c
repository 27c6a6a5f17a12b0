/* Wide formatted I/O on a FILE (fwprintf, fwscanf, vfwprintf through the
 * program's own `...` function), and BSD's warnc/errc, which take the
 * error code as an argument. */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#ifndef __APPLE__
/* glibc has no warnc/errc: what BSD's do, for the native reference. */
static void warnc(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errno = code;
    vwarn(fmt, ap);
    va_end(ap);
}

static void errc(int status, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errno = code;
    verr(status, fmt, ap);
}
#endif

static int wide_report(FILE *f, const wchar_t *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vfwprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int main(void) {
    FILE *f = tmpfile();
    if (!f)
        err(1, "tmpfile");
    int n = fwprintf(f, L"%d %ls %.2f %ld %c|", 5, L"wide", 1.5, -7L, 'w');
    n += wide_report(f, L"%s %d %Lg %d %d %d %d %d %d\n", "own", 1, 2.5L, 3,
                     4, 5, 6, 7, 8);
    printf("fwprintf wrote %d\n", n);
    rewind(f);
    int i = 0, j = 0;
    long l = 0;
    double d = 0;
    long double ld = 0;
    wchar_t word[16], c = 0, own[8];
    n = fwscanf(f, L"%d %15ls %lf %ld %lc|%7ls %d %Lg", &i, word, &d, &l, &c,
                own, &j, &ld);
    printf("fwscanf: %d -> %d %ls %.2f %ld %lc %ls %d %.1Lf\n", n, i, word, d,
           l, (wint_t)c, own, j, ld);
    fclose(f);
    fflush(stdout);
    warnc(ENOENT, "warnc: %s %d", "code", 2);
    errno = 0;
    errc(4, EACCES, "errc: %d %s", 4, "exit");
}
