//! Every x86_64 relocation form, linked by machlink and checked two ways:
//! the program prints whether each relocated value is what C computes from
//! the symbols' addresses (the native expectation), under macho-run with
//! and without a slide; and the same objects linked by ld64.lld-19 print
//! the same and mean the same under the semantic diff. Forms lld refuses
//! (or links wrongly) are checked against the expectation only.
//!
//! clang's assembler writes SIGNED (never SIGNED_1/2/4: it folds the
//! instruction's trailing immediate into the addend); cctools' `as` wrote
//! SIGNED_1/2/4 for `movb/movw/movl $imm, x(%rip)`, and such objects still
//! exist, so the test rewrites those relocations into the SIGNED_N forms,
//! which mean the same with the field unchanged.

use crate::semantic_diff::{diff_pair, ALLOW};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::tool;
use testkit::semantic_diff::{Allow, Category};
use testkit::{capture, check, Linker};

/// With subsections: references through symbols (extern relocations) of
/// every kind, with addends of both signs, to globals, statics, labels
/// inside atoms, code, weak definitions (private, so not coalesced across
/// images), absolute symbols and imports.
const REFS_S: &str = r##"  .section __DATA,__data
  .globl _gdata
  .p2align 4
_gdata:
  .quad 0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444
L_ldata:
  .quad 0x5555555555555555, 0x6666666666666666
_sdata:
  .quad 0x7777777777777777, 0x8888888888888888

  .globl _ptrs
  .p2align 3
_ptrs:
  .quad _gdata + 8
  .quad L_ldata + 8
  .quad _sdata + 12
  .quad _gfunc + 3
  .quad _gdata - 8
  .quad _abs_sym + 8
  .quad ___stdoutp + 16
  .quad L_other_func + 1
  .quad _weak_func + 1
  .globl _ptrs_end
_ptrs_end:
  .quad 0

  .globl _diffs64
  .p2align 3
_diffs64:
  .quad _sdata - _gdata
  .quad _gdata - _sdata
  .quad L_ldata - _gdata
  .quad _gdata - L_ldata
  .quad _gdata + 16 - _diffs64
  .quad _gfunc - _gdata + 5
  .globl _diffs32
_diffs32:
  .long _sdata - _gdata + 4
  .long _gdata - _sdata - 4
  .long L_ldata - _gdata
  .long _gfunc - _diffs32
  .long _abs_sym + 4
  .long _gdata@GOTPCREL + 4
  .long _gdata@GOTPCREL
  .p2align 3
  .globl _abs2_ptr
_abs2_ptr:
  .quad _abs2 + 8

  .globl _abs_sym
  .set _abs_sym, 0x12345678

  .text
  .globl _gfunc
  .p2align 4
_gfunc:
  movl $1, %eax
  retq
  .globl _weak_func
  .private_extern _weak_func
  .weak_definition _weak_func
  .p2align 4
_weak_func:
  movl $7, %eax
  retq
_static_func:
  movl $9, %eax
  retq

  .globl _rd_signed, _rd_signed_local, _rd_signed_static, _rd_neg
_rd_signed:
  movq _gdata+8(%rip), %rax
  retq
_rd_signed_local:
  movq L_ldata+8(%rip), %rax
  retq
_rd_signed_static:
  movq _sdata+8(%rip), %rax
  retq
_rd_neg:
  leaq _gdata-8(%rip), %rax
  retq
  .globl _wr_signed1, _wr_signed2, _wr_signed4, _wr_local
_wr_signed1:
  movb $0x5a, _gdata+17(%rip)
  retq
_wr_signed2:
  movw $0x5b5b, _gdata+18(%rip)
  retq
_wr_signed4:
  movl $0x5c5c5c5c, _gdata+20(%rip)
  retq
_wr_local:
  movb $0x11, L_ldata+1(%rip)
  movw $0x2222, L_ldata+2(%rip)
  movl $0x33333333, L_ldata+4(%rip)
  movb $0x44, _sdata+1(%rip)
  retq
  .globl _addr_sdata, _addr_ldata
_addr_sdata:
  leaq _sdata(%rip), %rax
  retq
_addr_ldata:
  leaq L_ldata(%rip), %rax
  retq
  .globl _got_local, _got_global, _got_import, _got_nonload, _got_func
_got_local:
  movq _sdata@GOTPCREL(%rip), %rax
  retq
