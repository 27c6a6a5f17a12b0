/* Version 2: the same function, grown past its slot. */
#include <stdio.h>

int greet(const char *who) {
    int vowels = 0;
    for (const char *p = who; *p; p++)
        if (*p == 'a' || *p == 'e' || *p == 'i' || *p == 'o' || *p == 'u')
            vowels++;
    printf("hello again, %s (%d vowels)\n", who, vowels);
    if (vowels > 1)
        printf("  a name with %d vowels: %s\n", vowels, who);
    else
        printf("  a name with one vowel: %s\n", who);
    return vowels;
}
