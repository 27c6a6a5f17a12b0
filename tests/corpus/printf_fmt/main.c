/* printf-family formatting: integers of all widths (negative, hex, octal,
 * padding, precision, flags), long long, size_t, doubles (%f %e %g with
 * precision/width/flags), strings (precision, width), chars, %%, and a
 * user-defined varargs function forwarding a va_list to vsnprintf/vfprintf.
 * Only formats with fully specified output are used (no %p, no %a, no
 * long double, no locale-dependent output). */
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <limits.h>

static unsigned long total_len;

/* User-defined varargs logger: formats into a buffer with vsnprintf and
 * prints with a prefix; returns the untruncated length. */
static int logf_(const char *tag, const char *fmt, ...)
{
    char buf[48];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    total_len += (unsigned long)n;
    printf("[%s] %s%s (n=%d)\n", tag, buf, n >= (int)sizeof buf ? "..." : "", n);
    return n;
}

/* Varargs function that walks the arguments itself with va_arg, including
 * a va_copy, mixing int, long long, double and char* arguments. */
static double sum_mixed(int count, ...)
{
    va_list ap, ap2;
    double total = 0;
    int i;

    va_start(ap, count);
    va_copy(ap2, ap);
    for (i = 0; i < count; i++) {
        int kind = va_arg(ap, int);
        switch (kind) {
        case 'i': total += va_arg(ap, int); break;
        case 'L': total += (double)va_arg(ap, long long); break;
        case 'd': total += va_arg(ap, double); break;
        case 's': total += (double)strlen(va_arg(ap, const char *)); break;
        }
    }
    va_end(ap);
    /* second pass through the copy: only count the kinds */
    {
        int kinds = 0;
        for (i = 0; i < count; i++) {
            int kind = va_arg(ap2, int);
            kinds += kind;
            if (kind == 'i') (void)va_arg(ap2, int);
            else if (kind == 'L') (void)va_arg(ap2, long long);
            else if (kind == 'd') (void)va_arg(ap2, double);
            else (void)va_arg(ap2, const char *);
        }
        printf("sum_mixed kinds=%d\n", kinds);
    }
    va_end(ap2);
    return total;
}

static void vwarn(const char *fmt, va_list ap)
{
    fputs("warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

int main(void)
{
    char buf[128];
    int n, fails = 0;
    double d;

    /* integers */
    printf("d: %d %d %d %d\n", 0, 42, -42, INT_MIN);
    printf("i/u: %i %u %u\n", INT_MAX, 3000000000u, UINT_MAX);
    printf("pad: [%5d] [%-5d] [%05d] [%+d] [% d] [%+05d]\n", 42, 42, 42, 42, 42, -42);
    printf("prec: [%.3d] [%8.3d] [%-8.3d] [%.0d]\n", 7, 7, -7, 0);
    printf("hex: %x %X %#x %#X %08x %#010x\n", 255u, 255u, 255u, 255u, 0xbeefu, 0xbeefu);
    printf("oct: %o %#o %#o\n", 8u, 8u, 0u);
    printf("ll: %lld %lld %llu %llx %016llx\n", LLONG_MAX, LLONG_MIN,
           18446744073709551615ull, 0x123456789abcdefull, 0xfeedull);
    printf("l/z/h: %ld %lu %zu %hd %hu %hhd %hhu\n", -1234567890123L,
           9876543210UL, (size_t)12345, (short)-3, (unsigned short)65535,
           (signed char)-5, (unsigned char)250);
    printf("star: [%*d] [%-*d] [%.*d]\n", 6, 12, 6, 12, 4, 12);

    /* floating point */
    d = 3.14159265358979;
    printf("f: %f %.0f %.2f %10.4f %-10.3f| %+.1f\n", d, d, d, d, d, d);
    printf("e: %e %.2e %E %.0e\n", d, 123456.789, 0.000123, 5.0);
    printf("g: %g %g %g %g %.3g %.10g %#g\n", d, 100000.0, 1000000.0, 0.0001,
           1234.5678, 1.0 / 3.0, 2.0);
    printf("neg/zero: %f %.1f %g %e\n", -2.5, -0.04, 0.0, -0.0);
    printf("big/small: %.3f %g %.3e\n", 1e15, 1e-10, 6.02214076e23);
    printf("round: %.2f %.2f %.1f %.0f %.0f\n", 2.675, 1.005, 0.25, 0.5, 1.5);

    /* strings and chars */
    printf("s: [%s] [%10s] [%-10s] [%.3s] [%*.*s]\n", "hello", "hi", "hi",
           "truncate", 6, 2, "xyz");
    printf("c: %c%c%c [%3c] [%-3c]\n", 'a', 'B', '0', 'x', 'y');
    printf("percent: 100%% %c%%\n", '5');

    /* return values and snprintf truncation */
    n = snprintf(buf, sizeof buf, "%s-%d-%.2f", "abc", 123, 4.5);
    printf("snprintf: %s n=%d\n", buf, n);
    n = snprintf(buf, 8, "%s", "0123456789abcdef");
    printf("truncated: %s n=%d\n", buf, n);
    n = snprintf(NULL, 0, "%d%d", 12345, 678);
    printf("sizing call n=%d\n", n);
    if (n != 8) fails |= 1;
    n = printf("count me\n");
    printf("printf returned %d\n", n);
    n = sprintf(buf, "%05.1f|%x", 9.96, 48879u);
    printf("sprintf: %s n=%d\n", buf, n);

    /* user-defined varargs */
    logf_("info", "%d items, %s", 3, "ok");
    logf_("long", "%s %s %s %s %s", "this", "message", "is", "definitely", "longer than forty-eight characters");
    logf_("num", "%lld|%.3f|%c", -9000000000LL, 2.0 / 3.0, 'z');
    printf("total_len=%lu\n", total_len);
    d = sum_mixed(5, 'i', 10, 'L', 5000000000LL, 'd', 0.25, 's', "four", 'i', -3);
    printf("sum_mixed=%.2f\n", d);
    if (d != 5000000011.25) fails |= 2;
    warn("%s has %d problems (%.1f%%)", "stderr", 2, 12.5);

    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 70 + fails : 0;
}
