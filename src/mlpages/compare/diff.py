"""Differences between two snapshots: metrics, params, pipeline stages, data and the gate verdict.

Pure functions from two :class:`~mlpages.models.Snapshot` objects to a frozen :class:`SnapshotDiff`
(stages: :mod:`mlpages.compare.stages`, data inputs: :mod:`mlpages.compare.data`, the gate
verdict: :mod:`mlpages.reports`). The site's
compare pages and the pull-request markdown (:mod:`mlpages.compare.markdown`) both use this
module, so a number shown on a PR and on the site can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mlpages.compare.data import DataChange, compare_data
from mlpages.compare.stages import StageChange, compare_stages
from mlpages.compare.values import is_number, same_value
from mlpages.config import Config
from mlpages.models import Snapshot, Value, encode_value
from mlpages.reports import GateSummary, gate_summary

# Problem kinds meaning "the file is absent": its metrics really are new or gone at the other side.
# Every other kind (yaml-error, json-error, binary, too-large, not-in-cache, missing-blob…) means
# the file exists but could not be read, so its values at that side are unknown, not missing.
ABSENT_KINDS = frozenset({"missing-file"})
# A metric whose file could not be read at one side: never "added"/"removed", and no Change.
UNREADABLE_STATUSES = frozenset({"base-unreadable", "head-unreadable"})


@dataclass(frozen=True)
class MetricDelta:
    """One metric at both sides.

    ``status``: better | worse | same | changed | added | removed, or base-unreadable /
    head-unreadable when the metric's file exists at that side but could not be read (a Problem).
    """

    path: str
    key: str
    old: Value
    new: Value
    change: float | int | None  # new - old, only when both sides are numbers
    relative: float | None  # change / |old|; None when old is 0 or not finite
    direction: int  # +1 higher is better, -1 lower is better
    status: str

    @property
    def changed(self) -> bool:
        return self.status != "same"

    @property
    def name(self) -> str:
        return f"{self.path}:{self.key}"

    @property
    def unreadable(self) -> bool:
        """True when the metric's file could not be read at one side (its value there unknown)."""
        return self.status in UNREADABLE_STATUSES


@dataclass(frozen=True)
class ParamChange:
    """One param that differs. ``status``: modified | added | removed."""

    path: str
    key: str
    old: Value
    new: Value
    status: str


@dataclass(frozen=True)
class ParamRename:
    """A removed and an added key of one file holding the same value: most likely a rename."""

    path: str
    old_key: str
    new_key: str
    value: Value


