"""Score validation and drift detection against a generator's ground truth (``events.json``).

The walk replays continuous training week by week: each batch is validated against the schema
(a failing batch is quarantined, as the pipeline would stop on it, and never enters a later
reference), then its drift is measured against the reference window (the ``window`` previous
accepted batches, or a fixed first window). A feature truly drifted at week ``w`` when the set of
covariate-drift events acting on it differs between ``w`` and a week of its reference.
Concept drift (a changed label relationship) leaves the features alone: feature drift cannot
see it, and it is not counted here (the monitor's performance checks are for that).

    python -m benchmarks.detection --raw data/raw --events data/events.json --params params.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpages.errors import MlpagesError


@dataclass(frozen=True)
class Confusion:
    """Counts of (week, feature) decisions against the truth."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> Confusion:
        return Confusion(
            self.tp + (predicted and actual),
            self.fp + (predicted and not actual),
            self.fn + (actual and not predicted),
            self.tn + (not predicted and not actual),
        )

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def false_positive_rate(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


@dataclass(frozen=True)
class DetectionResult:
    """What the replay found: drift confusion per (week, feature), schema detection per week."""

    drift: Confusion
    schema: Confusion
    weeks: tuple[dict[str, Any], ...] = field(default=())


def covariate_states(events: Sequence[Mapping[str, Any]], week: int) -> dict[str, frozenset[int]]:
    """feature -> the indices of the covariate-drift events acting on it at ``week``."""
    states: dict[str, set[int]] = {}
    for index, event in enumerate(events):
        if event.get("kind") != "covariate_drift" or week not in event.get("weeks", ()):
            continue
        for feature in event.get("features", ()):
            states.setdefault(feature, set()).add(index)
    return {k: frozenset(v) for k, v in states.items()}


def truly_drifted(
    events: Sequence[Mapping[str, Any]], week: int, reference_weeks: Sequence[int], feature: str
) -> bool:
    """Whether ``feature`` is under other covariate events at ``week`` than in a reference week."""
    now = covariate_states(events, week).get(feature, frozenset())
    return any(
        covariate_states(events, ref).get(feature, frozenset()) != now for ref in reference_weeks
    )


def broken_weeks(events: Sequence[Mapping[str, Any]]) -> set[int]:
    """Weeks with an injected schema break."""
    return {w for e in events if e.get("kind") == "schema_break" for w in e.get("weeks", ())}


def _week_of(path: Path) -> int:
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    if not digits:
        raise MlpagesError(f"{path.name}: no week number in the file name")
    return int(digits)


def replay(
    raw_dir: Path,
    events: Sequence[Mapping[str, Any]],
    schema_path: Path,
    drift_params: Mapping[str, Any],
    window: int = 4,
    fixed_reference: bool = False,
) -> DetectionResult:
    """Validate and measure drift for every batch after the first; score against the truth."""
    import pandas as pd

    from mlpages.ct.batches import batch_files, read_batch
    from mlpages.ct.drift import detect_drift, drift_settings
    from mlpages.ct.schema import load_schema
    from mlpages.ct.validate import check_frame

    schema = load_schema(schema_path)
    settings = drift_settings(dict(drift_params))
    broken = broken_weeks(events)
    files = batch_files(raw_dir)
    frames = {_week_of(p): read_batch(p) for p in files}
    weeks = sorted(frames)
    accepted: list[int] = []
    drift_confusion, schema_confusion = Confusion(), Confusion()
    rows: list[dict[str, Any]] = []
    for week in weeks:
        anomalies = check_frame(frames[week], schema)
        schema_confusion = schema_confusion.add(bool(anomalies), week in broken)
        if anomalies:
            rows.append(
                {"week": week, "schema": "fail", "kinds": sorted({a.kind for a in anomalies})}
            )
            continue
        reference = accepted[:window] if fixed_reference else accepted[-window:]
        accepted.append(week)
        if not reference:
            continue
        ref_frame = pd.concat([frames[w] for w in reference], ignore_index=True)
        report = detect_drift(ref_frame, frames[week], schema, settings)
        detected, expected = [], []
        for feature in report.features:
            actual = truly_drifted(events, week, reference, feature.feature)
            drift_confusion = drift_confusion.add(feature.drifted, actual)
            if feature.drifted:
                detected.append(feature.feature)
            if actual:
                expected.append(feature.feature)
        rows.append(
            {
                "week": week,
                "schema": "pass",
                "reference": reference,
                "drifted": detected,
                "truth": expected,
                "dataset_drift": report.dataset_drift,
            }
        )
    return DetectionResult(drift_confusion, schema_confusion, tuple(rows))


def format_result(result: DetectionResult, title: str) -> str:
    """A plain-text table of the replay."""
    d, s = result.drift, result.schema
    lines = [
        f"## {title}",
        f"feature drift: TP={d.tp} FP={d.fp} FN={d.fn} TN={d.tn} "
        f"recall={d.recall:.2f} precision={d.precision:.2f} FPR={d.false_positive_rate:.3f}",
        f"schema breaks: TP={s.tp} FP={s.fp} FN={s.fn} TN={s.tn} (weeks)",
    ]
    for row in result.weeks:
        if row["schema"] == "fail":
            lines.append(f"  week {row['week']:>2}: schema FAIL ({', '.join(row['kinds'])})")
            continue
        missed = sorted(set(row["truth"]) - set(row["drifted"]))
        extra = sorted(set(row["drifted"]) - set(row["truth"]))
        lines.append(
            f"  week {row['week']:>2}: drifted={row['drifted'] or '-'} "
            f"missed={missed or '-'} false={extra or '-'}"
            + (" dataset-drift" if row["dataset_drift"] else "")
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the detection figures of the rolling and the fixed reference."""
    from mlpages.settings import read_yaml_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--events", type=Path, default=Path("data/events.json"))
    parser.add_argument("--schema", type=Path, default=Path("schema.yaml"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    try:
        section = read_yaml_section(args.params, "validate")
        events = json.loads(args.events.read_text())["events"]
        window = int(section.get("window", 4))
        for fixed in (False, True):
            result = replay(
                args.raw, events, args.schema, section.get("drift") or {}, window, fixed
            )
            name = (
                "fixed reference (first window)" if fixed else f"rolling reference ({window} weeks)"
            )
            print(format_result(result, name))
    except (MlpagesError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
