#!/usr/bin/env bash
# Continuous training, the steps the GitHub workflows run (and tests/test_ci_local.py runs locally).
# The workflows are thin wrappers: every decision lives here, so it can be tested without GitHub.
#
#   scripts/ct.sh train      dvc pull (when a remote is configured), then dvc repro
#   scripts/ct.sh register   commit dvc.lock + reports back; on a blessed gate register a version and
#                            assign the staging stage; push the branch and the new tags; dvc push
#   scripts/ct.sh pr         dvc pull + dvc repro, then `mlpages diff` (markdown) against $BASE_SHA
#   scripts/ct.sh promote    assign the production stage to $VERSION (default: the staging version)
#   scripts/ct.sh rollback   give the production stage back to its previous version
#   scripts/ct.sh site       mlpages build . --out site
#
# Settings (environment): MLPAGES_ARTIFACT (default: model_artifact in the config, else the first
# `type: model` artifact of dvc.yaml), MLPAGES_STAGING_STAGE (staging), MLPAGES_PROD_STAGE (the
# config's production_stage, else prod), MLPAGES_BUMP (minor), GIT_REMOTE (origin), REASON,
# BASE_SHA, HEAD_REF, SITE_URL, DIFF_FILE (mlpages-diff.md), VERSION; GITHUB_OUTPUT and
# GITHUB_STEP_SUMMARY are written when set.
set -euo pipefail

case "${1:-}" in
  train | register | pr | promote | rollback | site) ;;
  *)
    awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2
    exit 2
    ;;
esac
cd "$(git rev-parse --show-toplevel)" # paths below (dvc.yaml, .dvc/config, site) are the root's

GIT_REMOTE=${GIT_REMOTE:-origin}
STAGING=${MLPAGES_STAGING_STAGE:-staging}
BUMP=${MLPAGES_BUMP:-minor}
DIFF_FILE=${DIFF_FILE:-mlpages-diff.md}

log() { printf 'ct: %s\n' "$*" >&2; }

# Commits and tags made in CI need an identity; a developer's own one is kept.
if [ -z "$(git config user.email || true)" ]; then
  export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-github-actions[bot]}
  export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-41898282+github-actions[bot]@users.noreply.github.com}
  export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
  export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}
fi

set_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

# A remote section in the DVC config (read directly: `dvc remote list` costs a second per call).
has_remote() { grep -qs "^\['remote " .dvc/config .dvc/config.local; }

# The registry artifact and the production stage, read once from the repository's settings.
read_settings() {
  python - <<'PY'
import sys
from pathlib import Path

import yaml

from mlpages.config import load_config

config = load_config(Path("."))
artifact = config.model_artifact
if not artifact and Path("dvc.yaml").exists():
    declared = (yaml.safe_load(Path("dvc.yaml").read_text()) or {}).get("artifacts") or {}
    models = [name for name, spec in declared.items() if (spec or {}).get("type") == "model"]
    artifact = (models or list(declared) or [""])[0]
sys.stdout.write(f"{artifact}\n{config.production_stage}\n")
PY
}

load_settings() {
  local settings
  settings=$(read_settings)
  ARTIFACT=${MLPAGES_ARTIFACT:-$(sed -n 1p <<<"$settings")}
  PROD=${MLPAGES_PROD_STAGE:-$(sed -n 2p <<<"$settings")}
  if [ -z "$ARTIFACT" ]; then
    log "no model artifact: declare one in dvc.yaml 'artifacts:' or set MLPAGES_ARTIFACT"
    exit 1
  fi
}

# The gate verdict of the work tree: blessed | rejected | none.
gate_verdict() {
  python - <<'PY'
import json
from pathlib import Path

from mlpages.config import load_config

path = Path(load_config(Path(".")).reports["gate"])
try:
    verdict = json.loads(path.read_text()).get("verdict")
except (OSError, ValueError, AttributeError):
    verdict = None
print(verdict if verdict in ("blessed", "rejected") else "none")
PY
}

# "registered" when HEAD's model (by its hash in dvc.lock) is the latest registered version's.
model_status() {
  python - "$1" <<'PY'
import sys
from pathlib import Path

from mlpages.config import load_config
from mlpages.registry import read_registry
from mlpages.snapshot import snapshot_of

name, repo = sys.argv[1], Path(".")
config = load_config(repo)


def model_hash(rev):
    snapshot = snapshot_of(repo, rev, config)
    artifact = next((a for a in snapshot.artifacts if a.name == name), None)
    if artifact is None:
        return None
    outputs = [o for s in snapshot.stages for o in s.lock_outs] + list(snapshot.tracked)
    return next((o.fingerprint for o in outputs if o.path == artifact.path), None)


state = read_registry(repo).artifacts.get(name)
versions = [v for v in (state.versions if state else ()) if not v.deregistered]
current = model_hash("HEAD")
same = bool(versions) and current is not None and model_hash(versions[-1].sha) == current
print("registered" if same else "new")
PY
}

current_branch() {
  local branch
  branch=$(git symbolic-ref -q --short HEAD || true)
  if [ -z "$branch" ]; then
    log "HEAD is detached: check out the branch to record the run on"
    exit 1
  fi
  printf '%s\n' "$branch"
}

