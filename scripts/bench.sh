#!/usr/bin/env bash
# Whole-process benchmarks (BENCHMARKS.md): `tacosgen build` and `tacosgen check` for the seed
# (environments/prod.yaml, 4 services) and synthetic specs of 100 and 1,000 services, timed
# with hyperfine (median), peak memory with /usr/bin/time; and, where they are installed,
# the peers in benches/peers/ (helm, kubectl kustomize, jsonnet, rsjsonnet) rendering the
# same objects for the same services. Prints one markdown table.
#
#   scripts/bench.sh                        full run (~1-5 minutes, more with kustomize)
#   scripts/bench.sh --quick                tacosgen only, seed and 1,000 services, 5 runs
#   scripts/bench.sh --quick --max-ms 250   ... and fail if the 1,000-service build median
#                                           exceeds 250 ms
#   scripts/bench.sh --profile ci ...       time a build of another cargo profile (the CI
#                                           guard in .ci/run: see `[profile.ci]`)
#
# The binary timed is the release build as shipped (or the --profile given): on Linux with
# glibc it is linked statically (scripts/shipped-binary.sh). TACOSGEN_BIN=path skips the
# build and times that binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

quick=0
max_ms=""
profile=release
while (($#)); do
    case $1 in
        --quick) quick=1 ;;
        --max-ms) max_ms=$2; shift ;;
        --profile) profile=$2; shift ;;
        *) echo "usage: scripts/bench.sh [--quick] [--max-ms N] [--profile NAME]" >&2; exit 2 ;;
    esac
    shift
done

log() { printf 'bench: %s\n' "$*" >&2; }

need() {
    command -v "$1" >/dev/null && return
    log "$1 is missing; install it with: apt-get install $2 (scripts/test.sh installs hyperfine)"
    exit 2
}
need hyperfine hyperfine
need python3 python3
if [[ ! -x /usr/bin/time ]]; then
    # Peak memory needs GNU time (the shell builtin cannot report it).
    log "installing GNU time (apt-get install time)"
    sudo=(); ((EUID == 0)) || sudo=(sudo -n)
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends time >/dev/null; } ||
        { log "/usr/bin/time is missing; install it with: apt-get install time"; exit 2; }
fi

if [[ -z ${TACOSGEN_BIN:-} ]]; then
    # (Only the timed binary is static: the spec generator below is built for the host,
    # proc macros and all.)
    TACOSGEN_BIN=$(bash scripts/shipped-binary.sh "$profile")
fi
bin=$TACOSGEN_BIN
# The main heap's setup (src/heap.rs) as this build does it: an optimiser once dropped the
# allocation it relies on, in optimised builds only, which the tests (a debug build) cannot see.
heap=$(TACOSGEN_TIMINGS=1 "$bin" --version 2>&1 >/dev/null | sed -n 's/^timing: heap of //p')
log "heap: ${heap:-not reported}"
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true)
if [[ -n $max_ms && -n $heap && ($thp == *"[always]"* || $thp == *"[madvise]"*) && $heap != *"2 MiB pages"* ]]; then
    log "guard FAILED: the heap got no 2 MiB pages though the system gives them ($thp)"
    exit 1
fi
# The spec generator's speed does not matter: the dev profile avoids building the
# dev-dependencies it shares with the tests a second time, optimised.
cargo build --quiet --example synth
synth=$repo/target/debug/examples/synth

if ((quick)); then
    sizes=(4 1000); runs=5; warmup=2
else
    sizes=(4 100 1000); runs=10; warmup=3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# median_ms NAME COMMAND [PREPARE]: hyperfine's median in ms. A command whose first run takes
# longer than 5 s is reported as that single run (kustomize at 1,000 services takes minutes).
median_ms() {
    local name=$1 cmd=$2 prepare=${3:-true} start end
    bash -c "$prepare"
    start=$(date +%s%N)
    bash -c "$cmd" >/dev/null 2>&1 || { log "$name failed: $cmd"; echo "failed"; return; }
    end=$(date +%s%N)
    if (((end - start) / 1000000 > 5000)); then
        echo "$(((end - start) / 1000000)) 1"
        return
    fi
    hyperfine --style none --warmup "$warmup" --runs "$runs" -N --prepare "$prepare" \
        --export-json "$work/$name.json" "$cmd" >/dev/null 2>&1 ||
        hyperfine --style none --warmup "$warmup" --runs "$runs" --prepare "$prepare" \
            --export-json "$work/$name.json" "$cmd" >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(round(r["median"]*1000, 2), len(r["times"]))' \
        "$work/$name.json"
}

# Peers present on this machine.
peers=()
if ((!quick)); then
    for p in helm kubectl jsonnet rsjsonnet; do
        if command -v "$p" >/dev/null; then peers+=("$p"); else log "skipping $p: not installed"; fi
    done
fi

