"""Commit problems grouped by cause for the overview: one row per cause, not one per commit.

An unreachable remote makes every commit's DVC outputs unreadable; listing them commit by commit
is a page of identical rows. Here they are counted: "89 commits · 412 outputs not read: remote
`storage` (https) unreachable — …", with a few example commits to click.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Kinds that say an output could not be read from the caches and remotes.
OBJECT_KINDS = ("not-in-cache", "md5-mismatch")
MAX_GROUPS = 12
EXAMPLES = 3


@dataclass
class ProblemGroup:
    """One cause: how many commits and outputs it hit, and a few of those commits."""

    kind: str
    cause: str
    commits: list[str] = field(default_factory=list)
    outputs: int = 0

    @property
    def examples(self) -> list[str]:
        return self.commits[:EXAMPLES]


def _object_cause(kind: str, remote_reasons: list[str]) -> str:
    if kind == "md5-mismatch":
        return "a copy did not hash to its md5 (tampered or corrupt): not used"
    if remote_reasons:
        return "; ".join(r.removesuffix(": outputs not available") for r in remote_reasons)
    return "not in the local DVC cache, and no DVC remote had them (run `dvc fetch`)"


def group_problems(history: Any, snapshot_of: Any) -> list[ProblemGroup]:
    """Commit problems of ``history`` grouped by (kind, cause), the largest group first.

    ``snapshot_of(sha)`` gives a commit's snapshot (or None). Outputs that could not be read are
    grouped by why (the remotes' ``remote-error`` reasons); other problems by kind and path.
    """
    remote_reasons = [p.message for p in history.problems if p.kind == "remote-error"]
    groups: dict[tuple[str, str], ProblemGroup] = {}
    for sha in history.order:
        snapshot = snapshot_of(sha)
        if not snapshot or not snapshot.problems:
            continue
        for problem in snapshot.problems:
            if problem.kind in OBJECT_KINDS:
                cause = _object_cause(problem.kind, remote_reasons)
            else:
                cause = f"{problem.path}: {problem.message[:160]}"
            key = (problem.kind, cause if problem.kind in OBJECT_KINDS else problem.path)
            group = groups.setdefault(key, ProblemGroup(problem.kind, cause))
            if not group.commits or group.commits[-1] != sha:
                group.commits.append(sha)
            group.outputs += 1
    ordered = sorted(groups.values(), key=lambda g: (-len(g.commits), -g.outputs, g.kind))
    return ordered[:MAX_GROUPS]
