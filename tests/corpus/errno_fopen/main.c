/* errno: a failing fopen of a nonexistent file must set errno to ENOENT
 * (compared symbolically; neither the errno number nor strerror text is
 * printed), errno is not cleared by a successful call, it can be reset and
 * assigned, and it is read through a helper function.  Also checks ERANGE
 * from strtol and a successful tmpfile/fclose.
 * (On macOS errno is (*__error()), on glibc (*__errno_location()).) */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>

static int errno_is(int e) { return errno == e; }

int main(void)
{
    FILE *f;
    int fails = 0, saved;

    errno = 0;
    f = fopen("/nonexistent-machlink-dir/definitely/missing.txt", "r");
    saved = errno;
    printf("fopen missing: %s\n", f ? "opened?!" : "NULL");
    printf("errno == ENOENT: %d\n", saved == ENOENT);
    printf("errno nonzero: %d\n", saved != 0);
    if (f || saved != ENOENT) fails |= 1;

    /* a successful library call does not clear errno */
    errno = ENOENT;
    (void)getenv("MACHLINK_TEST_ENV");
    saved = errno_is(ENOENT);
    printf("errno kept across successful getenv: %d\n", saved);
    if (!saved) fails |= 8;

    errno = 0;
    printf("reset to zero: %d\n", errno == 0);

    f = fopen("/nonexistent-machlink-dir/x", "w");
    printf("fopen for write in missing dir: %s errno==ENOENT: %d\n",
           f ? "opened?!" : "NULL", errno == ENOENT);

    errno = 0;
    (void)strtol("123456789012345678901234567890", NULL, 10);
    printf("strtol overflow: errno == ERANGE: %d\n", errno == ERANGE);
    if (errno != ERANGE) fails |= 2;

    errno = EINVAL;                   /* user-assigned value is readable */
    printf("assigned EINVAL reads back: %d\n", errno_is(EINVAL));

    f = tmpfile();
    printf("tmpfile: %s\n", f ? "ok" : "failed");
    if (f) {
        fputs("x", f);
        printf("fclose: %d\n", fclose(f));
    } else {
        fails |= 4;
    }
    fprintf(stderr, "errno_fopen done, fails=%d\n", fails);
    return fails ? 170 + fails : 0;
}
