//! The Argo CD Config Management Plugin contract (research notes, domain.md §2): the real
//! binary run the way argocd-cmp-server runs it, and the deploy/argocd/ files checked against
//! what Argo CD and the API server accept.

// Only the tool locator: tests/common/mod.rs is not on this branch's base.
#[path = "common/tools.rs"]
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deploy() -> PathBuf {
    repo().join("deploy").join("argocd")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("YAML does not parse: {e}\n{text}"))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v}"))
}

/// The environments with committed output (out/<env>/).
fn environments() -> Vec<String> {
    let mut envs: Vec<String> = std::fs::read_dir(repo().join("out"))
        .expect("out/ exists")
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    envs.sort();
    assert!(!envs.is_empty(), "no committed out/<env>/");
    envs
}

/// A fresh copy of the application path (the repository root: it holds environments/), as
/// the repo-server streams it to the sidecar; no .git, no out/.
fn app_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("environments");
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(repo().join("environments")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    dir
}

/// plugin.yaml's generate command, with `tacosgen` resolved to the binary under test.
fn generate_command() -> Command {
    let plugin = yaml(&read(&deploy().join("plugin.yaml")));
    let argv: Vec<String> = plugin
        .pointer("/spec/generate/command")
        .and_then(Value::as_array)
        .expect("spec.generate.command is a list")
        .iter()
        .chain(
            plugin
                .pointer("/spec/generate/args")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(|v| v.as_str().expect("command items are strings").to_owned())
        .collect();
    assert_eq!(argv[0], "tacosgen", "the image puts tacosgen on PATH");
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tacosgen"));
    cmd.args(&argv[1..]);
    cmd
}

/// Runs the plugin as argocd-cmp-server does: in the app path, with nothing but the build
/// environment and the given parameter variables.
fn cmp(dir: &Path, vars: &[(&str, &str)]) -> Output {
    let mut cmd = generate_command();
    cmd.current_dir(dir)
        .env_clear()
        .env("ARGOCD_APP_NAME", "tacos")
        .env("ARGOCD_APP_NAMESPACE", "tacos-app")
        .env(
            "ARGOCD_APP_REVISION",
            "0123456789abcdef0123456789abcdef01234567",
        )
        .env("KUBE_VERSION", "1.33.4");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run tacosgen")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Splits a stream as Argo CD's YAML reader does: at `---` lines; documents that are empty or
/// only comments decode to null and are skipped.
fn split_like_argo(stream: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in stream.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            docs.last_mut().unwrap().push_str(line);
        }
    }
    docs.retain(|d| {
        d.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    });
    docs
}

/// Parses every document and checks it is an object Argo CD can apply.
fn objects(stream: &str) -> Vec<Value> {
    let docs = split_like_argo(stream);
    assert!(!docs.is_empty(), "no documents in:\n{stream}");
    docs.iter()
        .map(|d| {
            let v = yaml(d);
            for field in ["/apiVersion", "/kind", "/metadata/name"] {
                assert!(
                    v.pointer(field)
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty()),
                    "document without {field}:\n{d}"
                );
            }
            v
        })
        .collect()
}

/// The Kubernetes objects committed in out/<env>/: the files its kustomization.yaml lists.
fn committed_objects(env: &str) -> Vec<Value> {
    let dir = repo().join("out").join(env);
    let kustomization = yaml(&read(&dir.join("kustomization.yaml")));
    let resources = kustomization["resources"].as_array().expect("resources");
    assert!(!resources.is_empty());
    resources
        .iter()
        .flat_map(|r| objects(&read(&dir.join(r.as_str().unwrap()))))
        .collect()
}

fn identity(v: &Value) -> String {
    let ns = v.pointer("/metadata/namespace").and_then(Value::as_str);
    format!(
        "{} {} {}/{}",
        str_at(v, "/apiVersion"),
        str_at(v, "/kind"),
        ns.unwrap_or(""),
        str_at(v, "/metadata/name")
    )
}

