"""`mlpages init`: the files a repository needs to adopt mlpages, from what :mod:`detect` found.

The action the generated workflows call, first found of: the ``--action OWNER/NAME@REF``
option; the GitHub repository and commit this mlpages was installed from (``pip install
git+https://github.com/OWNER/NAME@REF`` records both in its ``direct_url.json``); else
``ACTION_REPOSITORY@ACTION_REF`` (this one place). A 40-hex commit SHA is written with the
version as a comment, as zizmor and GitHub's hardening guide want; a tag is written as is and
the manual steps say to pin it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mlpages import __version__
from mlpages.adopt.detect import Findings

ACTION_REPOSITORY = "mlpages/mlpages"
ACTION_REF = f"v{__version__}"
# From the workplace's list of pinned releases (the same pins as this repository's workflows).
PINNED = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
    "setup_python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
    "upload_pages": "actions/upload-pages-artifact@fc324d3547104276b827a68afc52ff2a11cc49c9"
    " # v5.0.0",
    "deploy_pages": "actions/deploy-pages@cd2ce8fcbc39b97be8ca5fce6e763baed58fa128 # v5.0.0",
    "github_script": "actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd # v8.0.0",
}
WORKFLOWS = ("pages", "pr", "train")
ACTION_RE = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+@[A-Za-z0-9._/-]+")
SHA_RE = re.compile(r"[0-9a-f]{40}")

GATE_SNIPPET = """\
  gate:                      # dvc.yaml, under stages: (docs/ci.md)
    cmd: mlpages gate
    deps: [models/model.pkl, data/test.csv]
    params: [gate]           # params.yaml gate: model, test_data, label, floors, margins
    outs:
      - reports/gate.json:
          cache: false"""
MONITOR_SNIPPET = """\
  monitor:                   # dvc.yaml, under stages: (docs/monitoring.md)
    cmd: mlpages monitor --trigger-out reports/trigger.json
    deps: [data/batches]
    params: [monitor]
    outs:
      - reports/monitoring.json:
          cache: false
          persist: true
      - reports/trigger.json:
          cache: false"""
ARTIFACT_SNIPPET = """\
artifacts:                   # dvc.yaml, top level: the model the registry versions
  model:
    path: models/model.pkl
    type: model"""


@dataclass
class Plan:
    files: dict[str, str] = field(default_factory=dict)  # repo-relative path -> content
    notes: list[str] = field(default_factory=list)  # what init adapted, and why
    skipped: list[str] = field(default_factory=list)  # a workflow not written, with the fix
    steps: list[str] = field(default_factory=list)  # what the user still does by hand


GITHUB_URL_RE = re.compile(
    r"(?:https://|ssh://git@|git@)github\.com[/:]([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?"
)


def installed_action() -> str | None:
    """``OWNER/NAME@SHA`` when this mlpages was pip-installed from a GitHub repository."""
    import importlib.metadata
    import json

    try:
        text = importlib.metadata.distribution("mlpages").read_text("direct_url.json")
        info = json.loads(text or "{}")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    commit = str((info.get("vcs_info") or {}).get("commit_id", ""))
    match = GITHUB_URL_RE.fullmatch(str(info.get("url", "")))
    return f"{match.group(1)}@{commit}" if match and SHA_RE.fullmatch(commit) else None


def action_reference(action: str | None) -> str:
    """``OWNER/NAME@REF`` as a `uses:` value (a SHA gets the version as a comment)."""
    value = action or installed_action() or f"{ACTION_REPOSITORY}@{ACTION_REF}"
    if not ACTION_RE.fullmatch(value):
        from mlpages.errors import InitError

        raise InitError(f"--action {value!r}: expected OWNER/NAME@REF (a tag or a commit SHA)")
    ref = value.partition("@")[2]
    return f"{value} # v{__version__}" if SHA_RE.fullmatch(ref) else value


def train_blockers(found: Findings) -> list[str]:
    """Why a training workflow could not work here (empty: it can), each with the fix."""
    blockers = []
    if found.dvc_root != ".":
        blockers.append(
            f"the DVC project is in {found.dvc_root}/ (dvc init --subdir): the training steps "
            "run dvc at the repository root; move the project up or write the workflow by hand"
        )
    if "gate" not in found.ct_stages:
        blockers.append(
            "dvc.yaml has no `mlpages gate` stage, so no retrained model could be blessed and "
            f"registered. Add one, then run `dvc repro`:\n\n{GATE_SNIPPET}\n"
        )
    if not found.model_artifacts:
        blockers.append(
            "dvc.yaml declares no `type: model` artifact for the registry. Add one:\n\n"
            f"{ARTIFACT_SNIPPET}\n"
        )
    return blockers


def _render(name: str, context: dict[str, object]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, from detected names that are checked below
    )
    return env.get_template(name).render(**context)


def _safe(value: str) -> str:
    """A detected name that ends up in YAML: plain characters only (else it is left out)."""
    return value if re.fullmatch(r"[A-Za-z0-9._/*@-]+", value) else ""


def make_plan(found: Findings, wanted: set[str], action: str | None) -> Plan:
    """The files for the ``wanted`` workflows (pages, pr, train) and the notes and steps."""
    plan = Plan()
    if "train" in wanted:
        blockers = train_blockers(found)
        if blockers:
            wanted = wanted - {"train"}
            plan.skipped += [f"mlpages-train.yml not written: {b}" for b in blockers]
        elif "monitor" not in found.ct_stages:
            plan.notes.append(
                "no `mlpages monitor` stage: every training run retrains, and there is no "
                f"weekly schedule. To monitor first, add:\n\n{MONITOR_SNIPPET}\n"
            )
    branch = _safe(found.branch) or "main"
    code = [p for p in (_safe(p) for p in found.code_paths) if p]
    train_paths = sorted({"**.dvc", *(f"{p}/**" if (found.root / p).is_dir() else p for p in code)})
    context = {
        "version": __version__,
        "branch": branch,
        "remote": found.remote,
        "action": action_reference(action),
        "pages": "pages" in wanted,
        "train": "train" in wanted,
        "train_paths": train_paths,
        "code_paths": " ".join(code),
        "monitor": found.ct_stages.get("monitor", ""),
        "gate": found.ct_stages.get("gate", ""),
        "artifact": found.model_artifacts[0] if found.model_artifacts else "",
        "repro": found.dvc_root == ".",
        "fork_guard": "github.event.pull_request.head.repo.full_name == github.repository && ",
        "train_step": "dvc pull, monitor, dvc repro when the trigger (or the event) says retrain"
        if "monitor" in found.ct_stages
        else "dvc pull, dvc repro",
        "repro_note": f"the DVC project is in {found.dvc_root}/: dvc repro is not run here",
        **PINNED,
    }
    for name in WORKFLOWS:
        if name in wanted:
            plan.files[f".github/workflows/mlpages-{name}.yml"] = _render(
                f"mlpages-{name}.yml.j2", context
            )
    if "train" in wanted and not found.has_gto:
        plan.files[".gto"] = (
            "# Registry stages (GTO): written by `mlpages init`.\nstages: [dev, staging, prod]\n"
        )
    if not found.has_config:
        plan.files["mlpages.yaml"] = _config(found)
    plan.steps = manual_steps(found, wanted, context["action"])
    if found.remote.note:
        plan.notes.append(f"DVC remote: {found.remote.note}")
    if found.problems:
        plan.notes.append(f"the work tree has {len(found.problems)} problems: run `mlpages check`")
    return plan


def _config(found: Findings) -> str:
    lines = ["# mlpages settings (README: Configuration), written by `mlpages init`.", ""]
    lines.append(f"default_branch: {_safe(found.branch) or 'main'}")
    metrics = [m for m in found.key_metrics if _safe(m.replace(":", "/"))]
    if metrics:
        lines.append("key_metrics: # the overview's headline metrics: edit, reorder")
        lines += [f'  - "{m}"' for m in metrics]
    if len(found.model_artifacts) == 1 and _safe(found.model_artifacts[0]):
        lines.append(f"model_artifact: {found.model_artifacts[0]}")
    return "\n".join(lines) + "\n"


def manual_steps(found: Findings, wanted: set[str], action: str) -> list[str]:
    """What init cannot do from the repository: settings only the owner can change."""
    steps = []
    if "pages" in wanted:
        steps.append("Settings → Pages → Build and deployment → Source: GitHub Actions.")
    secrets = found.remote.secrets
    if secrets and wanted & {"pages", "pr", "train"}:
        environments = "`dvc-read`" + (" and `model-registry`" if "train" in wanted else "")
        steps.append(
            f"Settings → Environments: create {environments}; then the remote's keys "
            "(a read-only key for dvc-read, docs/remote.md):\n"
            + "\n".join(f"      gh secret set DVC_READ_{s} --env dvc-read" for s in secrets)
        )
    if "train" in wanted:
        write = [
            f"      gh secret set DVC_{kind}_{s} --env model-registry"
            for kind in ("READ", "WRITE")
            for s in secrets
        ]
        steps.append(
            "Settings → Environments → model-registry: required reviewers, deployment branch "
            f"{found.branch}" + (":\n" + "\n".join(write) if write else ".")
        )
        steps.append(
            f"Branch protection of {found.branch}: mlpages-train.yml pushes the recorded run with "
            "GITHUB_TOKEN; if the branch requires pull requests, let github-actions bypass it."
        )
    for _variable, name in found.remote.variables:
        steps.append(
            f"An S3-compatible server (not AWS): gh variable set {name} --body <endpoint URL>"
        )
    if "pr" in wanted:
        steps.append(
            "Optional: gh variable set MLPAGES_SITE_URL --body <the Pages URL> (links from PR "
            "comments)."
        )
    if "#" not in action:
        steps.append(f"Pin {action} to the commit SHA of that tag (uses: OWNER/NAME@<sha> # tag).")
    return steps
