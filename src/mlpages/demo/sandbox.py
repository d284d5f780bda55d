"""The demo's sandbox: a fresh git + DVC repository and the tools run in it with a fixed clock.

:class:`Sandbox` runs git, dvc and mlpages in the repository with deterministic commit dates and
identities (so reruns are identical); :func:`prepare` claims (or reclaims) the demo folder,
:func:`scaffold` makes the project's first commit, :func:`set_params` edits params.yaml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlpages.errors import DemoError
from mlpages.safe_yaml import load_yaml

TEMPLATE = Path(__file__).parent / "template"
PIPELINE_SOURCE = Path(__file__).parents[1] / "pipeline"
MARKER = ".mlpages-demo"
PERSON = {"name": "CT bot", "email": "ct-bot@mlpages.invalid"}
ANALYST = {"name": "Dana Analyst", "email": "dana@mlpages.invalid"}


class Sandbox:
    """Runs git, dvc and mlpages in the sandbox repository with a deterministic clock."""

    def __init__(self, repo: Path, clock: int) -> None:
        self.repo = repo
        self.clock = clock
        bindir = str(Path(sys.executable).parent)
        self.base_env = {
            **os.environ,
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "DVC_NO_ANALYTICS": "1",
            "PYTHONHASHSEED": "0",
        }

    def at(self, epoch: int) -> None:
        """Move the clock forward to ``epoch`` (never backwards)."""
        self.clock = max(self.clock + 60, epoch)

    def env(self, person: dict[str, str] = PERSON) -> dict[str, str]:
        self.clock += 60
        date = f"{self.clock} +0000"
        return {
            **self.base_env,
            "GIT_AUTHOR_NAME": person["name"],
            "GIT_AUTHOR_EMAIL": person["email"],
            "GIT_COMMITTER_NAME": person["name"],
            "GIT_COMMITTER_EMAIL": person["email"],
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_DATE": date,
            "SOURCE_DATE_EPOCH": str(self.clock),
        }

    def run(self, *args: str, check: bool = True, person: dict[str, str] = PERSON) -> Any:
        done = subprocess.run(
            args, cwd=self.repo, env=self.env(person), capture_output=True, text=True
        )
        if check and done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
            raise DemoError(f"`{' '.join(args)}` failed in {self.repo}:\n{tail}")
        return done

    def git(self, *args: str, person: dict[str, str] = PERSON) -> str:
        return self.run("git", "-c", "commit.gpgsign=false", *args, person=person).stdout

    def commit(self, message: str, person: dict[str, str] = PERSON) -> str:
        self.git("add", "-A", person=person)
        self.git("commit", "-q", "--allow-empty", "-m", message, person=person)
        return self.git("rev-parse", "HEAD").strip()

    def restamp(self, ref: str, person: dict[str, str] = PERSON) -> str:
        """Re-commit the tip of ``ref`` (same tree, parents, message) at the sandbox's clock.

        ``dvc exp run`` commits through dulwich, which ignores ``GIT_AUTHOR_DATE`` and
        ``GIT_COMMITTER_DATE`` and stamps the wall-clock time: without this, every rerun of the
        demo would give the experiments new commit ids.
        """
        tip = self.git("rev-parse", ref).strip()
        tree = self.git("rev-parse", f"{tip}^{{tree}}").strip()
        parents = self.git("rev-list", "--parents", "-n", "1", tip).split()[1:]
        message = self.git("log", "-1", "--format=%B", tip).rstrip("\n")
        flags = [flag for parent in parents for flag in ("-p", parent)]
        fixed = self.git("commit-tree", tree, *flags, "-m", message, person=person).strip()
        self.git("update-ref", ref, fixed, tip)
        return fixed

    def read_json(self, path: str) -> dict[str, Any]:
        file = self.repo / path
        return json.loads(file.read_text()) if file.is_file() else {}


def prepare(root: Path) -> Path:
    """Create ``root`` (or replace the repo and site of a previous demo there); return repo path."""
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise DemoError(f"{root} exists and is not an mlpages demo folder: choose another DIR")
    for name in ("repo", "site", "events.json"):
        target = root / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by `mlpages demo`; rerunning replaces repo/ and site/\n")
    return root / "repo"


def scaffold(box: Sandbox) -> None:
    """The project at its first commit: model code, data schema, registry stages, site config."""
    repo = box.repo
    repo.mkdir(parents=True)
    box.git("init", "-q", "-b", "main")
    for name in ("schema.yaml", "mlpages.yaml"):
        shutil.copy(TEMPLATE / name, repo / name)
    shutil.copy(TEMPLATE / "gto.yaml", repo / ".gto")
    shutil.copy(TEMPLATE / "gitignore", repo / ".gitignore")
    target = repo / "src" / "mlpages" / "pipeline"
    target.mkdir(parents=True)
    for module in sorted(PIPELINE_SOURCE.glob("*.py")):
        shutil.copy(module, target / module.name)
    (repo / "README.md").write_text(
        "# Loan default model\n\nA sandbox made by `mlpages demo`: weekly batches of loan "
        "applications, continuous training with DVC, a model registry in git tags.\n"
    )
    box.run("dvc", "init", "-q")
    box.run("dvc", "config", "core.analytics", "false")
    box.commit("Project: loan-default model code, data schema and registry stages", person=ANALYST)


def set_params(repo: Path, updates: dict[str, Any]) -> None:
    """Change ``section.key`` values of params.yaml (keeps the file's order)."""
    import yaml

    params = load_yaml((repo / "params.yaml").read_text())
    for dotted, value in updates.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
