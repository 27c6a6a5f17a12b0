#ifndef GLOBALS_H
#define GLOBALS_H
/* NOTE: this program relies on "common" (tentative) definitions being merged
 * across translation units.  gcc >= 10 and clang >= 11 default to
 * -fno-common, so the test runner passes -fcommon to BOTH compilers
 * (gcc natively and zig cc for x86_64-macos). */
extern int shared_counter;          /* tentative in a.c AND b.c */
extern long shared_total;           /* tentative in a.c, b.c, main.c */
extern double shared_scale;         /* tentative in a.c, initialized in b.c */
extern char shared_buf[64];         /* tentative in a.c and main.c */

void a_bump(int n);
void b_bump(int n);
int a_private_value(void);
int b_private_value(void);
#endif
