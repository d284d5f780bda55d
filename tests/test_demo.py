"""`mlpages demo`, shortened: a real sandbox history with real `dvc repro` runs, then its story."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.git import git

from mlpages.demo.sandbox import ANALYST, prepare
from mlpages.demo.story import EXPERIMENTS, DemoPlan, run_demo
from mlpages.errors import DemoError
from mlpages.safe_yaml import load_yaml

# one xdist group: the module-scoped demo below is played once, in one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

WEEKS = 8  # the short story: drift at week 5, a broken batch at 6, concept drift at 7


def play_demo(base: Path) -> tuple[Path, str]:
    """Play the short story into ``base`` (the PR branch is skipped: same code as exp)."""
    root = base / "mlpages-demo"
    plan = replace(DemoPlan.for_weeks(WEEKS, rows=600), pull_request_after=0)
    result = run_demo(root, plan)
    return root, "\n".join(result.story) + f"\nRepository: {result.repo}\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One short demo shared by the tests below, played once per test session.

    Under xdist the tests may land on several workers (the xdist_group mark is ignored by
    pytest-xdist 3.8 on pytest 9.2, whose node ids it can no longer suffix: pytest-xdist#1386),
    so the first worker plays the demo into the session's shared temp folder under a file lock
    and the others reuse it.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return play_demo(tmp_path_factory.mktemp("demo"))
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent  # one per session, shared by its workers
    story = shared / "demo-story.txt"
    with open(shared / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not story.exists():
            story.write_text(play_demo(shared / "demo")[1])
        return shared / "demo" / "mlpages-demo", story.read_text()


def test_output_tells_the_story(demo: tuple[Path, str]) -> None:
    root, out = demo
    assert "week 03: registered v1.0.0 and promoted it to prod" in out
    assert "week 05: retrained (drift" in out
    assert "week 06: validation stopped the batch" in out
    assert "quarantined week_06.csv" in out
    assert "rolled prod back from" in out
    for name, _ in EXPERIMENTS:
        assert f"experiment {name} (" in out
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


def test_experiments_on_mains_newest_commit_with_fixed_dates(demo: tuple[Path, str]) -> None:
    """`dvc exp run -n NAME -S …` on main's tip: refs/exps/, the overrides, the sandbox's clock."""
    repo = demo[0] / "repo"
    head = git(repo, "rev-parse", "main").strip()
    refs = git(repo, "for-each-ref", "--format=%(refname)", f"refs/exps/{head[:2]}/{head[2:]}")
    assert sorted(refs.split()) == sorted(
        f"refs/exps/{head[:2]}/{head[2:]}/{name}" for name, _ in EXPERIMENTS
    )
    head_time = int(git(repo, "log", "-1", "--format=%ct", head))
    for name, overrides in EXPERIMENTS:
        ref = f"refs/exps/{head[:2]}/{head[2:]}/{name}"
        assert git(repo, "rev-parse", f"{ref}~1").strip() == head  # one commit on its baseline
        params = load_yaml(git(repo, "show", f"{ref}:params.yaml"))
        for override in overrides:
            dotted, value = override.split("=")
            node = params
            for key in dotted.split("."):
                node = node[key]
            assert str(node) == value, (name, dotted)
        # DVC stamps wall-clock time; the story re-stamps at its clock, days after the baseline.
        dates = git(repo, "log", "-1", "--format=%at %ct %an", ref).split(maxsplit=2)
        assert int(dates[0]) == int(dates[1]) and 0 < int(dates[1]) - head_time < 7 * 86400
        assert dates[2].strip() == ANALYST["name"]
        assert git(repo, "show", f"{ref}:reports/gate.json") != git(
            repo, "show", "main:reports/gate.json"
        )
    assert git(repo, "status", "--porcelain") == ""  # the work tree is main's again


def test_site_is_built(demo: tuple[Path, str]) -> None:
    root, out = demo
    assert (root / "site" / "index.html").is_file(), out


# --- The site's story in Chromium, from file://: what a reader sees (rendered text, not HTML).


def text(locator) -> str:
    """The rendered text of ``locator`` with whitespace collapsed."""
    return " ".join(locator.inner_text().split())


def rows(watch, selector: str) -> list[str]:
    """The rendered text of each row matched by ``selector``."""
    return [" ".join(t.split()) for t in watch.page.locator(selector).all_inner_texts()]


def open_all_details(watch) -> None:
    """Open every collapsed <details> the way a reader would, by clicking its summary."""
    closed = watch.page.locator("details:not([open]) > summary")
    for _ in range(closed.count()):
        closed.first.click()
    assert closed.count() == 0


def story_versions(out: str) -> tuple[list[str], str, str]:
    """The versions the story registered, and the rollback's (from, to) versions."""
    registered = re.findall(r"registered (v\d+\.\d+\.\d+) and promoted it to prod", out)
    rollback = re.search(r"rolled prod back from (v\S+) to (v\S+)", out)
    assert registered and rollback, out
    return registered, rollback.group(1), rollback.group(2)


