/* Thread-local storage (_Thread_local): a zero-initialized TLV, one
 * initialized to 42, a TLV array, a TLV struct, a TLV defined in another
 * object (other.c) and a function-local static TLV.  Three pthreads each
 * modify their own copies; every thread stores its results into a plain
 * global array and main prints everything after pthread_join, so the output
 * order is deterministic.  Main's own copies must be unaffected. */
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include "tls.h"

_Thread_local int tl_zero;
_Thread_local int tl_init = 42;
_Thread_local unsigned tl_array[8] = { 1, 2, 3 };
_Thread_local struct tls_state tl_state = { -1, 7, "initial", 0.5 };
static _Thread_local int tl_static_local = -9;

#define NTHREADS 3

struct result {
    int start_zero, start_init, start_static;
    unsigned start_array_sum;
    char start_name[16];
    long start_other;
    int end_zero, end_init;
    unsigned end_array_sum;
    long end_counter;
    long other_after;
    char tag[32];
    int static_counter;
    int distinct_from_main;
};

static struct result results[NTHREADS];
static int *main_tl_init_addr;   /* address of main thread's copy (not printed) */

static unsigned array_sum(void)
{
    unsigned s = 0;
    int i;
    for (i = 0; i < 8; i++)
        s += tl_array[i] * (unsigned)(i + 1);
    return s;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    struct result *r = &results[id];
    int i;

    /* initial values must be the static initializers, not main's values */
    r->start_zero = tl_zero;
    r->start_init = tl_init;
    r->start_static = tl_static_local;
    r->start_array_sum = array_sum();
    memcpy(r->start_name, tl_state.name, sizeof r->start_name);
    r->start_other = other_tlv;

    /* modify this thread's copies */
    for (i = 0; i < 1000 * (id + 1); i++) {
        tl_zero += id + 1;
        tl_array[i % 8] += (unsigned)id;
        tl_state.counter += i % 7;
    }
    tl_init *= id + 2;
    tl_state.id = id;
    snprintf(tl_state.name, sizeof tl_state.name, "worker%d", id);
    tl_static_local = id * 100;

    r->other_after = other_bump(10 * (id + 1));   /* also bumps tl_init */
    r->end_zero = tl_zero;
    r->end_init = tl_init;
    r->end_array_sum = array_sum();
    r->end_counter = tl_state.counter;
    strcpy(r->tag, other_tag(id));
    r->static_counter = other_static_tlv_counter();
    r->static_counter = other_static_tlv_counter();
    r->distinct_from_main = (&tl_init != main_tl_init_addr);
    return 0;
}

int main(void)
{
    pthread_t th[NTHREADS];
    int i, fails = 0;

    main_tl_init_addr = &tl_init;
    printf("main start: zero=%d init=%d array_sum=%u state={%d,%ld,%s,%.2f} static=%d other=%ld\n",
           tl_zero, tl_init, array_sum(), tl_state.id, tl_state.counter,
           tl_state.name, tl_state.ratio, tl_static_local, other_tlv);

    /* modify main's copies before starting the threads */
    tl_zero = 5;
    tl_init = 43;
    tl_array[7] = 100;
    strcpy(tl_state.name, "main");
    {
        /* separate statements: argument evaluation order is unspecified */
        long bumped = other_bump(1);
        const char *tag = other_tag(99);
        int sc = other_static_tlv_counter();
        printf("main bump: other=%ld tag=%s static_counter=%d\n", bumped, tag, sc);
    }

    for (i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], 0, worker, (void *)(long)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 101;
        }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], 0);

    for (i = 0; i < NTHREADS; i++) {
        struct result *r = &results[i];
        printf("thread %d start: zero=%d init=%d static=%d array_sum=%u name=%s other=%ld\n",
               i, r->start_zero, r->start_init, r->start_static,
               r->start_array_sum, r->start_name, r->start_other);
        printf("thread %d end:   zero=%d init=%d array_sum=%u counter=%ld other=%ld tag=%s static_counter=%d distinct=%d\n",
               i, r->end_zero, r->end_init, r->end_array_sum, r->end_counter,
               r->other_after, r->tag, r->static_counter, r->distinct_from_main);
        if (r->start_zero != 0 || r->start_init != 42 || r->start_other != 1000 ||
            strcmp(r->start_name, "initial") != 0 || !r->distinct_from_main)
            fails |= 1 << i;
    }

    printf("main end: zero=%d init=%d array_sum=%u state={%d,%ld,%s} other=%ld tag=%s\n",
           tl_zero, tl_init, array_sum(), tl_state.id, tl_state.counter,
           tl_state.name, other_tlv, other_buf);
    if (tl_zero != 5 || tl_init != 44 || other_tlv != 1001) fails |= 8;
    printf("%s\n", fails ? "FAIL" : "OK");
    return fails ? 100 + fails : 0;
}
