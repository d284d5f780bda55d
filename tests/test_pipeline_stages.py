"""Unit tests of the reference pipeline's stage functions (small generated data, no DVC)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpages.errors import ConfigError, DataError
from mlpages.pipeline import evaluate, ingest, split, train
from mlpages.pipeline.common import BATCH_COLUMN, DataSpec, read_params
from mlpages.pipeline.generate import generate, generate_week
from mlpages.pipeline.scenarios import stable_scenario

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_STAGES = ("ingest", "split", "train", "evaluate")
SPEC = DataSpec.from_params(yaml.safe_load((ROOT / "params.yaml").read_text())["data"])
TRAIN_PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]


def weeks(*numbers: int, rows: int = 400, seed: int = 9) -> pd.DataFrame:
    frames = [
        generate_week(w, stable_scenario(rows), seed).assign(**{BATCH_COLUMN: f"week_{w:02d}.csv"})
        for w in numbers
    ]
    return pd.concat(frames, ignore_index=True)


def params_for(model: str, **overrides: object) -> dict:
    return {**TRAIN_PARAMS, "model": model, model: {**TRAIN_PARAMS[model], **overrides}}


# --- ingest -------------------------------------------------------------------------------------


def test_window_is_the_most_recent_batches(tmp_path: Path) -> None:
    generate(tmp_path, 11, stable_scenario(100), seed=1)
    batches = ingest.list_batches(tmp_path)
    assert batches[-3:] == ["week_09.csv", "week_10.csv", "week_11.csv"]  # numeric order
    assert ingest.select_window(batches, 3) == ["week_09.csv", "week_10.csv", "week_11.csv"]
    assert ingest.select_window(batches, 50) == batches
    window = ingest.ingest(tmp_path, 2, SPEC)
    assert list(dict.fromkeys(window[BATCH_COLUMN])) == ["week_10.csv", "week_11.csv"]
    assert set(window.columns) == {BATCH_COLUMN, *SPEC.required}


def test_ingest_refuses_rather_than_skips(tmp_path: Path) -> None:
    generate(tmp_path, 2, stable_scenario(100), seed=1)
    frame = pd.read_csv(tmp_path / "week_02.csv")
    frame.drop(columns=["age"]).to_csv(tmp_path / "week_02.csv", index=False)
    with pytest.raises(DataError, match=r"week_02\.csv: missing columns \['age'\]"):
        ingest.ingest(tmp_path, 2, SPEC)
    frame["income"] = frame["income"].astype(object)
    frame.loc[3, "income"] = "lots"
    frame.to_csv(tmp_path / "week_02.csv", index=False)
    with pytest.raises(DataError, match="non-numeric values in numeric column 'income'"):
        ingest.ingest(tmp_path, 2, SPEC)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="unexpected files"):
        ingest.list_batches(tmp_path)


def test_ingest_needs_batches(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        ingest.select_window([], 3)
    with pytest.raises(DataError):
        ingest.select_window(["week_01.csv"], 0)
    with pytest.raises(DataError):
        ingest.list_batches(tmp_path / "nope")


# --- split --------------------------------------------------------------------------------------


def test_split_is_by_time() -> None:
    window = weeks(3, 4, 5, rows=100)
    train_part, test_part = split.split_by_time(window, 1)
    assert set(train_part[BATCH_COLUMN]) == {"week_03.csv", "week_04.csv"}
    assert set(test_part[BATCH_COLUMN]) == {"week_05.csv"}
    assert len(train_part) + len(test_part) == len(window)
    assert (
        pd.to_datetime(train_part["application_date"]).max()
        < pd.to_datetime(test_part["application_date"]).min()
    )
    with pytest.raises(DataError, match="needs at least 4 batches"):
        split.split_by_time(window, 3)


# --- train --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", train.MODELS)
def test_training_overfits_a_tiny_sample(model: str) -> None:
    tiny = weeks(1, rows=40)
    overrides = {
        "logistic_regression": {"C": 1e4, "max_iter": 5000},
        "random_forest": {"max_depth": None, "min_samples_leaf": 1, "n_estimators": 50},
        "gradient_boosting": {"n_estimators": 300, "max_depth": 3},
    }[model]
    fitted = train.train_model(tiny, SPEC, params_for(model, **overrides))
    scores = evaluate.predict_scores(fitted, tiny, SPEC)
    metrics = evaluate.classification_metrics(tiny["default"], scores, 0.5)
    assert metrics["roc_auc"] > 0.97
    assert metrics["accuracy"] > 0.9


def test_training_converges_and_generalises() -> None:
    fitted = train.train_model(weeks(1, 2, rows=1500), SPEC, TRAIN_PARAMS)
    test = weeks(3, rows=1500)
    auc = evaluate.classification_metrics(
        test["default"], evaluate.predict_scores(fitted, test, SPEC), 0.5
    )["roc_auc"]
    assert auc > 0.75
    assert fitted.named_steps["model"].n_iter_[0] < TRAIN_PARAMS["logistic_regression"]["max_iter"]


def extreme_inputs() -> pd.DataFrame:
    base = weeks(1, rows=40).head(8).copy()
    base = base.astype({c: object for c in SPEC.numeric})
    base.loc[0, "income"] = np.inf
    base.loc[1, "income"] = -np.inf
    base.loc[2, "loan_amount"] = 1e300
    base.loc[2, "credit_score"] = -1e300
    base.loc[3, list(SPEC.numeric)] = np.nan
    base.loc[4, "credit_score"] = "720 pts"
    base.loc[5, "region"] = "atlantis"  # unseen category
    base.loc[6, list(SPEC.categorical)] = None
    base.loc[7, "age"] = -40
    return base


@pytest.mark.parametrize("model", train.MODELS)
def test_no_nan_predictions_on_extreme_inputs(model: str) -> None:
    fitted = train.train_model(weeks(1, 2, rows=300), SPEC, params_for(model))
    scores = evaluate.predict_scores(fitted, extreme_inputs(), SPEC)
    assert scores.shape == (8,)
    assert np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_model_ignores_extra_columns_and_survives_a_fresh_process(tmp_path: Path) -> None:
    fitted = train.train_model(weeks(1, rows=300), SPEC, TRAIN_PARAMS)
    path = tmp_path / "model.pkl"
    train.save_model(fitted, path)
    data = weeks(2, rows=50)
    data.to_csv(tmp_path / "batch.csv", index=False)
    script = (
        "import joblib, pandas as pd, sys; m = joblib.load(sys.argv[1]); "
        "print(m.predict_proba(pd.read_csv(sys.argv[2]))[:, 1].round(6).tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "batch.csv")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = fitted.predict_proba(data[list(SPEC.features)])[:, 1].round(6).tolist()
    assert eval(out) == expected


def test_bad_model_params_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"train\.model must be one of"):
        train.train_model(weeks(1, rows=50), SPEC, {**TRAIN_PARAMS, "model": "svm"})
    with pytest.raises(ConfigError, match=r"train\.random_forest"):
        train.train_model(weeks(1, rows=50), SPEC, params_for("random_forest", depth=3))


def test_single_class_cannot_train() -> None:
    data = weeks(1, rows=50).assign(default=0)
    with pytest.raises(DataError, match="single class"):
        train.train_model(data, SPEC, TRAIN_PARAMS)


# --- evaluate -----------------------------------------------------------------------------------


def test_evaluation_reports() -> None:
    train_part, test_part = weeks(1, 2, rows=500), weeks(3, rows=500)
    fitted = train.train_model(train_part, SPEC, TRAIN_PARAMS)
    params = {"threshold": 0.35, "slice_column": "region", "importance_repeats": 2, "seed": 1}
    result = evaluate.evaluate_model(fitted, train_part, test_part, SPEC, params)
    names = {"accuracy", "roc_auc", "f1", "log_loss", "precision", "recall"}
    assert set(result.metrics) == {"train", "test"}
    assert set(result.metrics["train"]) == names == set(result.metrics["test"])
    assert 0.7 < result.metrics["test"]["roc_auc"] < 1
    regions = result.slices["region"]
    assert set(regions) == set(test_part["region"])
    assert sum(s["rows"] for s in regions.values()) == len(test_part)
    assert list(result.roc.columns) == ["fpr", "tpr"] and len(result.roc) <= 200
    assert result.roc.iloc[0].tolist() == [0.0, 0.0] and result.roc.iloc[-1].tolist() == [1.0, 1.0]
    assert list(result.prc.columns) == ["recall", "precision"]
    assert result.prc["recall"].is_monotonic_increasing
    assert len(result.confusion) == len(test_part)
    assert set(result.confusion["predicted"]) <= {0, 1}
    assert set(result.importance["feature"]) == set(SPEC.features)
    assert result.importance["importance"].is_monotonic_decreasing
    assert result.importance.iloc[0]["feature"] in {"credit_score", "debt_to_income"}


def test_slice_metrics_with_one_class_are_null_not_nan() -> None:
    frame = pd.DataFrame({"region": ["a", "a", "b", "b"], "default": [0, 0, 1, 0]})
    slices = evaluate.slice_metrics(frame, [0.1, 0.2, 0.9, 0.3], SPEC, "region", 0.5)
    assert slices["a"]["roc_auc"] is None
    assert slices["b"]["roc_auc"] == 1.0
    with pytest.raises(DataError, match="slice_column"):
        evaluate.slice_metrics(frame, [0.1] * 4, SPEC, "planet", 0.5)


# --- every stage writes every output it declares ------------------------------------------------


def declared_outputs(stage: dict) -> list[str]:
    paths = []
    for section in ("outs", "metrics", "plots"):
        for item in stage.get(section, []):
            paths.append(item if isinstance(item, str) else next(iter(item)))
    return paths


def test_each_stage_writes_what_dvc_yaml_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"]["window_weeks"] = 3
    params["evaluate"]["importance_repeats"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    generate(tmp_path / "data" / "raw", 4, stable_scenario(300), seed=4)
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    monkeypatch.chdir(tmp_path)
    modules = {"ingest": ingest, "split": split, "train": train, "evaluate": evaluate}
    for name in PIPELINE_STAGES:
        assert stages[name]["cmd"] == f"python -m mlpages.pipeline.{name}"
        assert f"src/mlpages/pipeline/{name}.py" in stages[name]["deps"]
        outputs = declared_outputs(stages[name])
        assert outputs, name
        modules[name].main()
        for output in outputs:
            assert (tmp_path / output).is_file(), f"{name} did not write {output}"
    assert read_params("ingest")["window_weeks"] == 3
    assert len(pd.read_csv("data/interim/window.csv")[BATCH_COLUMN].unique()) == 3
