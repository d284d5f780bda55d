"""The workflows `mlpages init` writes, run by nektos/act like the repository's own (issue 19).

The get-started-like repository (real `dvc repro`, no DVC remote, no gate stage) adopts mlpages
with `mlpages init --all`: its mlpages-pages.yml builds and deploys the site and its
mlpages-pr.yml diffs a pull request and writes the sticky comment. The CT project of
test_act_events.py (S3 remote with the read/write key split) adopts it too: its
mlpages-train.yml retrains, registers, pushes the tags and publishes the site. The action they call,
`acme/mlpages@<sha>`, is this checkout's action.yml (harness.LOCAL_ACTIONS), not a stand-in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import BOT, NO_COMMIT, REPOSITORY, World, assert_jobs, run_workflow, start_world
from helpers.cli import mlpages
from helpers.foreign.get_started import build_get_started
from helpers.git import git
from test_act_events import (
    READ,
    TRAINED,
    WRITE,
    add_batch,
    credentials,
    project_files,
    published_versions,
)

from mlpages.compare.markdown import MARKER

pytestmark = pytest.mark.slow
ACTION = "acme/mlpages@" + "0123456789abcdef0123456789abcdef01234567"
PAGES, PR, TRAIN = (f".github/workflows/mlpages-{name}.yml" for name in ("pages", "pr", "train"))
OURS = (".github/", "action.yml", "scripts/", "Makefile")


@pytest.fixture
def world(tmp_path: Path):
    (tmp_path / "world").mkdir()
    with start_world(tmp_path / "world") as world:
        source = tmp_path / "get-started"
        source.mkdir()
        build_get_started(source)
        git(world.dev, "fetch", "-q", str(source), "main")
        git(world.dev, "checkout", "-q", "-B", "main", "FETCH_HEAD")
        yield world


def test_generated_workflows_publish_and_comment(world: World):
    out = mlpages("init", "--all", "--action", ACTION, cwd=world.dev, ok=(0,)).stdout
    assert "written         .github/workflows/mlpages-pages.yml" in out
    assert "mlpages-train.yml not written" in out  # get-started has no gate stage
    world.commit("adopt mlpages (mlpages init --all)")
    world.push("main")

    pushed = world.push_event(NO_COMMIT)
    assert PAGES in world.started(pushed)
    published = run_workflow(world, PAGES, pushed)
    assert_jobs(published, {"build": "success", "deploy": "success"})
    assert (world.pages / "index.html").is_file()
    assert (world.pages / "commit" / f"{pushed.sha[:12]}.html").is_file()

    git(world.dev, "checkout", "-q", "-b", "bigger-split")
    params = (world.dev / "params.yaml").read_text()
    world.commit("a bigger split", {"params.yaml": params.replace("split: 0.3", "split: 0.35")})
    world.push("bigger-split")
    opened = world.pull_request_event(3, "bigger-split", action="opened")
    assert world.started(opened) == [PR]
    diffed = run_workflow(world, PR, opened)
    assert_jobs(diffed, {"diff": "success", "comment": "success"})
    (comment,) = [c for c in world.api.comments_on(REPOSITORY, 3) if c.login == BOT]
    assert comment.body.startswith(MARKER) and [comment.body] == list(diffed.jobs["diff"].summaries)
    assert diffed.jobs["diff"].outputs["diff"]["markdown-file"] == "mlpages-diff.md"


@pytest.fixture
def ct_world(tmp_path: Path):
    """The CT project of test_act_events.py (S3 remote, gate and monitor stages, a model
    artifact) with none of this repository's files: no workflow, no action, no Makefile."""
    with start_world(tmp_path) as world:
        files = {k: v for k, v in project_files().items() if not k.startswith(OURS)}
        files["pyproject.toml"] = '[project]\nname = "widgets"\nversion = "0"\n'
        world.write(files)
        world.dvc("init", "-q")
        (world.dev / ".dvc" / "config").write_text(
            "[core]\n    analytics = false\n    remote = store\n"
            "['remote \"store\"']\n    url = s3://mlpages-dvc/store\n"
        )
        world.dvc("add", "-q", "data/raw.csv", "data/batches")
        world.commit("project: data, training script, gate")
        world.dvc("push", "-q")
        world.push("main")
        yield world


def test_generated_training_workflow_registers_and_publishes(ct_world: World):
    world = ct_world
    before = world.origin_rev()
    out = mlpages("init", "--all", "--action", ACTION, cwd=world.dev, ok=(0,)).stdout
    assert (
        "written         .github/workflows/mlpages-train.yml" in out
        and "written         .gto" in out
    )
    world.commit("adopt mlpages (mlpages init --all)")
    world.push("main")
    assert world.started(world.push_event(before)) == [PAGES]  # no data, code or params changed
    before = world.origin_rev()
    add_batch(world, "b02.csv", "data: batch b02", seed=12)
    pushed = world.push_event(before)
    assert world.started(pushed) == [TRAIN]
    trained = run_workflow(world, TRAIN, pushed)
    assert_jobs(trained, TRAINED)
    assert trained.jobs["train"].outputs["register"]["verdict"] == "blessed"
    assert world.origin_tags() == {"model@v0.1.0", "model#staging#1"}
    assert published_versions(world) == {"v0.1.0": {"staging"}}
    held = credentials(world, trained)
    assert held[("mlpages train", "train", "mlpages ct-push")] == WRITE | {"GITHUB_TOKEN"}
    assert held[("mlpages train", "train", "mlpages ct-train")] == READ
    for (_, _, what), names in held.items():
        if what not in ("mlpages ct-push", "mlpages fetch-experiments"):
            assert not names & (WRITE | {"GITHUB_TOKEN"}), (what, names)
