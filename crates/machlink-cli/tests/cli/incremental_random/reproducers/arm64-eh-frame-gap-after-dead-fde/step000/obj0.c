int f_0_5(int);
int f_3_4(int);
int tab_0[8] = {0, 1, 2, 3, 4, 5, 6, 7};
int len_0 = 8;
const char *name_0 = "object 0";
unsigned cleaned_0;
unsigned caught_0;
static void clean_0(volatile unsigned *p) { cleaned_0 += *p & 15; }
int (*ptrs_0[1])(int) = {0};
int nptrs_0 = 0;
