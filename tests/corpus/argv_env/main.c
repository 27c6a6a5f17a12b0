/* argv and environment: argc, argv[1..] (never argv[0], which differs
 * between runners), argv[argc] == NULL, getenv of MACHLINK_TEST_ENV (set
 * by the runner to "hello-env"), getenv of an unset variable, the
 * three-argument main's envp (only searched, never printed), and
 * setenv/unsetenv round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *find_in_envp(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    int i, fails = 0;
    const char *v;
    unsigned long total = 0;

    printf("argc=%d\n", argc);
    for (i = 1; i < argc; i++) {
        printf("argv[%d]=\"%s\" len=%u\n", i, argv[i], (unsigned)strlen(argv[i]));
        total += strlen(argv[i]);
    }
    printf("argv[argc] is %s\n", argv[argc] ? "non-NULL" : "NULL");
    printf("total arg chars=%lu\n", total);

    v = getenv("MACHLINK_TEST_ENV");
    printf("MACHLINK_TEST_ENV=%s\n", v ? v : "(unset)");
    v = getenv("MACHLINK_SURELY_UNSET_VARIABLE_12345");
    printf("unset variable: %s\n", v ? "SET?!" : "NULL");
    if (v) fails |= 1;

    v = find_in_envp(envp, "MACHLINK_TEST_ENV");
    printf("envp lookup: %s\n", v ? v : "(not found)");
    if (!v || strcmp(v, "hello-env") != 0) fails |= 2;

    if (setenv("MACHLINK_NEW_VAR", "first", 1) != 0) fails |= 4;
    setenv("MACHLINK_NEW_VAR", "second", 0);            /* no overwrite */
    printf("after setenv: %s\n", getenv("MACHLINK_NEW_VAR"));
    setenv("MACHLINK_NEW_VAR", "third", 1);
    printf("after overwrite: %s\n", getenv("MACHLINK_NEW_VAR"));
    unsetenv("MACHLINK_NEW_VAR");
    v = getenv("MACHLINK_NEW_VAR");
    printf("after unsetenv: %s\n", v ? v : "NULL");

    if (argc != 4) fails |= 8;
    else if (strcmp(argv[3], "gamma delta") != 0) fails |= 16;
    fprintf(stderr, "argv_env: fails=%d\n", fails);
    return fails ? 120 + fails : 0;
}