@pytest.mark.browser
def test_site_models_page_shows_versions_prod_and_rollback(demo, watch) -> None:
    root, out = demo
    registered, replaced, restored = story_versions(out)
    assert registered == ["v1.0.0", "v1.1.0"] and (replaced, restored) == ("v1.1.0", "v1.0.0")
    watch.open(root / "site" / "models.html")
    cards = [c.lower() for c in rows(watch, ".artifact .cards .card")]  # CSS upper-cases h2
    assert f"prod · production {restored}" in cards, cards
    assert any(c.startswith(f"staging {replaced}") for c in cards), cards
    assert f"versions {len(registered)} 1 rollback" in cards, cards
    versions = {r.split()[0]: r for r in rows(watch, "table.versions tbody tr")}
    assert set(versions) == set(registered)
    assert "rolled back to" in versions[restored] and " prod " in versions[restored]
    assert "rolled back to" not in versions[replaced] and " prod " not in versions[replaced]
    assert all(r.endswith("blessed") for r in versions.values())  # only blessed ones registered
    open_all_details(watch)
    events = rows(watch, "details.events tbody tr")
    assert len(events) == 7  # 2 registrations, 2 × (staging, prod), the rollback
    rollbacks = [e for e in events if "rollback" in e.split("Rollback:")[0]]
    assert len(rollbacks) == 1 and f"{restored} prod credit-model#prod#" in rollbacks[0]
    assert f"replacing {replaced}" in rollbacks[0]
    watch.open(root / "site" / "index.html")
    production = text(watch.page.locator(".card:has(h2:text-is('Production model'))"))
    assert f"credit-model {restored} prod since" in production, production
    assert "rollback" in production.split("since", 1)[1], production
    assert f"Newest version: {registered[-1]}" in production
    assert watch.errors == []


