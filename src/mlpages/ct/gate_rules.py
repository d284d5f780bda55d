"""The gate's rules, pure: settings, scoring a model's predictions, and the verdict.

* ``loads``: the candidate loads in a fresh Python process and answers canned requests
  (checked by :func:`mlpages.ct.gate.probe_in_fresh_process`);
* ``finite_predictions``: no NaN/Inf score on the test data;
* ``floor``: absolute floors per metric (``gate.floors``), direction-aware;
* ``non_inferiority``: candidate ≥ champion − margin (or ≤ + margin when lower is better);
* ``slice``: per-slice non-regression of one metric; an expected slice that cannot be scored fails.

Without a champion the verdict rests on loads, finite predictions and floors: a rubber stamp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlpages.config import Config
from mlpages.settings import load_section, setting

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

METRICS = ("accuracy", "roc_auc", "f1", "log_loss", "precision", "recall", "brier")


@dataclass(frozen=True)
class GateSettings:
    """The ``gate`` section of params.yaml."""

    model: str = setting("models/model.pkl", help="The candidate model (joblib/pickle).")
    test_data: str = setting("data/processed/test.csv", help="Test data (CSV with the label).")
    label: str = setting("default", help="The label column of the test data.")
    threshold: float = setting(0.5, help="Decision threshold on the positive-class score.")
    floors: dict[str, float] = setting(
        factory=dict, help="Absolute floor per metric (a ceiling when lower is better)."
    )
    margins: dict[str, float] = setting(
        factory=dict, help="Non-inferiority margin per metric: candidate vs. champion."
    )
    directions: dict[str, str] = setting(
        factory=dict,
        choices=("higher", "lower"),
        help="higher or lower per metric, over the config's and the name-based direction.",
    )
    slice_column: str = setting("", help="Column whose values are the slices; empty: no slices.")
    slice_metric: str = setting("roc_auc", help="The metric compared per slice.")
    slice_margin: float = setting(0.05, help="How much worse than the champion a slice may be.")
    min_slice_rows: int = setting(
        20, minimum=0, help="An expected slice with fewer scored rows fails."
    )
    slices: tuple[str, ...] = setting(
        (), help="Expected slices; empty: the values found in the test data."
    )
    champion_rev: str = setting(
        "", help="The champion's revision when the registry has no production version."
    )
    artifact: str = setting("", help="Registry artifact of the champion; empty: model_artifact.")
    stage: str = setting(
        "", help="Registry stage of the champion; empty: the config's production_stage."
    )
    canned_requests: int | str = setting(
        5,
        minimum=0,
        help="Requests of the fresh-process load test: the first N test rows, or a CSV file.",
    )
    load_timeout: float = setting(
        120.0, minimum=0, help="Seconds the fresh process may take to load and answer."
    )
    report: str = setting("reports/gate.json", help="Where the verdict is written.")


@dataclass(frozen=True)
class RuleResult:
    """One checked rule, with its numbers and a sentence."""

    rule: str  # floor | non_inferiority | slice | finite_predictions | loads
    passed: bool
    reason: str
    metric: str | None = None
    slice: str | None = None
    candidate: float | None = None
    champion: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Scores:
    """Metrics of one model on the test data (overall and per slice)."""

    metrics: dict[str, float]
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    slice_rows: dict[str, int] = field(default_factory=dict)
    non_finite: int = 0
    error: str = ""  # why the model could not score the data at all


def gate_settings(raw: Any, source: str = "params.yaml") -> GateSettings:
    """Build :class:`GateSettings` from the ``gate`` params section (unknown keys are errors)."""
    return load_section(GateSettings, raw, source, "gate")


def direction_of(metric: str, settings: GateSettings, config: Config | None) -> int:
    """+1 when higher is better, -1 when lower is; explicit params first, then the config."""
    explicit = settings.directions.get(metric)
    if explicit:
        return 1 if explicit == "higher" else -1
    return (config or Config()).metric_direction(metric)


# --- scoring (pure) ------------------------------------------------------------------------------


def classification_metrics(labels: Any, scores: Any, threshold: float) -> dict[str, float]:
    """accuracy, roc_auc, f1, log_loss, precision, recall, brier (NaN where undefined)."""
    import numpy as np
    from sklearn import metrics

    y = np.asarray(labels, dtype=int)
    p = np.asarray(scores, dtype=float)
    if len(y) == 0 or not np.isfinite(p).all():
        return {name: math.nan for name in METRICS}
    predicted = (p >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    return {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "roc_auc": float(metrics.roc_auc_score(y, p)) if both else math.nan,
        "f1": float(metrics.f1_score(y, predicted, zero_division=0)),
        "log_loss": float(metrics.log_loss(y, clipped, labels=[0, 1])),
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, zero_division=0)),
        "brier": float(np.mean((p - y) ** 2)),
    }


def score_predictions(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    slice_values: pd.Series | None = None,
    slice_metric: str = "roc_auc",
) -> Scores:
    """Overall metrics (on finite scores) and one metric per slice."""
    import numpy as np

    finite = np.isfinite(scores)
    overall = classification_metrics(labels[finite], scores[finite], threshold)
    slices: dict[str, dict[str, float]] = {}
    rows: dict[str, int] = {}
    if slice_values is not None:
        keys = slice_values.astype(object).where(slice_values.notna(), "missing").astype(str)
        key_array = keys.to_numpy()
        for value in sorted(set(key_array)):
            mask = (key_array == value) & finite
            rows[value] = int(mask.sum())
            metric = classification_metrics(labels[mask], scores[mask], threshold)
            slices[value] = {slice_metric: metric.get(slice_metric, math.nan)}
    return Scores(overall, slices, rows, int((~finite).sum()))


# --- rules (pure) --------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


def floor_rules(scores: Scores, settings: GateSettings, config: Config | None) -> list[RuleResult]:
    """Absolute floors (for lower-is-better metrics: ceilings)."""
    out = []
    for metric, floor in settings.floors.items():
        value = scores.metrics.get(metric, math.nan)
        direction = direction_of(metric, settings, config)
        ok = math.isfinite(value) and (value >= floor if direction > 0 else value <= floor)
        sign = "≥" if direction > 0 else "≤"
        reason = f"{metric} {_fmt(value)} {'meets' if ok else 'misses'} the floor {sign} {floor:g}"
        if metric not in scores.metrics:
            reason = f"{metric}: unknown metric (known: {', '.join(METRICS)})"
        out.append(RuleResult("floor", ok, reason, metric, None, value, None, floor))
    return out


def non_inferiority_rules(
    candidate: Scores, champion: Scores, settings: GateSettings, config: Config | None
) -> list[RuleResult]:
    """Candidate no worse than the champion by more than the metric's margin."""
    out = []
    for metric, margin in settings.margins.items():
        new = candidate.metrics.get(metric, math.nan)
        old = champion.metrics.get(metric, math.nan)
        direction = direction_of(metric, settings, config)
        bound = old - margin if direction > 0 else old + margin
        if not math.isfinite(old):
            ok, why = math.isfinite(new), "a finite value (the champion has none)"
        else:
            ok = math.isfinite(new) and (new >= bound if direction > 0 else new <= bound)
            sign, op = ("≥", "-") if direction > 0 else ("≤", "+")
            why = f"{sign} champion {_fmt(old)} {op} {margin:g}"
        verdict = "holds" if ok else "is worse than allowed"
        reason = f"{metric} {_fmt(new)} {verdict}: needs {why}"
        out.append(RuleResult("non_inferiority", ok, reason, metric, None, new, old, bound))
    return out


