"""The retraining policy: which monitor alerts, data arrivals and ages make a retrain, and why."""

from __future__ import annotations

import json

import pytest

from mlpages.ct.trigger import (
    TriggerSettings,
    batches_since_training,
    decide_retraining,
    trigger_settings_from_params,
    write_trigger,
)
from mlpages.errors import ConfigError


def entry(batch="week_07.csv", *alerts, version="v1", model_hash="abc"):
    return {
        "batch": batch,
        "model_version": version,
        "model_hash": model_hash,
        "alerts": [{"kind": kind, "detail": detail} for kind, detail in alerts],
    }


def test_quiet_batch_means_no_retraining():
    decision = decide_retraining(entry(), TriggerSettings(), batches_since_training=1)
    assert decision.retrain is False
    assert decision.reasons == ()
    assert decision.to_json()["retrain"] is False


@pytest.mark.parametrize(
    ("alert", "kind"),
    [("performance", "performance"), ("drift", "drift"), ("prediction_drift", "drift")],
)
def test_each_alert_kind_triggers_with_its_reason(alert, kind):
    decision = decide_retraining(entry("week_09.csv", (alert, "bad")), TriggerSettings())
    assert decision.retrain is True
    assert [r.kind for r in decision.reasons] == [kind]
    assert decision.reasons[0].detail == "week_09.csv: bad"


def test_alert_triggers_can_be_switched_off():
    settings = TriggerSettings(on_performance=False, on_drift=False, on_prediction_drift=False)
    alerts = (("performance", "x"), ("drift", "y"), ("prediction_drift", "z"))
    decision = decide_retraining(entry("w.csv", *alerts), settings)
    assert decision.retrain is False


def test_new_data_trigger_counts_batches_since_training():
    settings = TriggerSettings(new_data_batches=3)
    assert not decide_retraining(entry(), settings, batches_since_training=2).retrain
    decision = decide_retraining(entry(), settings, batches_since_training=3)
    assert decision.retrain
    assert decision.reasons[0].kind == "new_data"
    assert "3 new batch" in decision.reasons[0].detail


def test_schedule_trigger_uses_days_since_training():
    settings = TriggerSettings(schedule_days=28)
    assert not decide_retraining(entry(), settings, days_since_training=27.5).retrain
    decision = decide_retraining(entry(), settings, days_since_training=28)
    assert [r.kind for r in decision.reasons] == ["schedule"]
    assert decision.to_json()["days_since_training"] == 28


def test_disabled_schedule_and_new_data_never_fire():
    decision = decide_retraining(
        entry(), TriggerSettings(), batches_since_training=500, days_since_training=9999
    )
    assert decision.retrain is False


def test_all_reasons_are_listed_together():
    settings = TriggerSettings(new_data_batches=1, schedule_days=7)
    decision = decide_retraining(
        entry("w.csv", ("drift", "4 features"), ("performance", "auc")),
        settings,
        batches_since_training=2,
        days_since_training=14,
    )
    assert [r.kind for r in decision.reasons] == ["drift", "performance", "new_data", "schedule"]


def test_broken_batch_blocks_retraining_even_with_other_reasons():
    settings = TriggerSettings(new_data_batches=1)
    decision = decide_retraining(
        entry("week_09.csv", ("data", "missing column x"), ("drift", "y")),
        settings,
        batches_since_training=4,
    )
    assert decision.retrain is False
    assert decision.reasons == ()
    assert "week_09.csv" in decision.blocked and "missing column x" in decision.blocked


def test_batches_since_training_stops_at_the_model_change():
    record = {
        "batches": [
            entry("w1", version="v1"),
            entry("w2", version="v1"),
            entry("w3", version="v2"),
            entry("w4", version="v2"),
            entry("w5", version="v2"),
        ]
    }
    assert batches_since_training(record) == 3
    assert batches_since_training({"batches": []}) == 0
    retrained = {"batches": [entry("w1", model_hash="a"), entry("w2", model_hash="b")]}
    assert batches_since_training(retrained) == 1


def test_settings_from_params_and_bad_values():
    settings = trigger_settings_from_params({"schedule_days": 14, "on_drift": False, "other": 1})
    assert settings.schedule_days == 14.0 and settings.on_drift is False
    assert trigger_settings_from_params(None) == TriggerSettings()
    with pytest.raises(ConfigError, match="schedule_days"):
        trigger_settings_from_params({"schedule_days": "often"})
    with pytest.raises(ConfigError, match="on_drift"):
        trigger_settings_from_params({"on_drift": "yes"})
    with pytest.raises(ConfigError, match="new_data_batches"):
        trigger_settings_from_params({"new_data_batches": -1})


def test_write_trigger_matches_the_documented_format(tmp_path):
    decision = decide_retraining(entry("week_06.csv", ("drift", "income")), TriggerSettings())
    path = tmp_path / "reports" / "trigger.json"
    write_trigger(path, decision)
    data = json.loads(path.read_text())
    assert data["retrain"] is True
    assert data["reasons"] == [{"kind": "drift", "detail": "week_06.csv: income"}]
    assert data["batch"] == "week_06.csv"
    assert path.read_text().endswith("\n")