/// Compares two object sets by value (not text), naming the objects that differ.
fn assert_same_objects(got: Vec<Value>, want: Vec<Value>, what: &str) {
    let key = |v: &Value| serde_json::to_string(v).unwrap();
    let got_set: BTreeSet<String> = got.iter().map(key).collect();
    let want_set: BTreeSet<String> = want.iter().map(key).collect();
    assert_eq!(
        got.len(),
        got_set.len(),
        "{what}: duplicate objects printed"
    );
    let ids = |set: &BTreeSet<String>, other: &BTreeSet<String>| -> Vec<String> {
        set.difference(other)
            .map(|s| identity(&serde_json::from_str(s).unwrap()))
            .collect()
    };
    assert!(
        got_set == want_set,
        "{what}: printed but not committed (or different): {:?}; committed but not printed: {:?}",
        ids(&got_set, &want_set),
        ids(&want_set, &got_set)
    );
}

/// The failure contract: non-zero `code`, nothing on stdout, one plain stderr line that names
/// the problem and no temporary path.
fn assert_one_line_failure(out: &Output, code: i32, dir: &Path, expect: &str) -> String {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty on failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "one stderr line: {stderr}");
    assert!(stderr.starts_with("tacosgen: "), "{stderr}");
    assert!(!stderr.contains('\x1b'), "no colour: {stderr:?}");
    assert!(
        !stderr.contains(&*dir.to_string_lossy()),
        "no temporary path (errors are cached per revision): {stderr}"
    );
    assert!(stderr.contains(expect), "expected {expect:?} in: {stderr}");
    stderr
}

#[test]
fn generate_prints_exactly_the_committed_kubernetes_objects() {
    for env in environments() {
        let dir = app_copy();
        let stream = stdout(&cmp(dir.path(), &[("ARGOCD_ENV_TACOSGEN_ENV", &env)]));
        assert!(
            stream.starts_with("# Generated by tacosgen from "),
            "{env}: header first"
        );
        let got = objects(&stream);
        for v in &got {
            // Redis configs travel inside their ConfigMap; no other kind of file may leak in.
            assert_ne!(str_at(v, "/kind"), "Kustomization", "{env}");
        }
        assert_same_objects(got, committed_objects(&env), &env);
    }
}

#[test]
fn output_is_a_pure_function_of_the_repository_and_parameters() {
    let env = &environments()[0];
    let (a, b) = (app_copy(), app_copy());
    let first = cmp(a.path(), &[("ARGOCD_ENV_TACOSGEN_ENV", env)]);
    // Another temporary copy, another revision and cluster version: the same bytes.
    let mut cmd = generate_command();
    let second = cmd
        .current_dir(b.path())
        .env_clear()
        .env("ARGOCD_APP_NAME", "other")
        .env("ARGOCD_APP_NAMESPACE", "elsewhere")
        .env(
            "ARGOCD_APP_REVISION",
            "fedcba9876543210fedcba9876543210fedcba98",
        )
        .env("KUBE_VERSION", "1.31.0")
        .env("ARGOCD_ENV_TACOSGEN_ENV", env)
        .output()
        .unwrap();
    assert_eq!(stdout(&first), stdout(&second));
    assert_eq!(first.stderr, second.stderr);
}

#[test]
fn every_way_of_naming_the_environment_gives_the_same_stream() {
    let dir = app_copy();
    let env = environments().last().unwrap().clone();
    let json = serde_json::json!([{"name": "environment", "string": env}]).to_string();
    let by_env = stdout(&cmp(dir.path(), &[("ARGOCD_ENV_TACOSGEN_ENV", &env)]));
    // What Argo CD sends for `parameters: [{name: environment, string: <env>}]`: both forms.
    let by_param = stdout(&cmp(
        dir.path(),
        &[
            ("PARAM_ENVIRONMENT", &env),
            ("ARGOCD_APP_PARAMETERS", &json),
        ],
    ));
    let by_json = stdout(&cmp(dir.path(), &[("ARGOCD_APP_PARAMETERS", &json)]));
    let by_arg = stdout(
        &Command::new(assert_cmd::cargo::cargo_bin!("tacosgen"))
            .current_dir(dir.path())
            .env_clear()
            .args(["generate", &env])
            .output()
            .unwrap(),
    );
    let by_path = stdout(
        &Command::new(assert_cmd::cargo::cargo_bin!("tacosgen"))
            .current_dir(dir.path())
            .env_clear()
            .args(["generate", &format!("environments/{env}.yaml")])
            .output()
            .unwrap(),
    );
    for (how, s) in [
        ("parameter", &by_param),
        ("JSON", &by_json),
        ("argument", &by_arg),
        ("path", &by_path),
    ] {
        assert_eq!(s, &by_env, "{how}");
    }
}

