"""Measured quality of monitoring: the generator's injected events are caught, stable weeks stay
quiet; and the ``monitor`` stage under a real ``dvc repro`` (record persisted, production model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmarks.monitor_quality import evaluate, score, weeks_table
from mlpages.pipeline.generate import default_scenario, generate, stable_scenario

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


# --- the monitor stage under dvc -----------------------------------------------------------------

ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "DVC_NO_ANALYTICS": "1",
}
STAGES = ("ingest", "split", "train", "monitor")


def run(repo: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def monitor_pipeline(dvc_yaml: dict) -> dict:
    """This repository's dvc.yaml cut to the stages the monitor needs (evaluate is not one)."""
    stages = {name: dict(dvc_yaml["stages"][name]) for name in STAGES}
    produced = {
        item if isinstance(item, str) else next(iter(item))
        for stage in stages.values()
        for section in ("outs", "metrics", "plots")
        for item in stage.get(section, ())
    }
    for stage in stages.values():
        # Deps on other stages' reports (validation before ingest) are cut with those stages.
        stage["deps"] = [
            d for d in stage["deps"] if d in produced or d.startswith("src/") or d == "data/raw"
        ]
    return {"stages": stages, "artifacts": dvc_yaml.get("artifacts", {})}


@pytest.mark.slow
def test_monitor_stage_under_dvc_repro_keeps_the_record_and_scores_the_production_model(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    for package in ("pipeline", "ct"):
        shutil.copytree(
            ROOT / "src" / "mlpages" / package,
            repo / "src" / "mlpages" / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    dvc_yaml = monitor_pipeline(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    (repo / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"]["window_weeks"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "dvc", "init", "-q")
    generate(repo / "data" / "raw", 4, stable_scenario(400), seed=3)
    run(repo, "dvc", "add", "-q", "data/raw")

    # First run: nothing in production yet, so this run's model scores the newest batch.
    out = run(repo, "dvc", "repro")
    assert "no production model yet" in out
    record = json.loads((repo / "reports/monitoring.json").read_text())
    assert [b["batch"] for b in record["batches"]] == ["week_04.csv"]
    first = record["batches"][0]
    assert first["model_version"] is None and first["labels"] is True and first["alerts"] == []
    trigger = json.loads((repo / "reports/trigger.json").read_text())
    assert trigger["retrain"] is False
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "week 4")

    # Promote that model (GTO-format tags), then a drifted batch arrives (default scenario).
    run(repo, "git", "tag", "-a", "credit-model@v1.0.0", "-m", "register")
    run(repo, "git", "tag", "-a", "credit-model#prod#1", "-m", "promote")
    generate(repo / "data" / "raw", 6, default_scenario(400), seed=3, first_week=5)
    run(repo, "dvc", "add", "-q", "data/raw")
    out = run(repo, "dvc", "repro")
    assert "production model v1.0.0" in out
    record = json.loads((repo / "reports/monitoring.json").read_text())
    # persist: true kept the earlier entry; the new batch is appended, scored by v1.0.0.
    assert [b["batch"] for b in record["batches"]] == ["week_04.csv", "week_06.csv"]
    newest = record["batches"][1]
    assert newest["model_version"] == "v1.0.0"
    assert newest["model_hash"] == first["model_hash"]
    assert {"income", "credit_score"} <= set(newest["drifted_features"])
    assert "drift" in [a["kind"] for a in newest["alerts"]]
    trigger = json.loads((repo / "reports/trigger.json").read_text())
    assert trigger["retrain"] is True and trigger["batch"] == "week_06.csv"
    assert "drift" in [r["kind"] for r in trigger["reasons"]]

    # Re-running the stage on the same batch replaces its entry instead of adding one.
    run(repo, "dvc", "repro", "-f", "-s", "monitor")
    again = json.loads((repo / "reports/monitoring.json").read_text())
    assert again == record