_got_global:
  movq _gdata@GOTPCREL(%rip), %rax
  retq
_got_import:
  movq ___stdoutp@GOTPCREL(%rip), %rax
  retq
_got_nonload:
  xorl %eax, %eax
  addq _gdata@GOTPCREL(%rip), %rax
  retq
_got_func:
  movq _static_func@GOTPCREL(%rip), %rax
  retq
  .globl _tlv_load
_tlv_load:
  pushq %rbp
  movq %rsp, %rbp
  movq _tv@TLVP(%rip), %rdi
  callq *(%rdi)
  movq (%rax), %rax
  popq %rbp
  retq
  .globl _branches
_branches:
  pushq %rbp
  movq %rsp, %rbp
  pushq %rbx
  pushq %rax
  callq _gfunc
  movl %eax, %ebx
  callq _static_func
  addl %eax, %ebx
  callq _weak_func
  addl %eax, %ebx
  callq _far_call
  addl %eax, %ebx
  movq $-100, %rdi
  callq _labs
  addl %eax, %ebx
  movl %ebx, %eax
  popq %rcx
  popq %rbx
  popq %rbp
  retq

  .section __TEXT,__othertext,regular,pure_instructions
L_other_func:
  movl $1000, %eax
  retq
.subsections_via_symbols
"##;

/// Without subsections (each section one atom), so references to
/// labels are section-relative (non-extern): SIGNED to this and other
/// sections, UNSIGNED into data and code, differences with an extern
/// subtrahend; and an absolute symbol another object uses.
const NOSUB_S: &str = r##"  .section __DATA,__data
  .p2align 4
L_nd:
  .quad 0x1111111111111111, 0x2222222222222222
L_nd2:
  .quad 0x3333333333333333
  .globl _nptrs
_nptrs:
  .quad L_nd + 8
  .quad L_nfunc + 2
  .quad L_od + 4
  .quad L_nd2 - L_nd
  .quad L_nd - _ndef
  .globl _nptrs32
_nptrs32:
  .long L_nd2 - _ndef - 4

  .section __DATA,__other
  .p2align 3
L_od:
  .quad 0x4444444444444444, 0x5555555555555555
  .globl _ndef
_ndef:
  .quad 0x9999999999999999

  .globl _abs2
  .set _abs2, 0x7654321

  .text
L_nfunc:
  movl $3, %eax
  retq
  .globl _nfunc_ptr
_nfunc_ptr:
  .quad 0
  .globl _n_writes
_n_writes:
  movb $0x5a, L_nd+1(%rip)
  movw $0x5b5b, L_nd+2(%rip)
  movl $0x5c5c5c5c, L_nd+4(%rip)
  movb $0x6a, L_od+9(%rip)
  movw $0x6b6b, L_od+10(%rip)
  movl $0x6c6c6c6c, L_od+12(%rip)
  movb $0x7a, _gdata+25(%rip)
  movw $0x7b7b, _gdata+26(%rip)
  movl $0x7c7c7c7c, _gdata+28(%rip)
  retq
  .globl _n_read
_n_read:
  movq L_od+8(%rip), %rax
  retq
"##;

/// Forms ld64 links and ld64.lld 19 refuses or gets wrong: section-relative
/// SUBTRACTOR subtrahends and BRANCH targets ("must be extern"), a GOT
/// load of an absolute symbol (lld relaxes it out of range) and a 32-bit
/// field holding another object's absolute symbol (lld adds a rebase).
const LD64_ONLY_S: &str = r##"  .section __DATA,__data
  .p2align 4
L_xd:
  .quad 0x1111111111111111, 0x2222222222222222
L_xd2:
  .quad 0
  .globl _xdiffs
_xdiffs:
  .quad L_xfunc - L_xd
  .quad _xref - L_xd
  .globl _xdiffs32
_xdiffs32:
  .long L_xd - L_xfunc
  .long _xref - L_xd2 + 4
  .globl _xabs32
_xabs32:
  .long _abs2 + 4
  .p2align 3
  .globl _xref
_xref:
  .quad 0
  .text
L_xfunc:
  movl $1000, %eax
  retq
  .globl _far_call
_far_call:
  jmp L_far
  .globl _got_abs
_got_abs:
  movq _abs_sym@GOTPCREL(%rip), %rax
  retq
  .section __TEXT,__othertext,regular,pure_instructions