declare -A result slow
for n in "${sizes[@]}"; do
    dir=$work/s$n
    mkdir -p "$dir/.git" "$dir/environments"
    if ((n == 4)); then
        cp "$repo"/environments/*.yaml "$dir/environments/"
        spec=environments/prod.yaml env=prod
    else
        "$synth" "$n" >"$dir/environments/synth.yaml"
        spec=environments/synth.yaml env=synth
    fi
    cd "$dir"
    "$bin" build -q "$spec"
    log "$n services: $(du -sk "out/$env" | cut -f1) KiB of output"
    # build: a full write of out/<env>/ (the previous tree removed before each run).
    result[$n,build]=$(median_ms "build-$n" "$bin build -q $spec" "rm -rf out/$env")
    "$bin" build -q "$spec"
    result[$n,check]=$(median_ms "check-$n" "$bin check -q $spec")
    rm -rf "out/$env"
    result[$n,rss]=$( { /usr/bin/time -f '%M' "$bin" build -q "$spec" >/dev/null; } 2>&1 | tail -1)
    result[$n,cat]=$(median_ms "cat-$n" "cat $(find "out/$env" -name '*.yaml' | sort | tr '\n' ' ')")

    if ((${#peers[@]})); then
        "$synth" "$n" --peer-json >"$dir/services.json"
        # One kustomize overlay per service over the shared base.
        mkdir -p "$dir/kustomize"
        cp -r "$repo/benches/peers/kustomize/base" "$repo/benches/peers/kustomize/redis-nodepool.yaml" "$dir/kustomize/"
        python3 - "$dir/services.json" "$dir/kustomize" <<'PY'
import json, os, sys
services = json.load(open(sys.argv[1]))["services"]
root = sys.argv[2]
names = []
for s in services:
    d = os.path.join(root, "svc", s["name"])
    os.makedirs(d, exist_ok=True)
    names.append("svc/" + s["name"])
    labels = {"app": s["name"], "app.kubernetes.io/name": s["name"]}
    data = {"PORT": str(s["port"]), **s["env"]}
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        json.dump({
            "resources": ["../../base"],
            "namePrefix": s["name"] + "-",
            "labels": [{"pairs": labels, "includeSelectors": True, "includeTemplates": True}],
            "images": [{"name": "app-image", "newName": s["image"].rsplit(":", 1)[0], "newTag": s["image"].rsplit(":", 1)[1]}],
            "patches": [
                {"target": {"kind": "HorizontalPodAutoscaler"}, "patch": json.dumps([
                    {"op": "replace", "path": "/spec/minReplicas", "value": s["minReplicas"]},
                    {"op": "replace", "path": "/spec/maxReplicas", "value": s["maxReplicas"]}])},
                {"target": {"kind": "ConfigMap"}, "patch": json.dumps([{"op": "replace", "path": "/data", "value": data}])},
                {"target": {"kind": "Deployment"}, "patch": json.dumps([{"op": "replace", "path": "/spec/template/spec/containers/0/resources", "value": {
                    "requests": {"cpu": s["cpuRequest"], "memory": s["memoryRequest"]},
                    "limits": {"cpu": s["cpuLimit"], "memory": s["memoryLimit"]}}}])},
            ],
        }, f)
with open(os.path.join(root, "kustomization.yaml"), "w") as f:
    json.dump({"resources": names + ["redis-nodepool.yaml"]}, f)
PY
        for p in "${peers[@]}"; do
            case $p in
                helm) cmd="helm template bench $repo/benches/peers/helm -f $dir/services.json" ;;
                kubectl) cmd="kubectl kustomize $dir/kustomize" ;;
                jsonnet | rsjsonnet) cmd="$p -y --ext-code-file services=$dir/services.json $repo/benches/peers/jsonnet/main.jsonnet" ;;
            esac
            if [[ -n ${slow[$p]:-} ]]; then
                log "$n services: skipping $p (${slow[$p]} ms at fewer services)"
                result[$n,$p]="skipped"
                continue
            fi
            log "$n services: $p"
            result[$n,$p]=$(median_ms "$p-$n" "$cmd")
            # Kustomize takes 3.6 s at 100 services and ~10 minutes at 1,000 (BENCHMARKS.md):
            # a peer over 2 s at one size is skipped at the larger ones.
            t=${result[$n,$p]%% *}
            [[ $t != failed ]] && ((${t%.*} > 2000)) && slow[$p]=$t
        done
    fi
    cd "$repo"
done

# The table: medians in ms; peers also as a multiple of tacosgen build.
for k in "${!result[@]}"; do printf '%s\t%s\n' "$k" "${result[$k]}"; done >"$work/results.tsv"
python3 - "${sizes[*]}" "${peers[*]:-}" "$runs" "$work/results.tsv" "$bin" <<'PY'
import sys
sizes = sys.argv[1].split()
peers = sys.argv[2].split()
runs = sys.argv[3]
result = dict(line.rstrip("\n").split("\t") for line in open(sys.argv[4]))
binary = sys.argv[5]
def ms(v):
    if v in ("failed", "skipped"): return None, v
    t, n = v.split()
    t = float(t)
    text = f"{t:.1f} ms" if t < 1000 else f"{t/1000:.1f} s"
    if n == "1": text += " (1 run)"
    return t, text
names = {"helm": "helm template", "kubectl": "kubectl kustomize", "jsonnet": "jsonnet", "rsjsonnet": "rsjsonnet"}
head = ["services", "tacosgen build", "tacosgen check", "peak RSS (build)"] + [names[p] for p in peers] + ["cat of the output"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
for n in sizes:
    label = "4 (the seed)" if n == "4" else f"{int(n):,}"
    build, build_text = ms(result[f"{n},build"])
    row = [label, build_text, ms(result[f"{n},check"])[1], f"{int(result[f'{n},rss']) / 1024:.1f} MB"]
    for p in peers:
        t, text = ms(result[f"{n},{p}"])
        if t is not None and build:
            text += f" ({t / build:.0f}×)"
        row.append(text)
    row.append(ms(result[f"{n},cat"])[1])
    print("| " + " | ".join(row) + " |")
print()
print(f"Medians of {runs} runs (hyperfine); ratios are the peer's time over tacosgen build.")
print(f"Binary: {binary}")
PY

if [[ -n $max_ms ]]; then
    median=${result[1000,build]%% *}
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$median" "$max_ms"; then
        log "guard: 1,000-service build median ${median} ms <= ${max_ms} ms"
    else
        log "guard FAILED: 1,000-service build median ${median} ms > ${max_ms} ms"
        exit 1
    fi
fi
