int f_0_5(int);
int f_3_4(int);
int tab_1[47] = {10, 11, 12, 13, 14, 15, 16, 17, 44, 26, 36, 24, 23, 26, 23, 46, 14, 42, 4, 16, 24, 23, 9, 18, 14, 39, 9, 36, 27, 0, 0, 7, 12, 31, 34, 38, 16, 9, 18, 36, 13, 11, 10, 20, 377, 16, 5};
int len_1 = 47;
const char *name_1 = "object 1";
unsigned cleaned_1;
unsigned caught_1;
static void clean_1(volatile unsigned *p) { cleaned_1 += *p & 15; }
int (*ptrs_1[1])(int) = {0};
int nptrs_1 = 0;
