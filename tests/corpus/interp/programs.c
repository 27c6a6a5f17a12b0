/* Static table of assembly programs for the interp VM (see interp.c). */
#include "interp.h"

const struct program programs[] = {
    { "factorial",
      "  push 1\n  store 0\n  push 10\n  store 1\n"
      "loop:\n  load 1\n  jz done\n"
      "  load 0\n  load 1\n  mul\n  store 0\n"
      "  load 1\n  push 1\n  sub\n  store 1\n  jmp loop\n"
      "done:\n  load 0\n  print\n  load 0\n  halt\n",
      3628800 },
    { "fibonacci",
      "  push 0\n  store 0\n  push 1\n  store 1\n  push 30\n  store 2\n"
      "next:\n  load 2\n  jz out\n"
      "  load 0\n  load 1\n  dup\n  store 0\n  add\n  store 1\n"
      "  load 2\n  push 1\n  sub\n  store 2\n  jmp next\n"
      "out:\n  load 0\n  print\n  load 0\n  halt\n",
      832040 },
    { "gcd",
      "  push 1071\n  store 0\n  push 462\n  store 1\n"
      "again:\n  load 1\n  jz fin\n"
      "  load 0\n  load 1\n  mod\n  load 1\n  store 0\n  store 1\n  jmp again\n"
      "fin:\n  load 0\n  print\n  load 0\n  halt\n",
      21 },
    { "primes",          /* count primes below 500 by trial division */
      "  push 0\n  store 0\n  push 2\n  store 1\n"
      "outer:\n  load 1\n  push 500\n  lt\n  jz end\n"
      "  push 2\n  store 2\n"
      "inner:\n  load 2\n  load 2\n  mul\n  load 1\n  gt\n  jnz isprime\n"
      "  load 1\n  load 2\n  mod\n  jz notprime\n"
      "  load 2\n  push 1\n  add\n  store 2\n  jmp inner\n"
      "isprime:\n  load 0\n  push 1\n  add\n  store 0\n"
      "notprime:\n  load 1\n  push 1\n  add\n  store 1\n  jmp outer\n"
      "end:\n  load 0\n  print\n  load 0\n  halt\n",
      95 },
    { "collatz",         /* steps for 27 to reach 1, using call/ret */
      "  push 27\n  store 0\n  push 0\n  store 1\n"
      "step:\n  load 0\n  push 1\n  eq\n  jnz stop\n"
      "  call next\n  load 1\n  push 1\n  add\n  store 1\n  jmp step\n"
      "stop:\n  load 1\n  print\n  load 1\n  halt\n"
      "next:\n  load 0\n  push 2\n  mod\n  jz even\n"
      "  load 0\n  push 3\n  mul\n  push 1\n  add\n  store 0\n  ret\n"
      "even:\n  load 0\n  push 2\n  div\n  store 0\n  ret\n",
      111 },
    { "chars",           /* prints "HELLO" via emit, returns the sum */
      "  push 72\n  emit\n  push 69\n  emit\n  push 76\n  dup\n  emit\n  emit\n"
      "  push 79\n  emit\n  push 10\n  emit\n"
      "  push 72\n  push 69\n  add\n  push 152\n  add\n  push 79\n  add\n  halt\n",
      372 },
    { "bad-op",          /* assembler error: unknown mnemonic */
      "  push 1\n  frobnicate\n  halt\n", -1 },
    { "div-zero",        /* runtime error */
      "  push 1\n  push 0\n  div\n  halt\n", -2 },
};
const int program_count = sizeof programs / sizeof programs[0];
