"""Run a repository's GitHub workflow files with nektos/act, offline, against GitHub stand-ins.

A ``World`` is one repository's GitHub on 127.0.0.1: a bare origin behind a git server that
wants the run's token (tests/git_http_server.py), an S3 server holding the DVC remote with the
read-only and write keys of docs/remote.md (tests/s3server.py), the issue-comments API
(fake_github.py), a folder standing for the GitHub Pages site; plus the developer's clone the
test commits in. ``run_workflow(world, workflow, event)`` runs one workflow file of the
repository, as committed at the event's commit, in act's host mode (no Docker), and returns what
act did, parsed from its JSON log: every job's result, log lines, step outputs and job summaries,
act's error records, and the environment every bash step ran with (``record_env.sh``).

act is started so that it cannot reach the network: no version check, no cache server, offline
action mode, every ``uses:`` answered by a stand-in in ``actions/`` (an action without one is
refused before act starts), a private HOME, working directory and action cache per run, and a
clean environment (a step inherits act's whole environment).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fake_github import FakeGitHub, fake_github
from helpers.ci_project import BUCKET, documented_policies
from helpers.git import IDENTITY, git
from helpers.git_http_server import git_http_server, server_url
from helpers.s3server import ALLOW_S3, S3Server, start_s3_server
from triggers import starts

HERE = Path(__file__).resolve().parent
ACT = Path(sys.executable).with_name("act")
VENV = Path(sys.prefix)
RECORD_ENV = HERE / "record_env.sh"
# Actions the workflows may use, each answered by its stand-in (whatever ref is pinned).
STAND_INS = {
    f"actions/{name}": HERE / "actions" / name
    for name in (
        "checkout",
        "setup-python",
        "cache",
        "upload-pages-artifact",
        "deploy-pages",
        "github-script",
    )
}
# Not stand-ins: the mlpages action of this checkout, as the workflows `mlpages init` writes
# reference it (`mlpages init --action acme/mlpages@<sha>`), whatever ref they pin: the files
# the action runs, copied (act copies an action's folder at every use: not the whole checkout).
LOCAL_ACTIONS = {"acme/mlpages": HERE.parents[1]}
ACTION_FILES = ("action.yml", "pyproject.toml", "scripts/action.sh", "scripts/ct.sh")
REPOSITORY, FORK = "acme/widgets", "mallory/widgets"
BOT = "github-actions[bot]"
# Long values: act masks every secret value wherever it occurs in its log, even inside words.
WRITE_TOKEN = "ghs_harnessWriteToken" + "7" * 20
FORK_TOKEN = "ghs_harnessForkReadOnlyToken" + "3" * 16
NO_COMMIT = "0" * 40
SECRET_NAMES = {
    "read": ("DVC_READ_AWS_ACCESS_KEY_ID", "DVC_READ_AWS_SECRET_ACCESS_KEY"),
    "write": ("DVC_WRITE_AWS_ACCESS_KEY_ID", "DVC_WRITE_AWS_SECRET_ACCESS_KEY"),
}


@dataclass(frozen=True)
class Event:
    """A GitHub event as act gets it, and where the repository is when it happens."""

    name: str  # push | pull_request | schedule | workflow_dispatch
    payload: Mapping[str, Any]  # act's -e: what ${{ github.event }} holds
    sha: str  # github.sha: act reads it from the HEAD of the clone it runs in
    branch: str  # the clone's branch: github.ref when the payload names no ref (schedule)
    changed: tuple[str, ...] = ()  # for the paths filters: a push's or pull request's files
    head_message: str = ""  # for [skip ci]

    @property
    def fork(self) -> bool:
        """A pull request whose head lives in another repository."""
        pull = self.payload.get("pull_request") or {}
        return bool(pull) and pull["head"]["repo"]["full_name"] != REPOSITORY


@dataclass(frozen=True)
class Job:
    """One job of an act run, keyed ``<job id>`` or ``<caller job id>/<called job id>``."""

    key: str
    name: str
    needs: tuple[str, ...]
    calls: str  # the reusable workflow a caller job runs (its jobs are "<key>/<id>"), or ""
    result: str  # success | failure | skipped | "" (act never got to it, or a caller that ran)
    lines: tuple[str, ...]  # the steps' output, and act's warnings and errors
    summaries: tuple[str, ...]  # $GITHUB_STEP_SUMMARY of each step that wrote one
    outputs: Mapping[str, Mapping[str, str]]  # step id -> output name -> value


@dataclass(frozen=True)
class StepEnv:
    """The environment one bash step ran with, unmasked."""

    workflow: str  # GITHUB_WORKFLOW: the called workflow's name in a called job
    job: str  # GITHUB_JOB
    in_action: bool  # a step of a (stand-in) action, not a `run:` of the workflow
    script: str  # what the step ran
    env: Mapping[str, str]


@dataclass(frozen=True)
class ActRun:
    """What one act run did."""

    workflow: str
    event: Event
    returncode: int
    seconds: float
    jobs: Mapping[str, Job]
    errors: tuple[tuple[str, str], ...]  # (job key or "", message) of every error record
    log: Path  # act's JSON log
    step_envs: tuple[StepEnv, ...]

    def results(self) -> dict[str, str]:
        """Job key -> result; a caller job that ran has no result of its own (act gives it
        none), its called jobs stand for it."""
        ran = {key.split("/", 1)[0] for key, job in self.jobs.items() if "/" in key and job.result}
        return {key: job.result for key, job in self.jobs.items() if key not in ran}

    def report(self) -> str:
        """What to read when an assertion fails: results, errors, the failing jobs' log."""
        lines = [
            f"act {self.event.name} -W {self.workflow}: exit {self.returncode}, "
            f"{self.seconds:.1f} s, log {self.log}",
            f"jobs: {self.results()}",
            *(f"error [{job}]: {message}" for job, message in self.errors),
        ]
        for job in self.jobs.values():
            if job.result != "success":
                lines += [f"--- {job.key} ({job.result or 'not run'})", *job.lines[-40:]]
        return "\n".join(lines)


