/* Where the image landed: at its preferred address or slid. */
#include <stdio.h>
#include <mach-o/loader.h>

extern const struct mach_header_64 _mh_execute_header;
static const void *self = &_mh_execute_header;

int main(void) {
    puts((unsigned long)&_mh_execute_header == 0x100000000 ? "preferred" : "slid");
    puts(self == &_mh_execute_header ? "rebased pointer ok" : "rebased pointer WRONG");
    return 0;
}
