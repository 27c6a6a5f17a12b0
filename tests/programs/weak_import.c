/* Weak imports that nothing defines must read as NULL (dyld semantics);
 * a weak import that libSystem does define must bind normally.
 * Linked with -undefined dynamic_lookup so the linker leaves them to dyld. */
#include <stdio.h>
#include <stdlib.h>

extern int machlink_absent_function(void) __attribute__((weak_import));
extern int machlink_absent_variable __attribute__((weak_import));
extern int abs(int) __attribute__((weak_import));

int main(void) {
    printf("absent function is %s\n", machlink_absent_function ? "bound" : "NULL");
    printf("absent variable is %s\n", &machlink_absent_variable ? "bound" : "NULL");
    printf("abs is %s: %d\n", abs ? "bound" : "NULL", abs ? abs(-5) : -1);
    return 0;
}
