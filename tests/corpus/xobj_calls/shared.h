/* Shared declarations for the xobj_calls program (4 translation units). */
#ifndef XOBJ_SHARED_H
#define XOBJ_SHARED_H

/* alpha.c */
int alpha_add(int a, int b);
int alpha_chain(int n);          /* calls into beta and gamma */
extern int alpha_calls;

/* beta.c */
long beta_mul(long a, long b);
int beta_chain(int n);           /* calls back into alpha (n decreasing) */
unsigned beta_hash(const char *s);
extern int beta_calls;

/* gamma.c */
int gamma_fold(const int *v, int n, int (*op)(int, int));
int gamma_chain(int n);
const char *gamma_name(int i);
extern int gamma_calls;

#endif
