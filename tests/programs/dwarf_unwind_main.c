/* Calls the assembly functions of dwarf_unwind.s. */
#include <stdio.h>
int odd_frame(int);
int plain_frame(int);
int main(void) { printf("%d %d\n", odd_frame(5), plain_frame(5)); return 0; }
