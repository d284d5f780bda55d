"""The continuous-training guards inside real `dvc repro` runs (validate → … → train → gate).

One template repository is built per module (git + DVC, the reference pipeline's stages on small
generated weekly batches, one recorded run); each test works on its own copy. Last, the
``monitor`` stage under ``dvc repro`` (record persisted, the production model scores the batch).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers.dvc import dvc
from helpers.git import git

from mlpages.pipeline.generate import DEFAULT_SEED, generate
from mlpages.pipeline.scenarios import SCENARIOS, default_scenario, stable_scenario

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ROWS = 400

DVC_YAML = """
stages:
  validate:
    cmd: python -m mlpages validate
    deps: [schema.yaml, data/raw]
    params: [validate]
    outs:
    - reports/validation.json: {cache: false}
    - reports/drift.json: {cache: false}
  ingest:
    cmd: python -m mlpages.pipeline.ingest
    deps: [data/raw, reports/validation.json]
    params: [ingest.window_weeks, data]
    outs: [data/interim/window.csv]
  split:
    cmd: python -m mlpages.pipeline.split
    deps: [data/interim/window.csv]
    params: [split.test_weeks]
    outs: [data/processed/train.csv, data/processed/test.csv]
  train:
    cmd: python -m mlpages.pipeline.train
    deps: [data/processed/train.csv]
    params: [train, data]
    outs: [models/model.pkl]
  gate:
    cmd: python -m mlpages gate
    deps: [models/model.pkl, data/processed/test.csv]
    params: [gate]
    outs:
    - reports/gate.json: {cache: false}
"""

CRIPPLED = {"model": "random_forest", "random_forest": {"n_estimators": 1, "max_depth": 1}}


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _params(repo: Path) -> dict:
    return yaml.safe_load((repo / "params.yaml").read_text())


def _write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _report(repo: Path, name: str) -> dict:
    return json.loads((repo / "reports" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weeks 1-5 of the default scenario, the curated schema, one recorded run (tag `run-1`)."""
    repo = tmp_path_factory.mktemp("ct") / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    generate(repo / "data" / "raw", 5, SCENARIOS["default"](ROWS), DEFAULT_SEED, None, 1)
    schema = yaml.safe_load((ROOT / "schema.yaml").read_text())
    schema["rows"] = {"min": ROWS // 4, "max": ROWS * 4}
    (repo / "schema.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = {k: params[k] for k in ("data", "ingest", "split", "train", "validate", "gate")}
    params["gate"]["min_slice_rows"] = 20
    _write_params(repo, params)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / ".gitignore").write_text("__pycache__/\n")
    dvc(repo, "repro")
    _commit(repo, "run 1")
    git(repo, "tag", "run-1")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "repo", symlinks=True))


def test_first_run_is_a_rubber_stamp(template: Path) -> None:
    assert _report(template, "validation")["status"] == "pass"
    drift = _report(template, "drift")
    assert drift["batch"] == "week_05.csv"
    assert drift["reference"] == "week_01.csv..week_04.csv"
    assert drift["dataset_drift"] is False
    gate = _report(template, "gate")
    assert gate["verdict"] == "blessed" and gate["rubber_stamp"] is True
    assert gate["champion"] is None and gate["champion_metrics"] is None
    assert "rubber stamp" in gate["reasons"][0]
    assert {r["rule"] for r in gate["rules"]} == {"loads", "finite_predictions", "floor"}


