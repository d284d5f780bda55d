"""Writing an init plan: never clobbering, reporting each file, or only printing (dry run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlpages.adopt.plan import Plan


@dataclass(frozen=True)
class Outcome:
    path: str
    status: str  # written | overwritten | unchanged | exists | would write | would overwrite


def apply_plan(
    root: Path, plan: Plan, *, force: bool = False, dry_run: bool = False
) -> list[Outcome]:
    """Write the plan's files under ``root``; an existing different file is left alone unless
    ``force``; ``dry_run`` writes nothing and says what would happen."""
    outcomes = []
    for rel, content in plan.files.items():
        target = root / rel
        # Fixed names below the work tree; a link there could point anywhere: never followed.
        if target.is_symlink() or (target.exists() and not target.is_file()):
            outcomes.append(Outcome(rel, "exists"))
            continue
        old = target.read_text(errors="replace") if target.exists() else None
        if old == content:
            status = "unchanged"
        elif old is not None and not force:
            status = "exists"
        elif dry_run:
            status = "would overwrite" if old is not None else "would write"
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            status = "overwritten" if old is not None else "written"
        outcomes.append(Outcome(rel, status))
    return outcomes


def report(plan: Plan, outcomes: list[Outcome], *, dry_run: bool) -> str:
    """What init did (or would do), the notes, and the manual steps, as text."""
    lines = []
    for outcome in outcomes:
        extra = " (differs; left alone, --force overwrites)" if outcome.status == "exists" else ""
        lines.append(f"  {outcome.status:<15} {outcome.path}{extra}")
    if dry_run:
        for rel, content in plan.files.items():
            lines += ["", f"--- {rel}", content.rstrip("\n")]
    for text in plan.skipped + plan.notes:
        lines += ["", f"note: {text}"]
    if plan.steps:
        lines += ["", "Still to do by hand:"]
        lines += [f"  {index}. {step}" for index, step in enumerate(plan.steps, 1)]
    return "\n".join(lines)
