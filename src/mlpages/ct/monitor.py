"""Production monitoring: score a batch with the production model and record how it went.

For one batch: predictions, their statistics (mean, histogram with fixed edges), per-feature drift
vs. the training reference, prediction drift (PSI of the batch's scores vs. the reference's
scores), real metrics when the batch has labels, a label-free estimate when it does not (the
statistics are :mod:`mlpages.ct.monitor_stats`), and the alerts these raise against the
thresholds of ``params.yaml`` ``monitor:``. Entries accumulate in ``reports/monitoring.json``,
committed to git, so the monitoring history is the git history.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.ct.drift import DriftSettings
from mlpages.ct.monitor_stats import (
    HIST_EDGES,
    binary_labels,
    coerce_like,
    feature_drift,
    label_free_estimate,
    performance_metrics,
    prediction_histogram,
    prediction_psi,
    week_of,
)
from mlpages.errors import DataError
from mlpages.settings import setting

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LOWER_IS_BETTER = frozenset({"log_loss", "brier"})


@dataclass(frozen=True)
class MonitorSettings:
    """Thresholds and columns of the monitor (``params.yaml`` ``monitor:`` section)."""

    label: str = setting("default", help="The label column (metrics when a batch has labels).")
    exclude: tuple[str, ...] = setting(
        (), help="Columns that are not model inputs (ids, timestamps)."
    )
    metric: str = setting(
        "roc_auc", help="The metric whose floor and drop raise a performance alert."
    )
    min_metric: float = setting(0.65, minimum=0, help="Performance alert below this floor.")
    max_drop: float = setting(
        0.05, minimum=0, help="Performance alert this far below the model's baseline."
    )
    baseline_batches: int = setting(
        3, minimum=0, help="The model's first labelled batches that form its baseline."
    )
    prediction_psi: float = setting(
        0.2, minimum=0, help="Prediction-drift alert at this PSI of the scores vs. the reference's."
    )
    min_confidence: float = setting(
        0.0, minimum=0, help="Without labels: alert when the estimated accuracy falls below this."
    )
    max_bad_values: float = setting(
        0.01, minimum=0, help="Data alert above this share of non-numeric or missing values."
    )
    # The monitor's own default: a quarter of the features drifting is a dataset drift.
    drift: DriftSettings = setting(
        factory=lambda: DriftSettings(share=0.25),
        help="Feature drift methods and thresholds (as validate.drift; share 0.25).",
    )


@dataclass(frozen=True)
class Alert:
    """Something the monitor found: kind (drift|performance|prediction_drift|data) and detail."""

    kind: str
    detail: str


@dataclass(frozen=True)
class BatchEntry:
    """One batch's monitoring result: one element of ``monitoring.json`` ``batches``."""

    batch: str
    week: int | None
    model_version: str | None
    rows: int
    prediction_mean: float | None
    prediction_hist: tuple[int, ...]
    hist_edges: tuple[float, ...]
    drift: dict[str, float]
    drifted_features: tuple[str, ...]
    prediction_drift: float | None
    labels: bool
    metrics: dict[str, float]
    estimated: dict[str, float]
    alerts: tuple[Alert, ...]
    model_hash: str | None = None
    baseline: dict[str, float] = field(default_factory=dict)
    share_drifted: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented JSON entry (NaN/Inf become null)."""
        return {
            "batch": self.batch,
            "week": self.week,
            "model_version": self.model_version,
            "model_hash": self.model_hash,
            "rows": self.rows,
            "prediction_mean": _finite(self.prediction_mean),
            "prediction_hist": list(self.prediction_hist),
            "hist_edges": list(self.hist_edges),
            "drift": {k: _finite(v) for k, v in self.drift.items()},
            "drifted_features": list(self.drifted_features),
            "share_drifted": _finite(self.share_drifted),
            "prediction_drift": _finite(self.prediction_drift),
            "labels": self.labels,
            "metrics": {k: _finite(v) for k, v in self.metrics.items()},
            "baseline": {k: _finite(v) for k, v in self.baseline.items()},
            "estimated": {k: _finite(v) for k, v in self.estimated.items()},
            "alerts": [{"kind": a.kind, "detail": a.detail} for a in self.alerts],
        }


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


# --- the model ---------------------------------------------------------------------------------


def load_model(path: Path) -> Any:
    """Load a pickled/joblib model; a missing or unreadable file raises DataError."""
    import joblib

    if not path.is_file():
        raise DataError(f"{path}: no model file")
    try:
        return joblib.load(path)
    except Exception as exc:  # any unpickling failure is the user's file, not our bug
        raise DataError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None


def file_hash(path: Path) -> str:
    """md5 of a file (identifies the model version when the registry has none)."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def model_features(model: Any, frame: pd.DataFrame, settings: MonitorSettings) -> list[str]:
    """The columns the model reads: its ``feature_names_in_`` or every non-label column."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    skip = {settings.label, *settings.exclude}
    return [c for c in frame.columns if c not in skip]


def predict_scores(model: Any, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """Positive-class probabilities (or decision scores squashed to 0..1) for every row."""
    import numpy as np

    inputs = frame[features]
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(inputs), dtype=float)
        scores = proba[:, -1] if proba.ndim == 2 else proba
    elif hasattr(model, "decision_function"):
        scores = 1.0 / (1.0 + np.exp(-np.asarray(model.decision_function(inputs), dtype=float)))
    else:
        raise DataError("the model has neither predict_proba nor decision_function")
    return np.clip(scores, 0.0, 1.0)


# --- one batch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    """The model's scores of a batch it could read, and of the reference."""

    features: list[str]
    inputs: pd.DataFrame  # the batch's model inputs, numeric columns coerced
    scores: np.ndarray
    reference_scores: np.ndarray


