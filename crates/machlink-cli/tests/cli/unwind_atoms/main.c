/* Walks the assembly chain (chain-*.s) with _Unwind_Backtrace from its
 * bottom, naming each frame's function: every row of the chain, compact
 * or DWARF, must lead to its caller. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

int compact_a(void), dwarf_b(void), dwarf_c(void), compact_d(void);
int leaf(void);
int main(void);

static const struct {
    void *fn;
    const char *name;
} known[] = {
    {(void *)main, "main"},       {(void *)leaf, "leaf"},
    {(void *)compact_a, "compact_a"}, {(void *)dwarf_b, "dwarf_b"},
    {(void *)dwarf_c, "dwarf_c"},     {(void *)compact_d, "compact_d"},
};

/* The known function that starts closest below `ip`. */
static const char *name_of(uintptr_t ip) {
    const char *name = "?";
    uintptr_t best = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        uintptr_t start = (uintptr_t)known[i].fn;
        if (start <= ip && start > best)
            best = start, name = known[i].name;
    }
    return name;
}

static _Unwind_Reason_Code trace(struct _Unwind_Context *ctx, void *arg) {
    int *frames = arg;
    const char *name = name_of(_Unwind_GetIP(ctx) - 1);
    printf("frame %d: %s\n", (*frames)++, name);
    return strcmp(name, "main") == 0 ? _URC_NORMAL_STOP : _URC_NO_REASON;
}

int leaf(void) {
    int frames = 0;
    _Unwind_Backtrace(trace, &frames);
    return frames;
}

int main(void) {
    int frames = compact_a();
    printf("%d frames\n", frames);
    return frames == 6 ? 0 : 1;
}
