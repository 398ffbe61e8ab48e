//! The `tacosgen` binary: parse arguments, run, exit with the command's code.

fn main() {
    // A panic is a bug; report it briefly and exit 2 like any other failure, never with the
    // Rust default of 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (a bug in tacosgen, please report it): {info}");
    }));
    let code = std::panic::catch_unwind(tacosgen::cli::main).unwrap_or(2);
    std::process::exit(code);
}
