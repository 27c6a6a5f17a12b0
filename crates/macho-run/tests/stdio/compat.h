/* What these tests use beyond ISO C and POSIX: macOS has funopen and
 * fgetln, glibc has neither. Natively they are written here the way macOS
 * documents them (funopen's stream is fully buffered with BUFSIZ, 1024
 * bytes, and a short write is retried), so the native run is the
 * reference for the macOS build run under macho-run. */
#ifndef COMPAT_H
#define COMPAT_H
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifdef __APPLE__
typedef fpos_t seekpos_t;
#else
typedef off_t seekpos_t;

struct funcs {
    void *cookie;
    int (*r)(void *, char *, int);
    int (*w)(void *, const char *, int);
    seekpos_t (*s)(void *, seekpos_t, int);
    int (*c)(void *);
    char buf[1024];
};

static inline ssize_t compat_read(void *p, char *b, size_t n) {
    struct funcs *f = p;
    return f->r(f->cookie, b, (int)n);
}

static inline ssize_t compat_write(void *p, const char *b, size_t n) {
    struct funcs *f = p;
    size_t done = 0;
    while (done < n) {
        int w = f->w(f->cookie, b + done, (int)(n - done));
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static inline int compat_seek(void *p, off64_t *off, int whence) {
    struct funcs *f = p;
    seekpos_t at = f->s(f->cookie, *off, whence);
    if (at < 0)
        return -1;
    *off = at;
    return 0;
}

static inline int compat_close(void *p) {
    struct funcs *f = p;
    int rc = f->c ? f->c(f->cookie) : 0;
    free(f);
    return rc;
}

static inline FILE *funopen(const void *cookie, int (*r)(void *, char *, int),
                     int (*w)(void *, const char *, int),
                     seekpos_t (*s)(void *, seekpos_t, int), int (*c)(void *)) {
    struct funcs *f = calloc(1, sizeof *f);
    f->cookie = (void *)cookie;
    f->r = r;
    f->w = w;
    f->s = s;
    f->c = c;
    cookie_io_functions_t io = {r ? compat_read : NULL, w ? compat_write : NULL,
                                s ? compat_seek : NULL, compat_close};
    FILE *fp = fopencookie(f, r && w ? "r+" : r ? "r" : "w", io);
    setvbuf(fp, f->buf, _IOFBF, sizeof f->buf);
    return fp;
}
#define fropen(cookie, fn) funopen(cookie, fn, 0, 0, 0)
#define fwopen(cookie, fn) funopen(cookie, 0, fn, 0, 0)

static inline char *fgetln(FILE *fp, size_t *len) {
    static char *line;
    static size_t cap;
    ssize_t n = getline(&line, &cap, fp);
    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return line;
}
#endif
#endif
