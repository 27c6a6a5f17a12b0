#include "globals.h"

int shared_counter;                 /* tentative (common) */
long shared_total;                  /* tentative (common) */
double shared_scale;                /* tentative; b.c has the real definition */
char shared_buf[64];                /* tentative (common) */

static int private_value = 100;     /* same name as in b.c, file-local */
static int private_zero;            /* file-local bss */

void a_bump(int n)
{
    shared_counter += n;
    shared_total += (long)n * 1000;
    private_zero += n;
    shared_buf[n % 64] = (char)('a' + n % 26);
}

int a_private_value(void) { return private_value + private_zero; }
