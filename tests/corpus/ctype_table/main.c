/* <ctype.h> classification over all characters 0..127 (plus EOF):
 * isalpha isdigit isspace isupper islower isalnum ispunct isxdigit
 * iscntrl isprint isgraph, toupper/tolower.  Results are normalized to 0/1
 * (the non-zero values differ between C libraries).  Prints a per-class
 * count and checksum, the member sets of some classes, and a few converted
 * strings.  On macOS these are inline functions reading
 * _DefaultRuneLocale / calling __maskrune, __toupper, __tolower. */
#include <stdio.h>
#include <ctype.h>
#include <string.h>

typedef int (*classifier)(int);

struct cls { const char *name; classifier fn; };

/* Wrappers so the table holds plain functions even where the library
 * implements classification as macros/inline functions. */
static int w_alpha(int c) { return isalpha(c); }
static int w_digit(int c) { return isdigit(c); }
static int w_space(int c) { return isspace(c); }
static int w_upper(int c) { return isupper(c); }
static int w_lower(int c) { return islower(c); }
static int w_alnum(int c) { return isalnum(c); }
static int w_punct(int c) { return ispunct(c); }
static int w_xdigit(int c) { return isxdigit(c); }
static int w_cntrl(int c) { return iscntrl(c); }
static int w_print(int c) { return isprint(c); }
static int w_graph(int c) { return isgraph(c); }

static const struct cls classes[] = {
    { "alpha", w_alpha }, { "digit", w_digit }, { "space", w_space },
    { "upper", w_upper }, { "lower", w_lower }, { "alnum", w_alnum },
    { "punct", w_punct }, { "xdigit", w_xdigit }, { "cntrl", w_cntrl },
    { "print", w_print }, { "graph", w_graph },
};

static void show_members(const char *name, classifier fn)
{
    int c;
    printf("%s members:", name);
    for (c = 0; c < 128; c++)
        if (fn(c)) {
            if (isgraph(c))
                putchar(c);
            else
                printf("\\x%02x", c);
        }
    putchar('\n');
}

static void convert(const char *s)
{
    char up[64], lo[64];
    size_t i, n = strlen(s);
    for (i = 0; i <= n; i++) {
        up[i] = (char)toupper((unsigned char)s[i]);
        lo[i] = (char)tolower((unsigned char)s[i]);
    }
    printf("\"%s\" -> upper \"%s\" lower \"%s\"\n", s, up, lo);
}

int main(void)
{
    unsigned i;
    int c, fails = 0;
    unsigned long total = 0;

    for (i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        unsigned long sum = 0;
        int count = 0;
        for (c = 0; c < 128; c++)
            if (classes[i].fn(c)) {
                count++;
                sum = sum * 131 + (unsigned long)c;
            }
        printf("%-6s count=%3d checksum=%lu eof=%d\n", classes[i].name, count,
               sum, classes[i].fn(EOF) != 0);
        total = total * 7 + sum;
    }
    printf("total=%lu\n", total);

    {
        unsigned long up = 0, lo = 0;
        for (c = -1; c < 128; c++) {
            up = up * 31 + (unsigned long)(toupper(c) + 1);
            lo = lo * 31 + (unsigned long)(tolower(c) + 1);
            if (c >= 'a' && c <= 'z' && toupper(c) != c - 32) fails |= 1;
            if (c >= 'A' && c <= 'Z' && tolower(c) != c + 32) fails |= 2;
            if (c >= 0 && !isalpha(c) && (toupper(c) != c || tolower(c) != c)) fails |= 4;
        }
        printf("toupper checksum=%lu tolower checksum=%lu\n", up, lo);
    }

    show_members("space", w_space);
    show_members("punct", w_punct);
    show_members("xdigit", w_xdigit);
    show_members("cntrl", w_cntrl);

    convert("Hello, World! 123");
    convert("MiXeD_cAsE-zz~");
    convert("");

    /* count classes in a sentence, using the macros directly */
    {
        const char *s = "The quick brown fox (aged 12) jumps over 3 lazy dogs.\tEnd\n";
        int a = 0, d = 0, sp = 0, p = 0;
        for (; *s; s++) {
            unsigned char ch = (unsigned char)*s;
            if (isalpha(ch)) a++;
            else if (isdigit(ch)) d++;
            else if (isspace(ch)) sp++;
            else if (ispunct(ch)) p++;
        }
        printf("sentence: alpha=%d digit=%d space=%d punct=%d\n", a, d, sp, p);
        if (a != 40 || d != 3 || sp != 12 || p != 3) fails |= 8;
    }
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 140 + fails : 0;
}
