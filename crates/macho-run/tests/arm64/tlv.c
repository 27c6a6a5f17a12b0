/* Thread-local variables: initial values per thread, independence across
   threads, and registers kept around the TLV thunk. */
#include "say.h"
#include <pthread.h>

static _Thread_local long counter = 100;
static _Thread_local double scale = 1.5;
static _Thread_local char tag[8] = "main";
static _Thread_local long zeroed[64];

__attribute__((noinline)) static double mix(double a, double b, long i) {
    /* a, b and i are live in registers across the thread-local access. */
    counter += i;
    zeroed[i % 64] += i;
    return a * scale + b + (double)counter;
}

static void *worker(void *arg) {
    long id = (long)arg;
    double acc = 0;
    for (long i = 0; i < 1000; i++)
        acc += mix((double)id, 0.5, i);
    tag[0] = (char)('A' + id);
    long z = 0;
    for (int i = 0; i < 64; i++)
        z += zeroed[i];
    return (void *)(long)(acc / 1000 + counter + z + tag[0] + (tag[1] == 'a'));
}

int main(void) {
    enum { N = 4 };
    pthread_t t[N];
    for (long i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        say("thread result", (long)r);
    }
    say("main counter untouched", counter);
    fputs("main tag: ", stdout);
    puts(tag);
    say("main after own work", (long)(mix(2.0, 1.0, 3) * 10));
    return 0;
}
