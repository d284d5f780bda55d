"""The GitHub Actions workflows: structure, least privilege, credentials, pinning, two auditors."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpages.compare.markdown import MARKER

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


@pytest.mark.parametrize("name", [*NAMES, "action"])
def test_actions_pinned_by_sha_with_version_comment(name):
    path = ROOT / "action.yml" if name == "action" else WORKFLOWS / f"{name}.yml"
    text = path.read_text()
    uses_lines = [line.strip() for line in text.splitlines() if re.match(r"\s*-?\s*uses:", line)]
    assert uses_lines
    for line in uses_lines:
        target = line.split("uses:", 1)[1].strip()
        if target.startswith("./.github/workflows/") or re.fullmatch(r"\./( #.*)?", target):
            continue  # this repository's reusable workflow and its own action (action.yml)
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", target)
        assert match, f"not pinned by SHA with a version comment: {line}"
        action, sha, version = match.groups()
        assert PINNED[action] == (sha, version), f"{action} is not the pinned release"


def test_checkout_credentials_and_history():
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
                # Never a token in .git/config: the push step authenticates its own git process.
                assert options.get("persist-credentials") is False, f"{name}/{job_id}"
                if (name, job_id) in history_jobs:
                    assert options.get("fetch-depth") == 0, f"{name}/{job_id} reads history"
    assert history_jobs <= seen
    # The job that writes the PR comment runs no repository code at all.
    assert not any("checkout" in str(s.get("uses", "")) for s in steps(jobs("pr")["comment"]))


def action_commands() -> set[str]:
    """The commands action.yml documents (its `command` input)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return set(action["inputs"]["command"]["description"].replace("|", " ").split())


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


def test_action_commands_called_by_workflows_exist():
    """Every `uses: ./` step names a command of action.yml (ct-$ACTION: the dispatch choices
    its job handles); make is called by ci.yml only."""
    known = action_commands()
    choices = load("train")["on"]["workflow_dispatch"]["inputs"]["action"]["options"]
    called = set()
    for name in NAMES:
        for job in jobs(name).values():
            for step in steps(job):
                if step.get("uses") == "./":
                    command = str(step["with"]["command"])
                    if command == "ct-${{ inputs.action }}":
                        called |= {f"ct-{choice}" for choice in choices if choice != "train"}
                    else:
                        called.add(command)
    assert {"build", "diff", "fetch-experiments", "ct-train", "ct-push"} <= called
    assert called <= known, called - known
    script = (ROOT / "scripts" / "action.sh").read_text()
    assert all(command.split("-")[0] in script for command in known)


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


def test_zizmor_auditor_reports_nothing():
    # The auditor persona adds the audits the default one leaves out (secrets-outside-env among
    # them); the pre-commit hook runs the same command.
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--persona=auditor",
            str(WORKFLOWS),
            str(ROOT / "action.yml"),
        ],
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


