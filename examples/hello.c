/* The bundled example that README's main command runs under macho-run:
 * a macOS x86_64 executable (examples/hello-x86_64-macos, built from this
 * file by scripts/build-example.sh with zig cc and ld64.lld-19). It
 * touches the loader's main paths: chained fixups, a static constructor,
 * a thread-local, ctype, and its arguments. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *greeting = "uninitialised";
static _Thread_local int calls = 100;

__attribute__((constructor)) static void init(void) { greeting = "Hello from a macOS executable"; }

static void shout(const char *word) {
    calls++;
    for (const char *p = word; *p; p++)
        putchar(toupper((unsigned char)*p));
    putchar('\n');
}

int main(int argc, char **argv) {
    printf("%s, running on Linux under macho-run.\n", greeting);
    for (int i = 1; i < argc; i++)
        shout(argv[i]);
    printf("%d argument(s), thread-local counter now %d\n", argc - 1, calls);
    return 0;
}
