/* Walks the chain (chain.h) three ways, chosen by argv[1]:
 *   backtrace: _Unwind_Backtrace from the bottom, naming each frame's
 *              function (name_of);
 *   raise:     _Unwind_RaiseException, which finds no handler (C has
 *              only cleanups) and returns _URC_END_OF_STACK, running no
 *              cleanup; the chain then returns normally;
 *   forced:    _Unwind_ForcedUnwind, which runs every frame's cleanups
 *              through ___gcc_personality_v0's landing pads and
 *              _Unwind_Resume, with a stop function that ends the
 *              program when it reaches main;
 *   catch:     (macOS builds, -DHAVE_CATCHER) _Unwind_RaiseException
 *              caught by the assembly `catcher` (catcher-*.s) between
 *              main and the chain (through `expr_frame`, whose CFI
 *              restores a register by a DWARF expression): its
 *              personality below finds the
 *              handler in the search phase, the cleanups run, and the
 *              landing pad checks the callee-saved registers the
 *              unwinder restored. */
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

/* The function of a frame: the known function that starts closest below
 * its return address minus one (a call may end its function). Unwind
 * tables fold neighbours with equal rows into one, so
 * _Unwind_FindEnclosingFunction may give an earlier start; it must give
 * one at or below the address, never past it. */
static const char *name_of(struct _Unwind_Context *ctx) {
    uintptr_t ip = _Unwind_GetIP(ctx) - 1;
    uintptr_t fn = (uintptr_t)_Unwind_FindEnclosingFunction((void *)ip);
    const char *name = "?";
    uintptr_t best = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        uintptr_t start = (uintptr_t)known[i].fn;
        if (start <= ip && start > best)
            best = start, name = known[i].name;
    }
    if (fn == 0 || fn > ip || fn > best)
        return "?";
    return name;
}

void note_cleanup(const char **name) { printf("cleanup %s\n", *name); }

static uintptr_t last_cfa;
static int cfa_ascending = 1, ip_before_insn;

static _Unwind_Reason_Code trace(struct _Unwind_Context *ctx, void *arg) {
    int *frames = arg;
    const char *name = name_of(ctx);
    printf("frame %d: %s\n", (*frames)++, name);
    /* Each frame is above its callee. */
    uintptr_t cfa = _Unwind_GetCFA(ctx);
    cfa_ascending &= cfa > last_cfa;
    last_cfa = cfa;
    int before;
    _Unwind_GetIPInfo(ctx, &before);
    ip_before_insn |= before;
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
static const uint64_t MACHORUN = 0x4d4143484f52554eULL; /* "MACHORUN" */

#ifdef HAVE_CATCHER
int catcher(int (*fn)(int), int x);
int expr_frame(int x);

/* catcher's LSDA: the landing pad's offset and its selector. */
struct catch_lsda {
    uint32_t pad, selector;
};

/* The personality routine of `catcher`. It has the C++ one's name
 * because clang gives a compact row (personality and LSDA in
 * __unwind_info) only to functions with a canonical personality; the
 * program defines it itself, so nothing of libc++abi is involved. */
_Unwind_Reason_Code __gxx_personality_v0(int version, _Unwind_Action actions,
                                         _Unwind_Exception_Class cls,
                                         struct _Unwind_Exception *e,
                                         struct _Unwind_Context *ctx) {
    const struct catch_lsda *lsda = _Unwind_GetLanguageSpecificData(ctx);
    if (version != 1 || cls != MACHORUN || lsda == NULL)
        return _URC_FATAL_PHASE1_ERROR;
    if (actions & _UA_SEARCH_PHASE) {
        printf("search: catcher has a handler\n");
        return _URC_HANDLER_FOUND;
    }
    if (!(actions & _UA_HANDLER_FRAME))
        return _URC_FATAL_PHASE2_ERROR;
    printf("landing in catcher (selector %u)\n", lsda->selector);
    _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(0), (uintptr_t)e);
    _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(1), lsda->selector);
    _Unwind_SetIP(ctx, _Unwind_GetRegionStart(ctx) + lsda->pad);
    return _URC_INSTALL_CONTEXT;
}

static void delete_exception(_Unwind_Reason_Code reason,
                             struct _Unwind_Exception *e) {
    printf("exception %s deleted (reason %d)\n", e == &exc ? "object" : "?",
           reason);
}
#endif

NOINLINE int bottom(int depth) {
    CLEANUP(bottom);
    if (strcmp(mode, "backtrace") == 0) {
        int frames = 0;
        int code = _Unwind_Backtrace(trace, &frames);
        printf("backtrace returned %d after %d frames\n", code, frames);
        printf("cfa ascending: %s, a signal frame: %s\n", cfa_ascending ? "yes" : "no",
               ip_before_insn ? "yes" : "no");
    } else if (strcmp(mode, "raise") == 0 || strcmp(mode, "catch") == 0) {
        exc.exception_class = MACHORUN;
        int code = _Unwind_RaiseException(&exc);
        printf("raise returned %d\n", code);
    } else if (strcmp(mode, "forced") == 0) {
        exc.exception_class = MACHORUN;
        int code = _Unwind_ForcedUnwind(&exc, stop, "forced");
        printf("forced unwind returned %d\n", code);
    }
    return depth + sink;
}

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "backtrace";
#ifdef HAVE_CATCHER
    if (strcmp(mode, "catch") == 0) {
        exc.exception_cleanup = delete_exception;
        printf("catcher returned %d\n", catcher(expr_frame, argc));
        /* A rethrow from main (as __cxa_rethrow does) finds no handler. */
        printf("rethrow returned %d\n", _Unwind_Resume_or_Rethrow(&exc));
        _Unwind_DeleteException(&exc);
        return 0;
    }
#endif
    int r = via_frame(argc);
    printf("chain returned normally\n");
    return r == 0x7fffffff;
}
