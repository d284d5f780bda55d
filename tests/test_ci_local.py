"""The continuous-training workflows, run locally: the same `scripts/ct.sh` steps as train.yml and
pr.yml, against fresh clones of a local bare "origin" with a local DVC remote.

A tiny real project (scikit-learn model, `mlpages gate` and `mlpages monitor` as DVC stages, a
`type: model` artifact) goes through: training on push (rubber stamp, registered, staging), a
manual promotion, a scheduled run with a healthy new batch (the trigger does not fire: only the
monitoring is recorded, no model, no version), a promotion and a rollback, a scheduled run with a
drifted batch (the trigger fires: retrained, blessed, registered), a pull request that cripples
the model (diff markdown, gate refuses), one that breaks a stage (the summary says so, the step
fails), and the merge of the crippling one (a params push forces retraining; recorded, nothing
registered or promoted).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.ci_project import DVC_YAML, PARAMS, TRAIN_PY, raw_data
from helpers.git import IDENTITY, git

from mlpages.compare.markdown import MARKER

ROOT = Path(__file__).resolve().parents[1]
CT = ROOT / "scripts" / "ct.sh"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


class World:
    """A bare origin, a DVC remote folder, a developer clone, and fresh CI clones."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        self.store = tmp / "dvc-store"
        self.env = {
            **os.environ,
            **IDENTITY,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(tmp / "dvc-site-cache"),
        }
        self.runs = 0

    def run(self, cwd: Path, *args: str, env: dict[str, str] | None = None, status: int = 0) -> str:
        proc = subprocess.run(
            list(args), cwd=cwd, env={**self.env, **(env or {})}, capture_output=True, text=True
        )
        assert proc.returncode == status, f"{args}: exit {proc.returncode}\n{proc.stderr}"
        return proc.stdout

    def ct(self, cwd: Path, step: str, status: int = 0, **env: str) -> str:
        return self.run(cwd, "bash", str(CT), step, env=env, status=status)

    def ct_log(self, cwd: Path, step: str, **env: str) -> str:
        """Run a step that must succeed and return its log (stderr)."""
        proc = subprocess.run(
            ["bash", str(CT), step],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"ct.sh {step}: exit {proc.returncode}\n{proc.stderr}"
        return proc.stderr

    def ci_clone(self, ref: str = "main") -> Path:
        """Like actions/checkout with fetch-depth: 0: all branches and tags, `ref` checked out."""
        self.runs += 1
        path = self.tmp / f"ci-{self.runs}"
        git(self.tmp, "clone", "-q", "--no-local", str(self.origin), str(path))
        if ref != "main":
            git(path, "checkout", "-q", "--detach", ref)
        return path

    def origin_tags(self) -> set[str]:
        out = git(self.tmp, "ls-remote", "--tags", "--refs", str(self.origin))
        return {line.split("refs/tags/", 1)[1] for line in out.splitlines()}

    def origin_file(self, ref: str, path: str) -> str:
        return git(self.origin, "show", f"{ref}:{path}")


@pytest.fixture
def world(tmp_path: Path) -> tuple[World, Path]:
    w = World(tmp_path)
    git(tmp_path, "init", "-q", "--bare", str(w.origin))
    dev = tmp_path / "dev"
    dev.mkdir()
    git(dev, "init", "-q")
    (dev / "data").mkdir()
    (dev / "data" / "raw.csv").write_text(raw_data())
    (dev / "data" / "batches").mkdir()
    (dev / "data" / "batches" / "b01.csv").write_text(raw_data(200, seed=11))
    (dev / "train.py").write_text(TRAIN_PY)
    (dev / "dvc.yaml").write_text(DVC_YAML)
    (dev / "params.yaml").write_text(PARAMS.format(features="[x1, x2]"))
    w.run(dev, "dvc", "init", "-q")
    # What `dvc config core.analytics false` and `dvc remote add -d store` write, minus 2 starts.
    (dev / ".dvc" / "config").write_text(
        f"[core]\n    analytics = false\n    remote = store\n['remote \"store\"']\n"
        f"    url = {w.store}\n"
    )
    w.run(dev, "dvc", "add", "-q", "data/raw.csv")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "project: data, training script, gate")
    git(dev, "remote", "add", "origin", str(w.origin))
    git(dev, "push", "-q", "origin", "main")
    w.run(dev, "dvc", "push", "-q")
    return w, dev