L_far:
  movl $1000, %eax
  retq
"##;

/// Checks every relocated value against what C computes from the
/// symbols (the native expectation); prints `ok NAME` or `FAIL NAME`.
const MAIN_C: &str = r##"#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
extern uint64_t gdata[4];
extern uint64_t ptrs[], diffs64[], nptrs[];
extern int32_t diffs32[];
extern uint64_t abs2_ptr;
extern int gfunc(void), weak_func(void);
extern uint64_t rd_signed(void), rd_signed_local(void), rd_signed_static(void);
extern char *rd_neg(void), *addr_sdata(void), *addr_ldata(void);
extern void wr_signed1(void), wr_signed2(void), wr_signed4(void), wr_local(void);
extern void *got_local(void), *got_global(void), *got_import(void), *got_nonload(void), *got_func(void);
uintptr_t got_abs(void);
extern long tlv_load(void);
extern int branches(void);
extern uint64_t ndef[], nptrs[];
extern int32_t nptrs32[];
extern char nfunc_ptr[];
extern int far_call(void);
extern uint64_t xdiffs[];
extern int32_t xdiffs32[];
extern void n_writes(void);
extern uint64_t n_read(void);
_Thread_local long tv = 42;
static int failures;
static void check(const char *what, uint64_t got, uint64_t want) {
  if (got == want) printf("ok %s\n", what);
  else { printf("FAIL %s: got %#llx want %#llx\n", what, (unsigned long long)got, (unsigned long long)want); failures++; }
}
#define A(p) ((uint64_t)(uintptr_t)(p))
int main(void) {
  char *g = (char *)gdata, *s = addr_sdata(), *l = addr_ldata();
  check("ldata is gdata+32", A(l), A(g) + 32);
  check("SIGNED +8", rd_signed(), 0x2222222222222222ull);
  check("SIGNED local label +8", rd_signed_local(), 0x6666666666666666ull);
  check("SIGNED static +8", rd_signed_static(), 0x8888888888888888ull);
  check("SIGNED -8", A(rd_neg()), A(g) - 8);
  wr_signed1(); wr_signed2(); wr_signed4(); wr_local();
  check("SIGNED_1 store", gdata[2], 0x5c5c5c5c5b5b5a33ull);
  check("SIGNED_1/2/4 local stores", *(uint64_t *)l, 0x3333333322221155ull);
  check("SIGNED_1 static store", *(uint64_t *)s, 0x7777777777774477ull);
  check("UNSIGNED64 +8", ptrs[0], A(g) + 8);
  check("UNSIGNED64 label +8", ptrs[1], A(l) + 8);
  check("UNSIGNED64 static +12", ptrs[2], A(s) + 12);
  check("UNSIGNED64 code +3", ptrs[3], A(gfunc) + 3);
  check("UNSIGNED64 -8", ptrs[4], A(g) - 8);
  check("UNSIGNED64 abs +8", ptrs[5], 0x12345678 + 8);
  check("UNSIGNED64 import +16", ptrs[6], A(&__stdoutp) + 16);
  check("UNSIGNED64 section-relative code +1", ((int (*)(void))(ptrs[7] - 1))(), 1000);
  check("UNSIGNED64 weak +1", ptrs[8], A(weak_func) + 1);
  check("SUB64 s-g", diffs64[0], A(s) - A(g));
  check("SUB64 g-s", diffs64[1], A(g) - A(s));
  check("SUB64 l-g", diffs64[2], 32);
  check("SUB64 g-l", diffs64[3], (uint64_t)-32);
  check("SUB64 g+16-here", diffs64[4], A(g) + 16 - A(&diffs64[0]));
  check("SUB64 code-data+5", diffs64[5], A(gfunc) - A(g) + 5);
  check("SUB32 s-g+4", (uint64_t)(int64_t)diffs32[0], A(s) - A(g) + 4);
  check("SUB32 g-s-4", (uint64_t)(int64_t)diffs32[1], A(g) - A(s) - 4);
  check("SUB32 l-g", (uint64_t)(int64_t)diffs32[2], 32);
  check("SUB32 code-here", (uint64_t)(int64_t)diffs32[3], A(gfunc) - A(&diffs32[0]));
  check("UNSIGNED32 abs +4", (uint32_t)diffs32[4], 0x12345678 + 4);
  check("UNSIGNED64 other object's abs +8", abs2_ptr, 0x7654321 + 8);
  check("GOT data +4", *(uint64_t *)((char *)&diffs32[5] + diffs32[5]), A(g));
  check("GOT data", *(uint64_t *)((char *)&diffs32[6] + 4 + diffs32[6]), A(g));
  check("GOT_LOAD static", A(got_local()), A(s));
  check("GOT_LOAD global", A(got_global()), A(g));
  check("GOT_LOAD import", A(got_import()), A(&__stdoutp));
  check("GOT non-load", A(got_nonload()), A(g));
  check("GOT_LOAD static func", ((int (*)(void))got_func())(), 9);
  check("TLV", tlv_load(), 42);
  check("BRANCH local/static/weak/section/import", branches(), 1 + 9 + 7 + 1000 + 100);
  /* No symbol precedes L_nd, L_od and L_nfunc in their sections (so
     references are section-relative); their places are known from the
     symbols after them, in the same (unsplit) sections. */
  char *nd = (char *)nptrs - 24, *od = (char *)ndef - 16;
  uint64_t nf = A(nfunc_ptr) - 6;
  check("SIGNED section-relative other section +8", n_read(), 0x5555555555555555ull);
  n_writes();
  check("SIGNED_1/2/4 section-relative stores", *(uint64_t *)nd, 0x5c5c5c5c5b5b5a11ull);
  check("SIGNED_1/2/4 other-section stores", *(uint64_t *)(od + 8), 0x6c6c6c6c6b6b6a55ull);
  check("SIGNED_1/2/4 extern stores", gdata[3], 0x7c7c7c7c7b7b7a44ull);
  check("UNSIGNED64 section-relative +8", nptrs[0], A(nd) + 8);
  check("UNSIGNED64 section-relative code +2", nptrs[1], nf + 2);
  check("UNSIGNED64 other section +4", nptrs[2], A(od) + 4);
  check("SUB64 folded", nptrs[3], 16);
  check("SUB64 section - extern", nptrs[4], A(nd) - A(ndef));
  check("SUB32 section - extern -4", (uint64_t)(int64_t)nptrs32[0], A(nd) + 16 - A(ndef) - 4);
  /* Forms ld64 takes and lld refuses (section-relative subtrahends and
     branches), from x.o; the stand-in for lld's link has zeros. */
  if (xdiffs[0] != 0) {
    char *xd = (char *)xdiffs - 24, *xref = (char *)xdiffs32 + 16;
    uint64_t xf = A(far_call) - 6;
    check("SUB64 section-relative both", xdiffs[0], xf - A(xd));
    check("SUB64 extern - section", xdiffs[1], A(xref) - A(xd));
    check("SUB32 section-relative both", (uint64_t)(int64_t)xdiffs32[0], A(xd) - xf);
    check("SUB32 extern - section +4", (uint64_t)(int64_t)xdiffs32[1], A(xref) - A(xd) - 16 + 4);
    check("BRANCH section-relative", far_call(), 1000);
    check("GOT_LOAD abs", got_abs(), 0x12345678);
    check("UNSIGNED32 other object's abs +4", (uint32_t)xdiffs32[2], 0x7654321 + 4);
  }
  return failures != 0;
}
"##;

