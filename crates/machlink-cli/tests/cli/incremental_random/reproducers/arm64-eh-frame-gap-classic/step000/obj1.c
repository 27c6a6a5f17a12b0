int f_0_3(int);
int f_1_5(int);
int f_3_4(int);
int tab_1[8] = {10, 11, 12, 13, 14, 15, 16, 17};
int len_1 = 8;
const char *name_1 = "object 1";
unsigned cleaned_1;
unsigned caught_1;
static void clean_1(volatile unsigned *p) { cleaned_1 += *p & 15; }
int f_1_5(int x) {
    volatile unsigned s __attribute__((cleanup(clean_1))) = (unsigned)x + 618;
    for (int i = 0; i < 5; i++) s += (unsigned)(i ^ 78);
    s += (unsigned)tab_1[s % (unsigned)len_1];
    return (int)s;
}
int f_3_4(int x) {
    volatile unsigned s = (unsigned)x + 976;
    for (int i = 0; i < 3; i++) s += (unsigned)(i ^ 34);
    s ^= s >> 8;
    return (int)s;
}
int (*ptrs_1[1])(int) = {f_3_4};
int nptrs_1 = 1;
