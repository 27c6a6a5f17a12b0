/* The other part: weak defaults main.c overrides (or shares), a strong
 * definition main.c's weak one yields to, and a weak definition only this
 * part has.  Its own references must reach the winning definitions. */
#include <stdio.h>
#include "shared.h"

__attribute__((weak)) const char *greeting(void) { return "hello from plugin"; }
__attribute__((weak)) int limit = 1;
__attribute__((weak)) int mode(void) { return 3; }
int tag(void) { return 42; }
__attribute__((weak)) int only_plugin(int x) { return x * 11; }

void plugin_report(void)
{
    printf("plugin: %s limit=%d mode=%d tag=%d only_plugin=%d\n", greeting(), limit,
           mode(), tag(), only_plugin(3));
}

int *plugin_limit_addr(void) { return &limit; }
const char *(*plugin_greeting_fn(void))(void) { return greeting; }
int plugin_mode(void) { return mode(); }
int plugin_tag(void) { return tag(); }
