/* ctype over every byte and EOF, plain char's signedness (signed on Apple
   arm64 as on x86_64, unsigned on Linux aarch64) and string functions that
   take a character as an int. */
#include "say.h"
#include <ctype.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long sums[12] = {0};
    for (int c = -1; c < 256; c++) {
        int (*fs[])(int) = {isalpha, isdigit, isspace, isupper, islower, isxdigit,
                            ispunct, isprint, isgraph, iscntrl, isalnum, isblank};
        for (int i = 0; i < 12; i++)
            sums[i] = sums[i] * 3 + (fs[i](c) != 0) + (c & 1);
        if (c >= 0 && c < 128) {
            sums[0] += toupper(c);
            sums[1] += tolower(c);
        }
    }
    for (int i = 0; i < 12; i++)
        say("class", sums[i] % 1000000007);

    char c = (char)0xe9;
    say("char is signed", c < 0);
    say("(int)(char)0xe9", (int)c);
    char s[] = {'a', (char)0xe9, 'b', (char)0xff, 0};
    say("strchr high char", strchr(s, (char)0xe9) == s + 1);
    say("strrchr high char", strrchr(s, 0xff) == s + 3);
    say("memchr", memchr(s, (char)0xff, 4) == s + 3);
    say("strcmp sign", strcmp("\xe9", "a") > 0);
    signed char sc = -5;
    say("signed char", sc);
    say("atoi", atoi(argc > 5 ? argv[5] : "-42"));
    return 0;
}
