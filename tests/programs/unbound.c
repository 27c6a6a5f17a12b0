/* Imports that no libSystem provides, for macho-run's unbound-import tests.
 * Linked with -undefined dynamic_lookup so the linker leaves them to dyld.
 *   MODE=call-missing   calls a missing function (trap fires, exit 127)
 *   MODE=data-missing   (built with -DUSE_DATA) reads a missing variable:
 *                       refused at load time, listing every unbound name
 *   otherwise           never touches the missing function: runs normally */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void machlink_missing_function(void);
#ifdef USE_DATA
extern int machlink_missing_variable;
extern int machlink_other_missing_variable;
#endif

int main(void) {
    const char *mode = getenv("MODE");
#ifdef USE_DATA
    printf("%d %d\n", machlink_missing_variable, machlink_other_missing_variable);
#endif
    if (mode && strcmp(mode, "call-missing") == 0) {
        printf("about to call\n");
        fflush(stdout);
        machlink_missing_function();
    }
    printf("never called it\n");
    return 0;
}
