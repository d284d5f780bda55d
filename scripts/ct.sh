#!/usr/bin/env bash
# Continuous training, the steps the GitHub workflows run (and tests/test_ci_local.py runs locally).
# The workflows are thin wrappers: every decision lives here, so it can be tested without GitHub.
#
#   scripts/ct.sh train      dvc pull (when a remote is configured); when dvc.yaml has a monitor
#                            stage: dvc repro monitor, then the full dvc repro only if
#                            reports/trigger.json says retrain or CT_EVENT forces it (a push
#                            changing code/params/pipeline since CT_BEFORE, a dispatch); else
#                            dvc repro. Writes retrain=true|false and the reasons (log, outputs)
#   scripts/ct.sh register   commit dvc.lock + reports back; on a blessed gate of a retraining run
#                            register a version and assign the staging stage (in this clone only)
#   scripts/ct.sh push       what register / promote / rollback queued: dvc push first (write
#                            key), then the branch and the new tags in one atomic git push,
#                            authenticated with $GITHUB_TOKEN for that one git process
#   scripts/ct.sh pr         dvc pull + dvc repro, then `mlpages diff` (markdown) against $BASE_SHA;
#                            PR_FROM_FORK=true (a fork gets no credentials) or PR_REPRO=false:
#                            no pull, no repro
#   scripts/ct.sh promote    assign the production stage to $VERSION (default: the staging version)
#   scripts/ct.sh rollback   give the production stage back to its previous version
#   scripts/ct.sh site       mlpages build . --out site
#   scripts/ct.sh exps       git fetch the DVC experiments (refs/exps/*) from $GIT_REMOTE, with
#                            $GITHUB_TOKEN as for push (the checkout fetches branches and tags only)
#
# Settings (environment): MLPAGES_ARTIFACT (default: model_artifact in the config, else the first
# `type: model` artifact of dvc.yaml), MLPAGES_STAGING_STAGE (staging), MLPAGES_PROD_STAGE (the
# config's production_stage, else prod), MLPAGES_BUMP (minor), GIT_REMOTE (origin), REASON,
# BASE_SHA, HEAD_REF, PR_HEAD_SHA (the experiments listed), SITE_URL, DIFF_FILE (mlpages-diff.md),
# VERSION, PR_FROM_FORK; push:
# GITHUB_TOKEN (optional; sent as an HTTP header for GITHUB_SERVER_URL only); train: CT_EVENT
# (push | schedule | workflow_dispatch; other values: the trigger decides), CT_BEFORE (the commit
# before a push), CT_CODE_PATHS (src params.yaml dvc.yaml), CT_MONITOR_STAGE (monitor), CT_TRIGGER
# (reports/trigger.json); GITHUB_OUTPUT and GITHUB_STEP_SUMMARY are written when set.
set -euo pipefail

case "${1:-}" in
  train | register | push | pr | promote | rollback | site | exps) ;;
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
from mlpages.registry.gitio import read_registry
from mlpages.history.collect import snapshot_of

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

# What the push step sends, queued by register / promote / rollback in a file in .git (never
# committed): one refspec a line, or `dvc` for a dvc push before them.
push_queue() { printf '%s/mlpages-ct-push\n' "$(git rev-parse --git-dir)"; }

# Queue the commit for the branch (when given) and the tags created since $1 (a sorted tag list).
queue_new_tags() {
  local before=$1 branch=${2:-} queue
  queue=$(push_queue)
  if [ -n "$branch" ]; then
    printf '%s:refs/heads/%s\n' "$(git rev-parse HEAD)" "$branch" >>"$queue"
  fi
  while IFS= read -r tag; do
    [ -n "$tag" ] && printf 'refs/tags/%s\n' "$tag" >>"$queue"
  done < <(comm -13 <(printf '%s\n' "$before") <(git tag -l | LC_ALL=C sort))
}

