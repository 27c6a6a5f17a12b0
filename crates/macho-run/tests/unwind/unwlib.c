/* libunwlib.dylib: a frame of another image between two of the program. */
#define NOINLINE __attribute__((noinline))

NOINLINE int lib_call(int (*callback)(int), int x) {
    int r = callback(x * 2);
    return r + 1;
}
