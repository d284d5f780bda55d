"""Measured quality of monitoring: the generator's injected events are caught, stable weeks stay
quiet (``benchmarks/monitor_quality.py``; the ``monitor`` stage under ``dvc repro`` is tested in
test_ct_pipeline.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.monitor_quality import evaluate, score, weeks_table

ROOT = Path(__file__).resolve().parents[1]


def test_default_scenario_every_event_detected_in_its_batch_without_false_alarms():
    report = evaluate("default")
    kinds = {(e.kind, e.week): e.delay for e in report.events}
    assert kinds == {("covariate_drift", 6): 0, ("schema_break", 9): 0, ("concept_drift", 11): 0}
    assert report.detected_within(1)
    assert report.false_alarms == ()
    assert len(report.stable_weeks) == 9
    # Drift and the performance drop retrain the model; the broken batch never does.
    assert report.retrains == (6, 11)
    by_week = {o.week: o for o in report.weeks}
    assert by_week[6].reasons == ("drift",) and by_week[11].reasons == ("performance",)
    assert by_week[9].alerts == ("data",) and not by_week[9].retrain
    assert by_week[12].trained_on == (11,) and by_week[12].metric > 0.65
    assert "| 11 | concept_drift |" in weeks_table(report)


def test_stable_scenario_raises_no_alert_and_keeps_the_first_model():
    report = evaluate("stable")
    assert report.events == ()
    assert report.false_alarms == () and report.retrains == ()
    assert {o.model for o in report.weeks} == {"m1"}
    assert all(0.75 < o.metric < 0.9 for o in report.weeks)


def test_without_labels_covariate_drift_and_breaks_are_caught_concept_drift_is_not():
    report = evaluate("default", labelled=False)
    delays = {e.kind: e.delay for e in report.events}
    assert delays == {"covariate_drift": 0, "schema_break": 0, "concept_drift": None}
    assert report.false_alarms == ()
    assert all(o.metric is None for o in report.weeks)


def test_scoring_counts_late_and_missed_detections_and_false_alarms():
    from benchmarks.monitor_quality import WeekOutcome

    def week(n, *alerts):
        return WeekOutcome(n, "m1", (1,), alerts, bool(alerts), (), None)

    outcomes = (week(5, "drift"), week(6), week(7, "drift"), week(8), week(9))
    truth = [
        {"kind": "covariate_drift", "week": 6},
        {"kind": "concept_drift", "week": 8},
        {"kind": "schema_break", "week": 8},
    ]
    report = score(outcomes, truth)
    delays = {e.kind: e.delay for e in report.events}
    assert delays == {"covariate_drift": 1, "concept_drift": None, "schema_break": None}
    assert report.stable_weeks == (5, 7, 9)
    assert report.false_alarms == (5, 7)
    assert not report.detected_within(1)
