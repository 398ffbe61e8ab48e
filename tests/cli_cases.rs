//! CLI cases in the trycmd style: `tests/cmd/*.md` are literate transcripts (`$ command`, then
//! its stdout and stderr; `? N` is the exit code; `...` elides lines, `[..]` part of a line).
//! A case with a `<name>.out/` directory runs all its commands in one fresh temporary directory
//! and then checks the files listed there. Refresh after an intended change with
//! `TRYCMD=overwrite cargo test --test cli_cases` and review the diff.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin(
            "tacosgen",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_tacosgen")),
        )
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.md");
}
