//! Criterion benchmarks of each pipeline stage (load, validate, plan, render, verify, emit)
//! for the seed (`environments/prod.yaml`, 4 services) and synthetic specs of 100 and 1,000
//! services. `cargo bench --bench pipeline`; pass a filter to run some, e.g.
//! `cargo bench --bench pipeline -- verify/1000`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tacosgen::error::Sources;
use tacosgen::render::Templates;
use tacosgen::{emit, load, plan, validate, verify};

/// A spec to benchmark: its path and the root that confines `extends`.
struct Case {
    name: String,
    root: PathBuf,
    spec: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn cases() -> Vec<Case> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let mut cases = vec![Case {
        name: "4".into(),
        spec: repo.join("environments/prod.yaml"),
        root: repo,
        _dir: None,
    }];
    for n in [100, 1000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = dir.path().join("environments/synth.yaml");
        std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
        std::fs::write(&spec, common::synth::spec(n)).unwrap();
        cases.push(Case {
            name: n.to_string(),
            root: dir.path().to_path_buf(),
            spec,
            _dir: Some(dir),
        });
    }
    cases
}

fn stages(c: &mut Criterion) {
    let templates = Templates::new(None).expect("embedded templates");
    let interpreted = Templates::new(None)
        .expect("embedded templates")
        .interpreted();
    // A fresh environment's first render of the seed, against `render/4`: what starting up
    // costs (the default templates run compiled; nothing is parsed since step 35).
    let cases = cases();
    let seed_plan = {
        let seed = &cases[0];
        let loaded = load::load(&seed.spec, &seed.root, &mut Sources::default()).unwrap();
        Arc::new(plan::plan(
            &validate::validate(&loaded).unwrap(),
            &loaded.display_path,
        ))
    };
    c.bench_function("startup/first-render/4", |b| {
        b.iter(|| Templates::new(None).unwrap().render(&seed_plan).unwrap())
    });
    for case in cases {
        let load = || load::load(&case.spec, &case.root, &mut Sources::default()).unwrap();
        let loaded = load();
        let spec = validate::validate(&loaded).unwrap();
        let plan = Arc::new(plan::plan(&spec, &loaded.display_path));
        let files = templates.render(&plan).unwrap();
        let n = &case.name;

        c.bench_function(&format!("load/{n}"), |b| b.iter(load));
        c.bench_function(&format!("validate/{n}"), |b| {
            b.iter(|| validate::validate(&loaded).unwrap())
        });
        c.bench_function(&format!("plan/{n}"), |b| {
            b.iter(|| plan::plan(&spec, &loaded.display_path))
        });
        c.bench_function(&format!("render/{n}"), |b| {
            b.iter(|| templates.render(&plan).unwrap())
        });
        // The same templates in minijinja's interpreter (`TACOSGEN_INTERPRET=1`), as before
        // step 35 and as `--templates` overrides run.
        c.bench_function(&format!("render-interpreted/{n}"), |b| {
            b.iter(|| interpreted.render(&plan).unwrap())
        });
        // What diff and a check with differences do: every parsed document kept as JSON.
        c.bench_function(&format!("verify/{n}"), |b| {
            b.iter(|| verify::verify(&files, &plan.namespace).unwrap())
        });
        // What build and an up-to-date check do: every document checked, none kept.
        c.bench_function(&format!("verify-check/{n}"), |b| {
            b.iter(|| verify::check(&files, &plan.namespace).unwrap())
        });
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("synth");
        c.bench_function(&format!("emit/{n}"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&dir);
                },
                |()| emit::emit(&dir, &files).unwrap(),
                BatchSize::PerIteration,
            )
        });
        c.bench_function(&format!("emit-unchanged/{n}"), |b| {
            b.iter(|| emit::emit(&dir, &files).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    // Short by default: the stages take micro- to milliseconds and are stable enough.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = stages
}
criterion_main!(benches);
