//! `cargo run --release -p testkit --example semdiff -- OURS REFERENCE`:
//! prints the semantic differences between two linked Mach-O files.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ours, reference] = args.as_slice() else {
        eprintln!("usage: semdiff MACHLINK_OUTPUT LLD_OUTPUT");
        std::process::exit(2);
    };
    match testkit::semantic_diff::compare_files(ours.as_ref(), reference.as_ref()) {
        Ok(c) => {
            print!("{}", c.report(&[]));
            println!("{} differences", c.differences.len());
        }
        Err(e) => {
            eprintln!("semdiff: {e}");
            std::process::exit(1);
        }
    }
}
