/* The call chain the unwinding tests walk:
 *   main -> via_frame -> via_small -> via_big -> via_regs -> via_cleanup
 *        -> via_dwarf -> bottom
 * each function in a file compiled so that its unwind row has a given
 * compact mode. Functions with cleanups have a personality and an LSDA,
 * for which clang emits DWARF-mode rows; the others get compact ones. */
#ifndef CHAIN_H
#define CHAIN_H

#define NOINLINE __attribute__((noinline))
/* Prints "cleanup NAME" when the scope is left, normally or by unwinding. */
#define CLEANUP(name) \
    const char *cleanup_##name __attribute__((cleanup(note_cleanup))) = #name

extern volatile int sink;
void note_cleanup(const char **name);
int via_frame(int x);
int via_small(int x);
int via_big(int x);
int via_regs(int x);
int via_cleanup(int x);
int via_dwarf(int x);
int bottom(int x);

#endif