def test_a_schema_broken_batch_stops_repro_at_validate(repo: Path) -> None:
    window_before = (repo / "data/interim/window.csv").read_bytes()
    model_before = (repo / "models/model.pkl").read_bytes()
    lock_before = (repo / "dvc.lock").read_text()
    broken = pd.read_csv(repo / "data/raw/week_05.csv").drop(columns=["age"])
    broken["credit_score"] = broken["credit_score"].astype(str) + " pts"
    broken.to_csv(repo / "data/raw/week_06.csv", index=False)

    done = dvc(repo, "repro", check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "validate" in output and "missing_column" in output
    report = _report(repo, "validation")
    assert report["status"] == "fail" and report["batch"] == "week_06.csv"
    kinds = {(a["kind"], a["column"]) for a in report["anomalies"]}
    assert kinds == {("missing_column", "age"), ("type_change", "credit_score")}
    # Nothing downstream ran: same window, same model, same lock file.
    assert (repo / "data/interim/window.csv").read_bytes() == window_before
    assert (repo / "models/model.pkl").read_bytes() == model_before
    assert (repo / "dvc.lock").read_text() == lock_before


def test_a_drifted_batch_passes_validation_and_is_flagged(repo: Path) -> None:
    # Week 6 of the default scenario carries the injected covariate drift.
    generate(repo / "data" / "raw", 6, SCENARIOS["default"](ROWS), DEFAULT_SEED, None, 6)
    done = dvc(repo, "repro", "validate", check=False)
    assert done.returncode == 0, done.stderr  # drift is reported, it does not stop the pipeline
    assert "drift: " in done.stdout + done.stderr
    assert _report(repo, "validation")["status"] == "pass"
    drift = _report(repo, "drift")
    assert drift["batch"] == "week_06.csv"
    flagged = {f["feature"] for f in drift["features"] if f["drifted"]}
    assert {"income", "loan_amount", "credit_score", "region"} <= flagged
    assert drift["dataset_drift"] is True  # 4 of 11 features >= the 0.3 share
    status = dvc(repo, "status", "ingest").stdout
    assert "reports/validation.json" in status  # ingest is next in line, not blocked


def test_a_crippled_model_is_rejected_and_a_better_one_blessed(repo: Path) -> None:
    params = _params(repo)
    params["gate"]["champion_rev"] = "run-1"
    params["train"] = {**params["train"], **CRIPPLED}
    _write_params(repo, params)
    dvc(repo, "repro")  # the pipeline completes: a rejection is a verdict, not a failure
    worse = _report(repo, "gate")
    assert worse["verdict"] == "rejected" and worse["rubber_stamp"] is False
    assert worse["champion"]["sha"] == git(repo, "rev-parse", "run-1").strip()
    assert any(r.startswith("roc_auc") for r in worse["reasons"]), worse["reasons"]
    failed = {(r["rule"], r["metric"]) for r in worse["rules"] if not r["passed"]}
    assert ("non_inferiority", "roc_auc") in failed
    _commit(repo, "crippled model")
    git(repo, "tag", "crippled")

    params["gate"]["champion_rev"] = "crippled"
    params["train"] = (
        _params(repo)["train"] | yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    )
    _write_params(repo, params)
    dvc(repo, "repro")
    better = _report(repo, "gate")
    assert better["verdict"] == "blessed", better["reasons"]
    assert better["champion"]["sha"] == git(repo, "rev-parse", "crippled").strip()
    assert better["candidate"]["metrics"]["roc_auc"] > better["champion_metrics"]["roc_auc"]
    assert (
        better["reasons"][0].startswith("all ") and "against the champion" in better["reasons"][0]
    )


# --- the monitor stage under dvc -----------------------------------------------------------------

MONITOR_STAGES = ("ingest", "split", "train", "monitor")


def monitor_pipeline(dvc_yaml: dict) -> dict:
    """This repository's dvc.yaml cut to the stages the monitor needs (evaluate is not one)."""
    stages = {name: dict(dvc_yaml["stages"][name]) for name in MONITOR_STAGES}
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


def test_monitor_stage_under_dvc_repro_keeps_the_record_and_scores_the_production_model(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    dvc_yaml = monitor_pipeline(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    for dep in {d for stage in dvc_yaml["stages"].values() for d in stage["deps"]}:
        if dep.startswith("src/"):  # the code each stage lists (its own module, settings, ...)
            (repo / dep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / dep, repo / dep)
    (repo / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"]["window_weeks"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    generate(repo / "data" / "raw", 4, stable_scenario(400), seed=3)
    dvc(repo, "add", "-q", "data/raw")

    # First run: nothing in production yet, so this run's model scores the newest batch.
    done = dvc(repo, "repro")
    out = done.stdout + done.stderr
    assert "no production model yet" in out
    record = json.loads((repo / "reports/monitoring.json").read_text())
    assert [b["batch"] for b in record["batches"]] == ["week_04.csv"]
    first = record["batches"][0]
    assert first["model_version"] is None and first["labels"] is True and first["alerts"] == []
    trigger = json.loads((repo / "reports/trigger.json").read_text())
    assert trigger["retrain"] is False
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "week 4")

    # Promote that model (GTO-format tags), then a drifted batch arrives (default scenario).
    git(repo, "tag", "-a", "credit-model@v1.0.0", "-m", "register")
    git(repo, "tag", "-a", "credit-model#prod#1", "-m", "promote")
    generate(repo / "data" / "raw", 6, default_scenario(400), seed=3, first_week=5)
    dvc(repo, "add", "-q", "data/raw")
    done = dvc(repo, "repro")
    out = done.stdout + done.stderr
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
    dvc(repo, "repro", "-f", "-s", "monitor")
    again = json.loads((repo / "reports/monitoring.json").read_text())
    assert again == record
