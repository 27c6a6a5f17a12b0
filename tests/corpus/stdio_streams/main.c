/* stdio on stdout and stderr (captured separately by the runner):
 * printf, fprintf(stderr), fputs, fputc, putc, putchar, puts, fwrite,
 * snprintf, sscanf, fflush, setvbuf, and reading back a tmpfile. */
#include <stdio.h>
#include <string.h>

struct point { int x, y; };

int main(void)
{
    char buf[64], word[16], rest[32];
    int a = 0, b = 0, n, fails = 0;
    unsigned u = 0;
    double d = 0;
    long l = 0;
    char c = 0;
    struct point pts[3] = { { 1, 2 }, { -3, 4 }, { 5, -6 } };
    size_t w;
    FILE *tf;

    puts("puts adds a newline");
    fputs("fputs does not", stdout);
    putchar('\n');
    fputc('[', stdout);
    putc('x', stdout);
    fputc(']', stdout);
    putchar('\n');
    w = fwrite("fwrite bytes\n", 1, 13, stdout);
    printf("fwrite returned %lu\n", (unsigned long)w);
    w = fwrite(pts, sizeof pts[0], 0, stdout);        /* zero items */
    printf("fwrite zero returned %lu\n", (unsigned long)w);

    fprintf(stderr, "to stderr: %d %s\n", 123, "abc");
    fputs("fputs to stderr\n", stderr);
    fputc('!', stderr);
    fputc('\n', stderr);
    fwrite("fwrite to stderr\n", 1, 17, stderr);

    n = snprintf(buf, sizeof buf, "%d,%d;%s", 10, -20, "tail");
    printf("snprintf -> \"%s\" (%d)\n", buf, n);

    n = sscanf("  42 -17 0x1f 3.25 word rest-of-it", "%d %d %x %lf %15s %31s",
               &a, &b, &u, &d, word, rest);
    printf("sscanf n=%d a=%d b=%d u=%u d=%.2f word=%s rest=%s\n", n, a, b, u, d,
           word, rest);
    if (n != 6) fails |= 1;
    n = sscanf("key=value:99", "%15[^=]=%31[^:]:%ld", word, rest, &l);
    printf("sscanf scanset n=%d key=%s value=%s num=%ld\n", n, word, rest, l);
    n = sscanf("Z", "%c", &c);
    printf("sscanf char n=%d c=%c\n", n, c);
    n = sscanf("abc", "%d", &a);
    printf("sscanf mismatch n=%d\n", n);
    n = sscanf("", "%d", &a);
    printf("sscanf empty n=%d (EOF is %d)\n", n, EOF);

    /* write structs to a temporary file and read them back */
    tf = tmpfile();
    if (!tf) {
        fprintf(stderr, "tmpfile failed\n");
        fails |= 2;
    } else {
        struct point back[3];
        char line[64];
        fwrite(pts, sizeof pts[0], 3, tf);
        fprintf(tf, "\nline two %d\n", 2);
        rewind(tf);
        memset(back, 0, sizeof back);
        n = (int)fread(back, sizeof back[0], 3, tf);
        printf("fread n=%d: (%d,%d) (%d,%d) (%d,%d)\n", n, back[0].x, back[0].y,
               back[1].x, back[1].y, back[2].x, back[2].y);
        if (memcmp(back, pts, sizeof pts) != 0) fails |= 4;
        fgetc(tf);                                      /* the '\n' */
        if (fgets(line, sizeof line, tf))
            printf("fgets: %s", line);
        printf("feof before=%d", feof(tf) != 0);
        n = fgetc(tf);
        printf(" fgetc at end=%d feof after=%d\n", n, feof(tf) != 0);
        fclose(tf);
    }

    fflush(stdout);
    printf("%s\n", fails ? "FAIL" : "OK");
    fflush(stderr);
    return fails ? 130 + fails : 0;
}