#[test]
fn the_parameter_wins_over_the_plugin_env() {
    let envs = environments();
    assert!(envs.len() >= 2, "needs two environments");
    let dir = app_copy();
    let chosen = cmp(
        dir.path(),
        &[
            ("PARAM_ENVIRONMENT", &envs[0]),
            ("ARGOCD_ENV_TACOSGEN_ENV", &envs[1]),
        ],
    );
    let only = cmp(dir.path(), &[("ARGOCD_ENV_TACOSGEN_ENV", &envs[0])]);
    assert_eq!(stdout(&chosen), stdout(&only));
}

#[test]
fn failures_print_one_line_and_nothing_on_stdout() {
    let dir = app_copy();
    let envs = dir.path().join("environments");
    std::fs::write(
        envs.join("typo.yaml"),
        "extends: dev.yaml\nslo:\n  targetRPS: 5\n",
    )
    .unwrap();
    std::fs::write(envs.join("badyaml.yaml"), "slo: [\n").unwrap();
    std::fs::write(
        envs.join("planfail.yaml"),
        "extends: dev.yaml\nservices:\n  gateway-api:\n    placement:\n      nodePool: nowhere\n",
    )
    .unwrap();
    let p = dir.path();
    const ENV: &str = "ARGOCD_ENV_TACOSGEN_ENV";
    // (variable, value, exit code, expected part of the line); no variable = nothing set.
    let cases = [
        ("", "", 2, "no environment given"),
        (ENV, "", 2, "no environment given"),
        (ENV, "nope", 2, "unknown environment \"nope\""),
        (ENV, "base", 2, "names a base spec"),
        (ENV, "../out", 2, "DNS-1123"),
        ("PARAM_ENVIRONMENT", "prod/../../etc", 2, "DNS-1123"),
        (ENV, "Prod", 2, "DNS-1123"),
        (
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"environment","array":["prod"]}]"#,
            2,
            "must be a string",
        ),
        (
            "ARGOCD_APP_PARAMETERS",
            "not json",
            2,
            "ARGOCD_APP_PARAMETERS is not a JSON array",
        ),
        (ENV, "typo", 2, "environments/typo.yaml:3:3: slo.targetRPS"),
        (ENV, "badyaml", 2, "environments/badyaml.yaml:1:"),
        (
            ENV,
            "planfail",
            1,
            "environments/planfail.yaml:5:17: services.gateway-api.placement.nodePool",
        ),
    ];
    for (var, value, code, expect) in cases {
        let vars: &[(&str, &str)] = if var.is_empty() { &[] } else { &[(var, value)] };
        assert_one_line_failure(&cmp(p, vars), code, p, expect);
    }
    // Every environment is listed, so the message says how to fix it.
    let out = cmp(p, &[]);
    let line = assert_one_line_failure(&out, 2, p, "environments: ");
    for env in environments() {
        assert!(line.contains(&env), "{line}");
    }
}

#[test]
fn a_missing_environments_directory_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmp(dir.path(), &[("PARAM_ENVIRONMENT", "prod")]);
    assert_one_line_failure(&out, 2, dir.path(), "no environments/*.yaml here");
}

// ---------------------------------------------------------------- deploy/argocd/

