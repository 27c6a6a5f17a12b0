/* Output without printf: the arm64 variadic shims are separate work, so
   these programs print through puts/fputs/fwrite only. */
#include <stdio.h>
#include <string.h>

static void say(const char *label, long v) {
    char buf[96];
    char digits[24];
    int n = 0, neg = v < 0;
    unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = strlen(label);
    if (len > 60)
        len = 60;
    memcpy(buf, label, len);
    buf[len++] = ' ';
    if (neg)
        buf[len++] = '-';
    while (n)
        buf[len++] = digits[--n];
    buf[len] = 0;
    puts(buf);
}
