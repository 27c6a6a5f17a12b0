int f_0_5(int);
int f_3_4(int);
int tab_2[8] = {20, 21, 22, 23, 24, 25, 26, 27};
int len_2 = 8;
const char *name_2 = "object 2";
unsigned cleaned_2;
unsigned caught_2;
static void clean_2(volatile unsigned *p) { cleaned_2 += *p & 15; }
int (*ptrs_2[1])(int) = {0};
int nptrs_2 = 0;