# Run git with $GITHUB_TOKEN sent as an HTTP header by this one process: nothing is written to
# .git/config (checkout runs with persist-credentials: false), so no other step finds a token.
# The header is scoped to the server's URL, as actions/checkout scopes it.
with_token() {
  local auth=()
  if [ -n "${GITHUB_TOKEN:-}" ]; then
    local server=${GITHUB_SERVER_URL:-https://github.com} basic
    basic=$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 | tr -d '\n')
    auth=(GIT_CONFIG_COUNT=1 "GIT_CONFIG_KEY_0=http.${server%/}/.extraheader"
      "GIT_CONFIG_VALUE_0=AUTHORIZATION: basic $basic")
  fi
  # No prompt for a password in CI, and the DVC keys stay out of git's environment.
  env -u GITHUB_TOKEN -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    GIT_TERMINAL_PROMPT=0 "${auth[@]}" "$@"
}

pull_data() {
  if has_remote; then
    log "dvc pull"
    dvc pull --allow-missing
  else
    log "no DVC remote configured: using the local cache only"
  fi
}

# What the train step knows about the pipeline, one line each: whether dvc.yaml has the monitor
# stage, whether a model exists to monitor with (a production version or the monitor's model
# file), then the names of the other stages.
monitor_plan() {
  python - "$1" <<'PY'
import sys
from pathlib import Path

import yaml

from mlpages.config import load_config
from mlpages.registry.gitio import production_version

name, repo = sys.argv[1], Path(".")
pipeline = Path("dvc.yaml")
spec = (yaml.safe_load(pipeline.read_text()) or {}) if pipeline.exists() else {}
stages = list(spec.get("stages") or {})
params = Path("params.yaml")
section = ((yaml.safe_load(params.read_text()) or {}) if params.exists() else {}).get("monitor")
section = section if isinstance(section, dict) else {}
config = load_config(repo)
artifacts = spec.get("artifacts") or {}
artifact = config.model_artifact or next(
    (a for a, s in artifacts.items() if (s or {}).get("type") == "model"), None
)
served = bool(artifact) and production_version(repo, artifact, config.production_stage) is not None
has_model = served or Path(str(section.get("model", "models/model.pkl"))).exists()
print("yes" if name in stages else "no")
print("yes" if has_model else "no")
print("\n".join(s for s in stages if s != name))
PY
}

# "retrain" or "keep", then one reason a line, from the trigger file the monitor stage wrote.
read_trigger() {
  python - "$1" <<'PY'
import json
import sys
from pathlib import Path

try:
    trigger = json.loads(Path(sys.argv[1]).read_text())
except (OSError, ValueError):
    print("missing")
    sys.exit(0)
if not isinstance(trigger, dict):
    print("missing")
    sys.exit(0)
print("retrain" if trigger.get("retrain") is True else "keep")
for reason in trigger.get("reasons") or []:
    if isinstance(reason, dict):
        line = f"{reason.get('kind', '?')}: {reason.get('detail', '')}".strip()
    else:
        line = str(reason)
    print(" ".join(line.split()))
if trigger.get("blocked"):
    print("blocked: " + " ".join(str(trigger["blocked"]).split()))
PY
}

# Why this run must retrain whatever the monitor says (empty: the trigger decides).
forced_reason() {
  case "${CT_EVENT:-}" in
    workflow_dispatch | dispatch)
      printf 'manual dispatch%s\n' "${REASON:+: $REASON}"
      ;;
    push)
      local before=${CT_BEFORE:-} changed
      if [ -z "$before" ] || ! git cat-file -e "$before^{commit}" 2>/dev/null; then
        printf 'push (no previous commit to compare with)\n'
        return
      fi
      # shellcheck disable=SC2086 # CT_CODE_PATHS is a space-separated list of pathspecs
      changed=$(git diff --name-only "$before" HEAD -- ${CT_CODE_PATHS:-src params.yaml dvc.yaml})
      if [ -n "$changed" ]; then
        printf 'push changed %s\n' "$(tr '\n' ' ' <<<"$changed" | sed 's/ $//')"
      fi
      ;;
  esac
}

