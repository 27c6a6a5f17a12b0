#ifndef OPS_H
#define OPS_H
typedef int (*binop_fn)(int, int);
struct op_entry {
    const char *name;
    binop_fn fn;
    int *bias;       /* optional pointer to a global */
};
int op_add(int, int);
int op_sub(int, int);
int op_mul(int, int);
int op_max(int, int);
extern int ops_global_value;
extern const char ops_label[];
extern const struct op_entry ops_table[];
extern const int ops_table_len;
extern const char *ops_label_ptr;
#endif
