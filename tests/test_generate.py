"""The embedded data generator: determinism, realism, and the events it injects."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpages.pipeline.generate import (
    CATEGORICAL,
    COLUMNS,
    NUMERIC,
    generate,
    generate_week,
    write_week,
)
from mlpages.pipeline.scenarios import default_scenario, events_for, stable_scenario

SMALL = 600


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    scenario = default_scenario(SMALL)
    generate(tmp_path / "a", 10, scenario, seed=7)
    generate(tmp_path / "b", 10, scenario, seed=7)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [f"week_{w:02d}.csv" for w in range(1, 11)]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# sha256 (first 16 hex) of weeks 1 (stable), 6 (covariate drift), 9 (schema break) and 11
# (concept drift) at 200 rows. Changing them changes this repository's data/raw (data/raw.dvc)
# and every demo: the generator's output is part of its interface.
GOLDEN = {
    1: "a1612e52b0014dcd",
    6: "f299e7c9c3895caa",
    9: "9aba029c32d5428d",
    11: "084325bce15c0257",
}


def test_the_bytes_of_the_default_scenario_do_not_move(tmp_path: Path) -> None:
    for week, digest in GOLDEN.items():
        path = tmp_path / f"week_{week:02d}.csv"
        write_week(generate_week(week, default_scenario(200)), path)
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:16] == digest, week


def test_a_week_alone_equals_the_week_in_a_run(tmp_path: Path) -> None:
    generate(tmp_path, 4, default_scenario(SMALL), seed=3)
    alone = generate_week(4, default_scenario(SMALL), seed=3)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "week_04.csv"), alone, check_dtype=False)


def test_other_seed_other_data() -> None:
    a = generate_week(2, stable_scenario(SMALL), seed=1)
    b = generate_week(2, stable_scenario(SMALL), seed=2)
    assert not a["income"].equals(b["income"])


def test_realistic_columns_and_base_rate() -> None:
    week = generate_week(1, default_scenario(), seed=11)
    assert tuple(week.columns) == COLUMNS
    assert 1800 <= len(week) <= 2200
    assert 0.15 <= week["default"].mean() <= 0.25
    assert week["age"].between(18, 85).all()
    assert week["credit_score"].between(300, 850).all()
    assert week["employment_years"].isna().any()  # a few realistic gaps
    dates = pd.to_datetime(week["application_date"])
    assert dates.is_monotonic_increasing
    assert dates.min() >= pd.Timestamp("2024-01-01") and dates.max() < pd.Timestamp("2024-01-08")
    for column in CATEGORICAL:
        assert week[column].nunique() >= 3


def test_label_is_learnable() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    def matrix(frame: pd.DataFrame) -> pd.DataFrame:
        x = pd.get_dummies(frame[[*NUMERIC, *CATEGORICAL]], columns=list(CATEGORICAL), dtype=float)
        return x.fillna(0.0)

    scenario = stable_scenario()
    train = pd.concat([generate_week(w, scenario, seed=5) for w in (1, 2)])
    test = generate_week(3, scenario, seed=5)
    x_train = matrix(train)
    mean, std = x_train.mean(), x_train.std()
    model = LogisticRegression(max_iter=2000).fit((x_train - mean) / std, train["default"])
    x_test = matrix(test).reindex(columns=x_train.columns, fill_value=0.0)
    auc = roc_auc_score(test["default"], model.predict_proba((x_test - mean) / std)[:, 1])
    assert 0.75 <= auc <= 0.88


def test_events_only_change_what_they_touch() -> None:
    stable, drifted = stable_scenario(SMALL), default_scenario(SMALL)
    for week in (1, 5):
        pd.testing.assert_frame_equal(generate_week(week, stable), generate_week(week, drifted))
    before, after = generate_week(7, stable), generate_week(7, drifted)
    for column in ("age", "debt_to_income", "num_open_accounts", "application_date"):
        assert before[column].equals(after[column]), column
    assert not before["income"].equals(after["income"])


def test_covariate_drift_from_week_6() -> None:
    scenario = default_scenario()
    base = pd.concat([generate_week(w, scenario) for w in (3, 4, 5)])
    drifted = generate_week(6, scenario)
    assert drifted["income"].median() > 1.25 * base["income"].median()
    assert drifted["credit_score"].mean() < base["credit_score"].mean() - 30
    assert (drifted["region"] == "west").mean() > 0.4 > (base["region"] == "west").mean()


def test_schema_break_at_week_9_only() -> None:
    scenario = default_scenario()
    broken = generate_week(9, scenario)
    assert "employment_years" not in broken.columns
    texts = broken["credit_score"].map(lambda v: isinstance(v, str))
    assert 0 < texts.mean() < 0.2
    assert (broken["age"] < 0).any()
    for week in (8, 10):
        clean = generate_week(week, scenario)
        assert "employment_years" in clean.columns
        assert pd.api.types.is_integer_dtype(clean["credit_score"])
        assert (clean["age"] >= 18).all()


def test_concept_drift_changes_the_label_not_the_features() -> None:
    drifted = default_scenario()
    without_concept = replace(drifted, concept=())
    after, reference = generate_week(12, drifted), generate_week(12, without_concept)
    features = [c for c in COLUMNS if c != "default"]
    pd.testing.assert_frame_equal(after[features], reference[features])
    changed = (after["default"] != reference["default"]).mean()
    assert changed > 0.05


def test_ground_truth_events() -> None:
    events = events_for(default_scenario(), 16)
    kinds = [(e["kind"], e["week"]) for e in events]
    assert ("covariate_drift", 6) in kinds
    assert ("concept_drift", 11) in kinds
    anomalies = {e["anomaly"]: e["features"] for e in events if e["kind"] == "schema_break"}
    assert anomalies == {
        "missing_column": ["employment_years"],
        "type_change": ["credit_score"],
        "out_of_range": ["age"],
    }
    covariate = next(e for e in events if e["kind"] == "covariate_drift")
    assert covariate["features"] == ["credit_score", "income", "loan_amount", "region"]
    assert covariate["weeks"] == list(range(6, 17))
    early = events_for(default_scenario(), 8)
    assert [(e["kind"], e["week"]) for e in early] == [("covariate_drift", 6)]
    assert early[0]["weeks"] == [6, 7, 8]
    assert events_for(stable_scenario(), 16) == []


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlpages.pipeline.generate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_cli_writes_batches_and_truth(tmp_path: Path) -> None:
    done = run_cli(
        "--out", "raw", "--weeks", "3", "--rows", "200", "--truth", "events.json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [
        "week_01.csv",
        "week_02.csv",
        "week_03.csv",
    ]
    truth = json.loads((tmp_path / "events.json").read_text())
    assert truth["scenario"] == "default" and truth["weeks"] == 3 and truth["events"] == []
    assert 180 <= len(pd.read_csv(tmp_path / "raw" / "week_01.csv")) <= 220


def test_cli_refuses_truth_inside_the_data(tmp_path: Path) -> None:
    done = run_cli("--out", "raw", "--weeks", "1", "--truth", "raw/events.json", cwd=tmp_path)
    assert done.returncode != 0
    assert "outside" in done.stderr
    assert not (tmp_path / "raw" / "events.json").exists()


def test_week_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        generate_week(0)
    assert np.isfinite(generate_week(1, stable_scenario(50))["loan_amount"]).all()
