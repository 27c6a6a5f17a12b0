/* Pointers in static data to an imported symbol plus an offset. The size of
 * the largest offset decides which chained-fixups import format the linker
 * must use, so macho-run's tests build this three times:
 *   default            offset 8: fits the pointer's inline 8-bit addend
 *                      (DYLD_CHAINED_IMPORT)
 *   -DWIDE_ADDEND      offset 1084 (_RuneLocale.__maplower): needs a 32-bit
 *                      addend in the import table (DYLD_CHAINED_IMPORT_ADDEND)
 *   -DHUGE_ADDEND      offset 2^32: needs a 64-bit addend
 *                      (DYLD_CHAINED_IMPORT_ADDEND64)
 * In every case the program prints the same facts about the pointers. The
 * pointers are writable globals so the compiler cannot fold them away. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>

const char *magic = (const char *)&_DefaultRuneLocale;
const char *encoding = (const char *)&_DefaultRuneLocale + 8;
#if defined(WIDE_ADDEND)
const int32_t *maplower = (const int32_t *)((const char *)&_DefaultRuneLocale + 1084);
#elif defined(HUGE_ADDEND)
const char *far = (const char *)&_DefaultRuneLocale + 0x100000000LL;
#endif

int main(void) {
    printf("encoding is 8 bytes in: %d\n", (int)(encoding - magic));
#if defined(WIDE_ADDEND)
    printf("maplower['Q'] = %c\n", (char)maplower['Q']);
#elif defined(HUGE_ADDEND)
    printf("far - magic = %llx\n", (unsigned long long)(far - magic));
#endif
    return 0;
}