def monitor_batch(
    model: Any,
    batch: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    batch_name: str,
    settings: MonitorSettings | None = None,
    model_version: str | None = None,
    model_hash: str | None = None,
    history: tuple[dict[str, Any], ...] = (),
    baseline: dict[str, float] | None = None,
) -> BatchEntry:
    """Score ``batch`` with ``model`` (an estimator, or a model file's path) vs. ``reference``.

    ``history``: earlier entries of the monitoring record (JSON dicts); the first labelled batches
    scored by the same model form its performance baseline unless ``baseline`` is given.
    """
    import numpy as np

    settings = settings or MonitorSettings()
    if isinstance(model, str | Path):
        model_hash = model_hash or file_hash(Path(model))
        model = load_model(Path(model))
    head = _entry_head(batch_name, model_version, model_hash, batch)
    alerts: list[Alert] = []
    scored = _scored(model, batch, reference, settings, alerts)
    if scored is None:
        return _unscored_entry(head, batch, settings, alerts)
    scores = scored.scores
    drift_scores, drifted, share = feature_drift(
        reference[scored.features], scored.inputs, settings.drift
    )
    psi = prediction_psi(scored.reference_scores, scores)
    labels, metrics, estimated = _outcome(batch, scores, settings, alerts)
    if baseline is None:
        baseline = _baseline(history, model_version, model_hash, settings)
    alerts.extend(_drift_alerts(drift_scores, drifted, share, psi, settings))
    alerts.extend(_performance_alerts(metrics, estimated, baseline, settings))
    return BatchEntry(
        **head,
        prediction_mean=float(np.mean(scores)) if len(scores) else None,
        prediction_hist=tuple(prediction_histogram(scores)),
        hist_edges=HIST_EDGES,
        drift=drift_scores,
        drifted_features=tuple(drifted),
        share_drifted=share,
        prediction_drift=psi,
        labels=labels,
        metrics=metrics,
        baseline=baseline,
        estimated=estimated,
        alerts=tuple(alerts),
    )


def _entry_head(
    batch_name: str, model_version: str | None, model_hash: str | None, batch: pd.DataFrame
) -> dict[str, Any]:
    """The fields of a BatchEntry that every entry has, scored or not."""
    return {
        "batch": batch_name,
        "week": week_of(batch_name),
        "model_version": model_version,
        "model_hash": model_hash,
        "rows": len(batch),
    }


def _scored(
    model: Any,
    batch: pd.DataFrame,
    reference: pd.DataFrame,
    settings: MonitorSettings,
    alerts: list[Alert],
) -> _Scored | None:
    """Scores of batch and reference; None (with a data alert) when the batch cannot be scored."""
    features = model_features(model, reference, settings)
    absent = [c for c in features if c not in reference.columns]
    if absent or len(reference) == 0:
        raise DataError(f"the reference data lacks the model's input column(s) {absent} or rows")
    reference_scores = predict_scores(model, reference, features)
    missing = [c for c in features if c not in batch.columns]
    if missing or len(batch) == 0:
        why = f"missing model input column(s) {missing}" if missing else "no rows"
        alerts.append(Alert("data", f"{why}: batch not scored"))
        return None
    inputs, bad = coerce_like(batch[features], reference[features])
    if max(bad.values(), default=0.0) > settings.max_bad_values:
        worst = ", ".join(f"{c} ({v:.1%})" for c, v in sorted(bad.items()) if v > 0)
        alerts.append(Alert("data", f"non-numeric values in numeric column(s): {worst}"))
    try:
        scores = predict_scores(model, inputs, features)
    except (ValueError, TypeError) as exc:  # the model rejects this batch's values
        alerts.append(Alert("data", f"the model cannot score this batch: {exc}"))
        return None
    return _Scored(features, inputs, scores, reference_scores)


def _outcome(
    batch: pd.DataFrame, scores: np.ndarray, settings: MonitorSettings, alerts: list[Alert]
) -> tuple[bool, dict[str, float], dict[str, float]]:
    """(labelled, real metrics, label-free estimate): metrics need every label, 0 or 1."""
    truth = binary_labels(batch, settings.label)
    if settings.label in batch.columns and batch[settings.label].notna().all() and truth is None:
        alerts.append(Alert("data", f"label column {settings.label!r} has values other than 0/1"))
    if truth is not None:
        return True, performance_metrics(truth, scores), {}
    return False, {}, label_free_estimate(scores)