def test_train_promote_pr_and_refused_merge(world):
    w, dev = world

    # --- train.yml on a push to main: repro, rubber stamp, register + staging, push, site ---
    ci = w.ci_clone()
    out_file = w.tmp / "train-output"
    w.ct(ci, "train", CT_EVENT="push", GITHUB_OUTPUT=str(out_file))
    assert "retrain=true" in out_file.read_text()
    stored = set(w.store.rglob("*"))
    w.ct(ci, "register", GITHUB_OUTPUT=str(out_file), REASON="first run")
    assert "verdict=blessed" in out_file.read_text()
    # register writes in the clone only; the push step (the one with credentials) publishes
    assert w.origin_tags() == set() and set(w.store.rglob("*")) == stored
    w.ct(ci, "push")
    assert set(w.store.rglob("*")) > stored
    tags = w.origin_tags()
    assert {"model@v0.1.0", "model#staging#1"} <= tags, tags
    gate = json.loads(w.origin_file("main", "reports/gate.json"))
    assert gate["verdict"] == "blessed" and gate["rubber_stamp"] is True
    lock = w.origin_file("main", "dvc.lock")
    assert "models/model.pkl" in lock and "reports/gate.json" in lock
    message = git(w.origin, "log", "-1", "--format=%s", "main")
    assert message.strip() == "ct: record pipeline run (first run)"
    w.ct(ci, "site")
    assert (ci / "site" / "index.html").is_file()

    # --- train.yml dispatched with action=promote: staging version -> prod ---
    ci = w.ci_clone()
    w.ct(ci, "promote", REASON="looks good")
    assert not any(t.startswith("model#prod#") for t in w.origin_tags())
    w.ct(ci, "push")
    assert any(t.startswith("model#prod#") for t in w.origin_tags())
    shown = json.loads(w.run(ci, "mlpages", "registry", "show", "--json"))
    assert shown["model"]["stage"]["prod"] == "v0.1.0"

    # --- a healthy batch lands, train.yml on its schedule: the trigger does not fire, so only
    # the monitoring is recorded: no training, no new model, no version ---
    git(dev, "pull", "-q", "--tags", "origin", "main")
    (dev / "data" / "batches" / "b02.csv").write_text(raw_data(200, seed=12))
    git(dev, "add", "data/batches")
    git(dev, "commit", "-q", "-m", "data: batch b02")
    git(dev, "push", "-q", "origin", "main")
    main_before, tags_before = git(w.origin, "rev-parse", "main").strip(), w.origin_tags()
    lock_before = yaml.safe_load(w.origin_file("main", "dvc.lock"))
    ci = w.ci_clone()
    summary, out_file = w.tmp / "schedule-summary.md", w.tmp / "schedule-output"
    log = w.ct_log(
        ci,
        "train",
        CT_EVENT="schedule",
        GITHUB_OUTPUT=str(out_file),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert "retrain=false" in out_file.read_text() and "verdict=none" in out_file.read_text()
    assert "monitoring only, no retraining" in summary.read_text()
    assert "ct: dvc repro monitor" in log and "ct: dvc repro\n" not in log
    w.ct(ci, "register")
    w.ct(ci, "push")
    assert git(w.origin, "rev-parse", "main~1").strip() == main_before
    message = git(w.origin, "log", "-1", "--format=%s", "main").strip()
    assert message == "ct: record monitoring, no retraining"
    committed = git(w.origin, "show", "--name-only", "--format=", "main").split()
    assert "reports/monitoring.json" in committed and "reports/gate.json" not in committed
    lock = yaml.safe_load(w.origin_file("main", "dvc.lock"))
    assert lock["stages"]["train"] == lock_before["stages"]["train"], "nothing was retrained"
    assert lock["stages"]["monitor"] != lock_before["stages"]["monitor"]
    record = json.loads(w.origin_file("main", "reports/monitoring.json"))
    assert [b["batch"] for b in record["batches"]] == ["b01.csv", "b02.csv"]
    assert record["batches"][-1]["model_version"] == "v0.1.0"  # scored by production
    assert json.loads(w.origin_file("main", "reports/trigger.json"))["retrain"] is False
    assert w.origin_tags() == tags_before
    git(dev, "pull", "-q", "--tags", "origin", "main")

    # --- train.yml dispatched: promote a hand-registered v0.2.0, then roll back ---
    w.run(dev, "mlpages", "registry", "register", "model", "--version", "v0.2.0")
    git(dev, "push", "-q", "origin", "model@v0.2.0")
    ci = w.ci_clone()
    w.ct(ci, "promote", VERSION="v0.2.0")
    w.ct(ci, "push")
    shown = json.loads(w.run(ci, "mlpages", "registry", "show", "--json"))
    assert shown["model"]["stage"]["prod"] == "v0.2.0"
    ci = w.ci_clone()
    w.ct(ci, "rollback")
    w.ct(ci, "push")
    shown = json.loads(w.run(ci, "mlpages", "registry", "show", "--json"))
    assert shown["model"]["stage"]["prod"] == "v0.1.0"
    events = json.loads(w.run(ci, "mlpages", "registry", "history", "model", "--json"))
    assert events[0]["rollback"] is True and events[0]["version"] == "v0.1.0"

    # --- a drifted batch lands, train.yml on its schedule: the trigger fires, so the model is
    # retrained; the gate blesses it and it is registered and assigned to staging ---
    (dev / "data" / "batches" / "b03.csv").write_text(raw_data(200, seed=13, shift=2.5))
    git(dev, "add", "data/batches")
    git(dev, "commit", "-q", "-m", "data: batch b03")
    git(dev, "push", "-q", "origin", "main")
    tags_before_drift = w.origin_tags()
    ci = w.ci_clone()
    summary, out_file = w.tmp / "drift-summary.md", w.tmp / "drift-output"
    w.ct(
        ci,
        "train",
        CT_EVENT="schedule",
        GITHUB_OUTPUT=str(out_file),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert "retrain=true" in out_file.read_text() and "verdict=blessed" in out_file.read_text()
    assert "### Continuous training: retraining" in summary.read_text()
    assert "- trigger: drift: " in summary.read_text()
    w.ct(ci, "register", GITHUB_OUTPUT=str(out_file))
    w.ct(ci, "push")
    new_tags = w.origin_tags() - tags_before_drift
    assert "model@v0.3.0" in new_tags and any(t.startswith("model#staging#") for t in new_tags)
    body = git(w.origin, "log", "-1", "--format=%B", "main")
    assert (
        body.startswith("ct: record pipeline run")
        and "Retraining decision: yes (trigger: drift" in body
    )
    assert json.loads(w.origin_file("main", "reports/trigger.json"))["retrain"] is True
    git(dev, "pull", "-q", "--tags", "origin", "main")

    # --- a pull request that cripples the model (only the noise feature) ---
    git(dev, "checkout", "-q", "-b", "noise-only")
    (dev / "params.yaml").write_text(PARAMS.format(features="[noise]"))
    git(dev, "commit", "-q", "-am", "train on the noise feature only")
    git(dev, "push", "-q", "origin", "noise-only")
    base = git(w.origin, "rev-parse", "main").strip()
    tags_before_pr = w.origin_tags()

    ci = w.ci_clone("origin/noise-only")
    summary, output = w.tmp / "pr-summary.md", w.tmp / "pr-output"
    w.ct(
        ci,
        "pr",
        BASE_SHA=base,
        HEAD_REF="noise-only",
        SITE_URL="https://example.org/site",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(output),
    )
    markdown = (ci / "mlpages-diff.md").read_text()
    assert markdown.startswith(MARKER)
    assert summary.read_text() == markdown
    assert output.read_text().startswith("markdown<<MLPAGES_") and MARKER in output.read_text()
    assert "**Gate:** ❌ rejected" in markdown and "`v0.1.0`" in markdown
    roc = next(line for line in markdown.splitlines() if "| roc_auc |" in line)
    assert "🔴 worse" in roc
    assert '| params.yaml | train.features | \\["x1", "x2"\\] | \\["noise"\\] |' in markdown
    assert "- `train` — " in markdown and "param params.yaml:train.features" in markdown
    assert "/compare/origin-noise-only-" in markdown  # the site's page for this branch
    assert w.origin_tags() == tags_before_pr  # a pull request never registers anything

    # --- a pull request that breaks a stage: the step fails, the summary still says why ---
    git(dev, "checkout", "-q", "-b", "broken", "main")
    (dev / "train.py").write_text("raise SystemExit('broken on purpose')\n")
    git(dev, "commit", "-q", "-am", "break training")
    git(dev, "push", "-q", "origin", "broken")
    ci = w.ci_clone("origin/broken")
    summary = w.tmp / "broken-summary.md"
    w.ct(ci, "pr", status=1, BASE_SHA=base, GITHUB_STEP_SUMMARY=str(summary))
    assert summary.read_text().startswith(MARKER)
    assert "⚠️ dvc repro failed" in summary.read_text()

    # --- the same branch from a fork: no credentials, so no pull and no repro; a summary of
    # what is committed on the branch, and the step succeeds ---
    ci = w.ci_clone("origin/broken")
    summary = w.tmp / "fork-summary.md"
    log = w.ct_log(ci, "pr", PR_FROM_FORK="true", BASE_SHA=base, GITHUB_STEP_SUMMARY=str(summary))
    assert "pull request from a fork" in log and "dvc pull" not in log
    assert summary.read_text().startswith(MARKER)
    assert "pull request from a fork: it gets no access to the DVC remote" in summary.read_text()
    assert not (ci / ".dvc" / "cache").exists()  # nothing was pulled, nothing was run

    # --- the pull request is merged anyway: train.yml records the run, promotes nothing ---
    git(dev, "checkout", "-q", "main")
    git(dev, "merge", "-q", "--no-ff", "-m", "merge noise-only", "noise-only")
    before_push = git(w.origin, "rev-parse", "main").strip()
    git(dev, "push", "-q", "origin", "main")
    ci = w.ci_clone()
    out_file = w.tmp / "train-output-2"
    log = w.ct_log(ci, "train", CT_EVENT="push", CT_BEFORE=before_push)
    assert "ct:   - push changed params.yaml" in log  # forced, whatever the trigger says
    w.ct(ci, "site")  # built before the run is recorded: it must not be committed with it
    # The page the pull-request comment linked to exists on the site built from main's history.
    page = re.search(r"\(https://example\.org/site/(compare/[^)]+)\)", markdown).group(1)
    assert (ci / "site" / page).is_file(), page
    w.ct(ci, "register", GITHUB_OUTPUT=str(out_file))
    w.ct(ci, "push")
    assert "verdict=rejected" in out_file.read_text()
    committed = git(w.origin, "show", "--name-only", "--format=", "main").split()
    assert "dvc.lock" in committed and "reports/gate.json" in committed
    assert not any(path.startswith("site/") for path in committed)
    gate = json.loads(w.origin_file("main", "reports/gate.json"))
    assert gate["verdict"] == "rejected" and gate["champion"]["version"] == "v0.1.0"
    assert w.origin_tags() == tags_before_pr, "a refused model must not be registered or promoted"
    shown = json.loads(w.run(ci, "mlpages", "registry", "show", "--json"))
    assert shown["model"]["stage"]["prod"] == "v0.1.0"
    assert shown["model"]["version"] == "v0.3.0"  # the latest is still the drift retraining's


def test_unknown_step_prints_usage(tmp_path):
    proc = subprocess.run(["bash", str(CT), "nope"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "scripts/ct.sh train" in proc.stderr


REGISTRY_DVC_YAML = """\
artifacts:
  model:
    path: models/model.pkl
    type: model
"""


def test_push_step_authenticates_only_its_own_git_process(tmp_path):
    """`ct.sh push` against an HTTP origin that wants a token, as github.com does.

    The CI clone is made the way actions/checkout does with persist-credentials: false (the
    token as a one-off header); promote writes its tag locally, and only the push step, given
    GITHUB_TOKEN, can publish it. The token never reaches .git/config.
    """
    from helpers.git_http_server import basic_auth, git_http_server, server_url

    w, token = World(tmp_path), "ghs_test-token-4711"
    git(tmp_path, "init", "-q", "--bare", str(w.origin))
    dev = tmp_path / "dev"
    dev.mkdir()
    git(dev, "init", "-q")
    (dev / "models").mkdir()
    (dev / "models" / "model.pkl").write_text("a model")
    (dev / "dvc.yaml").write_text(REGISTRY_DVC_YAML)
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "a model")
    w.run(dev, "mlpages", "registry", "register", "model")
    w.run(dev, "mlpages", "registry", "assign", "model", "staging")
    git(dev, "push", "-q", "--tags", str(w.origin), "HEAD:refs/heads/main")

    with git_http_server(tmp_path, token) as server:
        url = f"{server_url(server)}/origin.git"
        ci = tmp_path / "ci"
        header = f"http.extraheader=AUTHORIZATION: {basic_auth(token)}"
        git(tmp_path, "-c", header, "clone", "-q", url, str(ci))
        w.ct(ci, "promote")
        assert w.origin_tags() == {"model@v0.0.1", "model#staging#1"}
        server.seen.clear()

        # No token, then a wrong one: refused, nothing pushed, the step says so in one line.
        for env in ({}, {"GITHUB_TOKEN": "wrong", "GITHUB_SERVER_URL": server_url(server)}):
            proc = subprocess.run(
                ["bash", str(CT), "push"],
                cwd=ci,
                env={**w.env, **env},
                capture_output=True,
                text=True,
            )
            assert proc.returncode == 1, proc.stderr
            assert "ct: origin refused the push" in proc.stderr
            assert w.origin_tags() == {"model@v0.0.1", "model#staging#1"}

        w.ct(ci, "push", GITHUB_TOKEN=token, GITHUB_SERVER_URL=server_url(server))
        assert w.origin_tags() == {"model@v0.0.1", "model#staging#1", "model#prod#2"}
        assert basic_auth(token) in server.seen
        log = w.ct_log(ci, "push", GITHUB_TOKEN=token, GITHUB_SERVER_URL=server_url(server))
        assert "nothing to push" in log  # the queue was sent once and removed

    config = (ci / ".git" / "config").read_text()
    assert token not in config and "extraheader" not in config
    assert basic_auth(token).split()[1] not in config
    assert not any(
        token in p.read_text(errors="replace") for p in (ci / ".git").glob("*") if p.is_file()
    )
