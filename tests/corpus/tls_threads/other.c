/* Thread-local variables defined in a second object, plus accesses from
 * this object to thread-locals defined in main.c. */
#include <stdio.h>
#include "tls.h"

_Thread_local long other_tlv = 1000;
_Thread_local char other_buf[32];

long other_bump(long by)
{
    other_tlv += by;
    tl_init += 1;                     /* extern TLV from main.c */
    return other_tlv;
}

const char *other_tag(int id)
{
    snprintf(other_buf, sizeof other_buf, "tag-%d-%ld", id, other_tlv);
    return other_buf;
}

int other_static_tlv_counter(void)
{
    static _Thread_local int calls = 5;
    return ++calls;
}
