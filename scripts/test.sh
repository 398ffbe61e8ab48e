#!/usr/bin/env bash
# The one command that runs every tacosgen test on a fresh machine.
#
#   bash scripts/test.sh [cargo test args...]     e.g. bash scripts/test.sh --test k8s
#   bash scripts/test.sh --install-only           install the tools, run no tests
#
# 1. apt: redis-server, redis-cli (redis-tools), promtool (prometheus), hyperfine
#    -- only the ones whose command is missing.
# 2. Python venv at <repo>/.venv-tools with the pinned tools of
#    scripts/test-requirements.txt (kubernetes-validate, check-jsonschema,
#    checkov, pre-commit). Skipped when .venv-tools/.installed matches the
#    requirements hash and Python version; rebuilt from scratch otherwise.
# 3. PATH="<repo>/.venv-tools/bin:$PATH" cargo test --locked "$@"
#
# Works from any cwd; needs root or passwordless sudo only when apt packages
# are missing. Tests find the tools through tests/common/tools.rs.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

log() { printf '[scripts/test.sh] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

apt_install() {
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- 1. apt tools
# command -> Debian 12 package that provides it
apt_cmds=(redis-server redis-cli promtool hyperfine)
declare -A apt_pkg=(
    [redis-server]=redis-server
    [redis-cli]=redis-tools
    [promtool]=prometheus # /usr/bin/promtool ships in the prometheus package
    [hyperfine]=hyperfine
)
missing_pkgs=()
for cmd in "${apt_cmds[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing_pkgs+=("${apt_pkg[$cmd]}")
done
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
    apt_install "${missing_pkgs[@]}"
fi
for cmd in "${apt_cmds[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || { log "still missing after apt: $cmd"; exit 1; }
done

# ------------------------------------------------------------ 2. Python tools
PYTHON="${PYTHON:-python3}"
VENV="$REPO_ROOT/.venv-tools"
REQS="$REPO_ROOT/scripts/test-requirements.txt"
PIP_VERSION=26.3 # the venv's bundled pip 23.2 needs about twice the CPU time
STAMP="$VENV/.installed"
venv_tools=(kubernetes-validate check-jsonschema checkov pre-commit)

if ! command -v "$PYTHON" >/dev/null 2>&1 || ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3 python3-venv
    PYTHON=python3
fi

want_stamp="$(sha256sum "$REQS" | cut -d' ' -f1) pip-$PIP_VERSION python-$("$PYTHON" -c 'import platform; print(platform.python_version())')"

venv_ok() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] || return 1
    local t
    for t in "${venv_tools[@]}"; do
        [ -x "$VENV/bin/$t" ] || return 1
    done
}

if venv_ok; then
    log "tools venv up to date ($VENV)"
else
    log "building tools venv at $VENV (about a minute)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
    "${PIP[@]}" install -q "pip==$PIP_VERSION"
    "${PIP[@]}" install -q -r "$REQS"
    "${PIP[@]}" check
    # Smoke test: every tool starts (checkov offline, see tests/common/tools.rs).
    for t in "${venv_tools[@]}"; do
        CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
            "$VENV/bin/$t" --version >/dev/null
    done
    printf '%s\n' "$want_stamp" >"$STAMP" # written last: no stamp = incomplete
fi

# Python < 3.13 venvs lack this: keep the ~430 MB venv out of `git add -A`.
printf '*\n' >"$VENV/.gitignore"

if [ "${1:-}" = "--install-only" ]; then
    log "tools installed; not running tests (--install-only)"
    exit 0
fi

# ------------------------------------------------------------------ 3. tests
export PATH="$VENV/bin:$PATH"
# Keep checkov offline even for a test that runs it without tools::command().
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE
exec cargo test --locked "$@"
