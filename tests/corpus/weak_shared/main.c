/* Weak definitions shared by two parts of a program (main.c, and plugin.c,
 * which the dylib tests put into a dylib of its own).  Whichever way the
 * program is linked, the same definition must win in every part:
 *
 *   greeting, limit  weak in both: main.c's (the first) wins;
 *   mode             strong here, weak in plugin.c: main.c's wins;
 *   tag              weak here, strong in plugin.c: plugin.c's wins, also
 *                    for main.c's own calls;
 *   only_plugin      weak, only in plugin.c. */
#include <stdio.h>
#include "shared.h"

__attribute__((weak)) const char *greeting(void) { return "hello from main"; }
__attribute__((weak)) int limit = 100;
int mode(void) { return 7; }
__attribute__((weak)) int tag(void) { return -1; }

int main(void)
{
    int fails = 0;
    printf("main: %s limit=%d mode=%d tag=%d only_plugin=%d\n", greeting(), limit,
           mode(), tag(), only_plugin(2));
    plugin_report();
    limit += 5;
    plugin_report();

    if (plugin_limit_addr() != &limit) fails |= 1;
    if (plugin_greeting_fn() != greeting) fails |= 2;
    if (tag() != 42 || plugin_tag() != 42) fails |= 4;
    if (plugin_mode() != 7) fails |= 8;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 60 + fails : 0;
}
