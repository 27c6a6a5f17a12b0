/* Function pointers and pointer tables in static data.  Every pointer in an
 * initialized global needs a rebase (or bind) fixup in the linked image:
 * arrays of function pointers, structs of pointers to strings / globals /
 * functions, pointers to pointers, pointers into the middle of arrays,
 * and pointers into another object's data.  Most tables have external
 * linkage so the compiler cannot constant-fold them away. */
#include <stdio.h>
#include <string.h>
#include "ops.h"

static int neg(int x) { return -x; }
static int sq(int x) { return x * x; }
static int inc(int x) { return x + 1; }
int dbl(int x) { return 2 * x; }

typedef int (*unop_fn)(int);

unop_fn unops[] = { neg, sq, inc, dbl };
/* static const table indexed through a volatile so it is not folded */
static const unop_fn const_unops[4] = { dbl, inc, sq, neg };

int counter_a = 11, counter_b = 22;
int array[8] = { 10, 20, 30, 40, 50, 60, 70, 80 };
int *ptrs[] = { &counter_a, &counter_b, &array[3], array + 7 };
int **pptr = &ptrs[2];
int ***ppptr = &pptr;

static const char *const words[] = { "apple", "banana", "cherry", "date" };
const char *const *word_cursor = &words[1];
static const char word_buf[] = "0123456789";
const char *mid_string = word_buf + 4;     /* pointer + addend */

struct node {
    const char *name;
    struct node *next;           /* self-referential static list */
    unop_fn fn;
    const struct op_entry *op;   /* pointer into another object's table */
};
struct node n3 = { "n3", 0, sq, &ops_table[3] };
struct node n2 = { "n2", &n3, inc, &ops_table[1] };
struct node n1 = { "n1", &n2, neg, &ops_table[0] };
struct node *list_head = &n1;

/* A 2D table of function pointers, and a table with a string and a pointer
 * to a function-pointer array. */
static const binop_fn grid[2][3] = {
    { op_add, op_sub, op_mul },
    { op_max, op_add, op_sub },
};
struct dispatch {
    const char *title;
    unop_fn *table;
    int count;
};
struct dispatch dispatchers[] = {
    { "mutable", unops, 4 },
    { "mutable+2", unops + 2, 2 },
};

int main(int argc, char **argv)
{
    int i, j, fails = 0;
    unsigned long check = 0;
    struct node *n;
    (void)argv;

    for (i = 0; i < 4; i++)
    {
        volatile int vi = i;
        printf("unops[%d](7) = %d, const_unops[%d](7) = %d\n", i,
               unops[i](7), i, const_unops[vi](7));
    }
    for (i = 0; i < 4; i++)
        printf("*ptrs[%d] = %d\n", i, *ptrs[i]);
    printf("***ppptr = %d\n", ***ppptr);
    ***ppptr += 1;                          /* writes array[3] */
    printf("array[3] after = %d\n", array[3]);
    printf("word_cursor: %s %s\n", word_cursor[0], word_cursor[1]);
    printf("mid_string = %s\n", mid_string);

    for (n = list_head; n; n = n->next)
        printf("node %s fn(5)=%d op=%s(9,4)=%d\n", n->name, n->fn(5),
               n->op->name, n->op->fn(9, 4));

    for (i = 0; i < ops_table_len; i++) {
        int bias = ops_table[i].bias ? *ops_table[i].bias : 0;
        int r = ops_table[i].fn(12, 5) + bias;
        printf("ops_table[%d] %s -> %d\n", i, ops_table[i].name, r);
        check = check * 31 + (unsigned)r;
    }
    printf("ops_label_ptr = %s (same=%d)\n", ops_label_ptr,
           ops_label_ptr == ops_label);

    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++) {
            int r = grid[i][j](argc * 10, 3);
            printf("grid[%d][%d] = %d\n", i, j, r);
            check = check * 31 + (unsigned)r;
        }

    for (i = 0; i < 2; i++) {
        printf("%s:", dispatchers[i].title);
        for (j = 0; j < dispatchers[i].count; j++)
            printf(" %d", dispatchers[i].table[j](3));
        printf("\n");
    }

    /* Function pointer identity across objects. */
    if (ops_table[0].fn != op_add) fails |= 1;
    if (grid[1][1] != op_add) fails |= 2;
    if (unops[3] != dbl || const_unops[0] != dbl) fails |= 4;
    if (strcmp(*word_cursor, "banana") != 0) fails |= 8;
    if (array[3] != 41) fails |= 16;

    printf("check = %lu\n", check);
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 20 + fails : 0;
}
