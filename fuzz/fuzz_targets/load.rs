//! Fuzzes the loader and validator: any text parses into a located tree or a located error,
//! and a tree validates or yields errors, without panicking or hanging (the YAML budgets bound
//! the work). Run with `cargo +nightly fuzz run load` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tacosgen::error::Sources;
use tacosgen::load::{self, Loaded};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let file = sources.add("fuzz.yaml".into(), text.to_string());
    match load::parse(sources.text(file), file) {
        Ok(tree) => {
            let loaded = Loaded {
                tree,
                display_path: "fuzz.yaml".into(),
            };
            if let Err(errors) = tacosgen::validate::validate(&loaded) {
                for e in errors {
                    let _ = e.render(&sources, false);
                }
            }
        }
        Err(e) => {
            let _ = e.render(&sources, false);
        }
    }
});
