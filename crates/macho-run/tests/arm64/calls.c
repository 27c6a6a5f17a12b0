/* Library calls with integer and floating-point arguments and results,
   each the first call through its stub (so through dyld_stub_binder with
   MACHO_RUN_LAZY=1), plus errno, initialisers and stdio without printf. */
#include "say.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static int order[4];
static int ninit;
static const char *first_arg = "(none)";

__attribute__((constructor(101))) static void init_first(int argc, char **argv) {
    order[ninit++] = 1;
    if (argc > 1)
        first_arg = argv[1];
}
__attribute__((constructor(102))) static void init_second(void) { order[ninit++] = 2; }
__attribute__((constructor)) static void init_last(void) { order[ninit++] = 3; }

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
    say("initialisers", ninit);
    say("order", order[0] * 100 + order[1] * 10 + order[2]);
    fputs("constructor saw argv[1]: ", stdout);
    puts(first_arg);
    say("argc", argc);

    /* Floating-point arguments in d0-d2 must survive the binder. */
    say("pow(2,10)", (long)pow(2.0, 10.0));
    say("fma*1000", (long)(fma(1.25, 2.5, 0.125) * 1000));
    say("ldexp", (long)ldexp(3.0, 4));
    say("hypot", (long)hypot(3.0, 4.0));
    say("atan2*1e6", (long)(atan2(1.0, 1.0) * 1e6));
    say("strtod*100", (long)(strtod("12.75xyz", NULL) * 100));

    /* Integer arguments. */
    char *end;
    say("strtol", strtol("  -0x7fff!", &end, 16));
    say("strtol stopped at '!'", *end == '!');
    int v[] = {5, 3, 9, 1, 7, 2};
    qsort(v, 6, sizeof v[0], cmp);
    say("sorted", v[0] * 100000 + v[1] * 10000 + v[2] * 1000 + v[3] * 100 + v[4] * 10 + v[5]);
    say("labs", labs(-123456789L));
    say("strlen", (long)strlen(argv[0]) > 0);
    char buf[16];
    say("strncpy", strncpy(buf, "abcdefgh", 16) == buf && strcmp(buf, "abcdefgh") == 0);

    /* errno through ___error. */
    errno = 0;
    say("fopen missing", fopen("/nonexistent/dir/file", "r") == NULL);
    say("errno ENOENT", errno == ENOENT);
    errno = 0;
    strtol("999999999999999999999999", NULL, 10);
    say("errno ERANGE", errno == ERANGE);
    errno = 0;
    say("close(-1)", close(-1));
    say("errno EBADF", errno == EBADF);
    fputs(strerror(ENOENT), stdout);
    fputc('\n', stdout);

    /* stdio without printf. */
    fputs("to stderr\n", stderr);
    fwrite("fwrite line\n", 1, 12, stdout);
    putchar('p');
    putc('\n', stdout);
    FILE *f = tmpfile();
    fputs("first line\nsecond line\n", f);
    rewind(f);
    char line[64];
    while (fgets(line, sizeof line, f))
        fputs(line, stdout);

    /* struct stat has macOS's layout, filled from glibc's. */
    struct stat st;
    say("fstat", fstat(fileno(f), &st));
    say("st_size", (long)st.st_size);
    say("regular", S_ISREG(st.st_mode));
    say("blksize > 0", st.st_blksize > 0);
    say("stat /", stat("/", &st));
    say("directory", S_ISDIR(st.st_mode));
    say("nlink > 1", st.st_nlink > 1);
    say("ino > 0", st.st_ino > 0);
    /* struct dirent too. */
    DIR *d = opendir("/");
    long entries = 0, dirs = 0, found_etc = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        entries++;
        dirs += e->d_type == DT_DIR;
        found_etc |= strcmp(e->d_name, "etc") == 0;
    }
    if (d)
        closedir(d);
    say("entries in /", entries);
    say("directories in /", dirs);
    say("found /etc", found_etc);
    fclose(f);
    fflush(stdout);
    return 7;
}
