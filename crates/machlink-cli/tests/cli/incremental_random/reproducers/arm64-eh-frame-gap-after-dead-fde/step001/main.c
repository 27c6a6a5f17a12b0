#include <stdio.h>
extern int tab_0[];
extern int len_0;
extern const char *name_0;
extern int (*ptrs_0[])(int);
extern int nptrs_0;
extern unsigned cleaned_0;
extern unsigned caught_0;
extern int tab_1[];
extern int len_1;
extern const char *name_1;
extern int (*ptrs_1[])(int);
extern int nptrs_1;
extern unsigned cleaned_1;
extern unsigned caught_1;
extern int tab_2[];
extern int len_2;
extern const char *name_2;
extern int (*ptrs_2[])(int);
extern int nptrs_2;
extern unsigned cleaned_2;
extern unsigned caught_2;
extern int tab_3[];
extern int len_3;
extern const char *name_3;
extern int (*ptrs_3[])(int);
extern int nptrs_3;
extern unsigned cleaned_3;
extern unsigned caught_3;
int f_0_5(int);
int f_3_4(int);
int main(void) {
    { int t = 0; for (int i = 0; i < len_0; i++) t += tab_0[i]; printf("%s %d\n", name_0, t); }
    { int t = 0; for (int i = 0; i < nptrs_0; i++) t += ptrs_0[i](3); printf("ptrs_0 %d\n", t); }
    { int t = 0; for (int i = 0; i < len_1; i++) t += tab_1[i]; printf("%s %d\n", name_1, t); }
    { int t = 0; for (int i = 0; i < nptrs_1; i++) t += ptrs_1[i](3); printf("ptrs_1 %d\n", t); }
    { int t = 0; for (int i = 0; i < len_2; i++) t += tab_2[i]; printf("%s %d\n", name_2, t); }
    { int t = 0; for (int i = 0; i < nptrs_2; i++) t += ptrs_2[i](3); printf("ptrs_2 %d\n", t); }
    { int t = 0; for (int i = 0; i < len_3; i++) t += tab_3[i]; printf("%s %d\n", name_3, t); }
    { int t = 0; for (int i = 0; i < nptrs_3; i++) t += ptrs_3[i](3); printf("ptrs_3 %d\n", t); }
    printf("f_3_4 %d\n", f_3_4(7));
    printf("cleaned_0 %u caught_0 %u\n", cleaned_0, caught_0);
    printf("cleaned_1 %u caught_1 %u\n", cleaned_1, caught_1);
    printf("cleaned_2 %u caught_2 %u\n", cleaned_2, caught_2);
    printf("cleaned_3 %u caught_3 %u\n", cleaned_3, caught_3);
    return 0;
}