fn deploy_yaml(name: &str) -> Value {
    yaml(&read(&deploy().join(name)))
}

fn plugin() -> Value {
    deploy_yaml("plugin.yaml")
}

/// The name Applications must use: `<name>-<version>` when spec.version is set.
fn plugin_name(plugin: &Value) -> String {
    let name = str_at(plugin, "/metadata/name");
    match plugin.pointer("/spec/version").and_then(Value::as_str) {
        Some(v) if !v.is_empty() => format!("{name}-{v}"),
        _ => name.to_owned(),
    }
}

#[test]
fn plugin_yaml_has_the_fields_argocd_cmp_server_requires() {
    let p = plugin();
    assert_eq!(str_at(&p, "/apiVersion"), "argoproj.io/v1alpha1");
    assert_eq!(str_at(&p, "/kind"), "ConfigManagementPlugin");
    assert!(!str_at(&p, "/metadata/name").is_empty());
    let command = p
        .pointer("/spec/generate/command")
        .and_then(Value::as_array);
    assert!(command.is_some_and(|c| !c.is_empty() && c.iter().all(Value::is_string)));
    let spec = p["spec"].as_object().unwrap();
    let known = [
        "version",
        "init",
        "generate",
        "discover",
        "parameters",
        "preserveFileMode",
        "provideGitCreds",
    ];
    for key in spec.keys() {
        assert!(known.contains(&key.as_str()), "unknown spec.{key}");
    }
    // Discovery stays cheap: one fileName glob (no find command), and it matches this repo.
    let discover = p.pointer("/spec/discover").and_then(Value::as_object);
    if let Some(d) = discover {
        assert_eq!(d.keys().collect::<Vec<_>>(), ["fileName"], "only fileName");
        let glob = d["fileName"].as_str().unwrap();
        let (dir, pattern) = glob.trim_start_matches("./").rsplit_once('/').unwrap();
        let suffix = pattern.strip_prefix('*').expect("a `*<suffix>` pattern");
        let matches = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(suffix)
            })
            .count();
        assert!(matches > 0, "{glob} matches nothing in the repository");
    }
    // Parameters: static announcements with the documented fields; `environment` is a string.
    let statics = p
        .pointer("/spec/parameters/static")
        .and_then(Value::as_array)
        .expect("static parameters");
    let fields = [
        "name",
        "title",
        "tooltip",
        "required",
        "itemType",
        "collectionType",
        "string",
        "array",
        "map",
    ];
    for s in statics {
        for key in s.as_object().unwrap().keys() {
            assert!(
                fields.contains(&key.as_str()),
                "unknown parameter field {key}"
            );
        }
        assert!(!str_at(s, "/name").is_empty());
        if let Some(c) = s.get("collectionType") {
            assert!(["string", "array", "map"].contains(&c.as_str().unwrap()));
        }
    }
    let env = statics
        .iter()
        .find(|s| s["name"] == "environment")
        .expect("`environment` announced");
    assert_eq!(env["collectionType"], "string");
}

#[test]
fn the_configmap_holds_plugin_yaml_verbatim() {
    let cm = deploy_yaml("cmp-configmap.yaml");
    assert_eq!(str_at(&cm, "/kind"), "ConfigMap");
    assert_eq!(
        str_at(&cm, "/data/plugin.yaml"),
        read(&deploy().join("plugin.yaml"))
    );
}