def _drift_alerts(
    drift_scores: dict[str, float],
    drifted: list[str],
    share: float,
    psi: float,
    settings: MonitorSettings,
) -> list[Alert]:
    """A dataset-drift alert at the drift share, a prediction-drift alert at the PSI."""
    alerts = []
    min_share = settings.drift.share
    if drifted and share >= min_share:
        alerts.append(
            Alert(
                "drift",
                f"{len(drifted)} of {len(drift_scores)} features drifted ({share:.0%} >= "
                f"{min_share:.0%}): {', '.join(drifted)}",
            )
        )
    if math.isfinite(psi) and psi >= settings.prediction_psi:
        alerts.append(
            Alert("prediction_drift", f"prediction PSI {psi:.3f} >= {settings.prediction_psi:g}")
        )
    return alerts


def _unscored_entry(
    head: dict[str, Any], batch: pd.DataFrame, settings: MonitorSettings, alerts: list[Alert]
) -> BatchEntry:
    return BatchEntry(
        **head,
        prediction_mean=None,
        prediction_hist=(0,) * (len(HIST_EDGES) - 1),
        hist_edges=HIST_EDGES,
        drift={},
        drifted_features=(),
        prediction_drift=None,
        labels=settings.label in batch.columns,
        metrics={},
        estimated={},
        alerts=tuple(alerts),
    )


def _same_model(entry: dict[str, Any], version: str | None, model_hash: str | None) -> bool:
    if model_hash is not None and entry.get("model_hash") is not None:
        return entry.get("model_hash") == model_hash
    return entry.get("model_version") == version


def _baseline(
    history: tuple[dict[str, Any], ...],
    version: str | None,
    model_hash: str | None,
    settings: MonitorSettings,
) -> dict[str, float]:
    """Mean metric over the model's first labelled, healthy batches (its normal performance)."""
    values: list[float] = []
    for entry in history:
        if not _same_model(entry, version, model_hash):
            continue
        value = (entry.get("metrics") or {}).get(settings.metric)
        kinds = {a.get("kind") for a in entry.get("alerts", ())}
        if value is None or kinds & {"data", "performance"}:
            continue
        values.append(float(value))
        if len(values) >= settings.baseline_batches:
            break
    return {settings.metric: sum(values) / len(values)} if values else {}


def _performance_alerts(
    metrics: dict[str, float],
    estimated: dict[str, float],
    baseline: dict[str, float],
    settings: MonitorSettings,
) -> list[Alert]:
    alerts: list[Alert] = []
    name = settings.metric
    value = metrics.get(name)
    if value is not None and math.isfinite(value):
        lower = name in LOWER_IS_BETTER
        if (value > settings.min_metric) if lower else (value < settings.min_metric):
            side = "above the ceiling" if lower else "below the floor"
            alerts.append(
                Alert("performance", f"{name} {value:.3f} {side} {settings.min_metric:g}")
            )
        elif name in baseline:
            drop = (value - baseline[name]) if lower else (baseline[name] - value)
            if drop > settings.max_drop:
                alerts.append(
                    Alert(
                        "performance",
                        f"{name} {value:.3f} is {drop:.3f} worse than the model's baseline "
                        f"{baseline[name]:.3f} (max drop {settings.max_drop:g})",
                    )
                )
    confidence = estimated.get("confidence")
    if confidence is not None and confidence < settings.min_confidence:
        alerts.append(
            Alert(
                "performance",
                f"estimated accuracy {confidence:.3f} (no labels) "
                f"below {settings.min_confidence:g}",
            )
        )
    return alerts


# --- the cumulative record ---------------------------------------------------------------------


def merge_entry(
    record: dict[str, Any] | None, entry: BatchEntry, settings: MonitorSettings
) -> dict[str, Any]:
    """The record with ``entry`` added, or replacing the entry of the same batch (idempotent)."""
    batches = [dict(b) for b in (record or {}).get("batches", ()) if isinstance(b, dict)]
    new = entry.to_json()
    for index, old in enumerate(batches):
        if old.get("batch") == entry.batch:
            batches[index] = new
            break
    else:
        batches.append(new)
    return {
        "threshold": {"metric": settings.metric, "min": settings.min_metric},
        "batches": batches,
    }


def history_before(record: dict[str, Any] | None, batch_name: str) -> tuple[dict[str, Any], ...]:
    """Entries of the record that precede ``batch_name`` (all of them if it is new)."""
    batches = [b for b in (record or {}).get("batches", ()) if isinstance(b, dict)]
    names = [b.get("batch") for b in batches]
    if batch_name in names:
        batches = batches[: names.index(batch_name)]
    return tuple(batches)
