"""The model gate: may the candidate replace the champion? Both are scored on the same test data.

Rules (``gate`` section of params.yaml):

* ``loads``: the candidate loads in a fresh Python process and answers canned requests;
* ``finite_predictions``: no NaN/Inf score on the test data;
* ``floor``: absolute floors per metric (``gate.floors``), direction-aware;
* ``non_inferiority``: candidate ≥ champion − margin (or ≤ + margin when lower is better);
* ``slice``: per-slice non-regression of one metric; an expected slice that cannot be scored fails.

Without a champion the verdict rests on loads, finite predictions and floors: a rubber stamp,
said so in the report. :func:`decide` is pure; :func:`run_gate` does the loading and writing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.errors import ConfigError, DataError, MlpagesError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlpages.config import Config
    from mlpages.ct.champion import Champion

METRICS = ("accuracy", "roc_auc", "f1", "log_loss", "precision", "recall", "brier")


class GateRejected(MlpagesError):
    """The gate rejected the candidate and --fail-on-reject was given."""

    exit_code = 3


@dataclass(frozen=True)
class GateSettings:
    """The ``gate`` section of params.yaml."""

    model: str = "models/model.pkl"
    test_data: str = "data/processed/test.csv"
    label: str = "default"
    threshold: float = 0.5
    floors: dict[str, float] = field(default_factory=dict)
    margins: dict[str, float] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)  # metric -> higher | lower
    slice_column: str = ""
    slice_metric: str = "roc_auc"
    slice_margin: float = 0.05
    min_slice_rows: int = 20
    slices: tuple[str, ...] = ()  # expected slices; empty: the values found in the test data
    champion_rev: str = ""
    artifact: str = ""
    stage: str = ""  # registry stage of the champion; empty: Config.production_stage
    canned_requests: int = 5
    load_timeout: float = 120.0
    report: str = "reports/gate.json"


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


@dataclass(frozen=True)
class GateReport:
    """The content of ``reports/gate.json``."""

    verdict: str  # blessed | rejected
    rubber_stamp: bool
    champion: dict[str, Any] | None
    candidate: dict[str, Any]
    champion_metrics: dict[str, float] | None
    rules: tuple[RuleResult, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        rules = [
            {
                "rule": r.rule,
                "metric": r.metric,
                "slice": r.slice,
                "candidate": _json_number(r.candidate),
                "champion": _json_number(r.champion),
                "threshold": _json_number(r.threshold),
                "passed": r.passed,
                "reason": r.reason,
            }
            for r in self.rules
        ]
        return {
            "verdict": self.verdict,
            "rubber_stamp": self.rubber_stamp,
            "champion": self.champion,
            "candidate": _json_tree(self.candidate),
            "champion_metrics": _json_tree(self.champion_metrics),
            "rules": rules,
            "reasons": list(self.reasons),
        }


def _json_number(value: float | None) -> float | None:
    # NaN/Inf are not JSON; the sentence in "reason" says what happened.
    return value if value is None or math.isfinite(value) else None


def _json_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_tree(v) for k, v in value.items()}
    if isinstance(value, float):
        return _json_number(value)
    return value


# --- settings ------------------------------------------------------------------------------------


def _number_map(raw: Any, key: str, source: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in raw.values()
    ):
        raise ConfigError(f"{source}: gate.{key} must map metric names to numbers")
    return {str(k): float(v) for k, v in raw.items()}


def gate_settings(raw: dict[str, Any], source: str = "params.yaml") -> GateSettings:
    """Build :class:`GateSettings` from the ``gate`` params section (unknown keys are errors)."""
    defaults = GateSettings()
    unknown = set(raw) - set(GateSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{source}: unknown gate key(s) {', '.join(sorted(unknown))}")
    directions = raw.get("directions") or {}
    if not isinstance(directions, dict) or not all(
        v in ("higher", "lower") for v in directions.values()
    ):
        raise ConfigError(f"{source}: gate.directions values must be 'higher' or 'lower'")
    values: dict[str, Any] = {
        "floors": _number_map(raw.get("floors"), "floors", source),
        "margins": _number_map(raw.get("margins"), "margins", source),
        "directions": {str(k): str(v) for k, v in directions.items()},
        "slices": tuple(str(s) for s in raw.get("slices") or ()),
    }
    for key in ("model", "test_data", "label", "slice_column", "slice_metric", "champion_rev"):
        values[key] = str(raw.get(key) if raw.get(key) is not None else getattr(defaults, key))
    for key in ("artifact", "stage", "report"):
        values[key] = str(raw.get(key) if raw.get(key) is not None else getattr(defaults, key))
    for key in ("threshold", "slice_margin", "load_timeout"):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: gate.{key} must be a number")
        values[key] = float(value)
    for key in ("min_slice_rows", "canned_requests"):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{source}: gate.{key} must be a non-negative integer")
        values[key] = value
    return GateSettings(**values)


def direction_of(metric: str, settings: GateSettings, config: Config | None) -> int:
    """+1 when higher is better, -1 when lower is; explicit params first, then the config."""
    explicit = settings.directions.get(metric)
    if explicit:
        return 1 if explicit == "higher" else -1
    if config is None:
        from mlpages.config import Config

        config = Config()
    return config.metric_direction(metric)


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
            ok, why = math.isfinite(new), "champion has no value"
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
    if champion is not None:
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
    else:
        reasons = (f"all {len(rules)} rules passed against the champion",)
    return verdict, champion is None, tuple(rules), reasons


# --- models in and out of process (I/O edge) -----------------------------------------------------

_PROBE = """
import json, sys
import joblib, numpy as np, pandas as pd
model = joblib.load(sys.argv[1])
frame = pd.read_csv(sys.argv[2])
columns = getattr(model, "feature_names_in_", None)
if columns is not None:
    frame = frame[list(columns)]
