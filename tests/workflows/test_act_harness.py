"""The act harness itself: which workflows it starts, what it refuses, what it catches."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from harness import (
    ACT,
    NO_COMMIT,
    STAND_INS,
    assert_jobs,
    local_repositories,
    run_workflow,
    start_world,
)
from triggers import glob_regex, matches, starts

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def started(
    event: str, payload: dict, changed: tuple[str, ...] = (), message: str = ""
) -> list[str]:
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    return [name for name in names if starts(load(name), event, payload, changed, message)]


MAIN = {"ref": "refs/heads/main"}
PULL = {"action": "opened", "pull_request": {"base": {"ref": "main"}}}
TRIGGERS = [
    ("a data batch", "push", MAIN, ("data/batches.dvc",), "", ["ci.yml", "train.yml"]),
    ("code", "push", MAIN, ("src/mlpages/cli.py",), "", ["ci.yml", "train.yml"]),
    ("docs only", "push", MAIN, ("README.md", "docs/ci.md"), "", ["ci.yml", "pages.yml"]),
    # Both publish the site: pages.yml is skipped only when every file is one train.yml watches.
    (
        "params and docs",
        "push",
        MAIN,
        ("params.yaml", "README.md"),
        "",
        ["ci.yml", "pages.yml", "train.yml"],
    ),
    ("another branch", "push", {"ref": "refs/heads/feature"}, ("src/x.py",), "", []),
    ("a tag", "push", {"ref": "refs/tags/model@v0.1.0"}, ("src/x.py",), "", []),
    ("[skip ci]", "push", MAIN, ("src/x.py",), "data: b7 [skip ci]", []),
    ("a pull request", "pull_request", PULL, ("src/x.py",), "", ["ci.yml", "pr.yml"]),
    ("a labelled PR", "pull_request", {**PULL, "action": "labeled"}, ("src/x.py",), "", []),
    ("the schedule", "schedule", {}, (), "", ["train.yml"]),
    ("a dispatch", "workflow_dispatch", MAIN, (), "", ["ci.yml", "pages.yml", "train.yml"]),
]


@pytest.mark.parametrize(
    ("case", "event", "payload", "changed", "message", "expected"),
    TRIGGERS,
    ids=[t[0] for t in TRIGGERS],
)
def test_which_workflows_github_starts(case, event, payload, changed, message, expected):
    assert started(event, payload, changed, message) == expected


def test_filter_globs_are_githubs():
    assert glob_regex("data/**.dvc").match("data/batches/b1.csv.dvc")
    assert glob_regex("src/*").match("src/a.py") and not glob_regex("src/*").match("src/a/b.py")
    assert glob_regex("v?").match("v1") and not glob_regex("v?").match("v10")
    assert matches(["docs/**", "!docs/ci.md"], "docs/a.md")
    assert not matches(["docs/**", "!docs/ci.md"], "docs/ci.md")
    with pytest.raises(ValueError, match="not implemented"):
        glob_regex("v[12]")


def test_every_action_of_the_workflows_has_a_stand_in():
    mapped = local_repositories(ROOT)
    used = {entry.split("@", 1)[0] for entry in mapped}
    # actions/cache: the pip cache of this repository's action.yml (`uses: ./`).
    assert used == {"actions/checkout", "actions/setup-python", "actions/upload-pages-artifact",
                    "actions/deploy-pages", "actions/github-script", "actions/cache"}  # fmt: skip
    assert all(Path(entry.split("=", 1)[1], "action.yml").is_file() for entry in mapped)


def test_an_action_without_a_stand_in_is_refused(tmp_path: Path):
    flows = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, flows)
    pages = flows / "pages.yml"
    pages.write_text(pages.read_text().replace("actions/deploy-pages@", "someone/deploy@"))
    with pytest.raises(ValueError, match=r"no stand-in for .*someone/deploy@"):
        local_repositories(tmp_path)


def test_the_stand_ins_are_documented():
    text = (ROOT / "docs" / "ci.md").read_text()
    for name in STAND_INS:
        assert f"`{name}`" in text, name


def _validate(folder: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "ACT_DISABLE_VERSION_CHECK": "1"}
    return subprocess.run(
        [str(ACT), "--validate", "--strict", "-W", str(folder)],
        cwd=home, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_every_workflow_passes_acts_strict_validation(tmp_path: Path):
    """ci.yml included: it cannot run under the harness (its step is the test suite itself)."""
    assert _validate(WORKFLOWS, tmp_path).returncode == 0
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    ci = copy / "ci.yml"
    ci.write_text(ci.read_text().replace("timeout-minutes:", "timeout-minute:"))
    refused = _validate(copy, tmp_path)
    assert (
        refused.returncode == 1
        and "Unknown Property timeout-minute" in refused.stdout + refused.stderr
    )


PROBE = """\
name: probe
on: push
permissions: {}
jobs:
  cache:
    runs-on: ubuntu-latest
    steps:
      - id: cache
        uses: actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5
        with:
          path: ~/.cache/pip
          key: pip-${{ runner.os }}
  persisted:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: true
      - run: test "$(git rev-list --count HEAD)" = 1 && git push -q origin HEAD:refs/heads/persisted
  not-persisted:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
          fetch-depth: 0
      - env:
          GIT_TERMINAL_PROMPT: "0"
        run: |
          test -z "$(git config --get-regexp extraheader)"
          ! git push -q origin HEAD:refs/heads/refused
  echo:
    runs-on: ubuntu-latest
    steps:
      - env:
          X: ${{ fromJSON('{') }}
        run: echo "x=$X"
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory):
    """One act run of PROBE, and the origin's branches afterwards."""
    with start_world(tmp_path_factory.mktemp("probe")) as world:
        world.commit("a probe workflow", {".github/workflows/probe.yml": PROBE})
        world.push("main")
        run = run_workflow(world, ".github/workflows/probe.yml", world.push_event(NO_COMMIT))
        yield run, set(world.origin_git("branch", "--format=%(refname:short)").split())


@pytest.mark.slow
def test_the_stand_ins_do_their_documented_effect(probe):
    run, branches = probe
    expected = {"cache": "success", "persisted": "success", "not-persisted": "success"}
    assert {k: v for k, v in run.results().items() if k in expected} == expected, run.report()
    assert run.jobs["cache"].outputs["cache"]["cache-hit"] == "false"
    # A persisted token lets a later `git push` through; without it the origin refuses.
    assert branches == {"main", "persisted"}


@pytest.mark.slow
def test_an_expression_act_cannot_evaluate_fails_the_run(probe):
    """act logs the error, runs the step with the expression as '' and calls it a success."""
    run, _ = probe
    assert run.returncode == 0 and run.results()["echo"] == "success"
    assert {job for job, _ in run.errors} == {"echo"}
    with pytest.raises(AssertionError, match="Unable to interpolate expression"):
        assert_jobs(run, run.results())
