"""How well do the monitor and the triggers catch the generator's injected events? Measured.

A week-by-week replay of a generated scenario, without DVC: a model is trained on the first weeks
and kept in production; every later week is monitored with it and the trigger decides; a retrain
replaces the model. The alerts are then scored against the generator's ground truth: which events
were detected, after how many batches, and which alerts fired on stable weeks (false alarms).

    python -m benchmarks.monitor_quality            # the table quoted in docs/monitoring.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlpages.ct.monitor import MonitorSettings, monitor_batch
from mlpages.ct.trigger import TriggerSettings, batches_since_training, decide_retraining

if TYPE_CHECKING:
    import pandas as pd

    from mlpages.pipeline.scenarios import Scenario

# Which alert kinds count as detecting each kind of injected event.
DETECTED_BY: dict[str, frozenset[str]] = {
    "covariate_drift": frozenset({"drift", "prediction_drift"}),
    "concept_drift": frozenset({"performance"}),
    "schema_break": frozenset({"data"}),
}
TRAIN_PARAMS: dict[str, Any] = {
    "model": "logistic_regression",
    "seed": 42,
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
}


@dataclass(frozen=True)
class WeekOutcome:
    """One monitored week: the model that scored it, its alerts and the trigger's decision."""

    week: int
    model: str  # "m1" for the first model, "m2" after the first retrain, ...
    trained_on: tuple[int, ...]  # weeks the scoring model was trained on
    alerts: tuple[str, ...]  # alert kinds
    retrain: bool
    reasons: tuple[str, ...]  # trigger reason kinds
    metric: float | None  # the monitored metric (roc_auc) when labels exist


@dataclass(frozen=True)
class EventDetection:
    """One injected event (schema breaks of the same week form one event) and its detection."""

    kind: str
    week: int
    detected_week: int | None

    @property
    def delay(self) -> int | None:
        """Batches between the event's first batch and its first alert (0 = the same batch)."""
        return None if self.detected_week is None else self.detected_week - self.week


@dataclass(frozen=True)
class QualityReport:
    """The replay and its score against the ground truth."""

    scenario: str
    seed: int
    weeks: tuple[WeekOutcome, ...]
    events: tuple[EventDetection, ...]
    stable_weeks: tuple[int, ...]
    false_alarms: tuple[int, ...]  # stable weeks with at least one alert
    retrains: tuple[int, ...] = field(default=())

    def detected_within(self, batches: int = 1) -> bool:
        """Every event detected at most ``batches`` batches after it started."""
        return all(e.delay is not None and e.delay <= batches for e in self.events)


def replay(
    scenario: Scenario,
    *,
    weeks: int = 16,
    seed: int | None = None,
    initial_weeks: int = 4,
    window: int = 4,
    settings: MonitorSettings | None = None,
    policy: TriggerSettings | None = None,
    train_params: dict[str, Any] | None = None,
    labelled: bool = True,
) -> tuple[WeekOutcome, ...]:
    """Monitor weeks ``initial_weeks+1..weeks`` with a production model retrained on triggers.

    A retrain after a drift or performance trigger learns from the batches since the change (the
    triggering batch on); after a new-data or schedule trigger, from the last ``window`` healthy
    batches. Batches with a data alert are never trained on. ``labelled=False`` monitors the
    batches without their labels (they arrive later: training still uses them).
    """
    from mlpages.pipeline.generate import DEFAULT_SEED, TARGET, generate_week

    seed = DEFAULT_SEED if seed is None else seed
    settings = settings or MonitorSettings()
    policy = policy or TriggerSettings()
    batches = {w: generate_week(w, scenario, seed) for w in range(1, weeks + 1)}
    healthy: list[int] = list(range(1, initial_weeks + 1))
    trained_on = tuple(healthy[-window:])
    model, reference = _train(batches, trained_on, train_params)
    model_id, count = "m1", 1
    record: list[dict[str, Any]] = []
    outcomes: list[WeekOutcome] = []
    for week in range(initial_weeks + 1, weeks + 1):
        entry = monitor_batch(
            model,
            batches[week] if labelled else batches[week].drop(columns=[TARGET], errors="ignore"),
            reference,
            batch_name=f"week_{week:02d}.csv",
            settings=settings,
            model_version=model_id,
            history=tuple(record),
        ).to_json()
        record.append(entry)
        seen = batches_since_training({"batches": record})
        decision = decide_retraining(
            entry, policy, batches_since_training=seen, days_since_training=7.0 * seen
        )
        kinds = tuple(a["kind"] for a in entry["alerts"])
        if "data" not in kinds:
            healthy.append(week)
        outcomes.append(
            WeekOutcome(
                week=week,
                model=model_id,
                trained_on=trained_on,
                alerts=kinds,
                retrain=decision.retrain,
                reasons=tuple(r.kind for r in decision.reasons),
                metric=entry["metrics"].get(settings.metric),
            )
        )
        if decision.retrain:
            change = {"drift", "performance"} & {r.kind for r in decision.reasons}
            trained_on = (week,) if change else tuple(healthy[-window:])
            model, reference = _train(batches, trained_on, train_params)
            count += 1
            model_id = f"m{count}"
    return tuple(outcomes)


