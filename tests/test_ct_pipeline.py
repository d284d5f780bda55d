"""The continuous-training guards inside real `dvc repro` runs (validate → … → train → gate).

One template repository is built per module (git + DVC, the reference pipeline's stages on small
generated weekly batches, one recorded run); each test works on its own copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpages.pipeline.generate import DEFAULT_SEED, SCENARIOS, generate

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


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        # `python` in the stages' commands must be this interpreter (the one with mlpages).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=repo, env=_env(), capture_output=True, text=True, check=check
    )


def _git(repo: Path, *args: str) -> str:
    return _run(repo, "git", "-c", "init.defaultBranch=main", *args).stdout.strip()


def _repro(repo: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = _run(repo, sys.executable, "-m", "dvc", "repro", check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"dvc repro failed:\n{done.stdout}\n{done.stderr}")
    return done


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


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
    _git(repo, "init", "-q")
    _run(repo, sys.executable, "-m", "dvc", "init", "-q")
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
    _repro(repo)
    _commit(repo, "run 1")
    _git(repo, "tag", "run-1")
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

    done = _repro(repo, check=False)
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
    done = _run(repo, sys.executable, "-m", "dvc", "repro", "validate", check=False)
    assert done.returncode == 0, done.stderr  # drift is reported, it does not stop the pipeline
    assert "drift: " in done.stdout + done.stderr
    assert _report(repo, "validation")["status"] == "pass"
    drift = _report(repo, "drift")
    assert drift["batch"] == "week_06.csv"
    flagged = {f["feature"] for f in drift["features"] if f["drifted"]}
    assert {"income", "loan_amount", "credit_score", "region"} <= flagged
    assert drift["dataset_drift"] is True  # 4 of 11 features >= the 0.3 share
    status = _run(repo, sys.executable, "-m", "dvc", "status", "ingest").stdout
    assert "reports/validation.json" in status  # ingest is next in line, not blocked


def test_a_crippled_model_is_rejected_and_a_better_one_blessed(repo: Path) -> None:
    params = _params(repo)
    params["gate"]["champion_rev"] = "run-1"
    params["train"] = {**params["train"], **CRIPPLED}
    _write_params(repo, params)
    _repro(repo)  # the pipeline completes: a rejection is a verdict, not a failure
    worse = _report(repo, "gate")
    assert worse["verdict"] == "rejected" and worse["rubber_stamp"] is False
    assert worse["champion"]["sha"] == _git(repo, "rev-parse", "run-1")
    assert any(r.startswith("roc_auc") for r in worse["reasons"]), worse["reasons"]
    failed = {(r["rule"], r["metric"]) for r in worse["rules"] if not r["passed"]}
    assert ("non_inferiority", "roc_auc") in failed
    _commit(repo, "crippled model")
    _git(repo, "tag", "crippled")

    params["gate"]["champion_rev"] = "crippled"
    params["train"] = (
        _params(repo)["train"] | yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    )
    _write_params(repo, params)
    _repro(repo)
    better = _report(repo, "gate")
    assert better["verdict"] == "blessed", better["reasons"]
    assert better["champion"]["sha"] == _git(repo, "rev-parse", "crippled")
    assert better["candidate"]["metrics"]["roc_auc"] > better["champion_metrics"]["roc_auc"]
    assert (
        better["reasons"][0].startswith("all ") and "against the champion" in better["reasons"][0]
    )
