/* Heap use: malloc/realloc/calloc/free with a checksum over a growing
 * buffer, a singly linked list built, reversed, filtered and freed, a
 * calloc zero check, and many small allocations of varying size.
 * No addresses are printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    int value;
    char tag[12];
    struct node *next;
};

static struct node *push(struct node *head, int v)
{
    struct node *n = malloc(sizeof *n);
    if (!n) { fprintf(stderr, "out of memory\n"); exit(90); }
    n->value = v;
    snprintf(n->tag, sizeof n->tag, "n%d", v);
    n->next = head;
    return n;
}

static struct node *reverse(struct node *h)
{
    struct node *prev = 0;
    while (h) {
        struct node *next = h->next;
        h->next = prev;
        prev = h;
        h = next;
    }
    return prev;
}

static struct node *remove_multiples(struct node *h, int k, int *removed)
{
    struct node **pp = &h;
    while (*pp) {
        if ((*pp)->value % k == 0) {
            struct node *dead = *pp;
            *pp = dead->next;
            free(dead);
            (*removed)++;
        } else {
            pp = &(*pp)->next;
        }
    }
    return h;
}

static unsigned long fnv(const unsigned char *p, size_t n)
{
    unsigned long h = 1469598103934665603UL;
    while (n--) { h ^= *p++; h *= 1099511628211UL; }
    return h;
}

int main(void)
{
    unsigned char *buf = 0;
    size_t cap = 0, len = 0, i;
    struct node *list = 0, *n;
    int removed = 0, count = 0, fails = 0;
    long sum = 0;
    int *z;
    char *strs[64];

    /* growing buffer via realloc (starting from NULL) */
    for (i = 0; i < 100000; i++) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            buf = realloc(buf, cap);
            if (!buf) return 91;
        }
        buf[len++] = (unsigned char)((i * 31 + (i >> 7)) & 0xff);
    }
    printf("buffer: len=%lu cap=%lu fnv=%016lx\n", (unsigned long)len,
           (unsigned long)cap, fnv(buf, len));
    buf = realloc(buf, 1000);                      /* shrink keeps prefix */
    printf("shrunk fnv=%016lx\n", fnv(buf, 1000));
    free(buf);

    /* calloc must return zeroed memory */
    z = calloc(5000, sizeof *z);
    if (!z) return 92;
    for (i = 0; i < 5000; i++)
        if (z[i]) fails |= 1;
    for (i = 0; i < 5000; i++)
        z[i] = (int)(i * i % 977);
    for (i = 0; i < 5000; i++)
        sum += z[i];
    printf("calloc sum=%ld\n", sum);
    free(z);

    /* linked list */
    for (i = 1; i <= 1000; i++)
        list = push(list, (int)i);
    list = reverse(list);
    list = remove_multiples(list, 3, &removed);
    sum = 0;
    for (n = list; n; n = n->next) {
        sum = sum * 7 + n->value;
        sum %= 1000000007L;
        count++;
    }
    printf("list: count=%d removed=%d hash=%ld head=%s\n", count, removed, sum,
           list->tag);
    printf("first:");
    for (n = list, i = 0; n && i < 8; n = n->next, i++)
        printf(" %s", n->tag);
    printf("\n");
    while (list) {
        n = list->next;
        free(list);
        list = n;
    }

    /* many small strings of varying size */
    for (i = 0; i < 64; i++) {
        size_t sz = 1 + (i * 37) % 200;
        strs[i] = malloc(sz);
        memset(strs[i], 'a' + (int)(i % 26), sz - 1);
        strs[i][sz - 1] = 0;
    }
    for (i = 0; i < 64; i += 2) {
        strs[i] = realloc(strs[i], strlen(strs[i]) + 4);
        strcat(strs[i], "!!");
    }
    sum = 0;
    for (i = 0; i < 64; i++) {
        sum += (long)strlen(strs[i]) * (long)(i + 1);
        free(strs[i]);
    }
    printf("strings weighted len=%ld\n", sum);
    free(NULL);                                    /* must be a no-op */

    if (count != 667 || removed != 333) fails |= 2;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 90 + fails : 0;
}
