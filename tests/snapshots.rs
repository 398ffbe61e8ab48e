//! Snapshot of every file `tacosgen build environments/prod.yaml` renders, so a template or
//! planner change shows up as a reviewable diff of the real output.

use std::path::{Path, PathBuf};

use tacosgen::Compiler;

#[test]
fn prod_output_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(&root).unwrap();
    let mut compiler = Compiler::new(root.clone(), None);
    let compiled = compiler
        .compile(Path::new("environments/prod.yaml"))
        .expect("prod compiles");
    let names: Vec<&str> = compiled.files.iter().map(|f| f.path.as_str()).collect();
    insta::assert_yaml_snapshot!("prod_file_list", names);
    for file in &compiled.files {
        let name = format!("prod__{}", file.path.replace(['/', '.'], "_"));
        insta::assert_snapshot!(name, file.content);
    }
}
