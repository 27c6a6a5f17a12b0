/* exit(7) from a nested function after printing: atexit handlers run, the
 * stdio buffers (stdout is a pipe, so fully buffered) are flushed, and
 * code after the call never runs. */
#include <stdio.h>
#include <stdlib.h>

static int depth_reached;

static void on_exit_handler(void)
{
    printf("atexit handler ran, depth_reached=%d\n", depth_reached);
}

static void level3(int n)
{
    depth_reached = 3;
    printf("level3(%d): exiting with 7\n", n);
    fprintf(stderr, "level3 stderr before exit\n");
    exit(n);
    printf("unreachable\n");
}

static void level2(int n) { depth_reached = 2; level3(n + 2); printf("unreachable 2\n"); }
static void level1(int n) { depth_reached = 1; level2(n + 3); printf("unreachable 1\n"); }

int main(void)
{
    atexit(on_exit_handler);
    printf("main: start");            /* partial line stays buffered */
    printf("\n");
    level1(2);                        /* 2 + 3 + 2 = 7 */
    printf("unreachable main\n");
    return 0;
}
