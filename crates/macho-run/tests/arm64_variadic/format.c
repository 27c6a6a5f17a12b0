/* The printf and scanf families with the arguments a variadic call can
 * carry: ints of every width, doubles, long doubles (a double on arm64
 * macOS), strings, pointers and chars, more of them than there are
 * argument registers, through the library's entry points and through a
 * va_list the program made itself. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* A function of the program's own taking `...`: its va_list is made by
 * the program's code and handed to the library. */
static int format_into(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void report(FILE *f, const char *fmt, ...) {
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    vfprintf(f, fmt, ap);
    char buf[128];
    vsprintf(buf, fmt, again);
    fprintf(f, "(again: %zu bytes)\n", strlen(buf));
    va_end(again);
    va_end(ap);
}

static int scan_from(const char *input, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsscanf(input, fmt, ap);
    va_end(ap);
    return n;
}

int main(void) {
    char c = 'q';
    short s = -1234;
    long l = -9000000000L;
    unsigned long long ull = 18446744073709551615ULL;
    float f = 1.5f;
    double d = 3.14159265358979;
    long double ld = 2.5L;
    const char *str = "text";

    printf("ints: %d %i %u %ld %lld %llu %hd %hhu %c %x %o %#X\n", 42, -42,
           4000000000U, l, -1LL, ull, s, 300, c, 0xbeef, 8, 255);
    printf("floats: %f %.2f %e %g %a %10.4f|%-8.1f|\n", f, d, d, 1e-10, 1.0,
           -d, 0.25);
    printf("long double: %Lf %.3Le %Lg\n", ld, ld, ld);
    printf("strings: [%s] [%10s] [%-6s] [%.2s] [%c%c]\n", str, str, str, str,
           'o', 'k');
    printf("pointer: %p null %p\n", (void *)0x1234, (void *)0);
    /* Twelve variadic arguments of mixed classes: past x7 and q7. */
    printf("many: %d %f %s %ld %f %d %s %f %lld %f %c %f\n", 1, 2.0, "three",
           4L, 5.5, 6, "seven", 8.25, 9LL, 10.125, 'B', 12.0);
    fprintf(stdout, "fprintf: %s=%d\n", "key", 7);
    fprintf(stderr, "to stderr: %d %s\n", 9, "done");
    fflush(stdout);

    char buf[64];
    int n = sprintf(buf, "%05d|%s|%.1f", 42, "sp", 0.75);
    printf("sprintf: %d [%s]\n", n, buf);
    n = snprintf(buf, 8, "%s-%d-%f", "truncated", 123, 4.5);
    printf("snprintf: %d [%s]\n", n, buf);
    n = snprintf(NULL, 0, "%d %s", 12345, "measure");
    printf("snprintf size: %d\n", n);
    n = format_into(buf, sizeof buf, "%s %d %.3f %ld %c %s %d %d %d %d", "own",
                    1, 2.5, 3L, 'x', "y", 6, 7, 8, 9);
    printf("vsnprintf via own ...: %d [%s]\n", n, buf);
    report(stdout, "report: %d %s %.2f\n", 5, "five", 5.0);

    char *heap = NULL;
    n = asprintf(&heap, "%s/%d/%g", "asprintf", 99, 0.5);
    printf("asprintf: %d [%s]\n", n, heap);
    free(heap);
    fflush(stdout);
    dprintf(1, "dprintf: %d %s\n", 3, "fd");

    int i1 = 0, i2 = 0;
    double d1 = 0;
    long double ld1 = 0;
    char word[16] = "";
    n = sscanf("17 -4 6.25 hello 1.75", "%d %i %lf %15s %Lf", &i1, &i2, &d1,
               word, &ld1);
    printf("sscanf: %d -> %d %d %.2f %s %.2Lf\n", n, i1, i2, d1, word, ld1);
    unsigned x = 0;
    char rest[8] = "";
    n = scan_from("ff:tail", "%x:%7s", &x, rest);
    printf("vsscanf via own ...: %d -> %u %s\n", n, x, rest);

    wchar_t wbuf[32];
    n = swprintf(wbuf, 32, L"%d-%ls-%.1f", 8, L"wide", 2.5);
    printf("swprintf: %d [%ls]\n", n, wbuf);
    int wi = 0;
    wchar_t wword[8];
    n = swscanf(L"31 abc", L"%d %7ls", &wi, wword);
    printf("swscanf: %d -> %d %ls\n", n, wi, wword);
    return 0;
}
