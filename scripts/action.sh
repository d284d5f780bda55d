#!/usr/bin/env bash
# The steps of action.yml (the mlpages GitHub Action); every value arrives through the environment.
#
#   scripts/action.sh probe     installed=true when the Python on PATH has mlpages at the version
#                               of the action's checkout ($ACTION_PATH/pyproject.toml) already;
#                               pip-cache and cache-key for actions/cache
#   scripts/action.sh install   python -m pip install "$ACTION_PATH[$MLPAGES_EXTRAS]"
#   scripts/action.sh run       $MLPAGES_COMMAND: build | diff | fetch-experiments | ct-<step>
set -euo pipefail

ACTION_PATH=${ACTION_PATH:?the action sets ACTION_PATH to its own checkout}
PYTHON=${MLPAGES_PYTHON:-python}
log() { printf 'mlpages action: %s\n' "$*" >&2; }

# pip extras: names only (they end up inside a pip requirement).
extras() {
  local value=${MLPAGES_EXTRAS:-}
  value=${value// /}
  if [[ ! $value =~ ^[A-Za-z0-9_,-]*$ ]]; then
    log "extras: letters, digits, '-', '_' and commas only, got '$value'"
    exit 2
  fi
  printf '%s\n' "$value"
}

cmd_probe() {
  local found
  found=$("$PYTHON" - "$ACTION_PATH/pyproject.toml" <<'PY'
import hashlib
import importlib.metadata
import platform
import sys
import tomllib
from pathlib import Path

source = Path(sys.argv[1])
project = tomllib.loads(source.read_text()).get("project", {}) if source.is_file() else {}
if project.get("name") != "mlpages":
    sys.exit(f"{source}: not the pyproject.toml of mlpages: is this the mlpages action's checkout?")
try:
    installed = importlib.metadata.version("mlpages")
except importlib.metadata.PackageNotFoundError:
    installed = None
digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
print("true" if installed == project.get("version") else "false")
print(f"{platform.system()}-py{sys.version_info[0]}.{sys.version_info[1]}-{digest}")
PY
)
  local installed key cache
  installed=$(sed -n 1p <<<"$found")
  key="mlpages-pip-${RUNNER_OS:-$(uname -s)}-$(sed -n 2p <<<"$found")-$(extras)"
  cache=$("$PYTHON" -m pip cache dir 2>/dev/null || printf '%s/.cache/pip' "$HOME")
  log "mlpages installed at the action's version: $installed"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'installed=%s\ncache-key=%s\npip-cache=%s\n' "$installed" "$key" "$cache" >>"$GITHUB_OUTPUT"
  fi
}

cmd_install() {
  local spec=$ACTION_PATH wanted
  wanted=$(extras)
  [ -n "$wanted" ] && spec="${ACTION_PATH}[$wanted]"
  log "pip install $spec"
  "$PYTHON" -m pip install --disable-pip-version-check --quiet "$spec"
  mlpages --version
}

cmd_run() {
  local command=${MLPAGES_COMMAND:-}
  case "$command" in
    build) exec bash "$ACTION_PATH/scripts/ct.sh" site ;;
    diff)
      # ct.sh pr writes the markdown output and the job summary; the file's path is ours.
      bash "$ACTION_PATH/scripts/ct.sh" pr
      if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf 'markdown-file=%s\n' "${DIFF_FILE:-mlpages-diff.md}" >>"$GITHUB_OUTPUT"
      fi
      ;;
    fetch-experiments) exec bash "$ACTION_PATH/scripts/ct.sh" exps ;;
    ct-train | ct-register | ct-push | ct-promote | ct-rollback)
      exec bash "$ACTION_PATH/scripts/ct.sh" "${command#ct-}"
      ;;
    *)
      log "unknown command '$command': build | diff | fetch-experiments | ct-train | ct-register" \
        "| ct-push | ct-promote | ct-rollback"
      exit 2
      ;;
  esac
}

case "${1:-}" in
  probe | install | run) "cmd_$1" ;;
  *)
    awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2
    exit 2
    ;;
esac