# The decision: log, job summary, step output and a file in .git for `register`.
record_decision() {
  local retrain=$1
  shift
  local reason
  log "retrain: $retrain"
  for reason in "$@"; do log "  - $reason"; done
  set_output retrain "$retrain"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    {
      if [ "$retrain" = true ]; then
        printf '### Continuous training: retraining\n\n'
      else
        printf '### Continuous training: monitoring only, no retraining\n\n'
      fi
      for reason in "$@"; do printf -- '- %s\n' "$reason"; done
      printf '\n'
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  printf '%s\n' "$retrain" "$@" >"$(git rev-parse --git-dir)/mlpages-ct-decision"
}

cmd_train() {
  pull_data
  local stage=${CT_MONITOR_STAGE:-monitor} trigger=${CT_TRIGGER:-reports/trigger.json}
  local plan forced retrain=true reasons=() others=()
  plan=$(monitor_plan "$stage")
  mapfile -t others < <(sed -n '3,$p' <<<"$plan" | sed '/^$/d')
  forced=$(forced_reason)
  if [ "$(sed -n 1p <<<"$plan")" != yes ]; then
    reasons=("no '$stage' stage in dvc.yaml: every run retrains")
  elif [ "$(sed -n 2p <<<"$plan")" != yes ]; then
    reasons=("no model to monitor yet (no production version, no model file): first training")
  else
    log "dvc repro $stage"
    dvc repro "$stage"
    local decision
    decision=$(read_trigger "$trigger")
    case "$(sed -n 1p <<<"$decision")" in
      retrain) retrain=true ;;
      keep) retrain=false ;;
      *)
        log "$trigger is missing or unreadable: does the $stage stage pass --trigger-out $trigger?"
        exit 1
        ;;
    esac
    mapfile -t reasons < <(sed -n '2,$p' <<<"$decision" | sed '/^$/d' | sed 's/^/trigger: /')
    if [ "$retrain" = false ] && [ "${#reasons[@]}" -eq 0 ]; then
      reasons=("trigger: no reason to retrain ($trigger)")
    fi
  fi
  if [ -n "$forced" ]; then
    retrain=true
    reasons=("$forced" "${reasons[@]}")
  fi
  record_decision "$retrain" "${reasons[@]}"
  if [ "$retrain" != true ]; then
    log "no retraining: only the monitoring result is recorded"
    set_output verdict none
    return
  fi
  if [ "$(sed -n 1p <<<"$plan")" = yes ] && [ "${#others[@]}" -gt 0 ]; then
    # Train before the monitor stage can run: it must not score a model that does not exist yet.
    log "dvc repro ${others[*]}"
    dvc repro "${others[@]}"
  fi
  log "dvc repro"
  dvc repro
  local verdict
  verdict=$(gate_verdict)
  log "gate verdict: $verdict"
  set_output verdict "$verdict"
}

cmd_register() {
  load_settings
  local branch verdict tags_before decision_file retrain=true why=""
  branch=$(current_branch)
  verdict=$(gate_verdict)
  tags_before=$(git tag -l | LC_ALL=C sort)
  decision_file="$(git rev-parse --git-dir)/mlpages-ct-decision"
  if [ -s "$decision_file" ]; then
    retrain=$(sed -n 1p "$decision_file")
    why=$(sed -n '2,$p' "$decision_file" | paste -sd ';' - | sed 's/;/; /g')
  fi
  # Record the run (lock, metrics, reports; DVC-cached outputs are git-ignored) whatever the
  # verdict: the site shows rejected runs too. Only a blessed, retrained model gets a version.
  git add -A -- . ":(exclude)${SITE_DIR:-site}" ":(exclude)$DIFF_FILE"
  if git diff --cached --quiet; then
    log "nothing changed: the pipeline was up to date"
  elif [ "$retrain" != true ]; then
    git commit -q -m "ct: record monitoring, no retraining${REASON:+ ($REASON)}" \
      -m "Retraining decision: no${why:+ ($why)}. Recorded by scripts/ct.sh register."
  else
    git commit -q -m "ct: record pipeline run${REASON:+ ($REASON)}" \
      -m "Retraining decision: yes${why:+ ($why)}." \
      -m "Gate verdict: $verdict. Recorded by scripts/ct.sh register."
  fi
  if [ "$retrain" != true ]; then
    log "no retraining in this run: nothing registered, nothing promoted"
    verdict=none
  elif [ "$verdict" != "blessed" ]; then
    log "gate verdict is '$verdict': nothing registered, nothing promoted"
  elif [ "$(model_status "$ARTIFACT")" = "registered" ]; then
    # e.g. a forced run with nothing new: the blessed model is the latest version already.
    log "the model is the latest registered version of $ARTIFACT already: nothing registered"
  else
    mlpages registry register "$ARTIFACT" --bump "$BUMP" \
      --message "Registered by continuous training${REASON:+: $REASON}${why:+ ($why)}"
    mlpages registry assign "$ARTIFACT" "$STAGING" HEAD
  fi
  queue_new_tags "$tags_before" "$branch"
  if has_remote; then
    echo dvc >>"$(push_queue)"
  fi
  log "queued for the push step: $(paste -sd ' ' "$(push_queue)")"
  rm -f "$decision_file" # one decision per train step
  set_output verdict "$verdict"
  set_output retrain "$retrain"
  set_output sha "$(git rev-parse HEAD)"
}

