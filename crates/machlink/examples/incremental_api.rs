//! The incremental engine from Rust, as a compiler backend would use it:
//! machine code in memory, no object files, no C compiler.
//!
//! Builds a three-function program, runs it under macho-run, grows one
//! function past its slot, flushes, and runs it again.
//!
//!     cargo run --release -p machlink --example incremental_api

use machlink::image::{write_minimal_sdk, ImageConfig, IncrementalImage, Reloc, RelocKind};

fn call(offset: u32, target: &str) -> Reloc {
    Reloc {
        offset,
        kind: RelocKind::Call,
        target: target.into(),
        addend: 0,
    }
}

/// `int compute(void) { return 42; }`
const COMPUTE_V1: &[u8] = &[0xb8, 42, 0, 0, 0, 0xc3];

/// `int compute(void) { int s = 0; for (int i = 1; i <= 10; i++) s += i;
/// return s * 3 + 14; }`, written out long enough to outgrow its slot.
const COMPUTE_V2: &[u8] = &[
    0x31, 0xc0, // xor eax, eax
    0xb9, 1, 0, 0, 0, // mov ecx, 1
    0x01, 0xc8, // loop: add eax, ecx
    0xff, 0xc1, // inc ecx
    0x83, 0xf9, 11, // cmp ecx, 11
    0x75, 0xf7, // jne loop
    0x6b, 0xc0, 3, // imul eax, eax, 3
    0x83, 0xc0, 7, // add eax, 7
    0x83, 0xc0, 1, // add eax, 1 (seven times)
    0x83, 0xc0, 1, 0x83, 0xc0, 1, 0x83, 0xc0, 1, 0x83, 0xc0, 1, 0x83, 0xc0, 1, 0x83, 0xc0, 1,
    0xc3, // ret
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("machlink-api-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sdk = dir.join("sdk");
    write_minimal_sdk(&sdk)?;
    let exe = dir.join("prog");
    let mut image = IncrementalImage::create(&exe, ImageConfig::new(&sdk))?;

    // int main(void) { report(); return 0; }
    image.define_function(
        "main",
        "_main",
        &[
            0x55, 0x48, 0x89, 0xe5, // push rbp; mov rbp, rsp
            0xe8, 0, 0, 0, 0, // call _report
            0x31, 0xc0, // xor eax, eax
            0x5d, 0xc3, // pop rbp; ret
        ],
        &[call(5, "_report")],
    );
    // void report(void) { printf("compute() = %d\n", compute()); }
    image.define_cstring("lib", "_format", "compute() = %d\n");
    image.define_function(
        "lib",
        "_report",
        &[
            0x55, 0x48, 0x89, 0xe5, // push rbp; mov rbp, rsp
            0xe8, 0, 0, 0, 0, // call _compute
            0x89, 0xc6, // mov esi, eax
            0x48, 0x8d, 0x3d, 0, 0, 0, 0, // lea rdi, [rip + _format]
            0x31, 0xc0, // xor eax, eax
            0xe8, 0, 0, 0, 0, // call _printf
            0x5d, 0xc3, // pop rbp; ret
        ],
        &[
            call(5, "_compute"),
            Reloc {
                offset: 14,
                kind: RelocKind::PcRel32,
                target: "_format".into(),
                addend: 0,
            },
            call(21, "_printf"),
        ],
    );
    image.define_function("compute", "_compute", COMPUTE_V1, &[]);

    let stats = image.flush()?;
    println!("flush 1: {}", stats.incremental.unwrap_or_default());
    let status = macho_run::run_file_in_child(&exe, &[])?;
    println!("  (exit status {status})");

    image.define_function("compute", "_compute", COMPUTE_V2, &[]);
    let stats = image.flush()?;
    println!("flush 2: {}", stats.incremental.unwrap_or_default());
    let status = macho_run::run_file_in_child(&exe, &[])?;
    println!("  (exit status {status})");

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
