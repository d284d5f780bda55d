"""`mlpages demo`, shortened: a real sandbox history with real `dvc repro` runs, then its story."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mlpages.demo import DemoError, DemoPlan, prepare, run_demo

pytestmark = pytest.mark.slow

WEEKS = 8  # the short story: drift at week 5, a broken batch at 6, concept drift at 7


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One short demo shared by the tests below (the PR branch is skipped: same code as exp)."""
    root = tmp_path_factory.mktemp("demo") / "mlpages-demo"
    plan = replace(DemoPlan.for_weeks(WEEKS, rows=600), pull_request_after=0)
    result = run_demo(root, plan)
    out = "\n".join(result.story) + f"\nRepository: {result.repo}\n"
    return root, out


def test_output_tells_the_story(demo: tuple[Path, str]) -> None:
    root, out = demo
    assert "week 03: registered v1.0.0 and promoted it to prod" in out
    assert "week 05: retrained (drift" in out
    assert "week 06: validation stopped the batch" in out
    assert "quarantined week_06.csv" in out
    assert "rolled prod back from" in out
    assert f"Repository: {root / 'repo'}" in out


def test_registry_tags_and_rollback(demo: tuple[Path, str]) -> None:
    repo = demo[0] / "repo"
    tags = git(repo, "tag", "--list").split()
    assert "credit-model@v1.0.0" in tags and "credit-model@v1.1.0" in tags
    prod = [t for t in tags if t.startswith("credit-model#prod#")]
    assert len(prod) >= 3  # two promotions and the rollback
    last = max(prod, key=lambda t: int(t.rsplit("#", 1)[1]))
    message = git(repo, "tag", "-l", "--format=%(contents)", last)
    assert message.startswith("Rollback:")
    lightweight = git(repo, "for-each-ref", "--format=%(objecttype)", "refs/tags").split()
    assert set(lightweight) == {"tag"}  # annotated tags only (GTO ignores lightweight ones)


def test_broken_batch_is_stopped_with_its_report_committed(demo: tuple[Path, str]) -> None:
    repo = demo[0] / "repo"
    subjects = git(repo, "log", "--format=%H %s", "main").splitlines()
    rejected = next(line.split()[0] for line in subjects if "batch rejected by validation" in line)
    report = json.loads(git(repo, "show", f"{rejected}:reports/validation.json"))
    assert report["status"] == "fail" and report["batch"] == "week_06.csv"
    kinds = {a["kind"] for a in report["anomalies"]}
    assert {"missing_column", "type_change", "out_of_range"} <= kinds
    # nothing was trained on it: the stages after validation kept their previous lock entries
    parent_lock = git(repo, "show", f"{rejected}~1:dvc.lock")
    assert git(repo, "show", f"{rejected}:dvc.lock") == parent_lock
    assert (repo / "data" / "quarantine.dvc").is_file()
    assert not (repo / "data" / "raw" / "week_06.csv").exists()
    assert (repo / "data" / "quarantine" / "week_06.csv").is_file()


def test_monitor_flags_the_drift_and_pipeline_is_clean(demo: tuple[Path, str]) -> None:
    repo = demo[0] / "repo"
    record = json.loads((repo / "reports" / "monitoring.json").read_text())
    by_week = {b["week"]: b for b in record["batches"]}
    assert any(a["kind"] == "drift" for a in by_week[5]["alerts"])
    assert {4, 5, 7, 8} <= set(by_week)
    branches = git(repo, "branch", "--format=%(refname:short)").split()
    assert {"main", "exp/random-forest"} <= set(branches)
    exp_params = git(repo, "show", "exp/random-forest:params.yaml")
    assert "model: random_forest" in exp_params
    assert git(repo, "status", "--porcelain") == ""
    ground_truth = json.loads((demo[0] / "events.json").read_text())
    assert {e["kind"] for e in ground_truth["events"]} == {
        "covariate_drift",
        "schema_break",
        "concept_drift",
    }


def test_site_is_built(demo: tuple[Path, str]) -> None:
    root, out = demo
    assert (root / "site" / "index.html").is_file(), out


def test_cli_refuses_a_short_story_and_a_foreign_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlpages", "demo", str(tmp_path / "d"), "--weeks", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--weeks" in done.stderr
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(DemoError, match="not an mlpages demo folder"):
        prepare(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"
    assert prepare(tmp_path / "fresh") == tmp_path / "fresh" / "repo"
    assert prepare(tmp_path / "fresh") == tmp_path / "fresh" / "repo"  # a demo folder: replaced


def test_template_pipeline_matches_this_repository() -> None:
    """The demo plays this repository's pipeline: same model stages, same columns and models."""
    import yaml

    from mlpages.demo import TEMPLATE

    root = Path(__file__).resolve().parents[1]
    ours = yaml.safe_load((root / "dvc.yaml").read_text())
    demo = yaml.safe_load((TEMPLATE / "dvc.yaml.in").read_text())
    for stage in ("ingest", "split", "train", "evaluate"):
        assert demo["stages"][stage] == ours["stages"][stage], stage
    assert demo["artifacts"] == ours["artifacts"]
    ours_params = yaml.safe_load((root / "params.yaml").read_text())
    demo_params = yaml.safe_load((TEMPLATE / "params.yaml").read_text())
    assert demo_params["data"] == ours_params["data"]
    assert demo_params["train"] == ours_params["train"]
    assert not (TEMPLATE / "dvc.yaml").exists()  # would be a second pipeline of this repository
