#include <setjmp.h>
#include <stdio.h>

int thrower_depth_reached;

void deep_throw(jmp_buf *env, int depth, int code)
{
    char pad[64];
    snprintf(pad, sizeof pad, "%d", depth);
    thrower_depth_reached = depth;
    if (depth >= 20 && pad[0] == '2')
        longjmp(*env, code);
    deep_throw(env, depth + 1, code);
    thrower_depth_reached = -1;       /* never reached; prevents tail call */
}
