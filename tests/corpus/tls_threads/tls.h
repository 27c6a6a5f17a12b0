#ifndef TLS_H
#define TLS_H
struct tls_state {
    int id;
    long counter;
    char name[16];
    double ratio;
};

/* defined in main.c */
extern _Thread_local int tl_zero;
extern _Thread_local int tl_init;                 /* = 42 */
extern _Thread_local unsigned tl_array[8];        /* partially initialized */
extern _Thread_local struct tls_state tl_state;   /* initialized struct */

/* defined in other.c */
extern _Thread_local long other_tlv;              /* = 1000 */
extern _Thread_local char other_buf[32];          /* zero-initialized */
long other_bump(long by);                         /* touches other_tlv and tl_init */
const char *other_tag(int id);                    /* writes other_buf */
int other_static_tlv_counter(void);               /* function-local static TLV */
#endif
