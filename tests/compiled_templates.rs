//! The default templates run compiled to Rust (build/compile_templates.rs); minijinja
//! renders them only for `--templates` overrides and `TACOSGEN_INTERPRET=1`. Both must write
//! the same bytes for every plan: here for the shipped environments and examples and for
//! synthetic specs of several sizes (every template, every branch they take).

#[path = "../benches/common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};

use tacosgen::Compiler;
use tacosgen::render::Templates;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Plans `spec` and renders it compiled only and with minijinja only; fails on any
/// difference, naming the file and the first differing line.
fn assert_same(root: &Path, spec: &Path) {
    let mut compiler = Compiler::new(root.to_path_buf(), None);
    let planned = compiler
        .plan(spec)
        .unwrap_or_else(|_| panic!("{} plans", spec.display()));
    let compiled = Templates::new(None).unwrap().compiled_only();
    let interpreted = Templates::new(None).unwrap().interpreted();
    let a = compiled
        .render(&planned.plan)
        .unwrap_or_else(|e| panic!("{}: {}", spec.display(), e.message));
    let b = interpreted.render(&planned.plan).unwrap();
    assert_eq!(a.len(), b.len(), "{}: file count", spec.display());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.path, y.path);
        if x.content != y.content {
            let (n, (l, r)) = x
                .content
                .lines()
                .zip(y.content.lines())
                .enumerate()
                .find(|(_, (l, r))| l != r)
                .unwrap_or((0, ("(length)", "(length)")));
            panic!(
                "{} {}: line {}: compiled {l:?}, minijinja {r:?}",
                spec.display(),
                x.path,
                n + 1
            );
        }
    }
    assert_eq!(
        compiled.render_capacity(&planned.plan).unwrap(),
        interpreted.render_capacity(&planned.plan).unwrap()
    );
}

#[test]
fn every_default_template_is_compiled() {
    let mut defaults: Vec<String> = std::fs::read_dir(repo().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".j2") && !n.starts_with('_'))
        .collect();
    defaults.sort();
    let compiled: Vec<&str> = tacosgen::compiled::names().collect();
    assert_eq!(
        compiled, defaults,
        "a template the build could not compile renders with minijinja: `cargo build` warns why"
    );
}

#[test]
fn compiled_templates_render_the_shipped_specs_as_minijinja_does() {
    let root = repo();
    for dir in ["environments", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && name != "base.yaml" {
                assert_same(&root, &path);
            }
        }
    }
}

#[test]
fn compiled_templates_render_synthetic_specs_as_minijinja_does() {
    for n in [1, 2, 9, 73, 250] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(".git")).unwrap();
        std::fs::create_dir_all(tmp.path().join("environments")).unwrap();
        let spec = tmp.path().join("environments/synth.yaml");
        std::fs::write(&spec, synth::spec(n)).unwrap();
        assert_same(tmp.path(), &spec);
    }
}
