"""The GitHub Actions workflows: structure, least privilege, pinning, and the two auditors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpages.diff_markdown import MARKER

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
NAMES = ("ci", "train", "pr", "pages")

# From the workplace's ACTIONS.md: the latest release of each action, pinned by commit SHA.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
    "actions/configure-pages": ("983d7736d9b0ae728b81ab479565c72886d7745b", "v5.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/upload-pages-artifact": ("fc324d3547104276b827a68afc52ff2a11cc49c9", "v5.0.0"),
    "actions/deploy-pages": ("cd2ce8fcbc39b97be8ca5fce6e763baed58fa128", "v5.0.0"),
}

# Every write scope granted anywhere, with the job that needs it. Anything else must be read-only.
ALLOWED_WRITES = {
    ("train", "train"): {"contents"},
    ("train", "promote"): {"contents"},
    ("train", "site"): {"pages", "id-token"},
    ("pr", "comment"): {"pull-requests"},
    ("pages", "deploy"): {"pages", "id-token"},
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    # PyYAML reads the bare key `on` as True (YAML 1.1).
    data["on"] = data.pop(True, data.get("on"))
    return data


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return load(name)["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or []


def test_all_workflows_present_and_named():
    found = sorted(p.stem for p in WORKFLOWS.glob("*.y*ml"))
    assert found == sorted(NAMES)
    for name in NAMES:
        assert load(name)["name"] == name


@pytest.mark.parametrize("name", NAMES)
def test_least_privilege_permissions(name):
    workflow = load(name)
    assert workflow["permissions"] == {}, "default token permissions must be none"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}/{job_id} must declare its permissions"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        assert writes == ALLOWED_WRITES.get((name, job_id), set()), f"{name}/{job_id}"
        assert all(level in ("read", "write") for level in job["permissions"].values())


@pytest.mark.parametrize("name", NAMES)
def test_concurrency_groups(name):
    workflow = load(name)
    assert "concurrency" in workflow
    group = workflow["concurrency"]["group"]
    assert "${{" in group  # per ref or per PR, not one global queue
    if name in ("train", "pages"):
        # Runs that push commits, tags or a deployment are queued, never cancelled midway.
        assert workflow["concurrency"]["cancel-in-progress"] is False
    groups = [load(n)["concurrency"]["group"].split("-$")[0] for n in NAMES]
    assert len(set(groups)) == len(groups), "a called workflow sharing its caller's group deadlocks"


@pytest.mark.parametrize("name", NAMES)
def test_actions_pinned_by_sha_with_version_comment(name):
    text = (WORKFLOWS / f"{name}.yml").read_text()
    uses_lines = [line.strip() for line in text.splitlines() if re.match(r"\s*-?\s*uses:", line)]
    assert uses_lines
    for line in uses_lines:
        target = line.split("uses:", 1)[1].strip()
        if target.startswith("./.github/workflows/"):
            continue
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", target)
        assert match, f"not pinned by SHA with a version comment: {line}"
        action, sha, version = match.groups()
        assert PINNED[action] == (sha, version), f"{action} is not the pinned release"


def test_checkout_credentials_and_history():
    pushing_jobs = {("train", "train"), ("train", "promote")}
    history_jobs = {
        ("train", "train"),
        ("train", "promote"),
        ("pr", "diff"),
        ("pages", "build"),
    }
    seen = set()
    for name in NAMES:
        for job_id, job in jobs(name).items():
            for step in steps(job):
                if not str(step.get("uses", "")).startswith("actions/checkout@"):
                    continue
                seen.add((name, job_id))
                options = step.get("with") or {}
                expected = (name, job_id) in pushing_jobs
                assert options.get("persist-credentials") is expected, f"{name}/{job_id}"
                if (name, job_id) in history_jobs:
                    assert options.get("fetch-depth") == 0, f"{name}/{job_id} reads history"
    assert history_jobs <= seen
    # The job that writes the PR comment runs no repository code at all.
    assert not any("checkout" in str(s.get("uses", "")) for s in steps(jobs("pr")["comment"]))


def test_no_expressions_inside_run_scripts_and_runs_are_thin():
    for name in NAMES:
        for job_id, job in jobs(name).items():
            for step in steps(job):
                if "run" not in step:
                    continue
                script = step["run"]
                assert "${{" not in script, f"{name}/{job_id}: pass values through env:"
                lines = [line for line in script.strip().splitlines() if line.strip()]
                assert len(lines) == 1 and re.match(r"(make |\.ci/run)", lines[0]), (
                    f"{name}/{job_id}: a workflow step should call make or .ci/run, got {script!r}"
                )


def test_make_targets_called_by_workflows_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set()
    for line in makefile.splitlines():
        match = re.match(r"^([\w\- ]+):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    called = set()
    for name in NAMES:
        for job in jobs(name).values():
            for step in steps(job):
                called.update(re.findall(r"make \"?([\w\-]+)", step.get("run", "")))
    choices = load("train")["on"]["workflow_dispatch"]["inputs"]["action"]["options"]
    expanded = set()
    for target in called:
        if target.endswith("-"):  # make "ct-$ACTION": the dispatch choices handled by that job
            expanded |= {target + choice for choice in choices if choice != "train"}
        else:
            expanded.add(target)
    assert expanded and expanded <= targets, expanded - targets


def test_triggers():
    assert all("pull_request_target" not in (load(n)["on"] or {}) for n in NAMES)
    train = load("train")["on"]
    assert set(train["push"]["paths"]) == {"data/**.dvc", "src/**", "params.yaml", "dvc.yaml"}
    assert train["schedule"][0]["cron"]
    inputs = train["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["train", "promote", "rollback"]
    assert "reason" in inputs
    pages = load("pages")["on"]
    assert "workflow_call" in pages
    # Pushes that start train.yml do not also start pages.yml (train publishes when done).
    assert set(pages["push"]["paths-ignore"]) == set(train["push"]["paths"])
    assert "pull_request" in load("pr")["on"] and "pull_request" in load("ci")["on"]


def test_train_publishes_the_site_as_later_jobs():
    train = jobs("train")
    site = train["site"]
    assert set(site["needs"]) == {"train", "promote"}
    assert site["uses"] == "./.github/workflows/pages.yml"
    assert "always()" in site["if"]
    assert "inputs.action" in train["promote"]["if"]
    pages = jobs("pages")
    upload = [s for s in steps(pages["build"]) if "upload-pages-artifact" in s.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "site"
    assert pages["deploy"]["environment"]["name"] == "github-pages"
    assert pages["deploy"]["needs"] == "build"


def test_pr_comment_is_sticky_and_same_repo_only():
    pr = jobs("pr")
    comment = pr["comment"]
    assert comment["needs"] == "diff"
    condition = " ".join(comment["if"].split())
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "needs.diff.outputs.markdown != ''" in condition
    step = steps(comment)[0]
    assert step["uses"].startswith("actions/github-script@")
    script = step["with"]["script"]
    assert f'"{MARKER}"' in script
    assert "updateComment" in script and "createComment" in script
    assert step["env"]["BODY"] == "${{ needs.diff.outputs.markdown }}"
    assert pr["diff"]["outputs"]["markdown"] == "${{ steps.diff.outputs.markdown }}"
    ct = (ROOT / "scripts" / "ct.sh").read_text()
    assert "GITHUB_STEP_SUMMARY" in ct and "markdown<<" in ct


def test_ct_script_is_clean_shell():
    script = str(ROOT / "scripts" / "ct.sh")
    subprocess.run(["bash", "-n", script], check=True)
    proc = subprocess.run([_tool("shellcheck"), script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert path, f"{name} is a dev dependency: pip install -e '.[dev]'"
    return path


def test_zizmor_reports_nothing():
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "informational", str(WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_workflows_match_the_github_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
