/* String literals and const data: many literals, duplicated literals (which
 * the compiler/linker may merge in __cstring), literals in arrays, literals
 * that are suffixes of other literals, embedded NULs, const arrays of
 * numbers, and a literal shared with another translation unit. */
#include <stdio.h>
#include <string.h>

extern const char *other_greeting(void);
extern const char *const other_words[];
extern const int other_word_count;
extern const char *other_dup(void);

static const char *const colors[] = {
    "red", "orange", "yellow", "green", "blue", "indigo", "violet",
    "red",              /* duplicate */
    "ultraviolet",      /* "violet" is a suffix of this */
    "",                 /* empty string */
};

static const char banner[] = "== strings_const ==";
static const char with_nul[] = "abc\0def";      /* sizeof is 8 */
static const unsigned char bytes[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f };
static const short primes[] = { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37 };
static const double weights[] = { 0.5, 0.25, 0.125, 1.0 / 3.0 };
static const long long big[] = { 9223372036854775807LL, -9223372036854775807LL - 1,
                                 1234567890123LL };

struct keyword { const char *word; int token; };
static const struct keyword keywords[] = {
    { "if", 1 }, { "else", 2 }, { "while", 3 }, { "for", 4 }, { "return", 5 },
    { "int", 6 }, { "char", 7 }, { "static", 8 }, { "const", 9 }, { "if", 10 },
};

static const char *dup1(void) { return "shared literal"; }
static const char *dup2(void) { return "shared literal"; }

static int lookup(const char *w)
{
    unsigned i;
    for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(keywords[i].word, w) == 0)
            return keywords[i].token;
    return -1;
}

static unsigned long hash(const char *s, size_t n)
{
    unsigned long h = 5381;
    while (n--)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

int main(void)
{
    unsigned i;
    unsigned long h = 0;
    int fails = 0;
    double wsum = 0;
    long long bsum = 0;

    puts(banner);
    for (i = 0; i < sizeof colors / sizeof colors[0]; i++) {
        printf("color[%u] = \"%s\" len=%u\n", i, colors[i],
               (unsigned)strlen(colors[i]));
        h = h * 131 + hash(colors[i], strlen(colors[i]));
    }
    printf("colors hash = %lu\n", h);
    printf("with_nul: sizeof=%u strlen=%u tail=%s hash=%lu\n",
           (unsigned)sizeof with_nul, (unsigned)strlen(with_nul),
           with_nul + 4, hash(with_nul, sizeof with_nul));
    for (i = 0; i < sizeof bytes; i++)
        printf("%02x", bytes[i]);
    printf("\n");
    for (i = 0; i < sizeof primes / sizeof primes[0]; i++)
        printf("%d%c", primes[i], i + 1 < sizeof primes / sizeof primes[0] ? ',' : '\n');
    for (i = 0; i < 4; i++)
        wsum += weights[i];
    printf("wsum = %.9f\n", wsum);
    for (i = 0; i < 3; i++)
        bsum += big[i] / 7;
    printf("big: %lld %lld %lld bsum=%lld\n", big[0], big[1], big[2], bsum);

    printf("lookup: while=%d return=%d if=%d nope=%d\n", lookup("while"),
           lookup("return"), lookup("if"), lookup("nope"));

    /* Content equality (pointer equality of merged literals is not
     * guaranteed, so it is not printed). */
    printf("dup: %s | %s | %s\n", dup1(), dup2(), other_dup());
    if (strcmp(dup1(), other_dup()) != 0) fails |= 1;
    printf("other: %s\n", other_greeting());
    for (i = 0; i < (unsigned)other_word_count; i++)
        printf("other_words[%u] = %s\n", i, other_words[i]);

    /* Writable copy of a literal. */
    {
        char buf[] = "mutable copy";
        buf[0] = 'M';
        printf("%s\n", buf);
    }
    if (strlen(colors[9]) != 0) fails |= 2;
    if (sizeof with_nul != 8) fails |= 4;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 30 + fails : 0;
}