def slice_rules(
    candidate: Scores, champion: Scores, settings: GateSettings, config: Config | None
) -> list[RuleResult]:
    """Per-slice non-regression; an expected slice without enough scored rows fails."""
    metric = settings.slice_metric
    direction = direction_of(metric, settings, config)
    expected = settings.slices or tuple(sorted(set(champion.slices) | set(candidate.slices)))
    out = []
    for name in expected:
        rows = candidate.slice_rows.get(name, 0)
        new = candidate.slices.get(name, {}).get(metric, math.nan)
        old = champion.slices.get(name, {}).get(metric, math.nan)
        if rows < settings.min_slice_rows or not math.isfinite(new):
            reason = (
                f"slice {settings.slice_column}={name} is missing: {rows} scored rows "
                f"(need {settings.min_slice_rows}) and {metric} {_fmt(new)}"
            )
            out.append(RuleResult("slice", False, reason, metric, name, new, old, None))
            continue
        if not math.isfinite(old):
            reason = f"slice {name}: {metric} {_fmt(new)} (the champion has no value here)"
            out.append(RuleResult("slice", True, reason, metric, name, new, old, None))
            continue
        margin = settings.slice_margin
        bound = old - margin if direction > 0 else old + margin
        ok = new >= bound if direction > 0 else new <= bound
        reason = (
            f"slice {settings.slice_column}={name}: {metric} {_fmt(new)} vs champion {_fmt(old)} "
            f"({'within' if ok else 'beyond'} the margin {margin:g})"
        )
        out.append(RuleResult("slice", ok, reason, metric, name, new, old, bound))
    return out


def finite_rule(scores: Scores, total: int) -> RuleResult:
    """No NaN or infinite score."""
    if scores.error:
        return RuleResult(
            "finite_predictions", False, f"cannot score the test data: {scores.error}"
        )
    bad = scores.non_finite
    if bad:
        return RuleResult(
            "finite_predictions", False, f"{bad} of {total} predictions are NaN or infinite"
        )
    return RuleResult("finite_predictions", True, f"all {total} predictions are finite")


def decide(
    candidate: Scores,
    champion: Scores | None,
    load_rule: RuleResult,
    total_rows: int,
    settings: GateSettings,
    config: Config | None = None,
) -> tuple[str, bool, tuple[RuleResult, ...], tuple[str, ...]]:
    """(verdict, rubber_stamp, rules, reasons) from the scores of both models (pure)."""
    rules = [load_rule, finite_rule(candidate, total_rows)]
    rules += floor_rules(candidate, settings, config)
    # A champion that cannot score today's data (e.g. a column it needs was renamed) cannot be
    # compared with: the verdict falls back to the floors, and says why.
    comparable = champion is not None and not champion.error
    if comparable:
        rules += non_inferiority_rules(candidate, champion, settings, config)
        if settings.slice_column:
            rules += slice_rules(candidate, champion, settings, config)
    failed = [r for r in rules if not r.passed]
    verdict = "rejected" if failed else "blessed"
    if failed:
        reasons = tuple(r.reason for r in failed)
    elif champion is None:
        reasons = (
            "rubber stamp: there is no champion yet, so the candidate was approved on absolute "
            f"floors only ({len(rules)} rules passed)",
        )
    elif not comparable:
        reasons = (
            f"rubber stamp: the champion cannot score the current test data ({champion.error}), "
            f"so the candidate was approved on absolute floors only ({len(rules)} rules passed)",
        )
    else:
        reasons = (f"all {len(rules)} rules passed against the champion",)
    return verdict, not comparable, tuple(rules), reasons