#[test]
fn the_sidecar_patch_gives_argocd_cmp_server_what_it_needs() {
    let patch = deploy_yaml("repo-server-patch.yaml");
    assert_eq!(str_at(&patch, "/kind"), "Deployment");
    assert_eq!(str_at(&patch, "/metadata/name"), "argocd-repo-server");
    let containers = patch
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(containers.len(), 1, "only the sidecar");
    let c = &containers[0];
    assert_eq!(
        c["command"],
        serde_json::json!(["/var/run/argocd/argocd-cmp-server"])
    );
    assert_eq!(
        c.pointer("/securityContext/runAsNonRoot"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        c.pointer("/securityContext/runAsUser"),
        Some(&Value::from(999))
    );
    let volumes = patch
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .unwrap();
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name);
    let mounts = c["volumeMounts"].as_array().unwrap();
    let mount = |path: &str| {
        mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("no mount at {path}"))
    };
    // The stock repo-server's emptyDirs: the cmp-server binary and the plugin sockets.
    assert_eq!(mount("/var/run/argocd")["name"], "var-files");
    assert_eq!(mount("/home/argocd/cmp-server/plugins")["name"], "plugins");
    // plugin.yaml from the ConfigMap, by subPath.
    let config = mount("/home/argocd/cmp-server/config/plugin.yaml");
    assert_eq!(config["subPath"], "plugin.yaml");
    let cm_name = str_at(&deploy_yaml("cmp-configmap.yaml"), "/metadata/name").to_owned();
    let config_volume = volume(config["name"].as_str().unwrap()).expect("config volume");
    assert_eq!(
        config_volume.pointer("/configMap/name"),
        Some(&Value::from(cm_name))
    );
    // Its own /tmp: an emptyDir declared here, not the repo-server's `tmp`.
    let tmp = mount("/tmp")["name"].as_str().unwrap();
    assert_ne!(tmp, "tmp");
    assert!(volume(tmp).expect("tmp volume").get("emptyDir").is_some());
}

