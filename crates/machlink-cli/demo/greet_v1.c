/* Version 1 of the function the demo edits. */
#include <stdio.h>

int greet(const char *who) {
    printf("hello, %s\n", who);
    return 1;
}
