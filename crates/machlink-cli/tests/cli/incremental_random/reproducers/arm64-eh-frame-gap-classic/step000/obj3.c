int f_0_3(int);
int f_1_5(int);
int f_3_4(int);
int tab_3[8] = {30, 31, 32, 33, 34, 35, 36, 37};
int len_3 = 8;
const char *name_3 = "object 3 v4";
unsigned cleaned_3;
unsigned caught_3;
static void clean_3(volatile unsigned *p) { cleaned_3 += *p & 15; }
int (*ptrs_3[1])(int) = {0};
int nptrs_3 = 0;
