"""The reference pipeline under the real ``dvc repro`` in a temporary git + DVC repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from helpers.dvc import dvc
from helpers.git import git, run

from mlpages.pipeline.generate import generate
from mlpages.pipeline.scenarios import stable_scenario

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "split", "train", "evaluate")

pytestmark = pytest.mark.slow


def pipeline_only(dvc_yaml: dict) -> dict:
    """This repository's dvc.yaml restricted to the four model stages (other stages come from
    other modules and have their own tests); deps on their outputs are dropped."""
    stages = {name: dict(dvc_yaml["stages"][name]) for name in STAGES}
    produced = set()
    for stage in stages.values():
        for section in ("outs", "metrics", "plots"):
            produced |= {i if isinstance(i, str) else next(iter(i)) for i in stage.get(section, [])}
    for stage in stages.values():
        stage["deps"] = [
            d
            for d in stage["deps"]
            if d in produced or d.startswith("src/mlpages/pipeline/") or d == "data/raw"
        ]
    return {**dvc_yaml, "stages": stages}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "src" / "mlpages").mkdir(parents=True)
    shutil.copytree(
        ROOT / "src" / "mlpages" / "pipeline",
        repo / "src" / "mlpages" / "pipeline",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dvc_yaml = pipeline_only(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    (repo / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"]["window_weeks"] = 3
    params["evaluate"]["importance_repeats"] = 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    dvc(repo, "config", "core.analytics", "false")
    generate(repo / "data" / "raw", 3, stable_scenario(300), seed=8)
    dvc(repo, "add", "-q", "data/raw")
    return repo


def test_dvc_repro_runs_end_to_end_then_does_nothing(repo: Path) -> None:
    dvc(repo, "repro")
    for path in (
        "data/interim/window.csv",
        "data/processed/train.csv",
        "data/processed/test.csv",
        "models/model.pkl",
        "reports/metrics.json",
        "reports/slices.json",
        "reports/plots/roc.csv",
        "reports/plots/prc.csv",
        "reports/plots/confusion.csv",
        "reports/plots/importance.csv",
    ):
        assert (repo / path).is_file(), path
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert 0.6 < metrics["test"]["roc_auc"] <= 1 and 0.6 < metrics["train"]["roc_auc"] <= 1
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert set(lock["stages"]) == set(STAGES)
    assert (
        lock["stages"]["train"]["params"]["params.yaml"]["train"]["model"] == "logistic_regression"
    )

    # models/model.pkl, processed data: ignored by git; metrics and plots: committed (cache: false)
    ignored = git(repo, "check-ignore", "models/model.pkl", "data/processed/train.csv")
    assert "models/model.pkl" in ignored
    assert (
        run(["git", "check-ignore", "-q", "reports/metrics.json"], repo, check=False).returncode
        == 1
    )

    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first run")
    model_mtime = (repo / "models/model.pkl").stat().st_mtime_ns
    done = dvc(repo, "repro")
    again = done.stdout + done.stderr
    assert "didn't change" in again or "is cached" in again or "up to date" in again
    assert (repo / "models/model.pkl").stat().st_mtime_ns == model_mtime
    assert "up to date" in dvc(repo, "status").stdout
    assert git(repo, "status", "--porcelain") == ""

    # Regenerating the raw data (what `make data` does on a fresh clone) changes nothing.
    shutil.rmtree(repo / "data" / "raw")
    generate(repo / "data" / "raw", 3, stable_scenario(300), seed=8)
    assert "up to date" in dvc(repo, "status").stdout

    # A new weekly batch moves the window: ingest and everything after it re-run.
    generate(repo / "data" / "raw", 4, stable_scenario(300), seed=8, first_week=4)
    dvc(repo, "add", "-q", "data/raw")
    done = dvc(repo, "repro")
    out = done.stdout + done.stderr
    assert "Running stage 'ingest'" in out and "Running stage 'evaluate'" in out
    window = (repo / "data/interim/window.csv").read_text()
    assert "week_04.csv" in window and "week_01.csv" not in window


def test_a_params_change_reruns_only_from_train(repo: Path) -> None:
    dvc(repo, "repro")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["model"] = "random_forest"
    params["train"]["random_forest"]["n_estimators"] = 20
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = dvc(repo, "repro")
    out = done.stdout + done.stderr
    assert "Running stage 'train'" in out and "Running stage 'evaluate'" in out
    assert "Running stage 'ingest'" not in out and "Running stage 'split'" not in out
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["model"] == "random_forest"
