/* <string.h> and <stdlib.h> conversions: strlen strcmp strncmp strcpy
 * strncpy strcat strncat strchr strrchr strstr strspn strcspn strpbrk
 * memcpy memmove (overlapping) memset memcmp memchr, strtol strtoul strtoll
 * strtod atoi atol, including end pointers, bases and overflow (ERANGE,
 * compared symbolically: errno numbers are not printed).  Inputs are
 * routed through a volatile pointer so calls are not constant-folded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>

static const char *volatile vsrc;

static const char *V(const char *s) { vsrc = s; return vsrc; }

static volatile size_t vsize;

static size_t N(size_t n) { vsize = n; return vsize; }

static int sign(int x) { return (x > 0) - (x < 0); }

int main(void)
{
    char buf[64], big[128];
    char *end;
    const char *p;
    long l;
    unsigned long ul;
    long long ll;
    double d;
    int i, fails = 0;

    printf("strlen: %u %u %u\n", (unsigned)strlen(V("")), (unsigned)strlen(V("a")),
           (unsigned)strlen(V("hello world")));
    printf("strcmp: %d %d %d %d\n", sign(strcmp(V("abc"), V("abd"))),
           sign(strcmp(V("abc"), V("abc"))), sign(strcmp(V("b"), V("abc"))),
           sign(strcmp(V("ab"), V("abc"))));
    printf("strncmp: %d %d\n", sign(strncmp(V("abcdef"), V("abcxyz"), 3)),
           sign(strncmp(V("abcdef"), V("abcxyz"), 4)));
    printf("strcmp high bytes: %d\n", sign(strcmp(V("\xe9"), V("e"))));

    memset(buf, 'X', sizeof buf);
    strncpy(buf, V("abc"), 6);           /* pads with NULs */
    printf("strncpy pad: %d %d %d %c\n", buf[3], buf[4], buf[5], buf[6]);
    strncpy(buf, V("abcdefgh"), 4);      /* no terminator added */
    printf("strncpy trunc: %.6s\n", buf);
    strcpy(buf, V("foo"));
    strcat(buf, V("bar"));
    strncat(buf, V("bazqux"), 3);
    printf("strcat: %s len=%u\n", buf, (unsigned)strlen(buf));

    p = V("hello, world");
    printf("strchr: %s | strrchr: %s | strchr nul at %ld | missing=%d\n",
           strchr(p, 'o'), strrchr(p, 'o'), (long)(strchr(p, '\0') - p),
           strchr(p, 'z') == NULL);
    printf("strstr: %s | %s | empty->%s | miss=%d\n", strstr(p, "wor"),
           strstr(p, "l"), strstr(p, ""), strstr(p, "xyz") == NULL);
    printf("strspn=%u strcspn=%u strpbrk=%s\n",
           (unsigned)strspn(V("aabbccdd"), "ab"), (unsigned)strcspn(p, ",;"),
           strpbrk(p, "wr"));

    for (i = 0; i < 26; i++)
        big[i] = (char)('a' + i);
    big[26] = 0;
    memcpy(buf, big, 27);
    memmove(big + 3, big, 10);           /* overlapping forward */
    printf("memmove fwd: %s\n", big);
    memmove(big, big + 5, 10);           /* overlapping backward */
    printf("memmove bwd: %s\n", big);
    printf("memcmp: %d %d %d\n", sign(memcmp(buf, V("abcd"), 4)),
           sign(memcmp(buf, V("abce"), 4)), sign(memcmp(V("\x80"), V("\x7f"), 1)));
    p = memchr(buf, 'q', 26);
    printf("memchr: %s at %ld\n", p ? p : "(null)", p ? (long)(p - buf) : -1L);
    memset(big, 0, sizeof big);
    memset(big, '-', 10);
    printf("memset: %s|\n", big);

    /* runtime sizes: real library calls rather than inlined copies */
    {
        char src[100], dst[100];
        unsigned long h = 0;
        for (i = 0; i < 100; i++)
            src[i] = (char)(i * 7 + 3);
        memset(dst, 0x55, N(100));
        memcpy(dst, src, N(60));
        memmove(dst + 10, dst, N(50));
        memmove(dst, dst + 20, N(45));
        for (i = 0; i < 100; i++)
            h = h * 257 + (unsigned char)dst[i];
        printf("runtime mem*: h=%lu cmp=%d cmp0=%d\n", h,
               sign(memcmp(dst, src, N(100))), memcmp(src, src + 0, N(0)));
    }

    /* strtol family */
    l = strtol(V("  -12345xyz"), &end, 10);
    printf("strtol: %ld rest=\"%s\"\n", l, end);
    l = strtol(V("0x1F"), &end, 16);
    printf("strtol hex: %ld rest=\"%s\"\n", l, end);
    l = strtol(V("0755"), &end, 0);
    printf("strtol base0 octal: %ld\n", l);
    l = strtol(V("0x10"), &end, 0);
    printf("strtol base0 hex: %ld\n", l);
    l = strtol(V("z"), &end, 36);
    printf("strtol base36: %ld\n", l);
    l = strtol(V("nope"), &end, 10);
    printf("strtol none: %ld consumed=%ld\n", l, (long)(end - vsrc));
    errno = 0;
    l = strtol(V("99999999999999999999"), &end, 10);
    printf("strtol overflow: %d erange=%d\n", l == LONG_MAX, errno == ERANGE);
    if (errno != ERANGE) fails |= 1;
    errno = 0;
    l = strtol(V("-99999999999999999999"), &end, 10);
    printf("strtol underflow: %d erange=%d\n", l == LONG_MIN, errno == ERANGE);
    ul = strtoul(V("4294967295"), &end, 10);
    printf("strtoul: %lu\n", ul);
    ul = strtoul(V("ffffffffffffffff"), &end, 16);
    printf("strtoul max: %d\n", ul == ULONG_MAX);
    ll = strtoll(V("-9223372036854775808"), &end, 10);
    printf("strtoll min: %lld\n", ll);

    d = strtod(V("3.5e2xyz"), &end);
    printf("strtod: %.3f rest=\"%s\"\n", d, end);
    d = strtod(V("-0.000125"), &end);
    printf("strtod small: %.7f %e\n", d, d);
    d = strtod(V("  1e-5"), &end);
    printf("strtod exp: %g\n", d);
    d = strtod(V("0x1p4"), &end);
    printf("strtod hexfloat: %.1f\n", d);
    d = strtod(V("inf"), &end);
    printf("strtod inf: %s\n", d > 1e308 ? "inf" : "finite");
    d = strtod(V(".5"), &end);
    printf("strtod .5: %.2f consumed=%ld\n", d, (long)(end - vsrc));

    printf("atoi: %d %d %d %d\n", atoi(V("42")), atoi(V("  -7abc")), atoi(V("+15")),
           atoi(V("x1")));
    printf("atol: %ld\n", atol(V("1234567890123")));

    if (strcmp(buf, "abcdefghijklmnopqrstuvwxyz") != 0) fails |= 2;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 150 + fails : 0;
}