def test_the_action_matches_the_github_schema():
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_action_passes_inputs_through_env_only():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step
            assert step["run"].startswith('bash "$ACTION_PATH/scripts/action.sh" '), step
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "action.sh")], check=True)
    proc = subprocess.run(
        [_tool("shellcheck"), str(ROOT / "scripts" / "action.sh")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


def test_the_pre_commit_hook_runs_the_same_audits():
    hooks = {
        hook["id"]: hook
        for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
        for hook in repo["hooks"]
    }
    assert hooks["zizmor"]["entry"].split() == ["zizmor", "--offline", "--persona=auditor"]
    schema = hooks["check-github-workflows"]["entry"].split()
    assert schema == ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"]


# --- credentials: who gets which secret, and where ---------------------------------------------

READ_SECRETS = {"DVC_READ_AWS_ACCESS_KEY_ID", "DVC_READ_AWS_SECRET_ACCESS_KEY"}
WRITE_SECRETS = {"DVC_WRITE_AWS_ACCESS_KEY_ID", "DVC_WRITE_AWS_SECRET_ACCESS_KEY"}
READ_ENVIRONMENT, WRITE_ENVIRONMENT = "dvc-read", "model-registry"
PUSH_STEP = "ct-push"  # the command of this repository's action (`uses: ./`)
FETCH_STEP = "fetch-experiments"  # git fetch of refs/exps: runs no repository code


def action_command(step: dict[str, Any]) -> str | None:
    """The command of a step using this repository's action, else None."""
    return str((step.get("with") or {}).get("command")) if step.get("uses") == "./" else None


# What a pull-request job writes before a read secret, so a fork's run gets an empty value even
# where a runner hands every job every secret (nektos/act does).
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository && secrets."
SECRET_RE = re.compile(r"\bsecrets\s*(?:\.\s*([A-Za-z_][\w-]*)|\[)")
TOKEN_RE = re.compile(r"\bgithub\s*\.\s*token\b|\bsecrets\s*\.\s*github_token\b", re.IGNORECASE)


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed YAML tree (keys included), with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key, f"{path}.{key}")
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path.lstrip("."), node


def credentials_in(text: str) -> set[str]:
    """The secret names (``[index]`` for indexing) and ``token`` referenced by an expression."""
    found = {"token"} if TOKEN_RE.search(text) else set()
    for match in SECRET_RE.finditer(text):
        name = match.group(1)
        found.add(
            "[index]" if name is None else "token" if name.upper() == "GITHUB_TOKEN" else name
        )
    return found


def environment_of(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def credential_problems(workflows: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the workflows break the credential rules (docs/ci.md), one line each."""
    problems = []
    for name, workflow in workflows.items():
        runs_pr_code = bool({"pull_request", "pull_request_target"} & set(workflow["on"] or {}))
        outside = {k: v for k, v in workflow.items() if k != "jobs"}
        for path, text in strings(outside):
            if credentials_in(text):
                problems.append(f"{name}: credentials outside a step ({path})")
        for job_id, job in workflow["jobs"].items():
            where = f"{name}/{job_id}"
            environment = environment_of(job)
            if "secrets" in job:
                problems.append(f"{where}: passes secrets to a reusable workflow")
            for path, text in strings({k: v for k, v in job.items() if k != "steps"}):
                if credentials_in(text):
                    problems.append(f"{where}: credentials at job level ({path})")
            if runs_pr_code and environment == WRITE_ENVIRONMENT:
                problems.append(f"{where}: a pull-request job in the write environment")
            for index, step in enumerate(steps(job)):
                at = f"{where} step {index + 1}"
                checkout = str(step.get("uses", "")).startswith("actions/checkout@")
                if checkout and (step.get("with") or {}).get("persist-credentials") is not False:
                    problems.append(f"{at}: checkout without persist-credentials: false")
                for path, text in strings({k: v for k, v in step.items() if k != "env"}):
                    if credentials_in(text):
                        problems.append(f"{at}: credentials outside env: ({path})")
                pushes = action_command(step) == PUSH_STEP
                fetches = action_command(step) == FETCH_STEP
                read_only = _read_only(job.get("permissions", workflow.get("permissions")))
                for variable, value in (step.get("env") or {}).items():
                    for credential in credentials_in(str(value)):
                        problem = _credential_problem(
                            credential, str(value), environment, pushes, runs_pr_code, fetches,
                            read_only,
                        )  # fmt: skip
                        if problem:
                            problems.append(f"{at}: {variable}: {problem}")
    return problems


def _credential_problem(
    credential: str,
    value: str,
    environment: str | None,
    pushes: bool,
    runs_pr_code: bool,
    fetches: bool = False,
    read_only: bool = False,
) -> str | None:
    if credential == "token" and fetches:
        # The experiments fetch: git only, the job's own token; in a workflow that runs
        # pull-request code only while that token can write nothing (docs/security.md).
        if not runs_pr_code or read_only:
            return None
        return "token with write permissions in a workflow that runs pull-request code"
    if credential in WRITE_SECRETS or credential == "token":
        if runs_pr_code:
            return f"{credential} in a workflow that runs pull-request code"
        if environment != WRITE_ENVIRONMENT:
            return f"{credential} outside the {WRITE_ENVIRONMENT} environment"
        if not pushes:
            return f"{credential} in a step other than the push step ({PUSH_STEP})"
        return None
    if credential in READ_SECRETS:
        if environment not in (READ_ENVIRONMENT, WRITE_ENVIRONMENT):
            return f"{credential} outside the {READ_ENVIRONMENT} environment"
        if runs_pr_code and FORK_GUARD + credential not in " ".join(value.split()):
            return f"{credential} without the fork guard"
        return None
    return f"unknown secret {credential} (not one of the documented read/write pairs)"


def _read_only(permissions: Any) -> bool:
    """Whether a job's ``permissions:`` grant nothing beyond read (``{}`` grants nothing)."""
    if isinstance(permissions, dict):
        return all(value in ("read", "none") for value in permissions.values())
    return permissions == "read-all"


def all_workflows() -> dict[str, dict[str, Any]]:
    return {name: load(name) for name in NAMES}


def test_credentials_follow_the_rules():
    assert credential_problems(all_workflows()) == []


def test_pull_requests_and_the_site_build_read_only():
    for name, job_id in (("pr", "diff"), ("pages", "build")):
        job = jobs(name)[job_id]
        assert environment_of(job) == READ_ENVIRONMENT, f"{name}/{job_id}"
        used = set().union(*(credentials_in(text) for _, text in strings(job)))
        # Both also fetch the experiments with their (contents: read) token.
        assert job["permissions"] == {"contents": "read"}, f"{name}/{job_id}"
        assert used == READ_SECRETS | {"token"}, f"{job_id}"
        for step in steps(job):
            if action_command(step) != FETCH_STEP:
                held = set().union(
                    *(credentials_in(str(v)) for v in (step.get("env") or {}).values())
                )
                assert held <= READ_SECRETS, f"{name}/{job_id}: {step.get('name')}: {held}"
    assert "secrets" not in (load("pages")["on"]["workflow_call"] or {})
    for job_id in ("comment",):
        assert not any(credentials_in(text) for _, text in strings(jobs("pr")[job_id]))
    ci = jobs("ci")["test"]
    assert "container" not in ci  # setup-python and apt, not an image that cannot be pinned
    assert not any(credentials_in(text) for _, text in strings(ci))


def test_only_the_push_steps_hold_write_credentials():
    train = jobs("train")
    for job_id, expected in (("train", WRITE_SECRETS | {"token"}), ("promote", {"token"})):
        job = train[job_id]
        assert environment_of(job) == WRITE_ENVIRONMENT
        assert job["permissions"] == {"contents": "write"}
        push = steps(job)[-1]
        assert action_command(push) == PUSH_STEP, f"{job_id}: the push is the last step"
        held = set().union(*(credentials_in(str(v)) for v in push["env"].values()))
        assert held & (WRITE_SECRETS | {"token"}) == expected, job_id
        assert push["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
        for step in steps(job)[:-1]:
            held = set().union(*(credentials_in(str(v)) for v in (step.get("env") or {}).values()))
            allowed = READ_SECRETS | ({"token"} if action_command(step) == FETCH_STEP else set())
            assert held <= allowed, f"{job_id}: {step.get('name')}: {held}"
    assert environment_of(train["site"]) is None and "secrets" not in train["site"]
    writers = [
        f"{name}/{job_id}"
        for name in NAMES
        for job_id, job in jobs(name).items()
        if environment_of(job) == WRITE_ENVIRONMENT
    ]
    assert writers == ["train/train", "train/promote"]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(workflows: dict[str, Any]) -> None:
        node = workflows
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _step_env(name: str, job: str, index: int, **env: str) -> Callable[[dict[str, Any]], None]:
    def mutate(workflows: dict[str, Any]) -> None:
        workflows[name]["jobs"][job]["steps"][index].setdefault("env", {}).update(env)

    return mutate


WRITE_KEY = "${{ secrets.DVC_WRITE_AWS_ACCESS_KEY_ID }}"
VIOLATIONS = [
    ("write key in the PR job", _step_env("pr", "diff", -1, KEY=WRITE_KEY), "pull-request code"),
    ("token in the train step", _step_env("train", "train", -3, T="${{ github.token }}"), "push"),
    ("write key before the push", _step_env("train", "train", -2, K=WRITE_KEY), "push step"),
    ("write key in the fetch", _step_env("train", "train", 2, K=WRITE_KEY), "push step"),
    ("token in the PR diff", _step_env("pr", "diff", -1, T="${{ github.token }}"), "pull-request"),
    (
        "write token in the PR fetch",
        _set(("pr", "jobs", "diff", "permissions"), {"contents": "write"}),
        "token with write permissions",
    ),
    (
        "write-all token in the PR fetch",
        _set(("pr", "jobs", "diff", "permissions"), "write-all"),
        "token with write permissions",
    ),
    (
        "persisted checkout",
        _set(("train", "jobs", "train", "steps", 0, "with", "persist-credentials"), True),
        "persist-credentials",
    ),
    (
        "job-level env",
        _set(("pages", "jobs", "build", "env"), {"K": "${{ secrets.DVC_READ_AWS_ACCESS_KEY_ID }}"}),
        "job level",
    ),
    (
        "workflow-level env",
        _set(("train", "env"), {"T": "${{ secrets.GITHUB_TOKEN }}"}),
        "outside a step",
    ),
    ("no environment", _set(("train", "jobs", "train", "environment"), None), "outside the model"),
    (
        "read key without the fork guard",
        _step_env("pr", "diff", -1, AWS_ACCESS_KEY_ID="${{ secrets.DVC_READ_AWS_ACCESS_KEY_ID }}"),
        "fork guard",
    ),
    ("secrets: inherit", _set(("train", "jobs", "site", "secrets"), "inherit"), "reusable"),
    (
        "a secret as an action input",
        _set(("pages", "jobs", "build", "steps", 1, "with", "token"), WRITE_KEY),
        "outside env",
    ),
    (
        "an undocumented secret",
        _step_env("pages", "build", -2, X="${{ secrets.OTHER }}"),
        "unknown",
    ),
    ("indexed secrets", _step_env("pages", "build", -2, X="${{ secrets['A'] }}"), "unknown"),
    (
        "the write environment in a PR job",
        _set(("pr", "jobs", "diff", "environment"), "model-registry"),
        "write environment",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_credential_rules_catch_each_violation(case, mutate, expected):
    workflows = copy.deepcopy(all_workflows())
    mutate(workflows)
    problems = credential_problems(workflows)
    assert any(expected in problem for problem in problems), problems


def test_secret_and_environment_names_are_documented():
    for doc in ("ci.md", "remote.md"):
        text = (ROOT / "docs" / doc).read_text()
        for name in sorted(READ_SECRETS | WRITE_SECRETS | {READ_ENVIRONMENT, WRITE_ENVIRONMENT}):
            assert f"`{name}`" in text, f"docs/{doc} does not name {name}"


# --- job outputs: every one read, every reference to a job or step that exists ------------------

OUTPUT_RE = re.compile(r"\b(needs|steps|jobs)\s*\.\s*([\w-]+)\s*\.\s*outputs\s*\.\s*([\w-]+)")


def _needs_of(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs") or []
    return {needs} if isinstance(needs, str) else set(needs)


def output_problems(workflows: dict[str, dict[str, Any]]) -> list[str]:
    """Job outputs nobody reads, and output references to a job not in `needs`, an output a
    job does not declare or a step id that does not exist (all evaluate to '' silently)."""
    problems = []
    for name, workflow in workflows.items():
        all_jobs = workflow["jobs"]
        read = set()
        for _, text in strings(workflow["on"] or {}):  # workflow_call outputs: jobs.<id>
            read |= {(ref, out) for kind, ref, out in OUTPUT_RE.findall(text) if kind == "jobs"}
        for job_id, job in all_jobs.items():
            where = f"{name}/{job_id}"
            step_ids = {step.get("id") for step in steps(job)}
            for path, text in strings(job):
                for kind, ref, output in OUTPUT_RE.findall(text):
                    if kind == "needs":
                        declared = (all_jobs.get(ref) or {}).get("outputs") or {}
                        if ref not in _needs_of(job):
                            problems.append(f"{where}: {path} reads needs.{ref}, not in needs")
                        elif output not in declared:
                            problems.append(f"{where}: {path} reads {ref}'s undeclared {output}")
                        read.add((ref, output))
                    elif kind == "steps" and ref not in step_ids:
                        problems.append(f"{where}: {path} reads steps.{ref}: no such step id")
        for job_id, job in all_jobs.items():
            for output in job.get("outputs") or {}:
                if (job_id, output) not in read:
                    problems.append(f"{name}/{job_id}: output {output} is read by no job")
    return problems


def test_job_outputs_are_wired():
    assert output_problems(all_workflows()) == []


OUTPUT_VIOLATIONS = [
    (
        "an output name misspelt where it is read",
        _set(("pr", "jobs", "comment", "steps", 0, "env", "BODY"), "${{ needs.diff.outputs.md }}"),
        "undeclared md",
    ),
    (
        "a step id misspelt",
        _set(("pr", "jobs", "diff", "outputs", "markdown"), "${{ steps.dif.outputs.markdown }}"),
        "no such step id",
    ),
    ("an output nobody reads", _set(("pr", "jobs", "diff", "outputs", "extra"), "x"), "read by no"),
    ("needs missing", _set(("pr", "jobs", "comment", "needs"), []), "not in needs"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "expected"), OUTPUT_VIOLATIONS, ids=[v[0] for v in OUTPUT_VIOLATIONS]
)
def test_output_rules_catch_each_violation(case, mutate, expected):
    workflows = copy.deepcopy(all_workflows())
    mutate(workflows)
    assert any(expected in problem for problem in output_problems(workflows)), case
