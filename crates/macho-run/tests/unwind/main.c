/* Walks the chain (chain.h) three ways, chosen by argv[1]:
 *   backtrace: _Unwind_Backtrace from the bottom, naming each frame's
 *              function by _Unwind_FindEnclosingFunction;
 *   raise:     _Unwind_RaiseException, which finds no handler (C has
 *              only cleanups) and returns _URC_END_OF_STACK, running no
 *              cleanup; the chain then returns normally;
 *   forced:    _Unwind_ForcedUnwind, which runs every frame's cleanups
 *              through ___gcc_personality_v0's landing pads and
 *              _Unwind_Resume, with a stop function that ends the
 *              program when it reaches main. */
#include "chain.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

volatile int sink;
static const char *mode;

int main(int argc, char **argv);

static const struct {
    void *fn;
    const char *name;
} known[] = {
    {(void *)main, "main"},         {(void *)via_frame, "via_frame"},
    {(void *)via_small, "via_small"}, {(void *)via_big, "via_big"},
    {(void *)via_regs, "via_regs"},   {(void *)via_cleanup, "via_cleanup"},
    {(void *)via_dwarf, "via_dwarf"}, {(void *)bottom, "bottom"},
};

static const char *name_of(struct _Unwind_Context *ctx) {
    /* The return address minus one: a call may end its function. */
    void *fn = _Unwind_FindEnclosingFunction((void *)(_Unwind_GetIP(ctx) - 1));
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].fn == fn)
            return known[i].name;
    return "?";
}

void note_cleanup(const char **name) { printf("cleanup %s\n", *name); }

static _Unwind_Reason_Code trace(struct _Unwind_Context *ctx, void *arg) {
    int *frames = arg;
    const char *name = name_of(ctx);
    printf("frame %d: %s\n", (*frames)++, name);
    /* Frames past main are the C library's (or macho-run's): stop. */
    return strcmp(name, "main") == 0 ? _URC_NORMAL_STOP : _URC_NO_REASON;
}

static _Unwind_Reason_Code stop(int version, _Unwind_Action actions,
                                _Unwind_Exception_Class cls,
                                struct _Unwind_Exception *exc,
                                struct _Unwind_Context *ctx, void *param) {
    (void)version, (void)cls, (void)exc;
    if (actions & _UA_END_OF_STACK) {
        printf("stop: end of stack before main\n");
        exit(3);
    }
    const char *name = name_of(ctx);
    printf("stop: %s (%s)\n", name, (const char *)param);
    if (strcmp(name, "main") == 0) {
        printf("forced unwind reached main\n");
        exit(0);
    }
    return _URC_NO_REASON;
}

static struct _Unwind_Exception exc;

NOINLINE int bottom(int depth) {
    CLEANUP(bottom);
    if (strcmp(mode, "backtrace") == 0) {
        int frames = 0;
        int code = _Unwind_Backtrace(trace, &frames);
        printf("backtrace returned %d after %d frames\n", code, frames);
    } else if (strcmp(mode, "raise") == 0) {
        exc.exception_class = 0x4d4143484f52554eULL; /* "MACHORUN" */
        int code = _Unwind_RaiseException(&exc);
        printf("raise returned %d\n", code);
    } else if (strcmp(mode, "forced") == 0) {
        exc.exception_class = 0x4d4143484f52554eULL;
        int code = _Unwind_ForcedUnwind(&exc, stop, "forced");
        printf("forced unwind returned %d\n", code);
    }
    return depth + sink;
}

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "backtrace";
    int r = via_frame(argc);
    printf("chain returned normally\n");
    return r == 0x7fffffff;
}
