/* Operations referenced (by address) from static tables in main.c and in
 * this file's own initialized data. */
#include "ops.h"

int op_add(int a, int b) { return a + b; }
int op_sub(int a, int b) { return a - b; }
int op_mul(int a, int b) { return a * b; }
int op_max(int a, int b) { return a > b ? a : b; }
static int op_xor(int a, int b) { return a ^ b; }

int ops_global_value = 1000;
const char ops_label[] = "ops-table";

/* An exported table in another object: pointers to functions (one static),
 * to a string and to a global int.  All of these need rebases. */
const struct op_entry ops_table[] = {
    { "add", op_add, &ops_global_value },
    { "sub", op_sub, &ops_global_value },
    { "mul", op_mul, 0 },
    { "max", op_max, 0 },
    { "xor", op_xor, &ops_global_value },
};
const int ops_table_len = sizeof ops_table / sizeof ops_table[0];

/* Writable (non-const) data holding a pointer: lives in __DATA,__data. */
const char *ops_label_ptr = ops_label;