def _train(
    batches: dict[int, pd.DataFrame], weeks: tuple[int, ...], params: dict[str, Any] | None
) -> tuple[Any, pd.DataFrame]:
    import pandas as pd

    from mlpages.pipeline.common import DataSpec
    from mlpages.pipeline.generate import CATEGORICAL, NUMERIC, TARGET, TIMESTAMP
    from mlpages.pipeline.train import train_model

    spec = DataSpec(TARGET, TIMESTAMP, NUMERIC, CATEGORICAL)
    data = pd.concat([batches[w] for w in weeks], ignore_index=True)
    return train_model(data, spec, params or TRAIN_PARAMS), data


def score(
    outcomes: tuple[WeekOutcome, ...],
    truth: list[dict[str, Any]],
    scenario: str = "",
    seed: int = 0,
) -> QualityReport:
    """Score a replay against the ground truth events (``generate.events_for``)."""
    monitored = [o.week for o in outcomes]
    starts: dict[tuple[str, int], None] = {}
    for event in truth:
        starts[(event["kind"], int(event["week"]))] = None
    detections = []
    for kind, week in starts:
        wanted = DETECTED_BY.get(kind, frozenset())
        hit = next((o.week for o in outcomes if o.week >= week and wanted & set(o.alerts)), None)
        detections.append(EventDetection(kind, week, hit))
    event_weeks = {week for _, week in starts}
    stable = tuple(w for w in monitored if w not in event_weeks)
    false_alarms = tuple(o.week for o in outcomes if o.week in stable and o.alerts)
    return QualityReport(
        scenario=scenario,
        seed=seed,
        weeks=outcomes,
        events=tuple(sorted(detections, key=lambda e: (e.week, e.kind))),
        stable_weeks=stable,
        false_alarms=false_alarms,
        retrains=tuple(o.week for o in outcomes if o.retrain),
    )


def evaluate(
    scenario_name: str = "default", *, weeks: int = 16, seed: int | None = None, **kwargs: Any
) -> QualityReport:
    """Replay a named generator scenario and score it against its ground truth."""
    from mlpages.pipeline.generate import DEFAULT_SEED
    from mlpages.pipeline.scenarios import SCENARIOS, events_for

    seed = DEFAULT_SEED if seed is None else seed
    scenario = SCENARIOS[scenario_name]()
    outcomes = replay(scenario, weeks=weeks, seed=seed, **kwargs)
    return score(outcomes, events_for(scenario, weeks), scenario.name, seed)


def weeks_table(report: QualityReport) -> str:
    """Markdown table of the replay, one row per monitored week."""
    events = {e.week: e.kind for e in report.events}
    lines = [
        "| week | event | model (trained on weeks) | roc_auc | alerts | trigger |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in report.weeks:
        span = (
            f"{o.trained_on[0]}–{o.trained_on[-1]}"
            if len(o.trained_on) > 1
            else f"{o.trained_on[0]}"
        )
        auc = "-" if o.metric is None else f"{o.metric:.3f}"
        trigger = f"retrain ({', '.join(o.reasons)})" if o.retrain else "-"
        lines.append(
            f"| {o.week} | {events.get(o.week, '')} | {o.model} ({span}) | {auc} | "
            f"{', '.join(o.alerts) or '-'} | {trigger} |"
        )
    return "\n".join(lines)


def seed_summary(scenario_name: str, seeds: range) -> dict[str, int]:
    """Totals over several seeds: events, detected within one batch, delays, false alarms."""
    totals = {"runs": 0, "events": 0, "detected": 0, "delay": 0, "stable": 0, "false": 0}
    for seed in seeds:
        report = evaluate(scenario_name, seed=seed)
        totals["runs"] += 1
        totals["events"] += len(report.events)
        totals["detected"] += sum(e.delay is not None and e.delay <= 1 for e in report.events)
        totals["delay"] += sum(e.delay or 0 for e in report.events if e.delay is not None)
        totals["stable"] += len(report.stable_weeks)
        totals["false"] += len(report.false_alarms)
    return totals


def main() -> None:
    """Print the replay of the default and stable scenarios and a multi-seed summary."""
    for name in ("default", "stable"):
        report = evaluate(name)
        print(f"## scenario {name}, seed {report.seed}\n\n{weeks_table(report)}\n")
        for event in report.events:
            print(f"- {event.kind} at week {event.week}: detected at {event.detected_week}")
        print(f"- false alarms on {len(report.stable_weeks)} stable weeks: {report.false_alarms}\n")
    blind = evaluate("default", labelled=False)
    print("## default scenario, labels withheld from the monitor\n")
    for event in blind.events:
        print(f"- {event.kind} at week {event.week}: detected at {event.detected_week}")
    print(f"- false alarms on {len(blind.stable_weeks)} stable weeks: {blind.false_alarms}\n")
    seeds = range(1, 21)
    print(f"## seeds {seeds.start}..{seeds.stop - 1}\n")
    print("| scenario | runs | events detected within one batch | total delay | false alarms |")
    print("| --- | --- | --- | --- | --- |")
    for name in ("default", "stable"):
        t = seed_summary(name, seeds)
        print(
            f"| {name} | {t['runs']} | {t['detected']}/{t['events']} | {t['delay']} batches | "
            f"{t['false']} on {t['stable']} stable weeks |"
        )


if __name__ == "__main__":
    sys.exit(main())
