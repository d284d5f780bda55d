"""The workflows `mlpages init` writes, run by nektos/act like the repository's own (issue 19).

The get-started-like repository (real `dvc repro`, no DVC remote, no gate stage) adopts mlpages
with `mlpages init --all`: its mlpages-pages.yml builds and deploys the site and its
mlpages-pr.yml diffs a pull request and writes the sticky comment. The action they call,
`acme/mlpages@<sha>`, is this checkout's action.yml (harness.LOCAL_ACTIONS), not a stand-in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import BOT, NO_COMMIT, REPOSITORY, World, assert_jobs, run_workflow, start_world
from helpers.cli import mlpages
from helpers.foreign.get_started import build_get_started
from helpers.git import git

from mlpages.compare.markdown import MARKER

pytestmark = pytest.mark.slow
ACTION = "acme/mlpages@" + "0123456789abcdef0123456789abcdef01234567"
PAGES, PR = ".github/workflows/mlpages-pages.yml", ".github/workflows/mlpages-pr.yml"


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
