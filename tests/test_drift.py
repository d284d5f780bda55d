"""Drift statistics on small seeded arrays, the method choice, and the dataset-level rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpages.ct.drift import (
    DriftSettings,
    categorical_drift,
    chi2_test,
    detect_drift,
    drift_settings,
    jensenshannon_distance,
    ks_test,
    numeric_drift,
    psi_from_shares,
    psi_numeric,
    summary_text,
    wasserstein_normalised,
)
from mlpages.ct.schema import ColumnSchema, Schema
from mlpages.errors import ConfigError

RNG_SEED = 7


def _normal(n: int, loc: float = 0.0, seed: int = RNG_SEED) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def test_ks_identical_is_no_drift_and_a_shift_is() -> None:
    ref = _normal(300)
    statistic, p = ks_test(ref, ref.copy())
    assert statistic == 0.0 and p == pytest.approx(1.0)
    statistic, p = ks_test(ref, _normal(300, loc=0.5, seed=8))
    assert statistic > 0.15 and p < 1e-4


def test_ks_same_distribution_other_sample_is_not_significant() -> None:
    _, p = ks_test(_normal(300, seed=1), _normal(300, seed=2))
    assert p > 0.05


def test_wasserstein_is_in_units_of_the_reference_std() -> None:
    ref = _normal(2000)
    assert wasserstein_normalised(ref, ref) == 0.0
    assert wasserstein_normalised(ref, ref + 0.5 * ref.std()) == pytest.approx(0.5)
    assert wasserstein_normalised(np.full(10, 3.0), np.full(10, 4.0)) == math.inf
    assert wasserstein_normalised(np.full(10, 3.0), np.full(10, 3.0)) == 0.0


def test_chi2_and_jensen_shannon_on_counts() -> None:
    same = np.array([50.0, 30.0, 20.0])
    assert chi2_test(same, same * 2) == (0.0, pytest.approx(1.0))
    statistic, p = chi2_test(same, np.array([20.0, 30.0, 50.0]))
    assert statistic > 20 and p < 1e-4
    assert chi2_test(np.array([10.0, 0.0]), np.array([5.0, 0.0])) == (0.0, 1.0)  # one category
    assert jensenshannon_distance(same, same * 3) == pytest.approx(0.0, abs=1e-9)
    assert jensenshannon_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_psi_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    ref = _normal(5000)
    assert psi_numeric(ref, _normal(5000, seed=9)) < 0.02
    assert psi_numeric(ref, _normal(5000, loc=1.0, seed=9)) > 0.5
    shares = np.array([0.5, 0.5, 0.0])
    assert psi_from_shares(shares, shares) == 0.0
    assert math.isfinite(psi_from_shares(shares, np.array([0.4, 0.4, 0.2])))  # empty bin floored


def test_auto_method_depends_on_the_sample_size() -> None:
    settings = DriftSettings(large_sample=500)
    small = numeric_drift("x", _normal(200), _normal(200, loc=1, seed=3), settings)
    large = numeric_drift("x", _normal(2000), _normal(2000, loc=1, seed=3), settings)
    assert (small.method, small.drifted, small.threshold) == ("ks", True, 0.05)
    assert small.p_value is not None and small.p_value < 0.05
    assert (large.method, large.drifted, large.p_value) == ("wasserstein", True, None)
    assert large.statistic == pytest.approx(1.0, abs=0.1)
    cats = pd.Series(["a", "b"] * 100)
    assert categorical_drift("c", cats, cats, settings).method == "chi2"
    big = pd.Series(["a", "b"] * 600)
    result = categorical_drift("c", big, big, settings)
    assert (result.method, result.drifted, result.statistic) == ("jensenshannon", False, 0.0)


def test_psi_on_request_for_both_kinds() -> None:
    settings = DriftSettings(numeric="psi", categorical="psi")
    num = numeric_drift("x", _normal(1000), _normal(1000, loc=1, seed=4), settings)
    assert num.method == "psi" and num.drifted and num.threshold == 0.2
    ref = pd.Series(["a"] * 90 + ["b"] * 10)
    cur = pd.Series(["a"] * 40 + ["b"] * 60)
    cat = categorical_drift("c", ref, cur, settings)
    assert cat.method == "psi" and cat.drifted


SCHEMA = Schema(
    columns=(
        ColumnSchema("x", "float"),
        ColumnSchema("y", "float"),
        ColumnSchema("c", "category", values=("a", "b", "c")),
        ColumnSchema("label", "int"),
        ColumnSchema("note", "string"),
    )
)


def _data(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.normal(0, 1, n),
            "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "label": rng.integers(0, 2, n),
            "note": ["t"] * n,
        }
    )


def test_detect_drift_flags_the_shifted_feature_only() -> None:
    settings = DriftSettings(exclude=("label",), share=0.3)
    report = detect_drift(
        _data(400), _data(400, shift=0.8, seed=1), SCHEMA, settings, batch="b", reference_name="r"
    )
    assert [f.feature for f in report.features] == ["x", "y", "c"]
    assert report.drifted == ("x",)
    assert report.share_drifted == pytest.approx(1 / 3)
    assert report.dataset_drift is True  # 1/3 >= 0.3
    assert "note" not in {f.feature for f in report.features}
    text = summary_text(report)
    assert "1/3 features drifted" in text and "x: ks=" in text and "DATASET DRIFT" in text


def test_no_drift_between_two_samples_of_the_same_data() -> None:
    report = detect_drift(_data(3000), _data(3000, seed=5), SCHEMA, DriftSettings())
    assert report.drifted == () and report.dataset_drift is False
    assert {f.method for f in report.features} == {"wasserstein", "jensenshannon"}


def test_missing_or_broken_columns_are_skipped_not_fatal() -> None:
    current = _data(100).drop(columns=["y"]).assign(x="text")
    report = detect_drift(_data(100), current, SCHEMA, DriftSettings(exclude=("label",)))
    assert dict(report.skipped)["y"] == "missing from the batch"
    assert dict(report.skipped)["x"] == "fewer than 2 numeric values"
    assert [f.feature for f in report.features] == ["c"]


def test_listed_features_that_cannot_be_measured_are_skipped() -> None:
    settings = DriftSettings(features=("note", "ghost", "x"))
    report = detect_drift(_data(50), _data(50), SCHEMA, settings)
    assert report.skipped == (
        ("note", "type string is not measured"),
        ("ghost", "not in the schema"),
    )
    assert [f.feature for f in report.features] == ["x"]


def test_no_reference_gives_an_empty_report() -> None:
    report = detect_drift(None, _data(10), SCHEMA)
    assert report.features == () and report.to_json()["skipped"] == [
        {"feature": "*", "reason": "no reference batches"}
    ]


def test_report_json_has_no_infinity() -> None:
    ref = pd.DataFrame({"x": [1.0] * 5})
    cur = pd.DataFrame({"x": [2.0] * 5})
    schema = Schema(columns=(ColumnSchema("x", "float"),))
    report = detect_drift(ref, cur, schema, DriftSettings(numeric="wasserstein"))
    assert report.to_json()["features"][0]["statistic"] == 1e300


def test_drift_settings_are_checked() -> None:
    assert drift_settings({"numeric": "ks", "exclude": ["label"]}).exclude == ("label",)
    # One message format for every settings section (mlpages.settings).
    with pytest.raises(
        ConfigError, match=r"^params\.yaml: validate\.drift\.treshold: unknown setting"
    ):
        drift_settings({"treshold": 1})
    with pytest.raises(ConfigError) as info:
        drift_settings({"numeric": "chi2"})
    assert str(info.value) == (
        "params.yaml: validate.drift.numeric: expected one of auto, ks, wasserstein, psi, "
        "got 'chi2'"
    )
    with pytest.raises(ConfigError, match=r"validate\.drift\.p_value: expected a number >= 0"):
        drift_settings({"p_value": "low"})
    with pytest.raises(ConfigError, match=r"validate\.drift\.features: expected a list of names"):
        drift_settings({"features": "x"})


# --- detection replay against the generator's ground truth (ct/detection.py) ---------------------

EVENTS = [
    {"kind": "covariate_drift", "features": ["x", "c"], "weeks": [3, 4, 5, 6]},
    {"kind": "covariate_drift", "features": ["x"], "weeks": [5, 6]},
    {"kind": "schema_break", "features": ["y"], "weeks": [4]},
    {"kind": "concept_drift", "features": ["y"], "weeks": [5, 6]},
]


def test_truth_is_a_change_of_covariate_events_against_the_reference() -> None:
    from benchmarks.detection import broken_weeks, truly_drifted

    assert not truly_drifted(EVENTS, 2, [1], "x")
    assert truly_drifted(EVENTS, 3, [1, 2], "x") and truly_drifted(EVENTS, 3, [1, 2], "c")
    assert not truly_drifted(EVENTS, 4, [3], "x")  # the reference already had the shift
    assert truly_drifted(EVENTS, 5, [3, 4], "x") and not truly_drifted(EVENTS, 5, [3, 4], "c")
    assert not truly_drifted(EVENTS, 6, [2, 3], "y")  # concept drift leaves the features alone
    assert broken_weeks(EVENTS) == {4}


def test_confusion_counts_and_rates() -> None:
    from benchmarks.detection import Confusion

    c = Confusion().add(True, True).add(True, False).add(False, True).add(False, False)
    c = c.add(False, False)
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 1, 2)
    assert (c.recall, c.precision, c.false_positive_rate) == (0.5, 0.5, pytest.approx(1 / 3))


def test_replay_on_the_generator_finds_the_injected_events(tmp_path) -> None:
    import json

    import yaml

    from benchmarks.detection import format_result, replay
    from mlpages.pipeline.generate import DEFAULT_SEED, generate
    from mlpages.pipeline.scenarios import SCENARIOS

    generate(tmp_path / "raw", 10, SCENARIOS["default"](300), DEFAULT_SEED, tmp_path / "ev.json", 1)
    schema = yaml.safe_load((Path(__file__).parents[1] / "schema.yaml").read_text())
    schema["rows"] = {"min": 100, "max": 1000}
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(schema))
    events = json.loads((tmp_path / "ev.json").read_text())["events"]
    result = replay(
        tmp_path / "raw", events, tmp_path / "schema.yaml", {"exclude": ["default"]}, 4, True
    )
    assert (result.schema.tp, result.schema.fp, result.schema.fn) == (1, 0, 0)  # week 9 only
    assert result.drift.fn == 0 and result.drift.tp == 16  # 4 features x weeks 6, 7, 8, 10
    assert result.drift.false_positive_rate < 0.05
    week9 = next(w for w in result.weeks if w["week"] == 9)
    assert week9["kinds"] == ["missing_column", "out_of_range", "type_change"]
    assert "schema breaks: TP=1 FP=0 FN=0" in format_result(result, "fixed")
