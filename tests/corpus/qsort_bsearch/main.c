/* qsort with callbacks (ints, strings, structs with a multi-key total
 * order so the result does not depend on the sort algorithm's stability),
 * and bsearch with a callback, including misses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec { const char *name; int score; int id; };

static unsigned long cmp_calls_nonzero;   /* only used as a sanity flag */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    cmp_calls_nonzero = 1;
    return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b) { return cmp_int(b, a); }

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* score descending, then name ascending, then id: a total order */
static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_key_rec_id(const void *key, const void *elem)
{
    int k = *(const int *)key;
    const struct rec *r = elem;
    return (k > r->id) - (k < r->id);
}

static int cmp_rec_id(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int main(void)
{
    int nums[200];
    const char *words[] = { "pear", "apple", "fig", "banana", "kiwi", "cherry",
                            "date", "grape", "lemon", "apple", "mango", "fig" };
    struct rec recs[] = {
        { "zed", 50, 7 }, { "amy", 90, 3 }, { "bob", 50, 1 }, { "cat", 90, 9 },
        { "amy", 50, 4 }, { "dan", 70, 2 }, { "bob", 50, 8 }, { "eve", 10, 5 },
        { "amy", 90, 6 },
    };
    int nrec = sizeof recs / sizeof recs[0];
    int nw = sizeof words / sizeof words[0];
    unsigned seed = 12345, i;
    unsigned long check = 0;
    int fails = 0, key, *hit;

    for (i = 0; i < 200; i++) {
        seed = seed * 1103515245u + 12345u;
        nums[i] = (int)((seed >> 8) % 1000) - 500;
    }
    qsort(nums, 200, sizeof nums[0], cmp_int);
    for (i = 1; i < 200; i++)
        if (nums[i - 1] > nums[i]) fails |= 1;
    for (i = 0; i < 200; i++)
        check = check * 1000003u + (unsigned)(nums[i] + 500);
    printf("ints: min=%d max=%d median=%d check=%lu\n", nums[0], nums[199],
           nums[100], check);
    printf("first10:");
    for (i = 0; i < 10; i++)
        printf(" %d", nums[i]);
    printf("\n");

    for (key = -500; key <= 500; key += 125) {
        hit = bsearch(&key, nums, 200, sizeof nums[0], cmp_int);
        printf("bsearch %d: %s\n", key, hit ? "found" : "missing");
        if (hit && *hit != key) fails |= 2;
    }
    key = nums[137];
    hit = bsearch(&key, nums, 200, sizeof nums[0], cmp_int);
    if (!hit || *hit != key) fails |= 4;

    qsort(nums, 200, sizeof nums[0], cmp_int_desc);
    printf("desc first5: %d %d %d %d %d\n", nums[0], nums[1], nums[2], nums[3], nums[4]);

    qsort(words, (size_t)nw, sizeof words[0], cmp_str);
    printf("words:");
    for (i = 0; i < (unsigned)nw; i++)
        printf(" %s", words[i]);
    printf("\n");

    qsort(recs, (size_t)nrec, sizeof recs[0], cmp_rec);
    for (i = 0; i < (unsigned)nrec; i++)
        printf("rec %s %d #%d\n", recs[i].name, recs[i].score, recs[i].id);

    qsort(recs, (size_t)nrec, sizeof recs[0], cmp_rec_id);
    for (key = 0; key <= 10; key += 2) {
        struct rec *r = bsearch(&key, recs, (size_t)nrec, sizeof recs[0], cmp_key_rec_id);
        printf("id %d -> %s\n", key, r ? r->name : "(none)");
    }

    /* degenerate sizes */
    qsort(nums, 0, sizeof nums[0], cmp_int);
    qsort(nums, 1, sizeof nums[0], cmp_int);
    if (!cmp_calls_nonzero) fails |= 8;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 80 + fails : 0;
}
