/* Exit status from main's return value: prints to both streams (buffered,
 * so the runtime must flush stdio on return from main) and returns 3. */
#include <stdio.h>

static int compute(int argc)
{
    int i, s = 0;
    for (i = 0; i < 10 * argc; i++)
        s += i % 4;
    return s;
}

int main(int argc, char **argv)
{
    (void)argv;
    printf("computed %d\n", compute(argc));
    fprintf(stderr, "about to return 3 from main\n");
    printf("no trailing newline on this line");
    return compute(argc) == 60 ? 3 : 4;
}