# Push the branch (when given) and the tags created since $1 (a sorted tag list), atomically.
push_new_tags() {
  local before=$1 branch=${2:-}
  local refs=()
  while IFS= read -r tag; do
    [ -n "$tag" ] && refs+=("refs/tags/$tag")
  done < <(comm -13 <(printf '%s\n' "$before") <(git tag -l | LC_ALL=C sort))
  if [ -n "$branch" ]; then
    refs=("HEAD:refs/heads/$branch" "${refs[@]}")
  fi
  if [ "${#refs[@]}" -gt 0 ]; then
    git push --atomic "$GIT_REMOTE" "${refs[@]}"
  fi
}

pull_data() {
  if has_remote; then
    log "dvc pull"
    dvc pull --allow-missing
  else
    log "no DVC remote configured: using the local cache only"
  fi
}

cmd_train() {
  pull_data
  log "dvc repro"
  dvc repro
  local verdict
  verdict=$(gate_verdict)
  log "gate verdict: $verdict"
  set_output verdict "$verdict"
}

cmd_register() {
  load_settings
  local branch verdict tags_before
  branch=$(current_branch)
  verdict=$(gate_verdict)
  tags_before=$(git tag -l | LC_ALL=C sort)
  # Record the run (lock, metrics, reports; DVC-cached outputs are git-ignored) whatever the
  # verdict: the site shows rejected runs too. Only a blessed model gets a version.
  git add -A -- . ":(exclude)${SITE_DIR:-site}" ":(exclude)$DIFF_FILE"
  if git diff --cached --quiet; then
    log "nothing changed: the pipeline was up to date"
  else
    git commit -q -m "ct: record pipeline run${REASON:+ ($REASON)}" \
      -m "Gate verdict: $verdict. Recorded by scripts/ct.sh register."
  fi
  if [ "$verdict" != "blessed" ]; then
    log "gate verdict is '$verdict': nothing registered, nothing promoted"
  elif [ "$(model_status "$ARTIFACT")" = "registered" ]; then
    # e.g. a scheduled run with nothing new: the blessed model is the latest version already.
    log "the model is the latest registered version of $ARTIFACT already: nothing registered"
  else
    mlpages registry register "$ARTIFACT" --bump "$BUMP" \
      --message "Registered by continuous training${REASON:+: $REASON}"
    mlpages registry assign "$ARTIFACT" "$STAGING" HEAD
  fi
  push_new_tags "$tags_before" "$branch"
  if has_remote; then
    log "dvc push"
    dvc push
  fi
  set_output verdict "$verdict"
  set_output sha "$(git rev-parse HEAD)"
}

cmd_pr() {
  # The diff is written whatever happens (a fork's pull request cannot read the remote's secrets,
  # a code change can break a stage), then the step fails if the pipeline did not run.
  local status=0 note=""
  if ! pull_data; then
    status=1
    note="dvc pull failed (no access to the DVC remote?): the pipeline did not run"
  elif ! dvc repro; then
    status=1
    note="dvc repro failed: the results below may be stale or partial"
  fi
  [ -n "$note" ] && note="$note; see the job log."
  local args=()
  [ -n "${BASE_SHA:-}" ] && args+=("$BASE_SHA")
  [ -n "${SITE_URL:-}" ] && args+=(--site-url "$SITE_URL")
  [ -n "${HEAD_REF:-}" ] && args+=(--branch "$HEAD_REF")
  [ -n "$note" ] && args+=(--note "$note")
  mlpages diff "${args[@]}" --output "$DIFF_FILE"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$DIFF_FILE" >>"$GITHUB_STEP_SUMMARY"
  fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    local delimiter
    delimiter="MLPAGES_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    {
      printf 'markdown<<%s\n' "$delimiter"
      cat "$DIFF_FILE"
      printf '\n%s\n' "$delimiter"
    } >>"$GITHUB_OUTPUT"
  fi
  log "diff written to $DIFF_FILE"
  return "$status"
}

cmd_promote() {
  load_settings
  local tags_before version=${VERSION:-}
  tags_before=$(git tag -l | LC_ALL=C sort)
  if [ -z "$version" ]; then
    version=$(mlpages registry show --json | python -c '
import json, sys
state = json.load(sys.stdin).get(sys.argv[1]) or {}
print((state.get("stage") or {}).get(sys.argv[2]) or "")
' "$ARTIFACT" "$STAGING")
    if [ -z "$version" ]; then
      log "no version of $ARTIFACT holds '$STAGING'; pass VERSION"
      exit 1
    fi
  fi
  local message=()
  [ -n "${REASON:-}" ] && message=(--message "Promote $ARTIFACT $version to $PROD: $REASON")
  mlpages registry assign "$ARTIFACT" "$PROD" --version "$version" "${message[@]}"
  push_new_tags "$tags_before"
}

cmd_rollback() {
  load_settings
  local tags_before
  tags_before=$(git tag -l | LC_ALL=C sort)
  # No custom message: the registry marks the assignment as a rollback in its own message.
  mlpages registry rollback "$ARTIFACT" "$PROD"
  push_new_tags "$tags_before"
}

cmd_site() {
  mlpages build . --out "${SITE_DIR:-site}"
}

"cmd_$1"
