/* Symbols main.c and plugin.c both define, with different strengths. */
const char *greeting(void);
extern int limit;
int mode(void);
int tag(void);
int only_plugin(int x);

void plugin_report(void);
int *plugin_limit_addr(void);
const char *(*plugin_greeting_fn(void))(void);
int plugin_mode(void);
int plugin_tag(void);
