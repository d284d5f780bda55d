"""The repository's real workflow files, run end to end by nektos/act for each event they handle.

The project is the tiny one of tests/test_ci_local.py (a scikit-learn model, `mlpages gate` and
`mlpages monitor` stages, a `type: model` artifact), with its training script under `src/` and
its data batches tracked by DVC, plus copies of this repository's `.github/workflows/`,
`Makefile` and `scripts/ct.sh`. harness.py is its GitHub: the origin behind a token-checking git
server, the DVC remote on an S3 server with the read-only and write keys, the comments API, a
Pages folder. Each test plays a story of events; each run is checked for its exact job results,
act's error records, and its effects on the origin, the remote, the site and the pull request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from harness import (
    BOT,
    FORK_TOKEN,
    NO_COMMIT,
    REPOSITORY,
    SECRET_NAMES,
    WRITE_TOKEN,
    ActRun,
    Event,
    World,
    assert_jobs,
    job_graph,
    run_workflow,
    start_world,
)
from helpers.ci_project import DVC_YAML, PARAMS, TRAIN_PY, raw_data

from mlpages import __version__
from mlpages.compare.markdown import MARKER

ROOT = Path(__file__).resolve().parents[2]
TRAIN, PAGES, PR, CI = (f".github/workflows/{name}.yml" for name in ("train", "pages", "pr", "ci"))
TRAINED = {
    "train": "success",
    "promote": "skipped",
    "site/build": "success",
    "site/deploy": "success",
}
PROMOTED = {
    "train": "skipped",
    "promote": "success",
    "site/build": "success",
    "site/deploy": "success",
}
PUBLISHED = {"build": "success", "deploy": "success"}
COMMENTED = {"diff": "success", "comment": "success"}
READ, WRITE = set(SECRET_NAMES["read"]), set(SECRET_NAMES["write"])

pytestmark = pytest.mark.slow


def project_files() -> dict[str, str]:
    """The tiny project, its training script under src/ (a code path of train.yml)."""
    dvc_yaml = DVC_YAML.replace("cmd: python train.py", "cmd: python src/train.py")
    dvc_yaml = dvc_yaml.replace("deps: [train.py,", "deps: [src/train.py,")
    assert "src/train.py" in dvc_yaml and " train.py" not in dvc_yaml.replace("src/train.py", "")
    files = {
        "src/train.py": TRAIN_PY,
        "dvc.yaml": dvc_yaml,
        "params.yaml": PARAMS.format(features="[x1, x2]"),
        # The workflows run this repository's action (`uses: ./`), so the project carries it
        # as the action's checkout would: action.yml, its scripts and mlpages's [project]
        # name and version, which the test venv has installed (the action installs nothing).
        "pyproject.toml": f'[project]\nname = "mlpages"\nversion = "{__version__}"\n',
        "README.md": "# widgets\n",
        ".gitignore": "/site/\n/mlpages-diff.md\n",
        "data/raw.csv": raw_data(),
        "data/batches/b01.csv": raw_data(200, seed=11),
    }
    files["Makefile"] = (ROOT / "Makefile").read_text()
    for script in ("ct.sh", "action.sh"):
        files[f"scripts/{script}"] = (ROOT / "scripts" / script).read_text()
    files["action.yml"] = (ROOT / "action.yml").read_text()
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        files[f".github/workflows/{path.name}"] = path.read_text()
    return files


def create_project(world: World) -> None:
    """The first commit on main: the project, its data in the DVC remote."""
    world.write(project_files())
    for script in ("ct.sh", "action.sh"):
        (world.dev / "scripts" / script).chmod(0o755)
    world.dvc("init", "-q")
    # The bucket and prefix docs/remote.md's policies name; the endpoint comes from the
    # repository variable AWS_ENDPOINT_URL_S3, as in the workflows.
    (world.dev / ".dvc" / "config").write_text(
        "[core]\n    analytics = false\n    remote = store\n"
        "['remote \"store\"']\n    url = s3://mlpages-dvc/store\n"
    )
    world.dvc("add", "-q", "data/raw.csv", "data/batches")
    world.commit("project: data, training script, gate")
    world.dvc("push", "-q")
    world.push("main")


def add_batch(world: World, name: str, message: str, **data: float) -> None:
    """A new data batch through DVC, committed and pushed to main."""
    world.write({f"data/batches/{name}": raw_data(200, **data)})
    world.dvc("add", "-q", "data/batches")
    world.dvc("push", "-q")
    world.commit(message)
    world.push("main")


def published_versions(world: World) -> dict[str, set[str]]:
    """The versions table of the published site's models page: version cell -> stages ({}: no
    table, no version yet)."""
    page = BeautifulSoup((world.pages / "models.html").read_text(), "html.parser")
    for table in page.find_all("table"):
        rows = [
            [c.get_text(" ", strip=True) for c in r.find_all(["th", "td"])]
            for r in table.find_all("tr")
        ]
        if rows and rows[0][:2] == ["Version", "Stages"]:
            return {row[0]: set(row[1].split()) for row in rows[1:]}
    return {}


def step_output(run: ActRun, job: str, step: str, name: str) -> str:
    return run.jobs[job].outputs[step][name]


def holds(env: Mapping[str, str], secret: str) -> bool:
    return any(secret in value for value in env.values())


def credentials(world: World, run: ActRun) -> dict[tuple[str, str, str], set[str]]:
    """Which credentials each step of the workflows held: (workflow, job, what) -> names, read
    from the steps' recorded environments (act's log masks secret values). ``what`` is a
    `run:` step's script, or ``mlpages <command>`` for the steps of this repository's action
    (`uses: ./`: its probe, install and run steps together); the stand-ins are left out."""
    values = {value: name for name, value in world.secrets(run.event).items()}
    held: dict[tuple[str, str, str], set[str]] = {}
    for step in run.step_envs:
        if step.in_action and "MLPAGES_COMMAND" not in step.env and "ACTION_PATH" not in step.env:
            continue
        what = step.script
        if step.in_action:
            what = f"mlpages {step.env.get('MLPAGES_COMMAND') or step.env['ACTION_PATH']}"
        names = {name for value, name in values.items() if holds(step.env, value)}
        held.setdefault((step.workflow, step.job, what), set()).update(names)
    return held


def assert_push_step_only_writes(world: World, run: ActRun) -> None:
    """The write key reaches no step but the action's ct-push, the token none but ct-push and
    fetch-experiments (git only) (docs/ci.md)."""
    for (workflow, job, what), names in credentials(world, run).items():
        if what == "mlpages fetch-experiments":
            assert not names & WRITE, (workflow, job, what, names)
        elif what != "mlpages ct-push":
            assert not names & (WRITE | {"GITHUB_TOKEN"}), (workflow, job, what, names)


def run(world: World, workflow: str, event: Event) -> ActRun:
    """One workflow run with the checks that hold for every run."""
    result = run_workflow(world, workflow, event)
    assert_push_step_only_writes(world, result)
    return result


@pytest.fixture
def world(tmp_path: Path):
    with start_world(tmp_path) as world:
        create_project(world)
        yield world


def test_training_registry_and_site(world: World):
    """push (first training) → promote → healthy schedule → drifted push → promote → rollback."""
    # --- the first push: the whole project, so it starts train.yml and pages.yml (and ci.yml,
    # which only the test suite itself runs); both publish, in either order ---
    first = world.push_event(NO_COMMIT)
    assert world.started(first) == [CI, PAGES, TRAIN]
    pages = run(world, PAGES, first)
    assert_jobs(pages, PUBLISHED)
    assert published_versions(world) == {}
    trained = run(world, TRAIN, first)
    assert_jobs(trained, TRAINED)
    assert step_output(trained, "train", "train", "retrain") == "true"
    assert step_output(trained, "train", "register", "verdict") == "blessed"
    assert world.origin_tags() == {"model@v0.1.0", "model#staging#1"}
    assert world.origin_git("log", "-1", "--format=%s", "main").strip() == "ct: record pipeline run"
    assert published_versions(world) == {"v0.1.0": {"staging"}}
    # pages.yml again, as if it had started after train.yml: it builds the branch tip.
    assert_jobs(run(world, PAGES, first), PUBLISHED)
    assert published_versions(world) == {"v0.1.0": {"staging"}}
    assert not world.api.requests

    # --- dispatch: promote the staging version to production ---
    world.sync()
    promoted = run(world, TRAIN, world.dispatch_event(action="promote", reason="first model"))
    assert_jobs(promoted, PROMOTED)
    assert world.origin_tags() - {"model@v0.1.0", "model#staging#1"} == {"model#prod#2"}
    assert world.registry()["model"]["stage"]["prod"] == "v0.1.0"
    assert published_versions(world) == {"v0.1.0": {"prod", "staging"}}

    # --- a healthy batch lands without starting anything ([skip ci]); the weekly schedule
    # monitors it: the record is committed, nothing is retrained, no tag is pushed ---
    add_batch(world, "b02.csv", "data: batch b02 [skip ci]", seed=12)
    pushed = world.push_event(world.origin_rev("main~1"))
    assert world.started(pushed) == []
    tags, before = world.origin_tags(), world.origin_rev()
    scheduled = run(world, TRAIN, world.schedule_event())
    assert_jobs(scheduled, TRAINED)
    assert step_output(scheduled, "train", "train", "retrain") == "false"
    assert (
        "### Continuous training: monitoring only, no retraining"
        in scheduled.jobs["train"].summaries[0]
    )
    assert world.origin_tags() == tags
    assert world.origin_rev("main~1") == before
    assert (
        world.origin_git("log", "-1", "--format=%s", "main").strip()
        == "ct: record monitoring, no retraining"
    )

    # --- a drifted batch is pushed: the monitor's trigger retrains, the gate blesses against
    # the champion, v0.2.0 is registered and assigned to staging, the site shows it ---
    world.sync()
    before = world.origin_rev()
    add_batch(world, "b03.csv", "data: batch b03", seed=13, shift=2.5)
    drifted = world.push_event(before)
    assert drifted.changed == ("data/batches.dvc",)
    assert world.started(drifted) == [CI, TRAIN]
    trained = run(world, TRAIN, drifted)
    assert_jobs(trained, TRAINED)
    assert step_output(trained, "train", "train", "retrain") == "true"
    assert step_output(trained, "train", "register", "verdict") == "blessed"
    summary = trained.jobs["train"].summaries[0]
    assert "### Continuous training: retraining" in summary and "- trigger: drift: " in summary
    assert world.origin_tags() - tags == {"model@v0.2.0", "model#staging#3"}
    assert published_versions(world) == {"v0.1.0": {"prod"}, "v0.2.0": {"staging"}}
    assert credentials(world, trained) == {
        ("train", "train", "mlpages fetch-experiments"): {"GITHUB_TOKEN"},
        ("train", "train", "mlpages ct-train"): READ,
        ("train", "train", "mlpages ct-register"): READ,
        ("train", "train", "mlpages ct-push"): WRITE | {"GITHUB_TOKEN"},
        # act gives a called workflow only the secrets its caller passes (none): on GitHub the
        # build job has the read key of its dvc-read environment.
        ("pages", "build", "mlpages fetch-experiments"): {"GITHUB_TOKEN"},
        ("pages", "build", "mlpages build"): set(),
    }
    graph = job_graph(trained)
    assert graph in (ROOT / "docs" / "ci.md").read_text(), graph

    # --- dispatch: promote v0.2.0, then roll back to v0.1.0: the stage tags move ---
    world.sync()
    assert_jobs(
        run(world, TRAIN, world.dispatch_event(action="promote", version="v0.2.0")), PROMOTED
    )
    assert world.registry()["model"]["stage"]["prod"] == "v0.2.0"
    assert published_versions(world) == {"v0.1.0": set(), "v0.2.0": {"prod", "staging"}}
    rolled = run(world, TRAIN, world.dispatch_event(action="rollback", reason="v0.2.0 misbehaves"))
    assert_jobs(rolled, PROMOTED)
    assert world.registry()["model"]["stage"]["prod"] == "v0.1.0"
    history = json.loads(world.run(world.dev, "mlpages", "registry", "history", "model", "--json"))
    assert history[0]["rollback"] is True and history[0]["version"] == "v0.1.0"
    assert published_versions(world) == {"v0.1.0 rolled back to": {"prod"}, "v0.2.0": {"staging"}}
    assert not world.api.requests


def trained_main(world: World) -> None:
    """main with a healthy second batch and a recorded pipeline run, its outputs in the
    remote, v0.0.1 in production (made by the developer: the tests are about what follows)."""
    world.write({"data/batches/b02.csv": raw_data(200, seed=12)})
    world.dvc("add", "-q", "data/batches")
    world.dvc("repro", "-q")
    world.commit("a first pipeline run")
    world.dvc("push", "-q")
    world.run(world.dev, "mlpages", "registry", "register", "model")
    world.run(world.dev, "mlpages", "registry", "assign", "model", "prod")
    world.push("main", "--tags")


def sticky_round(world: World, event: Event, *, edits: int) -> ActRun:
    """pr.yml on a same-repository pull request: both jobs pass, and the pull request carries
    exactly one comment of the bot with the marker, the diff job's summary, edited ``edits``
    times; nothing reaches the origin."""
    tags, main = world.origin_tags(), world.origin_rev()
    result = run(world, PR, event)
    assert_jobs(result, COMMENTED)
    number = event.payload["number"]
    mine = [c for c in world.api.comments_on(REPOSITORY, number) if c.login == BOT]
    assert len(mine) == 1, mine
    assert mine[0].body.startswith(MARKER) and mine[0].edits == edits
    assert [mine[0].body] == list(result.jobs["diff"].summaries)
    assert (world.origin_tags(), world.origin_rev()) == (tags, main)
    return result


def test_pull_requests_same_repository_and_fork(world: World):
    """Same-repository PR: one sticky comment, edited by the next push. Fork PR: no comment,
    the summary only, no secret in any step. A PR breaking pr.yml's output name: caught."""
    trained_main(world)
    # Someone quotes the marker in a comment of their own: the bot must leave it alone. And
    # 150 more, so the bot's comment is on the second page of 100 the script must read.
    human = world.api.add_comment(REPOSITORY, 5, "alice", f"{MARKER} quoted by alice")
    for index in range(150):
        world.api.add_comment(REPOSITORY, 5, "bob", f"comment {index}")

    git_branch = ("checkout", "-q", "-b", "noise-only")
    world.run(world.dev, "git", *git_branch)
    world.commit(
        "train on the noise feature only", {"params.yaml": PARAMS.format(features="[noise]")}
    )
    world.push("noise-only")
    # A real experiment on the PR's head commit, its ref pushed as `dvc exp push` pushes it:
    # the comment lists it although the job's checkout is the test merge (head-sha) and the
    # checkout fetches no refs/exps (the fetch-experiments step does).
    head = world.head()
    world.dvc("exp", "run", "-q", "-n", "weak-c", "-S", "train.C=0.1")
    world.push(f"refs/exps/{head[:2]}/{head[2:]}/weak-c")
    world.run(world.dev, "git", "reset", "-q", "--hard")
    world.dvc("checkout", "-q", "--force")
    opened = world.pull_request_event(5, "noise-only", action="opened")
    assert world.started(opened) == [CI, PR]
    first = sticky_round(world, opened, edits=0)
    assert "**Gate:** ❌ rejected" in first.jobs["diff"].summaries[0]
    experiments = first.jobs["diff"].summaries[0].split("#### Experiments on the head commit", 1)
    assert len(experiments) == 2 and "| \\[weak-c\\] |" in experiments[1], experiments[-1]
    assert [r.method for r in world.api.requests] == ["GET", "GET", "POST"]
    assert credentials(world, first) == {
        # the job's token (read-only on GitHub: contents: read) in the git-only fetch alone
        ("pr", "diff", "mlpages fetch-experiments"): {"GITHUB_TOKEN"},
        ("pr", "diff", "mlpages diff"): READ,
    }

    world.commit("noise and x2", {"params.yaml": PARAMS.format(features="[noise, x2]")})
    world.push("noise-only")
    second = sticky_round(world, world.pull_request_event(5, "noise-only"), edits=1)
    assert second.jobs["diff"].summaries != first.jobs["diff"].summaries
    # the new head commit has no experiments of its own
    assert "Experiments on the head commit" not in second.jobs["diff"].summaries[0]
    assert [r.method for r in world.api.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
    assert (human.body, human.edits) == (f"{MARKER} quoted by alice", 0)

    # --- the same change from a fork: GitHub copies its commits to refs/pull/6/head ---
    world.run(world.dev, "git", "checkout", "-q", "-b", "fork-feature", "main")
    world.commit("fork: noise only", {"params.yaml": PARAMS.format(features="[noise]")})
    world.push("HEAD:refs/pull/6/head")
    requests = len(world.api.requests)
    fork = run(world, PR, world.pull_request_event(6, "feature", fork=True, action="opened"))
    assert_jobs(fork, {"diff": "success", "comment": "skipped"})
    assert len(world.api.requests) == requests and not world.api.comments_on(REPOSITORY, 6)
    (summary,) = fork.jobs["diff"].summaries
    assert summary.startswith(MARKER) and "pull request from a fork" in summary
    secrets = {
        name: value for name, value in world.secrets(fork.event).items() if name != "GITHUB_TOKEN"
    }
    for step in fork.step_envs:
        assert not any(holds(step.env, value) for value in secrets.values()), step.script
    assert not any(value in fork.log.read_text() for value in [*secrets.values(), WRITE_TOKEN])
    assert any(holds(step.env, FORK_TOKEN) for step in fork.step_envs if step.in_action)

    # --- a pull request whose pr.yml reads a step output that does not exist: act exits 0 and
    # the comment job is skipped; the checks above must fail on it ---
    world.run(world.dev, "git", "checkout", "-q", "noise-only")
    pr_yml = (world.dev / PR).read_text()
    broken = pr_yml.replace(
        "${{ steps.diff.outputs.markdown }}", "${{ steps.diff.outputs.markdwn }}"
    )
    assert broken != pr_yml
    world.commit("pr.yml: a typo in an output name", {PR: broken})
    world.push("noise-only")
    mutant = world.pull_request_event(5, "noise-only")
    with pytest.raises(AssertionError, match="'comment': 'skipped'"):
        sticky_round(world, mutant, edits=2)
    assert [c.edits for c in world.api.comments_on(REPOSITORY, 5) if c.login == BOT] == [1]


def test_code_push_retrains_and_docs_push_publishes(world: World):
    """A push changing only src/ forces retraining; one changing only docs starts pages.yml."""
    trained_main(world)
    before = world.origin_rev()
    source = (world.dev / "src" / "train.py").read_text()
    faster = source.replace(
        'LogisticRegression(C=params["C"])', 'LogisticRegression(C=params["C"], max_iter=500)'
    )
    assert faster != source
    world.commit("train: more iterations", {"src/train.py": faster})
    world.push("main")
    pushed = world.push_event(before)
    assert pushed.changed == ("src/train.py",)
    assert world.started(pushed) == [CI, TRAIN]
    trained = run(world, TRAIN, pushed)
    assert_jobs(trained, TRAINED)
    assert step_output(trained, "train", "train", "retrain") == "true"
    summary = trained.jobs["train"].summaries[0]
    assert "### Continuous training: retraining\n\n- push changed src/train.py\n" in summary
    assert "trigger: no reason to retrain" in summary  # the monitor alone would not have
    verdict = step_output(trained, "train", "register", "verdict")
    assert verdict == "blessed"
    assert world.origin_tags() == {
        "model@v0.0.1",
        "model#prod#1",
        "model@v0.1.0",
        "model#staging#2",
    }
    assert (world.pages / "commit" / f"{world.origin_rev()[:12]}.html").is_file()

    world.sync()
    before = world.origin_rev()
    world.commit("docs: usage", {"README.md": "# widgets\n\nHow to use it.\n"})
    world.push("main")
    docs = world.push_event(before)
    assert world.started(docs) == [CI, PAGES]
    published = run(world, PAGES, docs)
    assert_jobs(published, PUBLISHED)
    assert (world.pages / "commit" / f"{docs.sha[:12]}.html").is_file()
    # A build of its own (not called by train.yml) has the read key of its environment.
    assert credentials(world, published) == {
        ("pages", "build", "mlpages fetch-experiments"): {"GITHUB_TOKEN"},
        ("pages", "build", "mlpages build"): READ,
    }
