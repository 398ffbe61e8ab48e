//! checkov (`--framework kubernetes`) over a fresh build of every environment: every failed
//! check must be listed, with its reason, in `.checkov-skips.yaml`, and every entry there must
//! still be needed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Skip {
    /// checkov's name of the check, for readers of the skip file.
    check: String,
    reason: String,
    /// `Kind/name` objects the skip is limited to; all objects when absent.
    #[serde(default)]
    resources: Option<Vec<String>>,
}

fn skips() -> BTreeMap<String, Skip> {
    let path = common::repo().join(".checkov-skips.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let skips: BTreeMap<String, Skip> = serde_saphyr::from_str(&text).unwrap();
    for (id, s) in &skips {
        assert!(
            s.reason.split_whitespace().count() >= 10 && !s.check.is_empty(),
            "{id}: a skip needs the check's name and a real reason"
        );
    }
    skips
}

/// checkov's resource id `Kind.namespace.name` as `Kind/name`.
fn kind_name(resource: &str) -> String {
    let mut parts = resource.splitn(3, '.');
    let kind = parts.next().unwrap_or("");
    let name = parts.last().unwrap_or("");
    format!("{kind}/{name}")
}

#[test]
fn checkov_reports_no_unexplained_failure_on_any_environment() {
    let out = common::build_all();
    let envs: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert!(envs.len() >= 3, "{envs:?}");
    let mut cmd = common::tools::command("checkov");
    cmd.args(["--framework", "kubernetes", "-o", "json", "--quiet"]);
    for env in &envs {
        cmd.arg("-d").arg(env);
    }
    let started = Instant::now();
    let output = cmd.output().unwrap();
    eprintln!(
        "checkov over {} environments: {:.1?}",
        envs.len(),
        started.elapsed()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    // One JSON report per directory, printed one after the other; each is a report or a list of
    // reports (one per framework).
    let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<serde_json::Value>()
        .map(|r| {
            r.unwrap_or_else(|e| {
                panic!(
                    "checkov printed no JSON ({e}):\n{stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })
        })
        .flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v]))
        .collect();
    assert_eq!(reports.len(), envs.len(), "one report per environment");
    let mut passed = 0;
    let mut failed: Vec<(String, String, String)> = Vec::new();
    for r in &reports {
        passed += r["summary"]["passed"].as_u64().unwrap_or(0);
        assert_eq!(
            r["summary"]["parsing_errors"], 0,
            "checkov could not parse a file"
        );
        for c in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed.push((
                c["check_id"].as_str().unwrap_or("?").to_string(),
                c["resource"].as_str().unwrap_or("?").to_string(),
                c["file_path"].as_str().unwrap_or("?").to_string(),
            ));
        }
    }
    assert!(
        passed > 100,
        "checkov ran only {passed} passing checks: did it scan anything?"
    );

    let skips = skips();
    let mut used = BTreeSet::new();
    let unexplained: Vec<_> = failed
        .iter()
        .filter(|(id, resource, _)| {
            let covered = skips.get(id).is_some_and(|s| {
                s.resources
                    .as_ref()
                    .is_none_or(|rs| rs.contains(&kind_name(resource)))
            });
            if covered {
                used.insert(id.clone());
            }
            !covered
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "checkov failures not in .checkov-skips.yaml (fix the template, or add the check with its reason):\n{unexplained:#?}"
    );
    let stale: Vec<_> = skips.keys().filter(|id| !used.contains(*id)).collect();
    assert!(
        stale.is_empty(),
        "stale entries in .checkov-skips.yaml (the check passes now; remove them): {stale:?}"
    );
}
