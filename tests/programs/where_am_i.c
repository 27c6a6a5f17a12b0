/* Prints where the image was loaded relative to its preferred address, and
 * checks that pointers in data were slid with it. */
#include <stdint.h>
#include <stdio.h>

static int target = 7;
static int answer(void) { return 42; }

int *data_pointer = &target;
int (*function_pointer)(void) = answer;

int main(void) {
    uintptr_t text = (uintptr_t)&main;
    printf("%s\n", text >= 0x100000000ULL && text < 0x100100000ULL ? "preferred" : "slid");
    printf("data pointer ok: %d\n", data_pointer == &target && *data_pointer == 7);
    printf("function pointer ok: %d\n", function_pointer() == 42);
    return 0;
}
