//! The `tacosgen` binary: parse arguments, run, exit with the command's code.

fn main() {
    tacosgen::heap::prepare();
    // A panic is a bug: report it briefly and exit 2 like any other failure (never 101, and
    // never an abort signal with the release profile's `panic = "abort"`).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (a bug in tacosgen, please report it): {info}");
        std::process::exit(2);
    }));
    std::process::exit(tacosgen::cli::main());
}
