"""The experiments pushed on a commit, summarised for the pull-request comment.

``mlpages diff`` lists the DVC experiments whose baseline is the PR's head commit (pushed with
``dvc exp push``, fetched with ``git fetch origin '+refs/exps/*:refs/exps/*'``) with their key
metrics and the change against that commit. Pure: snapshots in, rows out; the markdown module
escapes and renders them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlpages.compare.diff import metric_direction
from mlpages.compare.values import is_number
from mlpages.config import Config
from mlpages.models import Snapshot, Value

MAX_METRICS = 4  # metric columns in the comment's experiments table
MAX_EXPERIMENTS = 20  # experiments read and listed (the newest first)


@dataclass(frozen=True)
class MetricCell:
    value: Value
    change: float | int | None  # experiment − baseline, when both are numbers
    status: str  # better | worse | same | "" (not comparable)


@dataclass(frozen=True)
class ExperimentRow:
    name: str
    sha: str
    cells: tuple[MetricCell, ...]  # one per ``ExperimentTable.metrics``


@dataclass(frozen=True)
class ExperimentTable:
    baseline: str
    metrics: tuple[tuple[str, str], ...]  # (file, key)
    rows: tuple[ExperimentRow, ...]
    total: int  # experiments found (rows may list fewer)


def key_metrics(config: Config, baseline: Snapshot) -> tuple[tuple[str, str], ...]:
    """The configured key metrics (``file:key`` or bare keys), else the baseline's numbers."""
    found: list[tuple[str, str]] = []
    if config.key_metrics:
        for name in config.key_metrics:
            file, _, key = str(name).rpartition(":")
            for path, values in baseline.metrics.items():
                if key in values and (not file or file == path):
                    found.append((path, key))
                    break
    if not found:
        found = [
            (path, key)
            for path, values in baseline.metrics.items()
            for key, value in values.items()
            if is_number(value)
        ]
    return tuple(found[:MAX_METRICS])


def _cell(config: Config, file: str, key: str, base: Value, value: Value) -> MetricCell:
    if not (is_number(value) and is_number(base)):
        return MetricCell(value, None, "")
    try:
        change = value - base  # type: ignore[operator]
    except OverflowError:  # an integer beyond the float range against a float
        return MetricCell(value, None, "")
    if isinstance(change, float) and not math.isfinite(change):
        return MetricCell(value, None, "")
    direction = metric_direction(config, file, key)
    status = "same" if change == 0 else ("better" if change * direction > 0 else "worse")
    return MetricCell(value, change, status)


def experiment_table(
    config: Config,
    baseline: Snapshot,
    experiments: Sequence[tuple[str, Snapshot]],
    total: int | None = None,
) -> ExperimentTable:
    """Rows for ``experiments`` ((name, snapshot), newest first) against their ``baseline``."""
    metrics = key_metrics(config, baseline)
    rows = []
    for name, snap in experiments[:MAX_EXPERIMENTS]:
        cells = tuple(
            _cell(
                config,
                file,
                key,
                baseline.metrics.get(file, {}).get(key),
                snap.metrics.get(file, {}).get(key),
            )
            for file, key in metrics
        )
        rows.append(ExperimentRow(name, snap.sha, cells))
    return ExperimentTable(
        baseline.sha, metrics, tuple(rows), total if total is not None else len(experiments)
    )