/// Stands in for LD64_ONLY_S in the links compared with lld.
const FALLBACK_C: &str = r##"/* Stands in for x.s in the link compared with ld64.lld-19, which refuses
   section-relative SUBTRACTOR and BRANCH relocations. */
unsigned long long xdiffs[2];
int xdiffs32[3];
int far_call(void) { return 1000; }
unsigned long got_abs(void) { return 0; }
"##;

/// Accepted differences from lld for this program, beyond [`ALLOW`].
const RELOC_ALLOW: &[Allow] = &[
    Allow {
        category: Category::Symbols,
        subject: "export _abs*",
        ours: "absolute 0x*",
        reference: "absolute 0xffffffff*",
        reason: "an absolute export's trie value is the symbol's value as it is (ld64; dyld \
                 does not add the image's address to it); lld 19 writes it less the image base",
    },
    Allow {
        category: Category::Fixups,
        subject: "_abs2_ptr",
        ours: "(none)",
        reference: "rebase -> *",
        reason: "a pointer to another object's absolute symbol must not slide; lld 19 rebases \
                 it, and its program fails under MACHO_RUN_FORCE_SLIDE (machlink's passes)",
    },
    Allow {
        category: Category::Data,
        subject: "_abs2_ptr",
        ours: "*+0x0: 29 43 65 07 00 00 00 00 *",
        reference: "*+0x0: [rebase -> *",
        reason: "see the _abs2_ptr fixup: the value itself, without lld's rebase (what \
                 follows it is the next object's unnamed data, placed by each linker)",
    },
    Allow {
        category: Category::Data,
        subject: "_diffs*",
        ours: "*",
        reference: "*",
        reason: "differences between a code and a data address depend on where the linker \
                 put the sections; the program checks each against the symbols' addresses",
    },
];