cmd_push() {
  local queue refs=() dvc=false line
  queue=$(push_queue)
  if [ ! -s "$queue" ]; then
    log "nothing to push: register, promote and rollback queue what this step sends"
    return
  fi
  while IFS= read -r line; do
    case "$line" in
      "") ;;
      dvc) dvc=true ;;
      *) refs+=("$line") ;;
    esac
  done < <(awk '!seen[$0]++' "$queue")
  # The data first: a commit on the remote must never name outputs its DVC remote lacks.
  if [ "$dvc" = true ] && has_remote; then
    log "dvc push"
    env -u GITHUB_TOKEN dvc push
  fi
  if [ "${#refs[@]}" -gt 0 ]; then
    log "git push --atomic $GIT_REMOTE ${refs[*]}"
    if ! with_token git push --atomic "$GIT_REMOTE" "${refs[@]}"; then
      log "$GIT_REMOTE refused the push (git says why above: the branch or a tag moved since" \
        "this run started, or the token may not write); nothing was pushed"
      exit 1
    fi
  fi
  rm -f "$queue"
}

cmd_pr() {
  # The diff is written whatever happens (a code change can break a stage), then the step fails
  # if the pipeline did not run. A fork's pull request is given no credentials on purpose: its
  # diff shows the results committed on its branch, and the step succeeds.
  local status=0 note=""
  if [ "${PR_FROM_FORK:-false}" = true ]; then
    note="pull request from a fork: it gets no access to the DVC remote, so the pipeline did"
    note+=" not run; the results below are the ones committed on the branch."
    log "$note"
  elif [ "${PR_REPRO:-true}" = false ]; then
    log "PR_REPRO=false: the diff of what is committed, without dvc pull and dvc repro"
  elif ! pull_data; then
    status=1
    note="dvc pull failed (no access to the DVC remote?): the pipeline did not run"
  elif ! dvc repro; then
    status=1
    note="dvc repro failed: the results below may be stale or partial"
  fi
  [ "$status" -ne 0 ] && note="$note; see the job log."
  local args=()
  [ -n "${BASE_SHA:-}" ] && args+=("$BASE_SHA")
  [ -n "${SITE_URL:-}" ] && args+=(--site-url "$SITE_URL")
  [ -n "${HEAD_REF:-}" ] && args+=(--branch "$HEAD_REF")
  # The checkout is GitHub's test merge: the experiments were run on the PR's head commit.
  [ -n "${PR_HEAD_SHA:-}" ] && args+=(--experiments-of "$PR_HEAD_SHA")
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
  queue_new_tags "$tags_before"
}

cmd_rollback() {
  load_settings
  local tags_before
  tags_before=$(git tag -l | LC_ALL=C sort)
  # No custom message: the registry marks the assignment as a rollback in its own message.
  mlpages registry rollback "$ARTIFACT" "$PROD"
  queue_new_tags "$tags_before"
}

cmd_site() {
  mlpages build . --out "${SITE_DIR:-site}"
}

cmd_exps() {
  # A glob refspec that matches nothing is no error: a repository without experiments is fine.
  log "git fetch $GIT_REMOTE refs/exps/*"
  with_token git fetch --quiet --no-tags "$GIT_REMOTE" '+refs/exps/*:refs/exps/*'
  log "experiments: $(git for-each-ref --format=x refs/exps | wc -l | tr -d ' ') refs"
}

"cmd_$1"
