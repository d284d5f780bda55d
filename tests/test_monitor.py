"""The monitor: one batch's statistics (ct/monitor_stats.py), alerts, record, `mlpages monitor`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers.cli import mlpages

from mlpages.ct.monitor import MonitorSettings, merge_entry, monitor_batch
from mlpages.ct.monitor_run import read_record, settings_from_params
from mlpages.ct.monitor_stats import (
    HIST_EDGES,
    label_free_estimate,
    normalised_score,
    performance_metrics,
    prediction_histogram,
    prediction_psi,
    week_of,
)
from mlpages.errors import ConfigError, DataError
from mlpages.pipeline.common import DataSpec
from mlpages.pipeline.generate import CATEGORICAL, NUMERIC, TARGET, TIMESTAMP, generate_week
from mlpages.pipeline.scenarios import default_scenario, stable_scenario
from mlpages.pipeline.train import save_model, train_model

ROWS = 600
SPEC = DataSpec(TARGET, TIMESTAMP, NUMERIC, CATEGORICAL)
PARAMS = {"model": "logistic_regression", "seed": 0, "logistic_regression": {"max_iter": 500}}


@pytest.fixture(scope="module")
def world():
    """Reference weeks 1-4, a model trained on them, and later weeks of the default scenario."""
    import pandas as pd

    scenario = default_scenario(ROWS)
    weeks = {w: generate_week(w, scenario) for w in (1, 2, 3, 4, 5, 6, 9)}
    reference = pd.concat([weeks[w] for w in (1, 2, 3, 4)], ignore_index=True)
    model = train_model(reference, SPEC, PARAMS)
    return {"weeks": weeks, "reference": reference, "model": model}


def test_stable_batch_has_statistics_metrics_and_no_alerts(world):
    batch = world["weeks"][5]
    entry = monitor_batch(world["model"], batch, world["reference"], batch_name="week_05.csv")
    assert entry.week == 5 and entry.rows == len(batch)
    assert sum(entry.prediction_hist) == len(batch)
    assert entry.hist_edges == HIST_EDGES and len(entry.prediction_hist) == len(HIST_EDGES) - 1
    assert 0.05 < entry.prediction_mean < 0.5
    assert entry.labels is True and entry.estimated == {}
    assert {"roc_auc", "accuracy", "f1", "log_loss", "brier"} <= set(entry.metrics)
    assert entry.metrics["roc_auc"] > 0.7
    assert set(entry.drift) == set(NUMERIC) | set(CATEGORICAL)
    assert entry.drifted_features == ()
    assert entry.prediction_drift < 0.1
    assert entry.alerts == ()


def test_model_can_be_given_as_a_file(world, tmp_path):
    save_model(world["model"], tmp_path / "model.pkl")
    entry = monitor_batch(
        str(tmp_path / "model.pkl"), world["weeks"][5], world["reference"], batch_name="w5.csv"
    )
    direct = monitor_batch(
        world["model"], world["weeks"][5], world["reference"], batch_name="w5.csv"
    )
    assert entry.prediction_hist == direct.prediction_hist
    assert entry.model_hash is not None and len(entry.model_hash) == 32


def test_without_labels_the_estimate_is_marked_as_such(world):
    batch = world["weeks"][5].drop(columns=[TARGET])
    entry = monitor_batch(world["model"], batch, world["reference"], batch_name="week_05.csv")
    data = entry.to_json()
    assert data["labels"] is False and data["metrics"] == {}
    assert 0.5 <= data["estimated"]["confidence"] <= 1.0
    assert data["estimated"]["expected_positive_rate"] == pytest.approx(entry.prediction_mean)


def test_partial_or_malformed_labels_are_not_scored_as_metrics(world):
    partial = world["weeks"][5].copy()
    partial.loc[:10, TARGET] = None
    entry = monitor_batch(world["model"], partial, world["reference"], batch_name="week_05.csv")
    assert entry.labels is False and entry.metrics == {} and "confidence" in entry.estimated
    assert entry.alerts == ()
    words = world["weeks"][5].copy()
    words[TARGET] = words[TARGET].map({0: "no", 1: "yes"})
    entry = monitor_batch(world["model"], words, world["reference"], batch_name="week_05.csv")
    assert entry.metrics == {} and [a.kind for a in entry.alerts] == ["data"]
    assert "other than 0/1" in entry.alerts[0].detail


def test_covariate_drift_raises_a_drift_alert_naming_the_features(world):
    entry = monitor_batch(
        world["model"], world["weeks"][6], world["reference"], batch_name="week_06.csv"
    )
    assert {"income", "loan_amount", "credit_score", "region"} <= set(entry.drifted_features)
    assert all(entry.drift[f] > 1 for f in entry.drifted_features)
    drift_alerts = [a for a in entry.alerts if a.kind == "drift"]
    assert len(drift_alerts) == 1 and "income" in drift_alerts[0].detail


def test_batch_missing_a_model_input_is_a_data_alert_not_a_crash(world):
    entry = monitor_batch(
        world["model"], world["weeks"][9], world["reference"], batch_name="week_09.csv"
    )
    assert [a.kind for a in entry.alerts] == ["data"]
    assert "employment_years" in entry.alerts[0].detail
    assert entry.prediction_mean is None and entry.to_json()["prediction_mean"] is None


def test_empty_batch_and_bad_reference(world):
    empty = world["weeks"][5].head(0)
    entry = monitor_batch(world["model"], empty, world["reference"], batch_name="week_05.csv")
    assert [a.kind for a in entry.alerts] == ["data"] and "no rows" in entry.alerts[0].detail
    with pytest.raises(DataError, match="reference data lacks"):
        monitor_batch(
            world["model"],
            world["weeks"][5],
            world["reference"].drop(columns=["income"]),
            batch_name="week_05.csv",
        )


def test_non_numeric_values_raise_a_data_alert_but_the_batch_is_scored(world):
    batch = world["weeks"][5].copy()
    batch["credit_score"] = batch["credit_score"].astype(object)
    batch.loc[: len(batch) // 10, "credit_score"] = "n/a"
    entry = monitor_batch(world["model"], batch, world["reference"], batch_name="week_05.csv")
    kinds = [a.kind for a in entry.alerts]
    assert "data" in kinds and "credit_score" in entry.alerts[kinds.index("data")].detail
    assert entry.prediction_mean is not None


def test_performance_alerts_floor_and_drop_from_the_model_baseline(world):
    batch = world["weeks"][5]
    history = tuple(
        {"batch": f"w{i}", "model_hash": "m", "metrics": {"roc_auc": 0.99}, "alerts": []}
        for i in range(3)
    )
    entry = monitor_batch(
        world["model"],
        batch,
        world["reference"],
        batch_name="week_05.csv",
        model_hash="m",
        history=history,
    )
    assert entry.baseline == {"roc_auc": pytest.approx(0.99)}
    assert [a.kind for a in entry.alerts] == ["performance"]
    assert "baseline 0.990" in entry.alerts[0].detail
    other_model = monitor_batch(
        world["model"],
        batch,
        world["reference"],
        batch_name="week_05.csv",
        model_hash="other",
        history=history,
    )
    assert other_model.alerts == () and other_model.baseline == {}
    floor = monitor_batch(
        world["model"],
        batch,
        world["reference"],
        batch_name="week_05.csv",
        settings=MonitorSettings(min_metric=0.99),
    )
    assert [a.kind for a in floor.alerts] == ["performance"]
    assert "below the floor" in floor.alerts[0].detail


def test_prediction_statistics_are_exact_on_known_values():
    assert prediction_histogram(np.array([0.0, 0.05, 0.1, 0.95, 1.0])) == [
        2,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        2,
    ]
    rng = np.random.default_rng(0)
    same = rng.beta(2, 5, 4000)
    assert prediction_psi(same, rng.beta(2, 5, 4000)) < 0.02
    assert prediction_psi(same, rng.beta(5, 2, 4000)) > 1.0
    assert math.isnan(prediction_psi(same, np.array([])))
    estimate = label_free_estimate(np.array([0.9, 0.2, 0.5, 0.7]))
    assert estimate["confidence"] == pytest.approx((0.9 + 0.8 + 0.5 + 0.7) / 4)
    metrics = performance_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert math.isnan(performance_metrics(np.array([1, 1]), np.array([0.3, 0.8]))["roc_auc"])


def test_normalised_drift_score_puts_every_method_on_one_scale():
    assert normalised_score(0.1, None, 0.1) == pytest.approx(1.0)
    assert normalised_score(0.3, None, 0.1) == pytest.approx(3.0)
    assert normalised_score(0.2, 0.05, 0.05) == pytest.approx(1.0)
    assert normalised_score(0.2, 0.0025, 0.05) == pytest.approx(2.0)
    assert normalised_score(0.2, 0.5, 0.05) < 1
    assert 200 < normalised_score(0.9, 0.0, 0.05) <= 1000
    assert normalised_score(math.inf, None, 0.1) == 1000
    assert normalised_score(0.0, None, 0.0) == 0


def test_merge_replaces_the_same_batch_and_appends_new_ones(world):
    model, reference = world["model"], world["reference"]
    first = monitor_batch(model, world["weeks"][5], reference, batch_name="week_05.csv")
    second = monitor_batch(model, world["weeks"][6], reference, batch_name="week_06.csv")
    settings = MonitorSettings()
    record = merge_entry(None, first, settings)
    record = merge_entry(record, second, settings)
    again = merge_entry(record, first, settings)
    assert [b["batch"] for b in again["batches"]] == ["week_05.csv", "week_06.csv"]
    assert again == record
    assert again["threshold"] == {"metric": "roc_auc", "min": settings.min_metric}
    json.dumps(again, allow_nan=False)


def test_settings_from_params_and_record_errors(tmp_path):
    settings = settings_from_params({"min_metric": 0.8, "exclude": ["id"], "drift": {"share": 0.5}})
    assert settings.min_metric == 0.8 and settings.exclude == ("id",)
    # A partial monitor.drift keeps the monitor's own default share (0.25, not validate's 0.5).
    assert settings_from_params({"drift": {"p_value": 0.01}}).drift.share == 0.25
    assert settings_from_params(None) == MonitorSettings()
    with pytest.raises(ConfigError, match="max_drop"):
        settings_from_params({"max_drop": "a lot"})
    with pytest.raises(ConfigError, match="exclude"):
        settings_from_params({"exclude": "id"})
    with pytest.raises(ConfigError, match="wasserstein_threshold"):
        settings_from_params({"drift": {"wasserstein_threshold": 0.2}})
    assert read_record(tmp_path / "none.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not a monitoring record"):
        read_record(bad)
    assert week_of("week_07.csv") == 7 and week_of("batch.csv") is None


# --- the command on files ---------------------------------------------------------------------


def test_monitor_command_appends_idempotently_and_writes_the_trigger(tmp_path, world):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    stable = stable_scenario(ROWS)
    for week in (1, 2, 3, 4):
        world["weeks"][week].to_csv(raw / f"week_{week:02d}.csv", index=False)
    generate_week(5, stable).to_csv(raw / "week_05.csv", index=False)
    save_model(world["model"], tmp_path / "models" / "model.pkl")
    (tmp_path / "params.yaml").write_text(
        "monitor:\n  window: 4\n  schedule_days: 21\n  drift:\n    share: 0.25\n"
    )

    first = mlpages("monitor", "--trigger-out", "reports/trigger.json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    record = json.loads((tmp_path / "reports" / "monitoring.json").read_text())
    assert [b["batch"] for b in record["batches"]] == ["week_05.csv"]
    assert record["batches"][0]["model_hash"]
    trigger = json.loads((tmp_path / "reports" / "trigger.json").read_text())
    assert trigger["retrain"] is False and trigger["batches_since_training"] == 1

    again = mlpages("monitor", "--trigger-out", "reports/trigger.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "reports" / "monitoring.json").read_text()) == record

    world["weeks"][6].to_csv(raw / "week_06.csv", index=False)
    drifted = mlpages("monitor", "--trigger-out", "reports/trigger.json", cwd=tmp_path)
    assert drifted.returncode == 0, drifted.stderr
    assert "drift" in drifted.stderr
    record = json.loads((tmp_path / "reports" / "monitoring.json").read_text())
    assert [b["batch"] for b in record["batches"]] == ["week_05.csv", "week_06.csv"]
    trigger = json.loads((tmp_path / "reports" / "trigger.json").read_text())
    assert trigger["retrain"] is True
    kinds = [r["kind"] for r in trigger["reasons"]]
    assert "drift" in kinds
    assert trigger["days_since_training"] == 14.0 and "schedule" not in kinds


def test_monitor_command_errors_are_one_clear_line(tmp_path, world):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    world["weeks"][5].to_csv(raw / "week_05.csv", index=False)
    missing_model = mlpages("monitor", "--reference", str(raw / "week_05.csv"), cwd=tmp_path)
    assert missing_model.returncode == 1
    assert missing_model.stderr.strip().splitlines() == [
        "mlpages: error: models/model.pkl: no model file"
    ]
    (tmp_path / "params.yaml").write_text("monitor:\n  treshold: 3\n")
    typo = mlpages("monitor", cwd=tmp_path)
    # One message format for every settings section (mlpages.settings).
    assert typo.returncode == 1 and typo.stderr.startswith(
        "mlpages: error: params.yaml: monitor.treshold: unknown setting (known: model, "
    )
    assert len(typo.stderr.strip().splitlines()) == 1 and "Traceback" not in typo.stderr
    (tmp_path / "params.yaml").write_text("monitor:\n  batch_days: weekly\n")
    wrong = mlpages("monitor", cwd=tmp_path)
    assert wrong.returncode == 1 and wrong.stderr.strip() == (
        "mlpages: error: params.yaml: monitor.batch_days: expected a number >= 0, got 'weekly'"
    )
    (tmp_path / "params.yaml").write_text("monitor:\n  drift: {wasserstein_threshold: 1}\n")
    nested = mlpages("monitor", cwd=tmp_path)
    assert nested.stderr.startswith(  # the monitor's drift section, not "validate.drift"
        "mlpages: error: params.yaml: monitor.drift.wasserstein_threshold: unknown setting"
    )


def test_times_for_the_schedule_trigger():
    from mlpages.ct.monitor_run import parse_time

    assert parse_time("2024-01-08", "--now") == 1_704_672_000
    assert parse_time("2024-01-08T00:00:00+01:00", "--now") == 1_704_672_000 - 3600
    assert parse_time("1704672000", "--now") == 1_704_672_000
    with pytest.raises(ConfigError, match="--trained-at: expected an ISO date"):
        parse_time("last tuesday", "--trained-at")


def test_trained_at_gives_the_model_age_in_days(tmp_path, world):
    from mlpages.ct.monitor_run import run_monitor

    world["weeks"][5].to_csv(tmp_path / "week_05.csv", index=False)
    world["reference"].to_csv(tmp_path / "train.csv", index=False)
    save_model(world["model"], tmp_path / "model.pkl")
    (tmp_path / "params.yaml").write_text("monitor:\n  schedule_days: 28\n")
    result = run_monitor(
        model_path=tmp_path / "model.pkl",
        batch_path=tmp_path / "week_05.csv",
        reference_paths=(tmp_path / "train.csv",),
        params_path=tmp_path / "params.yaml",
        out_path=tmp_path / "monitoring.json",
        trigger_path=tmp_path / "trigger.json",
        trained_at="2024-01-01",
        now="2024-02-05",
    )
    assert result.decision.days_since_training == 35
    assert [r.kind for r in result.decision.reasons] == ["schedule"]
    saved = json.loads((tmp_path / "trigger.json").read_text())
    assert saved["retrain"] is True and "35 days old" in saved["reasons"][0]["detail"]