/// Assembles `src` with clang-19 into `dir/NAME.o`, then rewrites its
/// SIGNED relocations of `movb/movw/movl $imm, x(%rip)` into SIGNED_1/2/4.
fn assemble(dir: &Path, name: &str, src: &str) -> PathBuf {
    let s = dir.join(format!("{name}.s"));
    std::fs::write(&s, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    check(
        Command::new(testkit::require_tool("clang-19"))
            .args(["-target", "x86_64-apple-macos13", "-c"])
            .arg(&s)
            .arg("-o")
            .arg(&o),
    );
    let mut bytes = std::fs::read(&o).unwrap();
    signed_n(&mut bytes);
    std::fs::write(&o, bytes).unwrap();
    o
}

/// The cctools form of `__text`'s pc-relative stores with an immediate:
/// SIGNED_1 (`movb`, C6 05), SIGNED_2 (`movw`, 66 C7 05) and SIGNED_4
/// (`movl`, C7 05). Only the type changes: the field means the same.
fn signed_n(obj: &mut [u8]) {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let ncmds = u32_at(obj, 16) as usize;
    let mut cmd = 32;
    for _ in 0..ncmds {
        let (kind, size) = (u32_at(obj, cmd), u32_at(obj, cmd + 4) as usize);
        if kind == 0x19 {
            for i in 0..u32_at(obj, cmd + 64) as usize {
                let sec = cmd + 72 + 80 * i;
                if &obj[sec..sec + 7] != b"__text\0" {
                    continue;
                }
                let (offset, reloff, nreloc) = (
                    u32_at(obj, sec + 48) as usize,
                    u32_at(obj, sec + 56) as usize,
                    u32_at(obj, sec + 60) as usize,
                );
                for r in 0..nreloc {
                    let at = reloff + 8 * r;
                    let info = u32_at(obj, at + 4);
                    if info >> 28 != u32::from(object::macho::X86_64_RELOC_SIGNED) {
                        continue;
                    }
                    let field = offset + u32_at(obj, at) as usize;
                    let ty = match (&obj[field - 3..field], &obj[field - 2..field]) {
                        ([0x66, 0xC7, 0x05], _) => object::macho::X86_64_RELOC_SIGNED_2,
                        (_, [0xC6, 0x05]) => object::macho::X86_64_RELOC_SIGNED_1,
                        (_, [0xC7, 0x05]) => object::macho::X86_64_RELOC_SIGNED_4,
                        _ => continue,
                    };
                    let info = (info & 0x0fff_ffff) | (u32::from(ty) << 28);
                    obj[at + 4..at + 8].copy_from_slice(&info.to_le_bytes());
                }
            }
        }
        cmd += size;
    }
}

/// The (extern, type) pairs of `objs`' relocations as llvm-objdump names
/// them (`True SIGNED1`, `False SUB`, ...), with the field length for
/// UNSIGNED and SUBTRACTOR (`quad`/`long`).
fn relocation_forms(objs: &[PathBuf]) -> BTreeSet<String> {
    let mut forms = BTreeSet::new();
    for o in objs {
        for line in tool("llvm-objdump-19", &["--macho", "-r"], o).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 6 && (f[1] == "True" || f[1] == "False") {
                let (length, extern_, ty) = (f[2], f[3], f[4]);
                let form = match ty {
                    "UNSIGND" | "SUB" => format!("{extern_} {ty} {length}"),
                    _ => format!("{extern_} {ty}"),
                };
                forms.insert(form);
            }
        }
    }
    forms
}