def assert_jobs(run: ActRun, expected: Mapping[str, str]) -> None:
    """Exactly these job results, no act error record outside an expected failure, and the
    exit code act gives for them (a wrong output name or `if:` shows only this way)."""
    assert run.results() == dict(expected), run.report()
    failing = {key for key, result in expected.items() if result == "failure"}
    stray = [(job, message) for job, message in run.errors if job not in failing]
    assert not (stray if failing else run.errors), run.report()
    assert run.returncode == (1 if failing else 0), run.report()


def job_graph(run: ActRun) -> str:
    """The run's jobs as text: key, result, name, needs (a called workflow's jobs indented)."""
    width = max(len(key) + 2 * key.count("/") for key in run.jobs)
    rows = [f"act {run.event.name} -W {run.workflow}"]
    for job in run.jobs.values():
        indent = "  " * job.key.count("/")
        needs = f" (needs {', '.join(job.needs)})" if job.needs else ""
        calls = f" -> {job.calls}" if job.calls else ""
        result = "" if job.calls and job.key not in run.results() else job.result or "-"
        rows.append(
            f"  {indent}{job.key:<{width - len(indent)}}  {result:<8} {job.name}{needs}{calls}"
        )
    return "\n".join(rows)


def load_workflow(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def _needs(job: Mapping[str, Any]) -> tuple[str, ...]:
    needs = job.get("needs") or ()
    return (needs,) if isinstance(needs, str) else tuple(needs)


def job_table(clone: Path, workflow: str) -> dict[str, tuple[str, str, tuple[str, ...], str]]:
    """act's name for each job -> (key, job name, needs, called workflow), in the workflow's
    order.

    act names a job ``<workflow name>/<job name>`` and a job of a called workflow
    ``<caller job name>/<called workflow name>/<job name>``; names default to the id, a
    workflow's to its file name.
    """
    doc = load_workflow(clone / workflow)
    title = doc.get("name") or Path(workflow).name
    table = {}
    for job_id, job in (doc.get("jobs") or {}).items():
        name = job.get("name") or job_id
        uses = str(job.get("uses", ""))
        table[f"{title}/{name}"] = (job_id, name, _needs(job), uses)
        if uses.startswith("./"):
            called = load_workflow(clone / uses)
            called_title = called.get("name") or Path(uses).name
            for inner_id, inner in (called.get("jobs") or {}).items():
                inner_name = inner.get("name") or inner_id
                table[f"{name}/{called_title}/{inner_name}"] = (
                    f"{job_id}/{inner_id}",
                    inner_name,
                    _needs(inner),
                    "",
                )
    return table


def _uses(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses" and isinstance(value, str):
                yield value.strip()
            else:
                yield from _uses(value)
    elif isinstance(node, list):
        for value in node:
            yield from _uses(value)


def action_references(clone: Path) -> set[str]:
    """Every remote ``uses:`` of the workflow files and of the repository's own actions."""
    pending = sorted((clone / ".github" / "workflows").glob("*.y*ml"))
    pending += sorted(clone.glob("action.y*ml"))
    seen: set[Path] = set()
    remote = set()
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for uses in _uses(load_workflow(path)):
            if uses.startswith("./"):
                local = clone / uses
                pending += (
                    [local]
                    if local.suffix in (".yml", ".yaml")
                    else sorted(local.glob("action.y*ml"))
                )
            else:
                remote.add(uses)
                mapped = LOCAL_ACTIONS.get(uses.partition("@")[0])
                if mapped:  # the actions that action uses, in turn
                    pending += sorted(mapped.glob("action.y*ml"))
    return remote


def copy_action(name: str, folder: Path) -> Path:
    """The files of LOCAL_ACTIONS[name] that the action runs, copied into ``folder``."""
    target = folder / name
    for rel in ACTION_FILES:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(LOCAL_ACTIONS[name] / rel, target / rel)
    return target


def local_repositories(clone: Path, actions: Path | None = None) -> list[str]:
    """act's ``--local-repository`` values; refuses actions that have no stand-in (act would
    try to download them). LOCAL_ACTIONS are copied into ``actions`` (default: used as is)."""
    mapped, missing = [], []
    for uses in sorted(action_references(clone)):
        name, _, ref = uses.partition("@")
        local = STAND_INS.get(name)
        if name in LOCAL_ACTIONS:
            local = copy_action(name, actions) if actions else LOCAL_ACTIONS[name]
        if local and ref:
            mapped.append(f"{uses}={local}")
        else:
            missing.append(uses)
    if missing:
        raise ValueError(f"no stand-in for {missing}: act would try to download them")
    return mapped


def parse_log(
    text: str, table: Mapping[str, tuple[str, str, tuple[str, ...], str]]
) -> tuple[dict[str, Job], tuple[tuple[str, str], ...]]:
    """act's ``--json`` log -> jobs (in the workflow's order) and the error records."""
    found: dict[str, dict[str, Any]] = {}
    errors: list[tuple[str, str]] = []

    def entry(display: str) -> dict[str, Any]:
        key, name, needs, calls = table.get(display, (display, display, (), ""))
        empty = {"result": "", "lines": [], "summaries": [], "outputs": {}}
        return found.setdefault(
            key, {"key": key, "name": name, "needs": needs, "calls": calls, **empty}
        )

    for display in table:  # the workflow's order, and a row for a job act never mentions
        entry(display)
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        display = str(record.get("job") or "").strip()
        level = record.get("level")
        message = str(record.get("msg", "")).strip()
        if level in ("error", "fatal"):
            errors.append((entry(display)["key"] if display else "", message))
        if not display:
            continue
        job = entry(display)
        if record.get("raw_output"):
            job["lines"].append(str(record.get("msg", "")).rstrip("\n"))
        elif level in ("error", "fatal", "warning"):
            job["lines"].append(f"<{level}> {message}")
        step_id = record.get("stepID") or []
        # A composite action's summary is reported for its inner step and again for the step
        # using it: GitHub shows it once, for the workflow's step (as outputs, below).
        if record.get("command") == "summary" and len(step_id) <= 1:
            job["summaries"].append(str(record.get("content", "")))
        if record.get("command") == "set-output" and len(step_id) == 1:
            job["outputs"].setdefault(step_id[0], {})[record.get("name", "")] = record.get(
                "arg", ""
            )
        if "jobResult" in record:
            job["result"] = str(record["jobResult"])
    jobs = {
        key: Job(
            key=key,
            name=data["name"],
            needs=tuple(data["needs"]),
            calls=data["calls"],
            result=data["result"],
            lines=tuple(data["lines"]),
            summaries=tuple(data["summaries"]),
            outputs=data["outputs"],
        )
        for key, data in found.items()
    }
    return jobs, tuple(errors)


def read_step_envs(folder: Path) -> tuple[StepEnv, ...]:
    """The environments record_env.sh wrote, oldest first."""
    envs = []
    for path in sorted(folder.glob("step.*"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
        script, _, rest = path.read_bytes().partition(b"\0")
        env = dict(
            item.decode(errors="replace").partition("=")[::2]
            for item in rest.split(b"\0")
            if b"=" in item
        )
        envs.append(
            StepEnv(
                workflow=env.get("GITHUB_WORKFLOW", ""),
                job=env.get("GITHUB_JOB", ""),
                in_action=bool(env.get("GITHUB_ACTION_PATH")),
                script=script.decode(errors="replace").strip(),
                env=env,
            )
        )
    return tuple(envs)


def _dotenv(values: Mapping[str, str]) -> str:
    for key, value in values.items():
        if "\n" in value or not key.isidentifier():
            raise ValueError(f"{key}: not a one-line dotenv entry")
    return "".join(f"{key}={value}\n" for key, value in values.items())


def run_workflow(world: World, workflow: str, event: Event, *, timeout: float = 600) -> ActRun:
    """Run ``workflow`` (a path in the repository, e.g. ``.github/workflows/train.yml``) as
    committed at the event's commit, with the world's secrets and variables; a fork's pull
    request gets a read-only token."""
    world.runs += 1
    scratch = world.root / "runs" / f"{world.runs:02d}-{Path(workflow).stem}-{event.name}"
    home, env_dir, artifacts = scratch / "home", scratch / "step-env", scratch / "artifacts"
    for folder in (home, env_dir, artifacts):
        folder.mkdir(parents=True)
    clone = world.stage(event)
    table = job_table(clone, workflow)
    (scratch / "event.json").write_text(json.dumps(event.payload))
    (scratch / "secrets.env").write_text(_dotenv(world.secrets(event)))
    (scratch / "vars.env").write_text(_dotenv(world.variables()))
    step_env = {
        # Where the stand-ins find the test venv, this workflow run's artifacts and the site.
        "ACT_STANDIN_VENV": str(VENV),
        "ACT_STANDIN_ARTIFACTS": str(artifacts),
        "ACT_STANDIN_PAGES": str(world.pages),
        # github.server_url / api_url (and their variables) point at the servers on 127.0.0.1.
        "GITHUB_SERVER_URL": world.server_url,
        "GITHUB_API_URL": world.api.url,
        "BASH_ENV": str(RECORD_ENV),
        "ACT_HARNESS_ENV_DIR": str(env_dir),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(world.root / "dvc-site-cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [
        str(ACT), event.name,
        "-C", str(clone),
        "-W", str(clone / workflow),
        "-e", str(scratch / "event.json"),
        "-P", "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--no-skip-checkout",  # else act copies the clone into the workspace, no checkout runs
        "--no-cache-server",
        "--remote-name", "github",  # github.repository: from this remote's URL
        "--secret-file", str(scratch / "secrets.env"),
        "--var-file", str(scratch / "vars.env"),
        "--env-file", os.devnull,
        "--input-file", os.devnull,
        "--action-cache-path", str(scratch / "act-cache"),
        "--json",
        "--verbose",  # "skipped" records for jobs that did not run
    ]  # fmt: skip
    for mapping in local_repositories(clone, scratch / "actions"):
        command += ["--local-repository", mapping]
    for key, value in step_env.items():
        command += ["--env", f"{key}={value}"]
    act_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LANG": "C.UTF-8",
        "ACT_DISABLE_VERSION_CHECK": "1",  # else act asks a server for notices at start
    }
    start = time.monotonic()
    # Its own session, killed as a group: act does not enforce timeout-minutes, and a step's
    # stray children must not outlive the run. cwd: act reads ./.actrc from there.
    process = subprocess.Popen(
        command,
        cwd=scratch,
        env=act_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        stdout, stderr = process.communicate()
        stderr += "\n" + json.dumps({"level": "error", "msg": f"harness: killed after {timeout} s"})
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
    seconds = time.monotonic() - start
    log = scratch / "act.jsonl"
    # Job records go to stdout, act's own (planning, job-less errors) to stderr.
    log.write_text(stdout + stderr)
    jobs, errors = parse_log(stdout + "\n" + stderr, table)
    return ActRun(
        workflow=workflow,
        event=event,
        returncode=process.returncode,
        seconds=seconds,
        jobs=jobs,
        errors=errors,
        log=log,
        step_envs=read_step_envs(env_dir),
    )


@dataclass
class World:
    """One repository's GitHub on 127.0.0.1, and the developer's clone (``dev``)."""

    root: Path
    s3: S3Server
    git_server: Any  # tests/git_http_server.py's server
    api: FakeGitHub
    runs: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def server_url(self) -> str:
        return server_url(self.git_server)

    @property
    def origin(self) -> Path:
        return self.root / "git" / f"{REPOSITORY}.git"

    @property
    def dev(self) -> Path:
        return self.root / "dev"

    @property
    def pages(self) -> Path:
        return self.root / "pages"

    # --- the developer ---------------------------------------------------------------------

    def run(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
        """A command with the test venv first on PATH; must succeed."""
        proc = subprocess.run(
            list(args), cwd=cwd, env={**self.env, **(env or {})}, capture_output=True, text=True
        )
        assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def dvc(self, *args: str) -> str:
        """dvc in the developer's clone, with the S3 server's admin key."""
        admin = self.s3.users["admin"]
        return self.run(
            self.dev, "dvc", *args, env={**admin, "AWS_ENDPOINT_URL_S3": self.s3.endpoint}
        )

    def write(self, files: Mapping[str, str]) -> None:
        for rel, content in files.items():
            target = self.dev / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def commit(self, message: str, files: Mapping[str, str] | None = None) -> str:
        """Write ``files`` into the developer's clone, commit everything, return the sha."""
        self.write(files or {})
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        return git(self.dev, "rev-parse", "HEAD").strip()

    def push(self, *refspecs: str) -> None:
        git(self.dev, "push", "-q", "origin", *refspecs)

    def sync(self, branch: str = "main") -> None:
        """The developer's clone at origin's ``branch``, with origin's tags (after CI pushed)."""
        git(self.dev, "fetch", "-q", "--tags", "--force", "origin")
        git(self.dev, "checkout", "-q", "-B", branch, f"origin/{branch}")

    # --- the origin --------------------------------------------------------------------------

    def origin_git(self, *args: str) -> str:
        return git(self.origin, *args)

    def origin_tags(self) -> set[str]:
        return set(self.origin_git("tag", "--list").split())

    def origin_rev(self, ref: str = "main") -> str:
        return self.origin_git("rev-parse", ref).strip()

    def registry(self) -> dict[str, Any]:
        """``mlpages registry show --json`` of origin's tags and main."""
        self.sync()
        return json.loads(self.run(self.dev, "mlpages", "registry", "show", "--json"))

    def open_pull_request(self, number: int, head: str, base: str = "main") -> tuple[str, str]:
        """What GitHub does for a pull request: refs/pull/N/head, and the test merge of head
        into base at refs/pull/N/merge (updated on every push). Returns (head, merge) shas."""
        tree = self.origin_git("merge-tree", "--write-tree", base, head).split()[0]
        identity = {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        merge = git(
            self.origin,
            "commit-tree", tree, "-p", base, "-p", head, "-m", f"Merge {head} into {base}",
            env={**identity, "GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com"},
        ).strip()  # fmt: skip
        head_sha = self.origin_rev(head)
        self.origin_git("update-ref", f"refs/pull/{number}/head", head_sha)
        self.origin_git("update-ref", f"refs/pull/{number}/merge", merge)
        return head_sha, merge

    # --- events --------------------------------------------------------------------------------

    def _repository(self) -> dict[str, Any]:
        return {"full_name": REPOSITORY, "default_branch": "main"}

    def push_event(self, before: str, branch: str = "main") -> Event:
        """The push that moved origin's ``branch`` from ``before`` (NO_COMMIT: a new branch)."""
        after = self.origin_rev(branch)
        if before == NO_COMMIT:
            changed = self.origin_git("ls-tree", "-r", "--name-only", after).split("\n")
        else:
            changed = self.origin_git("diff", "--name-only", before, after).split("\n")
        payload = {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "repository": self._repository(),
            "head_commit": {
                "id": after,
                "message": self.origin_git("log", "-1", "--format=%B", after),
            },
        }
        message = payload["head_commit"]["message"]
        return Event("push", payload, after, branch, tuple(p for p in changed if p), message)

    def pull_request_event(
        self, number: int, head: str, *, fork: bool = False, action: str = "synchronize"
    ) -> Event:
        """Pull request ``number`` of branch ``head`` into main, with refs/pull/N/* made as
        GitHub makes them. A fork's branch is not in the origin: its commit must have been
        pushed to refs/pull/N/head (as GitHub copies it there)."""
        head_ref = f"refs/pull/{number}/head" if fork else head
        head_sha, merge = self.open_pull_request(number, head_ref)
        base_sha = self.origin_rev("main")
        payload = {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "head": {
                    "ref": head,
                    "sha": head_sha,
                    "repo": {"full_name": FORK if fork else REPOSITORY},
                },
                "base": {"ref": "main", "sha": base_sha, "repo": {"full_name": REPOSITORY}},
            },
            "repository": self._repository(),
        }
        changed = self.origin_git("diff", "--name-only", f"{base_sha}...{head_sha}").split("\n")
        message = self.origin_git("log", "-1", "--format=%B", head_sha)
        return Event("pull_request", payload, merge, head, tuple(p for p in changed if p), message)

    def schedule_event(self, cron: str = "23 5 * * 1") -> Event:
        """A scheduled run: on the default branch's tip."""
        return Event(
            "schedule",
            {"schedule": cron, "repository": self._repository()},
            self.origin_rev(),
            "main",
        )

    def dispatch_event(self, branch: str = "main", **inputs: str) -> Event:
        """A manual dispatch on ``branch`` with these inputs."""
        payload = {
            "ref": f"refs/heads/{branch}",
            "inputs": inputs,
            "repository": self._repository(),
        }
        return Event("workflow_dispatch", payload, self.origin_rev(branch), branch)

    # --- what GitHub would hand a run -----------------------------------------------------------

    def secrets(self, event: Event) -> dict[str, str]:
        """Every secret to every job, as act does (it has no environments). A fork's pull
        request gets them too, the worst case, so the tests see whether the workflow keeps
        them out; only its token is the read-only one GitHub gives forks."""
        values = {"GITHUB_TOKEN": FORK_TOKEN if event.fork else WRITE_TOKEN}
        for user, names in SECRET_NAMES.items():
            key = self.s3.users[user]
            values[names[0]] = key["AWS_ACCESS_KEY_ID"]
            values[names[1]] = key["AWS_SECRET_ACCESS_KEY"]
        return values

    def variables(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_S3": self.s3.endpoint,
            "MLPAGES_SITE_URL": "https://acme.github.io/widgets",
        }

    def stage(self, event: Event) -> Path:
        """The clone act runs in, at the event's commit on the event's branch."""
        clone = self.root / "act-clone"
        if not clone.exists():
            clone.mkdir()
            git(clone, "init", "-q")
            git(clone, "remote", "add", "origin", str(self.origin))
            git(clone, "remote", "add", "github", f"https://github.com/{REPOSITORY}.git")
        git(clone, "fetch", "-q", "--prune", "--force", "--tags", "origin",
            "+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*:refs/remotes/pull/*")  # fmt: skip
        git(clone, "checkout", "-q", "--force", "-B", event.branch, event.sha)
        git(clone, "clean", "-q", "-fdx")
        return clone

    def started(self, event: Event) -> list[str]:
        """The workflow files GitHub starts for the event (act does not filter)."""
        clone = self.stage(event)
        return [
            str(path.relative_to(clone))
            for path in sorted((clone / ".github" / "workflows").glob("*.y*ml"))
            if starts(
                load_workflow(path), event.name, event.payload, event.changed, event.head_message
            )
        ]


def _auth(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {basic}"


@contextmanager
def start_world(root: Path) -> Iterator[World]:
    """Servers up, an empty origin ``acme/widgets`` and a developer clone of it, a DVC bucket
    with the admin key (for the test's own set-up), the documented read-only and write keys."""
    with ExitStack() as stack:
        policies = {name: json.dumps(doc) for name, doc in documented_policies().items()}
        s3 = start_s3_server(root, {"admin": ALLOW_S3, **policies})
        stack.callback(s3.stop)
        s3.client().create_bucket(Bucket=BUCKET)
        origin = root / "git" / f"{REPOSITORY}.git"
        origin.parent.mkdir(parents=True)
        git(root, "init", "-q", "--bare", str(origin))
        # actions/checkout fetches a commit by its sha.
        git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")
        server = stack.enter_context(
            git_http_server(root / "git", WRITE_TOKEN, read_only=(FORK_TOKEN,))
        )
        api = stack.enter_context(
            fake_github({WRITE_TOKEN: BOT, FORK_TOKEN: BOT}, frozenset({FORK_TOKEN}))
        )
        world = World(
            root=root,
            s3=s3,
            git_server=server,
            api=api,
            env={
                **os.environ,
                **IDENTITY,
                "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
                "DVC_NO_ANALYTICS": "1",
                "DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache"),
            },
        )
        world.dev.mkdir()
        git(world.dev, "init", "-q")
        git(world.dev, "remote", "add", "origin", f"{world.server_url}/{REPOSITORY}")
        # The developer's own credential: the git server wants a token for every request.
        git(world.dev, "config", "http.extraheader", _auth(WRITE_TOKEN))
        yield world
