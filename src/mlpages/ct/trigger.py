"""Retraining triggers: turn the monitoring record into a decision with its reasons.

The policy is pure: it reads the newest monitoring entry (whose alerts the monitor already
computed against the thresholds of ``params.yaml`` ``monitor.*``), how many batches the production
model has seen and how old it is, and answers "retrain?" with every reason that fired. The CT
workflow reads ``reports/trigger.json`` and starts a training run when ``retrain`` is true.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpages.settings import load_section, setting


@dataclass(frozen=True)
class TriggerSettings:
    """Which triggers are active and their thresholds (``params.yaml`` ``monitor:`` section)."""

    new_data_batches: int = setting(
        0, minimum=0, help="Retrain once the production model has seen this many batches (0: off)."
    )
    schedule_days: float = setting(
        0.0, minimum=0, help="Retrain when the production model is this many days old (0: off)."
    )
    on_performance: bool = setting(True, help="A performance alert is a reason to retrain.")
    on_drift: bool = setting(True, help="A feature-drift alert is a reason to retrain.")
    on_prediction_drift: bool = setting(
        True, help="A prediction-drift alert is a reason to retrain."
    )


@dataclass(frozen=True)
class TriggerReason:
    """One trigger that fired: its kind (new_data|schedule|performance|drift) and why."""

    kind: str
    detail: str


@dataclass(frozen=True)
class TriggerDecision:
    """The retraining decision written to ``reports/trigger.json``."""

    retrain: bool
    reasons: tuple[TriggerReason, ...]
    batch: str | None = None
    model_version: str | None = None
    batches_since_training: int | None = None
    days_since_training: float | None = None
    blocked: str | None = None  # why a retraining was held back (an untrustworthy batch)

    def to_json(self) -> dict[str, Any]:
        """The report object (the documented keys plus context for the site)."""
        return {
            "retrain": self.retrain,
            "reasons": [{"kind": r.kind, "detail": r.detail} for r in self.reasons],
            "batch": self.batch,
            "model_version": self.model_version,
            "batches_since_training": self.batches_since_training,
            "days_since_training": self.days_since_training,
            "blocked": self.blocked,
        }


def trigger_settings_from_params(section: Any, source: str = "params.yaml") -> TriggerSettings:
    """Build :class:`TriggerSettings` from the ``monitor:`` mapping (other keys are not its own)."""
    return load_section(TriggerSettings, section, source, "monitor", ignore_unknown=True)


def decide_retraining(
    entry: dict[str, Any] | None,
    settings: TriggerSettings,
    *,
    batches_since_training: int | None = None,
    days_since_training: float | None = None,
) -> TriggerDecision:
    """Decide whether to retrain after the monitoring ``entry`` of the newest batch."""
    reasons: list[TriggerReason] = []
    broken = [a for a in (entry or {}).get("alerts", ()) if a.get("kind") == "data"]
    if entry is not None and not broken:
        reasons.extend(_alert_reasons(entry, settings))
    if (
        settings.new_data_batches > 0
        and batches_since_training is not None
        and batches_since_training >= settings.new_data_batches
    ):
        reasons.append(
            TriggerReason(
                "new_data",
                f"{batches_since_training} new batch(es) since the last training "
                f"(trigger at {settings.new_data_batches})",
            )
        )
    if (
        settings.schedule_days > 0
        and days_since_training is not None
        and days_since_training >= settings.schedule_days
    ):
        reasons.append(
            TriggerReason(
                "schedule",
                f"model is {days_since_training:g} days old "
                f"(retrain every {settings.schedule_days:g} days)",
            )
        )
    blocked = None
    if broken:
        # Training on a broken batch would bake its defects into the model: fix the data first.
        blocked = f"{entry.get('batch')}: data problem ({broken[0].get('detail', '')})"
        reasons = []
    return TriggerDecision(
        retrain=bool(reasons),
        reasons=tuple(reasons),
        batch=None if entry is None else entry.get("batch"),
        model_version=None if entry is None else entry.get("model_version"),
        batches_since_training=batches_since_training,
        days_since_training=days_since_training,
        blocked=blocked,
    )


def _alert_reasons(entry: dict[str, Any], settings: TriggerSettings) -> list[TriggerReason]:
    reasons: list[TriggerReason] = []
    batch = entry.get("batch", "the batch")
    for alert in entry.get("alerts", ()):
        kind = alert.get("kind")
        detail = f"{batch}: {alert.get('detail', '')}".rstrip(": ")
        if kind == "performance" and settings.on_performance:
            reasons.append(TriggerReason("performance", detail))
        elif (kind == "drift" and settings.on_drift) or (
            kind == "prediction_drift" and settings.on_prediction_drift
        ):
            reasons.append(TriggerReason("drift", detail))
    return reasons


def batches_since_training(record: dict[str, Any]) -> int:
    """How many batches at the end of the record were scored by the newest entry's model."""
    batches = record.get("batches") or []
    if not batches:
        return 0
    newest = _model_identity(batches[-1])
    count = 0
    for entry in reversed(batches):
        if _model_identity(entry) != newest:
            break
        count += 1
    return count


def _model_identity(entry: dict[str, Any]) -> tuple[Any, Any]:
    return entry.get("model_version"), entry.get("model_hash")


def write_trigger(path: Path, decision: TriggerDecision) -> None:
    """Write ``reports/trigger.json`` (stable key order, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(decision.to_json(), indent=2) + "\n")