@dataclass(frozen=True)
class SnapshotDiff:
    """Everything that differs between a base and a head snapshot."""

    base: str  # sha, or "workspace"
    head: str
    metrics: tuple[MetricDelta, ...]  # every metric of either side, sorted by (path, key)
    params: tuple[ParamChange, ...]  # changed params only, sorted by (path, key)
    renames: tuple[ParamRename, ...]
    stages: tuple[StageChange, ...]
    data: tuple[DataChange, ...]
    gate: GateSummary | None
    base_problems: int = 0
    head_problems: int = 0

    @property
    def changed_metrics(self) -> tuple[MetricDelta, ...]:
        return tuple(m for m in self.metrics if m.changed)

    @property
    def is_empty(self) -> bool:
        """True when nothing a reviewer would care about differs."""
        return not (self.changed_metrics or self.params or self.stages or self.data)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN/Inf tagged as in models.encode_value)."""
        return _jsonable(self)


def metric_direction(config: Config, path: str, key: str) -> int:
    """+1/-1 for a metric: a configured pattern may name the bare key or ``file:key``."""
    patterns = [*config.higher_is_better, *config.lower_is_better]
    if any(fnmatchcase(key, p) for p in patterns):
        return config.metric_direction(key)
    return config.metric_direction(f"{path}:{key}")


def _finite(value: int | float) -> bool:
    """Integers are always finite (``math.isfinite`` raises for those beyond the float range)."""
    return isinstance(value, int) or math.isfinite(value)


def _minus(new: int | float, old: int | float) -> int | float:
    """``new - old``; an integer beyond the float range minus a float is ±inf, not a crash."""
    try:
        return new - old
    except OverflowError:
        return math.inf if new > old else -math.inf


def _ratio(change: int | float, base: int | float) -> float | None:
    """``change / base``, None when the quotient is beyond the float range."""
    try:
        return change / base
    except OverflowError:
        return None


def compare_metric(path: str, key: str, old: Value, new: Value, direction: int) -> MetricDelta:
    """Delta, relative change and better/worse status of one metric."""
    change: float | int | None = None
    relative: float | None = None
    if old is None and new is not None:
        status = "added"
    elif new is None and old is not None:
        status = "removed"
    elif same_value(old, new):
        status = "same"
        if is_number(old) and is_number(new):
            change = 0 if isinstance(old, int) and isinstance(new, int) else 0.0
            relative = 0.0
    elif is_number(old) and is_number(new):
        change = _minus(new, old)  # type: ignore[arg-type]
        finite = _finite(old) and _finite(new)  # type: ignore[arg-type]
        if finite and old != 0:
            relative = _ratio(change, abs(old))  # type: ignore[arg-type]
        if finite:
            status = "better" if change * direction > 0 else "worse"
        else:
            # NaN or Inf on either side: a metric that stopped being finite is never "better".
            status = "worse" if not _finite(new) else "changed"  # type: ignore[arg-type]
    else:
        status = "changed"
    return MetricDelta(path, key, old, new, change, relative, direction, status)


def unreadable_paths(snapshot: Snapshot) -> frozenset[str]:
    """Files that exist at ``snapshot`` but could not be read (any Problem but an absent file)."""
    return frozenset(p.path for p in snapshot.problems if p.kind not in ABSENT_KINDS)


def compare_metrics(base: Snapshot, head: Snapshot, config: Config) -> tuple[MetricDelta, ...]:
    """Every metric of either side, with deltas, sorted by file then key.

    A metric present at one side only, whose file could not be read at the other, gets the status
    ``base-unreadable`` / ``head-unreadable`` (no change) instead of ``added`` / ``removed``.
    """
    base_unreadable, head_unreadable = unreadable_paths(base), unreadable_paths(head)
    deltas: list[MetricDelta] = []
    for path in sorted(set(base.metrics) | set(head.metrics)):
        old_values = base.metrics.get(path, {})
        new_values = head.metrics.get(path, {})
        for key in sorted(set(old_values) | set(new_values)):
            old, new = old_values.get(key), new_values.get(key)
            if old is None and new is None:
                continue
            direction = metric_direction(config, path, key)
            delta = compare_metric(path, key, old, new, direction)
            if delta.status == "added" and path in base_unreadable:
                delta = MetricDelta(path, key, old, new, None, None, direction, "base-unreadable")
            elif delta.status == "removed" and path in head_unreadable:
                delta = MetricDelta(path, key, old, new, None, None, direction, "head-unreadable")
            deltas.append(delta)
    return tuple(deltas)


def compare_params(base: Snapshot, head: Snapshot) -> tuple[ParamChange, ...]:
    """Params that were added, removed or modified, sorted by file then key."""
    changes: list[ParamChange] = []
    for path in sorted(set(base.params) | set(head.params)):
        old_values = base.params.get(path, {})
        new_values = head.params.get(path, {})
        for key in sorted(set(old_values) | set(new_values)):
            in_old, in_new = key in old_values, key in new_values
            old, new = old_values.get(key), new_values.get(key)
            if in_old and in_new:
                if not same_value(old, new):
                    changes.append(ParamChange(path, key, old, new, "modified"))
            elif in_new:
                changes.append(ParamChange(path, key, None, new, "added"))
            else:
                changes.append(ParamChange(path, key, old, None, "removed"))
    return tuple(changes)


def detect_renames(changes: tuple[ParamChange, ...]) -> tuple[ParamRename, ...]:
    """Pair a removed and an added key of the same file when exactly one pair shares a value."""
    renames: list[ParamRename] = []
    for path in sorted({c.path for c in changes}):
        removed = [c for c in changes if c.path == path and c.status == "removed"]
        added = [c for c in changes if c.path == path and c.status == "added"]
        for gone in removed:
            same_old = [r for r in removed if same_value(r.old, gone.old)]
            matches = [a for a in added if same_value(a.new, gone.old)]
            if len(same_old) == 1 and len(matches) == 1:
                renames.append(ParamRename(path, gone.key, matches[0].key, gone.old))
    return tuple(renames)


def compare_snapshots(base: Snapshot, head: Snapshot, config: Config | None = None) -> SnapshotDiff:
    """The full difference between ``base`` and ``head`` (gate verdict from the head side)."""
    config = config or Config()
    params = compare_params(base, head)
    return SnapshotDiff(
        base=base.sha,
        head=head.sha,
        metrics=compare_metrics(base, head, config),
        params=params,
        renames=detect_renames(params),
        stages=compare_stages(base, head),
        data=compare_data(base, head),
        gate=gate_summary(head.reports.get("gate")),
        base_problems=len(base.problems),
        head_problems=len(head.problems),
    )


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        out = {name: _jsonable(getattr(obj, name)) for name in obj.__dataclass_fields__}
        if isinstance(obj, StageChange):
            out["reasons"] = list(obj.reasons)
        return out
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    return encode_value(obj)
