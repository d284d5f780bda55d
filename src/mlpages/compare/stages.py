"""Pipeline stages whose ``dvc.lock`` entry differs between two snapshots.

Shared by the diff (pull-request comment, compare pages) and by the commit and lineage pages,
which memoise it per pair of commits (``SiteData.stage_changes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlpages.compare.values import same_value
from mlpages.models import HashInfo, Snapshot, Stage


@dataclass(frozen=True)
class StageChange:
    """A pipeline stage whose lock entry differs. ``status``: added | removed | modified."""

    key: str
    status: str
    cmd_changed: bool = False
    deps: tuple[str, ...] = ()  # dependency paths whose hash changed (or appeared/vanished)
    params: tuple[str, ...] = ()  # "params.yaml:train.lr"
    outs: tuple[str, ...] = ()
    lock: str = "same"  # same | added | removed | missing (declared, never run at either side)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Human words for what changed, in pipeline order: cmd, deps, params, outs."""
        words: list[str] = []
        if self.lock == "added":
            words.append("now run (new dvc.lock entry)")
        elif self.lock == "removed":
            words.append("no dvc.lock entry any more")
        if self.cmd_changed:
            words.append("cmd")
        words.extend(f"dep {p}" for p in self.deps)
        words.extend(f"param {p}" for p in self.params)
        words.extend(f"out {p}" for p in self.outs)
        return tuple(words)


def _by_path(infos: tuple[HashInfo, ...]) -> dict[str, HashInfo]:
    return {info.path: info for info in infos}


def _changed_paths(old: dict[str, HashInfo], new: dict[str, HashInfo]) -> tuple[str, ...]:
    paths = set(old) | set(new)
    return tuple(
        sorted(
            p
            for p in paths
            if p not in old or p not in new or old[p].fingerprint != new[p].fingerprint
        )
    )


def compare_stage(old: Stage | None, new: Stage | None) -> StageChange | None:
    """What differs in one stage's lock entry (None when nothing does)."""
    if old is None and new is None:
        return None
    if old is None:
        assert new is not None
        return StageChange(new.key, "added", lock="added" if new.locked else "missing")
    if new is None:
        return StageChange(old.key, "removed", lock="removed" if old.locked else "missing")
    if not old.locked and not new.locked:
        if old.cmd != new.cmd:
            return StageChange(new.key, "modified", cmd_changed=True, lock="missing")
        return None
    if old.locked != new.locked:
        return StageChange(new.key, "modified", lock="added" if new.locked else "removed")
    old_params = dict(old.lock_params)
    new_params = dict(new.lock_params)
    params = tuple(
        sorted(
            k
            for k in set(old_params) | set(new_params)
            if k not in old_params
            or k not in new_params
            or not same_value(old_params[k], new_params[k])
        )
    )
    change = StageChange(
        new.key,
        "modified",
        cmd_changed=(old.lock_cmd or old.cmd) != (new.lock_cmd or new.cmd),
        deps=_changed_paths(_by_path(old.lock_deps), _by_path(new.lock_deps)),
        params=params,
        outs=_changed_paths(_by_path(old.lock_outs), _by_path(new.lock_outs)),
    )
    if change.cmd_changed or change.deps or change.params or change.outs:
        return change
    return None


def compare_stages(base: Snapshot, head: Snapshot) -> tuple[StageChange, ...]:
    """Stages added, removed or modified, in the head's pipeline order, then removed ones."""
    old_stages = {s.key: s for s in base.stages}
    new_stages = {s.key: s for s in head.stages}
    order = [s.key for s in head.stages] + [k for k in old_stages if k not in new_stages]
    changes = (compare_stage(old_stages.get(k), new_stages.get(k)) for k in order)
    return tuple(c for c in changes if c is not None)