if hasattr(model, "predict_proba"):
    scores = np.asarray(model.predict_proba(frame))[:, -1]
else:
    scores = np.asarray(model.predict(frame), dtype=float)
print(json.dumps([float(s) for s in scores]))
"""


def load_model_file(path: Path) -> Any:
    """Unpickle a model (joblib or plain pickle); failures are a one-line error."""
    import joblib

    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        return joblib.load(path)
    except Exception as exc:  # a broken pickle can raise almost anything
        raise DataError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None


def load_model_bytes(data: bytes, label: str) -> Any:
    """Unpickle a model given as bytes (the champion from the DVC cache)."""
    with tempfile.TemporaryDirectory(prefix="mlpages-gate-") as tmp:
        path = Path(tmp) / "champion.pkl"
        path.write_bytes(data)
        try:
            return load_model_file(path)
        except DataError as exc:
            raise DataError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None


def predict_scores(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Positive-class scores (predict_proba's last column, else predict) as floats."""
    import numpy as np

    columns = getattr(model, "feature_names_in_", None)
    features = frame[list(columns)] if columns is not None else frame
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(features), dtype=float)[:, -1]
    return np.asarray(model.predict(features), dtype=float)


def probe_in_fresh_process(model_path: Path, requests: pd.DataFrame, timeout: float) -> RuleResult:
    """Load the model in a new Python process and score the canned requests."""
    with tempfile.TemporaryDirectory(prefix="mlpages-probe-") as tmp:
        request_file = Path(tmp) / "requests.csv"
        requests.to_csv(request_file, index=False)
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _PROBE, str(model_path), str(request_file)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return RuleResult("loads", False, f"the model did not answer within {timeout:g} s")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        return RuleResult("loads", False, f"the model failed in a fresh process: {last}")
    try:
        answers = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return RuleResult("loads", False, "the fresh process printed no predictions")
    if len(answers) != len(requests):
        return RuleResult(
            "loads", False, f"{len(answers)} answers to {len(requests)} canned requests"
        )
    if not all(isinstance(a, float) and math.isfinite(a) for a in answers):
        return RuleResult("loads", False, "the fresh process returned NaN/Inf for canned requests")
    return RuleResult(
        "loads",
        True,
        f"loads in a fresh process and answers {len(requests)} canned requests",
    )


@dataclass(frozen=True)
class GateOutcome:
    report: GateReport
    champion: Champion | None
    written: Path


def score_model(model: Any, frame: pd.DataFrame, settings: GateSettings) -> Scores:
    """Score a loaded model on the test data; a model that cannot predict gets an error."""
    try:
        raw = predict_scores(model, frame)
    except Exception as exc:  # a model that cannot score the data fails the gate, not the tool
        metrics = {name: math.nan for name in METRICS}
        return Scores(metrics, non_finite=len(frame), error=f"{type(exc).__name__}: {exc}")
    labels = frame[settings.label].to_numpy()
    slices = frame[settings.slice_column] if settings.slice_column else None
    return score_predictions(labels, raw, settings.threshold, slices, settings.slice_metric)


def run_gate(
    repo: Path,
    settings: GateSettings,
    *,
    model_path: Path | None = None,
    test_path: Path | None = None,
    report_path: Path | None = None,
    champion_rev: str = "",
    config: Config | None = None,
) -> GateOutcome:
    """Score candidate and champion on the test data, decide, write ``reports/gate.json``."""
    from mlpages.config import load_config
    from mlpages.ct.batches import read_batch
    from mlpages.ct.champion import champion_model_bytes, resolve_champion

    config = config or load_config(repo)
    candidate_file = model_path or repo / settings.model
    test = read_batch(test_path or repo / settings.test_data)
    for column in (settings.label, settings.slice_column):
        if column and column not in test.columns:
            raise DataError(f"{test_path or settings.test_data}: no column {column!r}")
    champion = resolve_champion(
        repo,
        explicit_rev=champion_rev,
        params_rev=settings.champion_rev,
        artifact=settings.artifact or config.model_artifact,
        stage=settings.stage or config.production_stage,
        model_path=settings.model,
    )
    candidate = load_model_file(candidate_file)
    load_rule = probe_in_fresh_process(
        candidate_file,
        test.drop(columns=[settings.label]).head(max(settings.canned_requests, 1)),
        settings.load_timeout,
    )
    candidate_scores = score_model(candidate, test, settings)
    champion_scores = None
    if champion is not None:
        data = champion_model_bytes(repo, champion)
        champion_model = load_model_bytes(data, f"champion {champion.label}")
        champion_scores = score_model(champion_model, test, settings)
    verdict, rubber, rules, reasons = decide(
        candidate_scores, champion_scores, load_rule, len(test), settings, config
    )
    report = GateReport(
        verdict=verdict,
        rubber_stamp=rubber,
        champion=None if champion is None else champion.to_json(),
        candidate={"metrics": candidate_scores.metrics, "slices": candidate_scores.slices},
        champion_metrics=None if champion_scores is None else champion_scores.metrics,
        rules=rules,
        reasons=reasons,
    )
    out = report_path or repo / settings.report
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return GateOutcome(report, champion, out)


def summary_text(outcome: GateOutcome) -> str:
    """A readable verdict for stderr."""
    report = outcome.report
    against = (
        "no champion (rubber stamp)"
        if outcome.champion is None
        else f"champion {outcome.champion.label} ({outcome.champion.sha[:12]})"
    )
    lines = [f"gate: {report.verdict.upper()} vs {against}"]
    for rule in report.rules:
        lines.append(f"  {'ok  ' if rule.passed else 'FAIL'} {rule.rule:<17} {rule.reason}")
    return "\n".join(lines)
