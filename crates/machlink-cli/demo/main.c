/* The demo's sample program: main calls into greet.c. */
#include <stdio.h>

int greet(const char *who);
int (*greeter)(const char *) = greet; /* &greet taken before any edit */

int main(void) {
    int total = 0;
    total += greet("linker");
    total += greeter("world");
    printf("greet returned %d in total; &greet is stable: %s\n", total,
           greeter == greet ? "yes" : "no");
    return 0;
}
