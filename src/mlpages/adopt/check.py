"""`mlpages check`: the work tree read exactly as the site reads a commit, and what is wrong.

:func:`check_work_tree` takes the work tree's snapshot (``snapshot_of(repo, None, config)``,
uncommitted changes included) and returns its problems — those a commit page shows (files
that do not parse, missing or unreadable files) — plus three facts the site renders without
complaint but that are mistakes in a pipeline about to be committed: a stage whose dvc.lock
entry lacks an output dvc.yaml declares, a metric that is NaN, an artifact whose path is
neither in the work tree nor an output of a stage or a ``.dvc`` file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mlpages.models import Problem, Snapshot

SECTIONS = {"outs": "output", "metrics": "metrics file", "plots": "plots file"}


@dataclass(frozen=True)
class CheckResult:
    root: Path
    snapshot: Snapshot
    problems: tuple[Problem, ...]


def check_work_tree(repo: Path) -> CheckResult:
    """The problems of the work tree at ``repo``; NotADvcRepository outside a DVC repository."""
    from mlpages.config import load_config
    from mlpages.errors import NotADvcRepository
    from mlpages.gitread.reader import locate_repo
    from mlpages.history.collect import snapshot_of

    root = locate_repo(Path(repo)).root
    snapshot = snapshot_of(root, None, load_config(root))
    if not snapshot.has_dvc:
        raise NotADvcRepository(f"{root}: not a DVC repository (no .dvc folder, no dvc.yaml)")
    found = [*snapshot.problems, *pipeline_problems(snapshot, root)]
    return CheckResult(root, snapshot, tuple(dict.fromkeys(found)))


def pipeline_problems(snapshot: Snapshot, root: Path) -> list[Problem]:
    """Locked stages missing declared outputs, NaN metrics, artifacts without a file."""
    problems = []
    for stage in snapshot.stages:
        if not stage.locked:
            continue
        locked = {out.path for out in stage.lock_outs}
        for out in stage.outs:
            if out.path not in locked:
                problems.append(
                    Problem(
                        "not-in-lock",
                        out.path,
                        f"stage {stage.key} declares this "
                        f"{SECTIONS.get(out.section, 'output')} but dvc.lock has no entry for "
                        "it: run `dvc repro` (or `dvc commit`)",
                    )
                )
    for path, values in sorted(snapshot.metrics.items()):
        for key, value in values.items():
            if isinstance(value, float) and math.isnan(value):
                problems.append(Problem("nan-metric", path, f"metric {key} is NaN"))
    produced = {out.path for stage in snapshot.stages for out in stage.outs}
    produced |= {info.path for info in snapshot.tracked}
    for artifact in snapshot.artifacts:
        path = artifact.path.rstrip("/")
        inside = (root / path).resolve().is_relative_to(root.resolve())
        if inside and ((root / path).exists() or _produced(path, produced)):
            continue
        problems.append(
            Problem(
                "missing-artifact",
                artifact.path,
                f"artifact {artifact.name}: no such file, and no stage or .dvc file outputs it",
            )
        )
    return problems


def _produced(path: str, produced: set[str]) -> bool:
    """An output path, or inside an output folder."""
    return any(path == out or path.startswith(out.rstrip("/") + "/") for out in produced)


def problem_line(problem: Problem) -> str:
    """One problem as a hook prints it: ``path: message [kind]``."""
    return f"{problem.path}: {problem.message} [{problem.kind}]"