#[test]
fn the_kustomization_refers_to_files_that_exist() {
    let k = deploy_yaml("kustomization.yaml");
    assert_eq!(str_at(&k, "/kind"), "Kustomization");
    let local = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .filter(|r| !r.contains("://"))
        .chain(
            k["patches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| str_at(p, "/path")),
        );
    let mut names = Vec::new();
    for file in local {
        assert!(deploy().join(file).is_file(), "{file} does not exist");
        names.push(file.to_owned());
    }
    assert!(names.contains(&"cmp-configmap.yaml".to_owned()));
    assert!(names.contains(&"repo-server-patch.yaml".to_owned()));
    // The image placeholder of the patch is what `images:` rewrites.
    let patch = deploy_yaml("repo-server-patch.yaml");
    let image = str_at(&patch, "/spec/template/spec/containers/0/image");
    assert!(
        k["images"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == image)
    );
}

/// The fields the example Applications use, typed after Argo CD's
/// `pkg/apis/application/v1alpha1/types.go`; unknown fields are typos. Some fields are only
/// type-checked, never read (`allow(dead_code)`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Application {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: AppSpec,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
    namespace: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppSpec {
    project: String,
    source: Source,
    destination: Destination,
    #[allow(dead_code)]
    sync_policy: Option<SyncPolicy>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Source {
    #[serde(rename = "repoURL")]
    repo_url: String,
    target_revision: String,
    path: String,
    plugin: PluginSource,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginSource {
    name: String,
    #[serde(default)]
    env: Vec<NameValue>,
    #[serde(default)]
    parameters: Vec<Parameter>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameValue {
    name: String,
    value: String,
}
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Parameter {
    name: String,
    string: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Destination {
    server: String,
    namespace: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct SyncPolicy {
    automated: Option<Automated>,
    #[serde(default)]
    sync_options: Vec<String>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Automated {
    prune: bool,
    self_heal: bool,
}

fn applications() -> Vec<(String, Application)> {
    let mut apps: Vec<(String, Application)> = std::fs::read_dir(deploy())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| str_at(&yaml(&read(p)), "/kind") == "Application")
        .map(|p| {
            let app = serde_saphyr::from_str(&read(&p))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), app)
        })
        .collect();
    apps.sort_by(|a, b| a.0.cmp(&b.0));
    apps
}

#[test]
fn each_example_application_deploys_its_environment_through_the_plugin() {
    let apps = applications();
    let plugin = plugin();
    let announced: Vec<&str> = plugin
        .pointer("/spec/parameters/static")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|s| str_at(s, "/name"))
        .collect();
    let mut covered = BTreeSet::new();
    for (file, app) in &apps {
        assert_eq!(app.api_version, "argoproj.io/v1alpha1", "{file}");
        assert_eq!(app.kind, "Application", "{file}");
        assert!(!app.metadata.name.is_empty() && !app.spec.project.is_empty());
        assert_eq!(app.metadata.namespace, "argocd", "{file}");
        assert!(
            !app.spec.source.repo_url.is_empty() && !app.spec.source.target_revision.is_empty()
        );
        assert!(
            repo()
                .join(&app.spec.source.path)
                .join("environments")
                .is_dir()
        );
        assert!(!app.spec.destination.server.is_empty());
        let source = &app.spec.source.plugin;
        assert_eq!(source.name, plugin_name(&plugin), "{file}: plugin.name");
        for p in &source.parameters {
            assert!(
                announced.contains(&p.name.as_str()),
                "{file}: {} not announced",
                p.name
            );
        }
        // Build the variables exactly as Argo CD's Environ() does, then run the plugin.
        let mut vars: Vec<(String, String)> = vec![(
            "ARGOCD_APP_PARAMETERS".into(),
            serde_json::to_string(&source.parameters).unwrap(),
        )];
        for p in &source.parameters {
            let name: String = p
                .name
                .to_uppercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            vars.push((format!("PARAM_{name}"), p.string.clone()));
        }
        for e in &source.env {
            vars.push((format!("ARGOCD_ENV_{}", e.name), e.value.clone()));
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let dir = app_copy();
        let got = objects(&stdout(&cmp(dir.path(), &vars)));
        let env = source
            .parameters
            .iter()
            .find(|p| p.name == "environment")
            .map(|p| p.string.clone())
            .unwrap_or_else(|| panic!("{file}: no environment parameter"));
        // Namespaced objects land in the Application's destination namespace.
        for v in &got {
            if let Some(ns) = v.pointer("/metadata/namespace").and_then(Value::as_str) {
                assert_eq!(
                    ns,
                    app.spec.destination.namespace,
                    "{file}: {}",
                    identity(v)
                );
            }
        }
        assert_same_objects(got, committed_objects(&env), file);
        covered.insert(env);
    }
    assert_eq!(
        covered,
        environments().into_iter().collect(),
        "one example Application per environment"
    );
}

#[test]
fn cluster_objects_pass_kubernetes_validate_strict() {
    // plugin.yaml is read by argocd-cmp-server, kustomization.yaml by kustomize: not cluster
    // objects. Applications are checked by the typed test above: kubernetes-validate has no
    // schema for the CRD and would only warn.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(deploy()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let kind = str_at(&yaml(&read(&path)), "/kind").to_owned();
        if !["ConfigManagementPlugin", "Kustomization", "Application"].contains(&kind.as_str()) {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() >= 2, "the ConfigMap and the patch: {files:?}");
    let out = Command::new(tools::tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // A missing schema is only a warning there; here it would be a silent skip.
    assert!(!text.contains("Couldn't find schema"), "{text}");
    for f in &files {
        assert!(
            text.contains(&*f.to_string_lossy()),
            "{} not validated: {text}",
            f.display()
        );
    }
}

#[test]
fn the_dockerfile_builds_locked_and_runs_as_user_999() {
    let text = read(&deploy().join("Dockerfile"));
    let stages: Vec<&str> = text.split("\nFROM ").skip(1).collect();
    assert!(stages.len() >= 2, "multi-stage");
    assert!(stages[0].contains("cargo build --release --locked"));
    let runtime = stages.last().unwrap();
    assert!(runtime.contains("COPY --from="), "copies only the binary");
    assert!(runtime.contains("\nUSER 999"), "runs as the CMP user");
    assert!(
        !runtime.contains("cargo"),
        "no toolchain in the runtime image"
    );
    // The build context leaves out what cargo does not need (and would bust the cache).
    let ignore = read(&repo().join(".dockerignore"));
    for entry in ["target", ".git"] {
        assert!(ignore.lines().any(|l| l.trim() == entry), "{entry}");
    }
}
