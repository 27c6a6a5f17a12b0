/* strfmon is variadic and macho-run has no arm64 shim for it: the
 * program must not start, and the refusal names the function. */
#include <monetary.h>
#include <stdio.h>

int main(void) {
    char buf[64];
    if (strfmon(buf, sizeof buf, "%n", 1234.5) < 0)
        return 1;
    puts(buf);
    return 0;
}