/// Runs `exe` under macho-run (with `env`); every line must be `ok`.
fn all_ok(exe: &Path, env: &[(&str, &str)]) -> String {
    let o = testkit::cli::macho_run_with(exe, env);
    let out = o.stdout_str();
    let failed: Vec<&str> = out.lines().filter(|l| !l.starts_with("ok ")).collect();
    assert!(
        o.code == 0 && failed.is_empty() && !out.is_empty(),
        "{} (env {env:?}): exit {}\n{}\n{}",
        exe.display(),
        o.code,
        failed.join("\n"),
        o.stderr_str()
    );
    out
}

#[test]
fn every_x86_64_relocation_form_gives_the_native_expectation() {
    testkit::require_tool("ld64.lld-19");
    let work = testkit::scratch_dir("relocation-forms");
    let refs = assemble(&work, "refs", REFS_S);
    let nosub = assemble(&work, "nosub", NOSUB_S);
    let ld64_only = assemble(&work, "ld64_only", LD64_ONLY_S);
    let main = testkit::cli::compile(&work, "main", MAIN_C);
    let fallback = testkit::cli::compile(&work, "fallback", FALLBACK_C);
    // The objects hold every form this test is about.
    let forms = relocation_forms(&[refs.clone(), nosub.clone(), ld64_only.clone()]);
    for want in [
        "True SIGNED",
        "True SIGNED1",
        "True SIGNED2",
        "True SIGNED4",
        "False SIGNED",
        "False SIGNED1",
        "False SIGNED2",
        "False SIGNED4",
        "True UNSIGND quad",
        "False UNSIGND quad",
        "True UNSIGND long",
        "True SUB quad",
        "True SUB long",
        "False SUB quad",
        "False SUB long",
        "False UNSIGND long",
        "True GOT_LD",
        "True GOT",
        "True TLV",
        "True BRANCH",
        "False BRANCH",
    ] {
        assert!(
            forms.contains(want),
            "no {want} relocation in the test objects: {forms:?}"
        );
    }
    // Everything, machlink only (lld refuses ld64_only.o).
    let all = [main.clone(), refs.clone(), nosub.clone(), ld64_only.clone()];
    for linker in Linker::MACHLINK {
        let exe = work.join(format!("all-{}", linker.name()));
        testkit::link(linker, &all, &exe, &[]);
        let out = all_ok(&exe, &[]);
        assert!(out.contains("ok BRANCH section-relative"), "{out}");
        assert_eq!(all_ok(&exe, &[("MACHO_RUN_FORCE_SLIDE", "1")]), out);
    }
    let lld = capture(testkit::lld_command(&work.join("lld-refuses")).args(&all));
    assert!(
        lld.code != 0 && lld.stderr_str().contains("must be extern"),
        "{}",
        lld.stderr_str()
    );
    // What lld links: the same output, and the same meaning.
    let common = [main, refs, nosub, fallback];
    let mut problems = Vec::new();
    let mut allow = ALLOW.to_vec();
    allow.extend_from_slice(RELOC_ALLOW);
    for (format, ours, reference) in [
        ("chained", Linker::MachlinkChained, Linker::LldChained),
        ("classic", Linker::MachlinkClassic, Linker::LldClassic),
    ] {
        let a = work.join(format!("common-{}", ours.name()));
        let b = work.join(format!("common-{}", reference.name()));
        testkit::link(ours, &common, &a, &[]);
        testkit::link(reference, &common, &b, &[]);
        assert_eq!(all_ok(&a, &[]), all_ok(&b, &[]), "{format}");
        all_ok(&a, &[("MACHO_RUN_FORCE_SLIDE", "1")]);
        problems.extend(diff_pair(
            &format!("relocations ({format})"),
            &a,
            &b,
            &allow,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // A 32-bit field cannot hold an address that slides: a clear error
    // naming the file and the place (lld 19 says "fixups overlap").
    let abs32 = assemble(
        &work,
        "abs32",
        "  .data\n  .globl _p32\n_p32:\n  .long _gdata + 4\n  .long L_x\nL_x:\n  .long 0\n",
    );
    let mut inputs = common.to_vec();
    inputs.push(abs32);
    let o = capture(testkit::machlink_command(&work.join("abs32")).args(&inputs));
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    for at in ["_p32+0x0", "_p32+0x4"] {
        assert!(
            o.stderr_str().contains(&format!(
                "abs32.o: 32-bit absolute address cannot be used in a position-independent \
                 image in symbol {at}"
            )),
            "{}",
            o.stderr_str()
        );
    }
}