@pytest.mark.browser
def test_site_validation_shows_the_stopped_batch_and_nothing_trained(demo, watch) -> None:
    root, _ = demo
    broken = f"week_{DemoPlan.for_weeks(WEEKS).broken_week:02d}.csv"
    subjects = git(root / "repo", "log", "--format=%H %s", "main").splitlines()
    sha = next(line.split()[0] for line in subjects if "batch rejected by validation" in line)
    watch.open(root / "site" / "validation.html")
    summary = text(watch.page.locator("p").filter(has_text="validated batches"))
    assert "1 failed" in summary, summary
    failed = watch.page.locator("table.validation tbody tr.bad")
    assert failed.count() == 1
    row = text(failed)
    assert row.startswith(f"{broken} fail"), row
    for kind in ("missing_column", "type_change", "out_of_range"):
        assert kind in row, row
    assert "nothing trained, nothing promoted" in row
    # follow the row's commit link, as a reader would
    failed.locator("a.sha").click()
    watch.page.wait_for_load_state("load")
    assert watch.page.url.endswith(f"/commit/{sha[:12]}.html"), watch.page.url
    assert text(watch.page.locator("h1")).startswith(f"{sha[:8]} week 06: batch rejected")
    validation = text(watch.page.locator("section:has(> h2:text-is('Data validation'))"))
    assert validation.lower().startswith(f"data validation fail batch {broken}"), validation
    assert {"missing_column", "type_change", "out_of_range"} <= set(validation.split())
    # nothing ran after validation: every stage is unchanged vs the parent, metrics did not move
    stages = dict(r.split()[:2] for r in rows(watch, "table.stages tbody tr"))
    assert {"validate", "monitor", "train", "evaluate", "gate"} <= set(stages)
    assert set(stages.values()) == {"same"}, stages
    roc = next(r for r in rows(watch, "table tr") if r.startswith("test.roc_auc"))
    assert roc.endswith(" 0"), roc  # Δ vs parent
    # the gate report in the tree is the parent's: the page must not pass it off as this run's
    gate = text(watch.page.locator("section:has(> h2:text-is('Model gate'))"))
    assert "comes from an earlier run" in gate and "stopped at validation" in gate, gate
    # no version was registered at that commit, and the monitor never scored the batch
    watch.open(root / "site" / "models.html")
    commits = rows(watch, "table.versions tbody td:nth-child(3)")
    assert commits and sha[:8] not in " ".join(commits)
    watch.open(root / "site" / "monitoring.html")
    open_all_details(watch)
    assert broken not in text(watch.page.locator("body"))
    assert watch.errors == []


@pytest.mark.browser
def test_site_monitoring_shows_the_drift_alert(demo, watch) -> None:
    root, _ = demo
    drifted = f"week_{DemoPlan.for_weeks(WEEKS).covariate_week:02d}.csv"
    watch.open(root / "site" / "monitoring.html")
    alerts = rows(watch, "table:has(th:text-is('Kind')) tbody tr")
    assert any(a.startswith(f"{drifted} drift ") and "features drifted" in a for a in alerts)
    assert not any(a.startswith("week_04.csv") for a in alerts)  # before the drift: quiet
    triggers = rows(watch, "table.triggers:not(.all) tbody tr")
    trigger = next(t for t in triggers if f" {drifted} " in t)
    assert " retrain drift " in trigger and "credit-model v1.1.0 gate blessed" in trigger
    assert watch.errors == []


@pytest.mark.browser
def test_site_runs_nest_the_experiments_under_main(demo, watch) -> None:
    watch.open(demo[0] / "site" / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    texts = watch.page.evaluate(
        "() => [...document.querySelectorAll('#runs-table tbody tr[data-row] td.msg')]"
        ".map(td => td.textContent.trim())"
    )
    baseline = next(i for i, t in enumerate(texts) if f"week {WEEKS:02d}: " in t)
    nested = [t.strip("├─└ ") for t in texts[baseline + 1 : baseline + 1 + len(EXPERIMENTS)]]
    assert sorted(nested) == sorted(f"[{name}]" for name, _ in EXPERIMENTS), texts
    assert f"{len(EXPERIMENTS)} experiments" in text(watch.page.locator("#runs-count"))
    # DVC's bookkeeping ref (refs/exps/exec/EXEC_HEAD, left on the baseline) is no badge
    assert "EXEC_HEAD" not in text(watch.page.locator("#runs-table"))
    assert watch.errors == []


@pytest.mark.browser
def test_every_demo_page_loads_without_errors(demo, watch) -> None:
    site = demo[0] / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 15
    figures = 0
    for page in pages:
        watch.open(page)
        drawn = watch.draw_all_figures()
        if drawn:
            watch.page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot').length >= n", arg=drawn
            )
        figures += drawn
        assert watch.errors == [], f"{page.relative_to(site)}: {watch.errors}"
    assert figures >= 10


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

    from mlpages.demo.sandbox import TEMPLATE

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
