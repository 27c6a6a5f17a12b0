/* Threads writing whole lines to stdout with putc_unlocked under
 * flockfile, and with printf, while another thread reads a file with
 * getc_unlocked: each line must come out whole (the lines' order varies,
 * so the test compares them sorted). */
#include "compat.h"
#include <pthread.h>

#define THREADS 4
#define LINES 300

static void *writer(void *arg) {
    int id = (int)(long)arg;
    char line[80];
    for (int i = 0; i < LINES; i++) {
        int n = snprintf(line, sizeof line, "thread %d line %03d: %.*s", id, i, 20 + i % 40,
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        flockfile(stdout);
        for (int k = 0; k < n; k++)
            putc_unlocked(line[k], stdout);
        putc_unlocked('\n', stdout);
        funlockfile(stdout);
        if (i % 10 == 0)
            printf("thread %d printf %d\n", id, i);
    }
    return NULL;
}

static void *reader(void *arg) {
    FILE *f = fopen((const char *)arg, "r");
    long n = 0, sum = 0;
    int c;
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        n++;
        sum += c;
    }
    funlockfile(f);
    fclose(f);
    printf("reader: %ld bytes, sum %ld\n", n, sum);
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t[THREADS + 1];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    pthread_create(&t[THREADS], NULL, reader, argc > 1 ? argv[1] : "/dev/null");
    for (int i = 0; i <= THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
