#ifndef INTERP_H
#define INTERP_H
struct program {
    const char *name;
    const char *source;           /* assembly text, one instruction per line */
    long expect;                  /* expected value left on the stack */
};
extern const struct program programs[];
extern const int program_count;
#endif
