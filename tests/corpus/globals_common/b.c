#include "globals.h"

int shared_counter;                 /* tentative (common), merged with a.c */
long shared_total;                  /* tentative (common) */
double shared_scale = 2.5;          /* real definition wins over a.c's common */

static int private_value = 200;
static int private_zero;

void b_bump(int n)
{
    shared_counter += 10 * n;
    shared_total -= n;
    private_zero += 2 * n;
    shared_buf[(n * 7) % 64] = (char)('A' + n % 26);
}

int b_private_value(void) { return private_value + private_zero; }
