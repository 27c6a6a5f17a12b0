/* The variadic system calls: open's mode, fcntl's argument, openat, and
 * the formatted-I/O functions on files the program opens; fscanf. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    if (chdir(argv[1]) != 0)
        err(1, "chdir %s", argv[1]);
    umask(022);
    int fd = open("made", O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        err(1, "open");
    struct stat st;
    fstat(fd, &st);
    printf("open mode: %o\n", st.st_mode & 0777);
    int fl = fcntl(fd, F_GETFL);
    printf("F_GETFL: wronly %d append %d\n", (fl & O_ACCMODE) == O_WRONLY,
           (fl & O_APPEND) != 0);
    printf("F_SETFL append: %d\n", fcntl(fd, F_SETFL, fl | O_APPEND));
    fl = fcntl(fd, F_GETFL);
    printf("F_GETFL: append %d\n", (fl & O_APPEND) != 0);
    printf("F_GETFD: %d\n", fcntl(fd, F_GETFD));
    printf("F_SETFD: %d\n", fcntl(fd, F_SETFD, FD_CLOEXEC));
    printf("F_GETFD: %d\n", fcntl(fd, F_GETFD));
    int dup = fcntl(fd, F_DUPFD, 20);
    printf("F_DUPFD: %d\n", dup >= 20);
    close(dup);
    dprintf(fd, "%d %s %.2f\n", 12, "in-file", 0.5);
    close(fd);

    /* O_EXCL on a file that exists; then openat relative to the cwd. */
    errno = 0;
    printf("O_EXCL: %d\n", open("made", O_WRONLY | O_CREAT | O_EXCL, 0600));
    warn("open made again");
    fd = openat(AT_FDCWD, "made", O_RDONLY);
    FILE *in = fdopen(fd, "r");
    int a = 0;
    char word[16];
    double x = 0;
    int n = fscanf(in, "%d %15s %lf", &a, word, &x);
    printf("fscanf: %d -> %d %s %.2f\n", n, a, word, x);
    fclose(in);

    FILE *out = fopen("second", "w");
    fprintf(out, "%s:%d:%c\n", "second", 2, '!');
    fclose(out);
    fd = open("second", O_RDONLY);
    char buf[32] = "";
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("fprintf to a file: %s", buf);
    warnx("warnx: %d %s", 3, "args");
    fflush(stdout);
    errx(3, "errx: %s %d", "exit", 3);
}
