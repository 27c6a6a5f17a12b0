/* A tiny interpreter: a two-pass assembler turning assembly text (static
 * tables in programs.c) into bytecode, and a switch-dispatched stack VM
 * with locals, labels, calls and returns.  Prints each program's output,
 * result and instruction count; exit code 0 iff all results match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include "interp.h"

enum op {
    OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
    OP_LT, OP_GT, OP_EQ, OP_DUP, OP_JMP, OP_JZ, OP_JNZ, OP_CALL, OP_RET,
    OP_PRINT, OP_EMIT, OP_HALT, OP_COUNT
};

struct opinfo { const char *name; int has_arg; int is_jump; };

static const struct opinfo opinfo[OP_COUNT] = {
    [OP_PUSH] = { "push", 1, 0 },  [OP_LOAD] = { "load", 1, 0 },
    [OP_STORE] = { "store", 1, 0 }, [OP_ADD] = { "add", 0, 0 },
    [OP_SUB] = { "sub", 0, 0 },    [OP_MUL] = { "mul", 0, 0 },
    [OP_DIV] = { "div", 0, 0 },    [OP_MOD] = { "mod", 0, 0 },
    [OP_LT] = { "lt", 0, 0 },      [OP_GT] = { "gt", 0, 0 },
    [OP_EQ] = { "eq", 0, 0 },      [OP_DUP] = { "dup", 0, 0 },
    [OP_JMP] = { "jmp", 1, 1 },    [OP_JZ] = { "jz", 1, 1 },
    [OP_JNZ] = { "jnz", 1, 1 },    [OP_CALL] = { "call", 1, 1 },
    [OP_RET] = { "ret", 0, 0 },    [OP_PRINT] = { "print", 0, 0 },
    [OP_EMIT] = { "emit", 0, 0 },  [OP_HALT] = { "halt", 0, 0 },
};

struct insn { int op; long arg; char label[16]; };

#define MAXCODE 256
#define MAXLABELS 32
static struct insn code[MAXCODE];
static int ncode;
static struct { char name[16]; int addr; } labels[MAXLABELS];
static int nlabels;
static char errmsg[80];

static int find_op(const char *w)
{
    int i;
    for (i = 0; i < OP_COUNT; i++)
        if (strcmp(opinfo[i].name, w) == 0)
            return i;
    return -1;
}

static int assemble(const char *src)
{
    char line[64], w1[16], w2[16];
    int i, j, n;
    ncode = nlabels = 0;
    while (*src) {
        const char *nl = strchr(src, '\n');
        size_t len = nl ? (size_t)(nl - src) : strlen(src);
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, src, len);
        line[len] = 0;
        src += len + (nl != 0);
        n = sscanf(line, "%15s %15s", w1, w2);
        if (n <= 0)
            continue;
        if (w1[strlen(w1) - 1] == ':') {                 /* label */
            w1[strlen(w1) - 1] = 0;
            strcpy(labels[nlabels].name, w1);
            labels[nlabels++].addr = ncode;
            continue;
        }
        i = find_op(w1);
        if (i < 0) {
            snprintf(errmsg, sizeof errmsg, "unknown mnemonic '%s'", w1);
            return -1;
        }
        code[ncode].op = i;
        code[ncode].label[0] = 0;
        code[ncode].arg = 0;
        if (opinfo[i].has_arg) {
            if (n < 2) {
                snprintf(errmsg, sizeof errmsg, "'%s' needs an argument", w1);
                return -1;
            }
            if (opinfo[i].is_jump)
                strcpy(code[ncode].label, w2);
            else
                code[ncode].arg = strtol(w2, 0, 10);
        }
        ncode++;
    }
    for (i = 0; i < ncode; i++) {                      /* second pass */
        if (!code[i].label[0])
            continue;
        for (j = 0; j < nlabels; j++)
            if (strcmp(labels[j].name, code[i].label) == 0)
                break;
        if (j == nlabels) {
            snprintf(errmsg, sizeof errmsg, "undefined label '%s'", code[i].label);
            return -1;
        }
        code[i].arg = labels[j].addr;
    }
    return 0;
}

static int run(long *result, long *steps)
{
    long stack[64], locals[8] = { 0 };
    int rstack[16];
    int sp = 0, rsp = 0, pc = 0, mid_line = 0;
    long a, b;
    *steps = 0;
    for (;;) {
        const struct insn *in = &code[pc++];
        ++*steps;
        switch (in->op) {
        case OP_PUSH:  stack[sp++] = in->arg; break;
        case OP_LOAD:  stack[sp++] = locals[in->arg]; break;
        case OP_STORE: locals[in->arg] = stack[--sp]; break;
        case OP_DUP:   stack[sp] = stack[sp - 1]; sp++; break;
        case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD:
        case OP_LT: case OP_GT: case OP_EQ:
            b = stack[--sp];
            a = stack[--sp];
            switch (in->op) {
            case OP_ADD: a += b; break;
            case OP_SUB: a -= b; break;
            case OP_MUL: a *= b; break;
            case OP_DIV: case OP_MOD:
                if (b == 0) {
                    snprintf(errmsg, sizeof errmsg, "division by zero at pc=%d", pc - 1);
                    return -2;
                }
                a = in->op == OP_DIV ? a / b : a % b;
                break;
            case OP_LT: a = a < b; break;
            case OP_GT: a = a > b; break;
            default:    a = a == b; break;
            }
            stack[sp++] = a;
            break;
        case OP_JMP:  pc = (int)in->arg; break;
        case OP_JZ:   if (stack[--sp] == 0) pc = (int)in->arg; break;
        case OP_JNZ:  if (stack[--sp] != 0) pc = (int)in->arg; break;
        case OP_CALL: rstack[rsp++] = pc; pc = (int)in->arg; break;
        case OP_RET:  pc = rstack[--rsp]; break;
        case OP_PRINT: printf("  out: %ld\n", stack[--sp]); break;
        case OP_EMIT:
            if (!mid_line)
                fputs("  out: ", stdout);
            a = stack[--sp];
            putchar((int)a);
            mid_line = a != '\n';
            break;
        case OP_HALT: *result = sp ? stack[sp - 1] : 0; return 0;
        default:
            snprintf(errmsg, sizeof errmsg, "bad opcode %d", in->op);
            return -3;
        }
    }
}

int main(void)
{
    int i, rc, failures = 0;
    long result, steps, total_steps = 0;

    for (i = 0; i < program_count; i++) {
        const struct program *p = &programs[i];
        printf("program %s:\n", p->name);
        rc = assemble(p->source);
        if (rc == 0) {
            printf("  assembled %d insns, %d labels\n", ncode, nlabels);
            rc = run(&result, &steps);
        }
        if (rc != 0) {
            fprintf(stderr, "%s: error: %s\n", p->name, errmsg);
            printf("  error %d\n", rc);
            result = rc;
            steps = 0;
        } else {
            printf("  result %ld in %ld steps\n", result, steps);
        }
        total_steps += steps;
        if (result != p->expect) {
            printf("  MISMATCH (expected %ld)\n", p->expect);
            failures++;
        }
    }
    printf("total steps %ld, failures %d\n", total_steps, failures);
    return failures ? 180 + failures : 0;
}
