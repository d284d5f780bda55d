"""What happens over the weeks of generated data: the injected events and their ground truth.

A :class:`Scenario` is a batch size and its events: covariate drift (features shifted, scaled or
re-mixed from a week on), concept drift (the label model changes from a week on) and schema
breaks (one broken batch). :func:`events_for` is the ground truth a detector is scored against.
:mod:`mlpages.pipeline.generate` applies them to the weekly draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CovariateDrift:
    """From ``week`` on: numeric features shifted/scaled and categorical mixes replaced."""

    week: int
    shift: dict[str, float] = field(default_factory=dict)  # feature -> shift in its own unit
    scale: dict[str, float] = field(default_factory=dict)  # feature -> multiplier
    mix: dict[str, dict[str, float]] = field(default_factory=dict)  # feature -> new probabilities

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(sorted({*self.shift, *self.scale, *self.mix}))


@dataclass(frozen=True)
class ConceptDrift:
    """From ``week`` on: the label model uses these weights/effects instead (features unchanged)."""

    week: int
    weights: dict[str, float] = field(default_factory=dict)
    effects: dict[str, dict[str, float]] = field(default_factory=dict)
    intercept_shift: float = 0.0

    @property
    def features(self) -> tuple[str, ...]:
        names = {"loan_amount" if w == "loan_to_income" else w for w in self.weights}
        return tuple(sorted(names | set(self.effects)))


@dataclass(frozen=True)
class SchemaBreak:
    """At ``week`` only: a missing column, strings in a numeric column, out-of-range values."""

    week: int
    missing: tuple[str, ...] = ()
    wrong_type: tuple[str, ...] = ()
    out_of_range: tuple[str, ...] = ()
    fraction: float = 0.05  # share of rows made wrong-typed / out of range


@dataclass(frozen=True)
class Scenario:
    """What happens over the weeks: the events injected and the batch size."""

    name: str = "stable"
    rows_per_week: int = 2000
    covariate: tuple[CovariateDrift, ...] = ()
    concept: tuple[ConceptDrift, ...] = ()
    breaks: tuple[SchemaBreak, ...] = ()


def default_scenario(rows_per_week: int = 2000) -> Scenario:
    """Covariate drift from week 6, a schema-broken batch at week 9, concept drift from week 11."""
    return Scenario(
        name="default",
        rows_per_week=rows_per_week,
        covariate=(
            CovariateDrift(
                week=6,
                scale={"income": 1.35, "loan_amount": 1.5},
                shift={"credit_score": -45.0},
                mix={
                    "region": {
                        "north": 0.1,
                        "south": 0.16,
                        "east": 0.14,
                        "west": 0.48,
                        "central": 0.12,
                    }
                },
            ),
        ),
        concept=(
            ConceptDrift(
                week=11,
                weights={"credit_score": -0.2, "debt_to_income": -0.3, "employment_years": 0.5},
                effects={"employment_type": {"self_employed": 1.4, "unemployed": -0.4}},
            ),
        ),
        breaks=(
            SchemaBreak(
                week=9,
                missing=("employment_years",),
                wrong_type=("credit_score",),
                out_of_range=("age",),
            ),
        ),
    )


def stable_scenario(rows_per_week: int = 2000) -> Scenario:
    """No events: every week from the same distribution."""
    return Scenario(name="stable", rows_per_week=rows_per_week)


SCENARIOS = {"default": default_scenario, "stable": stable_scenario}


def active_event(events: tuple[Any, ...], week: int) -> Any:
    """The event of ``events`` in force at ``week`` (the latest one started), or None."""
    started = [e for e in events if e.week <= week]
    return max(started, key=lambda e: e.week) if started else None


def events_for(scenario: Scenario, weeks: int) -> list[dict[str, Any]]:
    """Ground truth of the injected events within ``weeks``, for scoring drift detection."""
    events: list[dict[str, Any]] = []
    for drift in scenario.covariate:
        if drift.week <= weeks:
            events.append(
                {
                    "kind": "covariate_drift",
                    "week": drift.week,
                    "weeks": list(range(drift.week, weeks + 1)),
                    "features": list(drift.features),
                    "detail": {"shift": drift.shift, "scale": drift.scale, "mix": drift.mix},
                }
            )
    for concept in scenario.concept:
        if concept.week <= weeks:
            events.append(
                {
                    "kind": "concept_drift",
                    "week": concept.week,
                    "weeks": list(range(concept.week, weeks + 1)),
                    "features": list(concept.features),
                    "detail": {"weights": concept.weights, "effects": concept.effects},
                }
            )
    for spec in scenario.breaks:
        if spec.week <= weeks:
            for anomaly, columns in (
                ("missing_column", spec.missing),
                ("type_change", spec.wrong_type),
                ("out_of_range", spec.out_of_range),
            ):
                if columns:
                    events.append(
                        {
                            "kind": "schema_break",
                            "anomaly": anomaly,
                            "week": spec.week,
                            "weeks": [spec.week],
                            "features": list(columns),
                            "detail": {"fraction": spec.fraction},
                        }
                    )
    return sorted(events, key=lambda e: (e["week"], e["kind"], e.get("anomaly", "")))
