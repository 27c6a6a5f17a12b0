int f_0_5(int);
int f_3_4(int);
int tab_3[8] = {710, 31, 32, 33, 34, 35, 538, 37};
int len_3 = 8;
const char *name_3 = "object 3";
unsigned cleaned_3;
unsigned caught_3;
static void clean_3(volatile unsigned *p) { cleaned_3 += *p & 15; }
int f_0_5(int x) {
    volatile unsigned s __attribute__((cleanup(clean_3))) = (unsigned)x + 820;
    for (int i = 0; i < 5; i++) s += (unsigned)(i ^ 25);
    for (int i = 0; i < 3; i++) s += (unsigned)(i ^ 0);
    s ^= s >> 1;
    s += (unsigned)tab_3[s % (unsigned)len_3];
    s ^= s >> 2;
    s = s * 9 + 292;
    for (int i = 0; i < 2; i++) s += (unsigned)(i ^ 54);
    return (int)s;
}
int f_3_4(int x) {
    volatile unsigned s = (unsigned)x + 576;
    for (int i = 0; i < 3; i++) s += (unsigned)(i ^ 13);
    s = s * 9 + 504;
    for (int i = 0; i < 5; i++) s += (unsigned)(i ^ 85);
    s ^= s >> 7;
    for (int i = 0; i < 3; i++) s += (unsigned)(i ^ 37);
    s = s * 5 + 484;
    for (int i = 0; i < 1; i++) s += (unsigned)(i ^ 32);
    s += (unsigned)tab_3[s % (unsigned)len_3];
    s += (unsigned)tab_3[s % (unsigned)len_3];
    s += (unsigned)tab_3[s % (unsigned)len_3];
    s += (unsigned)tab_3[s % (unsigned)len_3];
    for (int i = 0; i < 5; i++) s += (unsigned)(i ^ 41);
    for (int i = 0; i < 1; i++) s += (unsigned)(i ^ 52);
    return (int)s;
}
int (*ptrs_3[1])(int) = {f_3_4};
int nptrs_3 = 1;
