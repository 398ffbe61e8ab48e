//! Every loader limit, at its boundary: spec size, nesting depth (also through aliases), alias
//! expansion and count, `extends` chain length and cycles, and confinement to the repository
//! (relative escapes, absolute paths, symlinks).

use std::fs;
use std::path::{Path, PathBuf};

use tacosgen::error::{Error, FileId, Sources};
use tacosgen::load::{self, MAX_ALIASES, MAX_DEPTH, MAX_EXTENDS, MAX_NODES, MAX_SPEC_BYTES};

/// A scratch repository (a directory with `.git`) and the loader confined to it.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".git")).unwrap();
        Repo { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.root().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
    fn load(&self, path: &Path) -> Result<load::Loaded, Error> {
        load::load(path, &self.root(), &mut Sources::default())
    }
}

fn parse(text: &str) -> Result<load::Node, Error> {
    load::parse(text, FileId(0))
}

/// `maps` nested flow mappings around `1`.
fn nested(maps: usize) -> String {
    format!("{}1{}", "{a: ".repeat(maps), "}".repeat(maps))
}

#[test]
fn size_limit_is_exactly_one_mebibyte() {
    let repo = Repo::new();
    let pad = |n: u64| {
        let mut t = String::from("environment: x\n");
        while (t.len() as u64) < n {
            t.push_str(&"#".repeat((n as usize - t.len()).min(80)));
            t.push('\n');
        }
        t.truncate(n as usize - 1);
        t.push('\n');
        t
    };
    let at_limit = repo.write("at.yaml", &pad(MAX_SPEC_BYTES));
    assert_eq!(fs::metadata(&at_limit).unwrap().len(), MAX_SPEC_BYTES);
    repo.load(&at_limit).expect("a spec of exactly 1 MiB loads");
    let over = repo.write("over.yaml", &pad(MAX_SPEC_BYTES + 1));
    let e = repo.load(&over).unwrap_err();
    assert!(e.message.contains("at most 1048576 bytes"), "{}", e.message);
}

#[test]
fn nesting_depth_is_limited_also_through_aliases() {
    // The top-level mapping is level 1.
    parse(&format!("a: {}\n", nested(MAX_DEPTH - 1))).expect("32 levels parse");
    let e = parse(&format!("a: {}\n", nested(MAX_DEPTH))).unwrap_err();
    assert!(e.message.contains("deeper than 32 levels"), "{}", e.message);
    assert_eq!(e.loc.map(|l| l.line), Some(1));
    // An alias replays its anchor's levels under the alias's own depth.
    let half = MAX_DEPTH / 2 + 1; // 1 + 17 + 17 levels once the alias is expanded
    let text = format!(
        "anchor: &deep {}\nuse: {}\n",
        nested(half),
        nested(half).replacen('1', "*deep", 1)
    );
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("deeper than 32 levels"), "{}", e.message);
}

#[test]
fn alias_expansion_and_alias_count_are_bounded() {
    // Ten aliases of a ten-element list nine times over: 10^9 nodes if expanded.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='j' {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = name;
    }
    let e = parse(&bomb).unwrap_err();
    assert!(
        e.message.contains(&format!("more than {MAX_NODES} values")),
        "{}",
        e.message
    );
    // Ordinary reuse is fine.
    parse("base: &b {cpu: 1}\nx: *b\ny: *b\n").expect("a few aliases");
    let many = format!("s: &s 1\nl: [{}]\n", vec!["*s"; MAX_ALIASES + 1].join(", "));
    let e = parse(&many).unwrap_err();
    assert!(
        e.message
            .contains(&format!("more than {MAX_ALIASES} aliases")),
        "{}",
        e.message
    );
}

#[test]
fn extends_chain_is_limited_to_eight_files() {
    let repo = Repo::new();
    let chain = |n: usize| {
        for i in 0..n {
            let next = if i + 1 < n {
                format!("extends: f{}.yaml\n", i + 1)
            } else {
                String::new()
            };
            repo.write(&format!("f{i}.yaml"), &format!("{next}k{i}: {i}\n"));
        }
        repo.root().join("f0.yaml")
    };
    let loaded = repo.load(&chain(MAX_EXTENDS)).expect("8 files load");
    assert_eq!(
        loaded.tree.get("k7").map(|n| n.to_json()),
        Some(serde_json::json!(7)),
        "the last base is merged"
    );
    let e = repo.load(&chain(MAX_EXTENDS + 1)).unwrap_err();
    assert!(e.message.contains("longer than 8 files"), "{}", e.message);
    assert!(
        e.help.iter().any(|h| h.contains("f0.yaml -> f1.yaml")),
        "{:?}",
        e.help
    );
}

#[test]
fn extends_cycles_are_refused_with_the_chain() {
    let repo = Repo::new();
    let a = repo.write("a.yaml", "extends: b.yaml\n");
    repo.write("b.yaml", "extends: c.yaml\n");
    repo.write("c.yaml", "extends: a.yaml\n");
    let e = repo.load(&a).unwrap_err();
    assert!(e.message.contains("cycle"), "{}", e.message);
    assert!(
        e.help
            .iter()
            .any(|h| h.contains("a.yaml -> b.yaml -> c.yaml -> a.yaml")),
        "{:?}",
        e.help
    );
    let own = repo.write("self.yaml", "extends: self.yaml\n");
    assert!(repo.load(&own).unwrap_err().message.contains("cycle"));
}

#[test]
fn extends_stays_inside_the_repository() {
    let outer = tempfile::tempdir().unwrap();
    let secret = outer.path().join("secret.yaml");
    fs::write(&secret, "environment: leaked\n").unwrap();
    let repo_dir = outer.path().join("repo");
    fs::create_dir_all(repo_dir.join(".git")).unwrap();
    let root = repo_dir.canonicalize().unwrap();
    let load = |name: &str, text: &str| {
        let p = root.join(name);
        fs::write(&p, text).unwrap();
        load::load(&p, &root, &mut Sources::default()).unwrap_err()
    };
    for (name, text) in [
        ("up.yaml", "extends: ../secret.yaml\n".to_string()),
        ("abs.yaml", format!("extends: {}\n", secret.display())),
    ] {
        let e = load(name, &text);
        assert!(
            e.message.contains("outside the repository"),
            "{name}: {}",
            e.message
        );
        assert_eq!(e.path.as_deref(), Some("extends"));
    }
    // A symlink inside the repository that points out of it is followed, then refused.
    std::os::unix::fs::symlink(&secret, root.join("link.yaml")).unwrap();
    let e = load("via-link.yaml", "extends: link.yaml\n");
    assert!(
        e.message.contains("outside the repository"),
        "{}",
        e.message
    );
    // The spec named on the command line must be inside the repository too.
    let e = load::load(&secret, &root, &mut Sources::default()).unwrap_err();
    assert!(
        e.message.contains("outside the repository"),
        "{}",
        e.message
    );
}
