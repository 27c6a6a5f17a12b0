/* The inline macros on every kind of stream a program can open: fopen
 * (w+, a, r), fdopen on a pipe, tmpfile, popen (both ways), funopen (both
 * ways), fmemopen, open_memstream and freopen, mixed with seeks, ungetc,
 * fgetpos/fsetpos, fread/fwrite, getline and fgetln. argv[1] is a scratch
 * directory. */
#include "compat.h"
#include <unistd.h>
#include <wchar.h>

static char path_a[512], path_b[512];

static void show(const char *what, FILE *f) {
    int c;
    printf("%s: ", what);
    while ((c = getc_unlocked(f)) != EOF)
        putc_unlocked(c == '\n' ? '|' : c, stdout);
    printf(" (ftell %ld, feof %d)\n", ftell(f), feof_unlocked(f) != 0);
}

static void regular_files(void) {
    int c;
    FILE *f = fopen(path_a, "w+");
    for (int i = 0; i < 5000; i++) {
        putc_unlocked('a' + i % 26, f);
        if (i % 1000 == 999)
            fprintf(f, "<%d>\n", i);
    }
    printf("written, ftell %ld\n", ftell(f));
    fseek(f, 10, SEEK_SET);
    putc_unlocked('X', f);
    fputs("YZ", f);
    putc('W', f);
    fflush(f);
    fseek(f, 0, SEEK_SET);
    printf("first 20: ");
    for (int i = 0; i < 20; i++)
        putc_unlocked(getc_unlocked(f), stdout);
    ungetc('!', f);
    c = getc_unlocked(f);
    printf(" ungetc: %c, ftell %ld\n", c, ftell(f));
    fpos_t pos;
    fgetpos(f, &pos);
    char x[6] = {0}, y[6] = {0};
    for (int i = 0; i < 5; i++)
        x[i] = (char)getc_unlocked(f);
    fsetpos(f, &pos);
    fread(y, 1, 5, f);
    printf("fgetpos/fsetpos: %s %s\n", x, y);
    fseek(f, -30, SEEK_END);
    char tail[31] = {0};
    printf("fread tail %zu: ", fread(tail, 1, 30, f));
    for (char *p = tail; *p; p++)
        putc_unlocked(*p == '\n' ? '|' : *p, stdout);
    c = getc_unlocked(f);
    printf(" getc at end %d feof %d\n", c, feof(f) != 0);
    /* From reading to writing at the current position. */
    fseek(f, 2000, SEEK_SET);
    printf("at 2000: %c", getc_unlocked(f));
    fseek(f, 0, SEEK_CUR);
    for (int i = 0; i < 3; i++)
        putc_unlocked('#', f);
    fseek(f, 1998, SEEK_SET);
    printf(", after writing: ");
    for (int i = 0; i < 8; i++)
        putc_unlocked(getc_unlocked(f), stdout);
    putc_unlocked('\n', stdout);
    fclose(f);

    f = fopen(path_a, "a");
    putc_unlocked('\n', f);
    fprintf(f, "appended %d\n", 1);
    fclose(f);
    f = fopen(path_a, "r");
    long lines = 0;
    while ((c = getc_unlocked(f)) != EOF)
        lines += c == '\n';
    rewind(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = 0, last = 0;
    while ((len = getline(&line, &cap, f)) > 0)
        last = len;
    printf("%ld lines, last (%zd): %s", lines, last, line);
    rewind(f);
    size_t n = 0;
    char *l = fgetln(f, &n);
    printf("fgetln %zu: %.*s", n, (int)n, l);
    c = getc_unlocked(f);
    printf("then: %c%c\n", c, getc(f));
    fclose(f);
    free(line);
}

static void pipe_streams(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return;
    FILE *w = fdopen(fds[1], "w");
    FILE *r = fdopen(fds[0], "r");
    fputs("hello ", w);
    for (const char *s = "pipe\n"; *s; s++)
        putc_unlocked(*s, w);
    fflush(w);
    int c;
    printf("pipe: ");
    while ((c = getc_unlocked(r)) != '\n')
        putc_unlocked(c, stdout);
    /* Buffered bytes reach the pipe after a direct write(2). */
    putc_unlocked('x', w);
    fprintf(w, "%d", 42);
    if (write(fds[1], "raw\n", 4) != 4)
        return;
    fclose(w);
    printf(" | rest: ");
    while ((c = getc_unlocked(r)) != EOF)
        putc_unlocked(c == '\n' ? '|' : c, stdout);
    printf(" fileno %d\n", fileno(r) == fds[0]);
    fclose(r);
}

static void temporary(void) {
    FILE *t = tmpfile();
    for (int i = 0; i < 100; i++)
        putc_unlocked('0' + i % 10, t);
    fwrite("-fwrite-", 1, 8, t);
    fprintf(t, "%s", "end");
    rewind(t);
    show("tmpfile", t);
    fclose(t);
}

static void processes(void) {
    fflush(stdout);
    FILE *p = popen("tr a-z A-Z", "w");
    for (const char *s = "to the child via putc_unlocked, "; *s; s++)
        putc_unlocked(*s, p);
    fprintf(p, "fprintf %d\n", 7);
    printf("pclose(w) %d\n", pclose(p));
    p = popen("printf 'one\\ntwo\\nthree\\n'", "r");
    show("popen(r)", p);
    printf("pclose(r) %d\n", pclose(p));
}

struct sink {
    char data[8192];
    int len, calls, closed;
    char sizes[256];
};

static int sink_write(void *c, const char *buf, int n) {
    struct sink *s = c;
    /* Short writes: at most 700 bytes a call. */
    if (n > 700)
        n = 700;
    memcpy(s->data + s->len, buf, (size_t)n);
    s->len += n;
    s->calls++;
    snprintf(s->sizes + strlen(s->sizes), sizeof s->sizes - strlen(s->sizes), " %d", n);
    return n;
}

static int sink_close(void *c) {
    ((struct sink *)c)->closed++;
    return 0;
}

struct source {
    const char *text;
    int at, calls;
};

static int source_read(void *c, char *buf, int n) {
    struct source *s = c;
    int left = (int)strlen(s->text) - s->at;
    if (n > 7)
        n = 7;
    if (n > left)
        n = left;
    memcpy(buf, s->text + s->at, (size_t)n);
    s->at += n;
    s->calls++;
    return n;
}

static seekpos_t source_seek(void *c, seekpos_t off, int whence) {
    struct source *s = c;
    if (whence == SEEK_SET)
        s->at = (int)off;
    else if (whence == SEEK_CUR)
        s->at += (int)off;
    else
        s->at = (int)strlen(s->text) + (int)off;
    return s->at;
}

static void functions(void) {
    static struct sink sink;
    FILE *f = funopen(&sink, NULL, sink_write, NULL, sink_close);
    for (int i = 0; i < 3000; i++) {
        putc_unlocked('A' + i % 26, f);
        if (i % 500 == 0)
            fprintf(f, "(%d)", i);
    }
    printf("funopen(w) before close: %d bytes in %d calls;", sink.len, sink.calls);
    fclose(f);
    printf(" after: %d bytes in %d calls, closed %d, sizes%s\n", sink.len, sink.calls,
           sink.closed, sink.sizes);
    struct source src = {"line one\nline two is longer\nthird\n", 0, 0};
    FILE *r = funopen(&src, source_read, NULL, source_seek, NULL);
    char line[64];
    int c = getc_unlocked(r);
    printf("funopen(r): %c%c", c, getc_unlocked(r));
    ungetc('*', r);
    fgets(line, sizeof line, r);
    printf(" %s", line);
    fseek(r, 5, SEEK_SET);
    fgets(line, sizeof line, r);
    printf("  after fseek 5: %s", line);
    show("  rest", r);
    printf("  read calls %d\n", src.calls);
    fclose(r);
}

static void memory(void) {
    char mem[] = "memory stream 123 456\n";
    FILE *m = fmemopen(mem, strlen(mem), "r");
    char word[16];
    int a, b;
    int c = getc_unlocked(m);
    printf("fmemopen: %c%c", c, getc_unlocked(m));
    int got = fscanf(m, "%15s %*s %d %d", word, &a, &b);
    printf(" %d: %s %d %d\n", got, word, a, b);
    fclose(m);
    char *buf = NULL;
    size_t size = 0;
    FILE *o = open_memstream(&buf, &size);
    for (int i = 0; i < 2000; i++)
        putc_unlocked('m', o);
    fprintf(o, " and %s", "fprintf");
    fflush(o);
    printf("open_memstream: %zu bytes", size);
    fclose(o);
    printf(", %zu after close, ends \"%s\"\n", size, buf + size - 12);
    free(buf);
}

static void wide(void) {
    FILE *t = tmpfile();
    fwprintf(t, L"wide %d %ls|", 5, L"string");
    fputwc(L'w', t);
    fputws(L"ide\n", t);
    rewind(t);
    wint_t c;
    printf("wide:");
    while ((c = fgetwc(t)) != WEOF)
        printf(" %d", (int)c);
    printf(" fwide %d\n", fwide(t, 0) > 0);
    fclose(t);
}

static void reopened(void) {
    FILE *f = fopen(path_a, "r");
    printf("before freopen: %c", getc_unlocked(f));
    FILE *g = freopen(path_b, "w", f);
    printf(", same FILE %d\n", g == f);
    for (const char *s = "written after freopen\n"; *s; s++)
        putc_unlocked(*s, g);
    fclose(g);
    g = fopen(path_b, "r");
    show("freopened file", g);
    fclose(g);
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    snprintf(path_a, sizeof path_a, "%s/a.txt", argv[1]);
    snprintf(path_b, sizeof path_b, "%s/b.txt", argv[1]);
    regular_files();
    pipe_streams();
    temporary();
    processes();
    functions();
    memory();
    wide();
    reopened();
    return 0;
}
