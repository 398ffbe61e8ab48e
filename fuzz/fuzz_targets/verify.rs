//! Fuzzes the verify stage: whatever a template (or a `--templates` override) renders is
//! parsed back and checked, on the fast parser or its serde-saphyr fallback, without
//! panicking. Run with `cargo +nightly fuzz run verify` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tacosgen::render::OutputFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = [OutputFile {
        path: "fuzz.yaml".into(),
        content: text.to_string(),
        kubernetes: true,
    }];
    // `build` only checks; `diff` keeps every document.
    let _ = tacosgen::verify::check(&files, "fuzz");
    let _ = tacosgen::verify::verify(&files, "fuzz");
});
