int f_0_3(int);
int f_1_5(int);
int f_3_4(int);
int tab_0[8] = {0, 1, 2, 3, 4, 5, 6, 7};
int len_0 = 8;
const char *name_0 = "object 0";
unsigned cleaned_0;
unsigned caught_0;
static void clean_0(volatile unsigned *p) { cleaned_0 += *p & 15; }
int f_0_3(int x) {
    volatile unsigned s = (unsigned)x + 911;
    s += (unsigned)tab_0[s % (unsigned)len_0];
    s ^= s >> 4;
    s ^= s >> 3;
    s ^= s >> 4;
    return (int)s;
}
int (*ptrs_0[1])(int) = {f_0_3};
int nptrs_0 = 1;
