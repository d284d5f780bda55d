"""Scale (issue 18): the benchmark scripts run, several processes build the same site as one, and
the lineage page of a 155-stage pipeline stays collapsed, readable and fast in Chromium."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlpages.config import load_config
from mlpages.site.build import build_site

BENCH = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from synth import make_synthetic_repo  # noqa: E402
from synth_mdocean import mdocean_repo  # noqa: E402


def _same_tree(a: Path, b: Path) -> list[str]:
    """Files that differ between two sites (the build manifest aside)."""
    cmp = filecmp.dircmp(a, b, ignore=[".mlpages-build.json"])
    diff = [*cmp.left_only, *cmp.right_only, *cmp.funny_files]
    diff += filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)[1]
    for sub in cmp.common_dirs:
        diff += [f"{sub}/{p}" for p in _same_tree(a / sub, b / sub)]
    return diff


def test_mdocean_generator_makes_the_shape(tmp_path):
    info = mdocean_repo(tmp_path, 60, stages=8, branches=2)
    repo = info.path
    assert info.total_commits >= 60
    lock = (repo / "dvc.lock").read_text()
    assert "\n      --config" in lock  # DVC's dumper folded a long plain cmd
    assert "- path: .calkit/envs/matlab.yaml" in lock  # a dot-leading path
    branches = subprocess.run(["git", "branch"], cwd=repo, capture_output=True, text=True)
    assert len(branches.stdout.splitlines()) == 3
    again = mdocean_repo(tmp_path, 60, stages=8, branches=2)  # cached: not generated again
    assert again.path == repo and again.seconds == pytest.approx(info.seconds, abs=0.1)


def test_bench_scale_runs_on_a_tiny_repository(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_scale.py"),
            "--commits=60",
            "--stages=6",
            "--branches=2",
            "--big=0",
            "--small=0",
            "--jobs=1,2",
            f"--work={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "| build cold (mdocean, jobs=1) |" in out.stdout
    assert "| rebuild after one commit (mdocean, jobs=2) |" in out.stdout
    assert "byte-identical to jobs=1: True" in out.stdout


@pytest.mark.slow
def test_two_processes_build_the_same_site_as_one(tmp_path):
    """Enough commits and pages for both work queues (history blocks, page blocks) to fork."""
    repo = make_synthetic_repo(tmp_path / "repo", 560, stages=4, branches=2, plot_rows=20).path
    config = load_config(repo)
    one = build_site(repo, tmp_path / "one", config, jobs=1)
    cache = repo / ".git" / "mlpages-cache"
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    two = build_site(repo, tmp_path / "two", config, jobs=2)
    assert one.pages == two.pages > 500
    assert _same_tree(tmp_path / "one", tmp_path / "two") == []
    # The cache written by the workers serves a warm build that gives the same site again.
    warm = build_site(repo, tmp_path / "warm", config, jobs=2)
    assert warm.pages == one.pages
    assert _same_tree(tmp_path / "one", tmp_path / "warm") == []


@pytest.mark.browser
def test_lineage_of_155_stages_is_collapsed_fits_and_is_fast(tmp_path, browser):
    repo = mdocean_repo(tmp_path, 40, stages=155, branches=1).path
    site = tmp_path / "site"
    build_site(repo, site, load_config(repo), jobs=1)
    html = (site / "lineage.html").read_text()
    assert html.count('class="stage-details"') > 90 and 'class="stage-details" open' not in html
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        start = time.perf_counter()
        page.goto((site / "lineage.html").resolve().as_uri())
        page.wait_for_load_state("load")
        ready = time.perf_counter() - start
        assert ready < 1.0, f"lineage.html ready after {ready:.2f} s"
        assert page.evaluate("() => document.querySelector('details.stage-details').open") is False
        page.eval_on_selector("details.stage-details > summary", "s => s.click()")  # on demand
        assert page.evaluate("() => document.querySelector('details.stage-details').open") is True
    finally:
        page.close()


LONG = "x" * 30 + "," + "-".join(str(i) for i in range(120))


@pytest.mark.browser
def test_lineage_tables_fit_their_column_with_long_params(make_repo, browser, tmp_path):
    """Issue 16 item 7: a long param value wraps inside the stage table."""
    dvc_yaml = "stages:\n  train:\n    cmd: python train.py\n    params:\n    - train.tag\n"
    dvc_lock = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    params:\n"
        f"      params.yaml:\n        train.tag: {LONG}\n"
        "        train.very_long_parameter_name_that_goes_on_and_on_and_on_and_on_and_on: 1\n"
    )
    files = {
        "dvc.yaml": dvc_yaml,
        "dvc.lock": dvc_lock,
        "params.yaml": f"train:\n  tag: {LONG}\n",
        ".dvc/config": "",
    }
    repo = make_repo([("one", files)]).path
    site = tmp_path / "site"
    build_site(repo, site, load_config(repo))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto((site / "lineage.html").resolve().as_uri())
        assert page.evaluate("() => document.querySelector('details.stage-details')") is None
        overflowing = page.evaluate(
            """() => [...document.querySelectorAll('.stage-card table.hashes')]
                .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1
                    || t.getBoundingClientRect().right > t.closest('.stage-card')
                        .getBoundingClientRect().right + 1).length"""
        )
        assert overflowing == 0
    finally:
        page.close()


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), 2**70, 1e-05, "é ü ${x}", 1e16]
)
def test_snapshot_documents_round_trip_every_value(value):
    """orjson writes NaN as null and refuses big integers: those take the tagged json path."""
    import math

    from helpers.snapshots import locked, snap

    from mlpages.history.codec import snapshot_doc, snapshot_from_doc, stage_doc, stage_from_doc
    from mlpages.models import HashInfo, PlotData

    stage = locked("train", deps=(HashInfo("d.csv", "a" * 32),), params=(("params.yaml:x", value),))
    stage_id, body = stage_doc(stage)
    snapshot = snap(
        stages=(stage,),
        params={"params.yaml": {"x": value}},
        metrics={"m.json": {"acc": value}},
        plot_data={"p.csv": PlotData("p.csv", "table", ("a",), ((value,), (1.0,)))},
    )
    back = snapshot_from_doc(snapshot_doc(snapshot, [stage_id]), {stage_id: stage_from_doc(body)})

    def same(a, b):
        return (isinstance(a, float) and math.isnan(a) and math.isnan(b)) or (
            a == b and type(a) is type(b)
        )

    assert same(back.params["params.yaml"]["x"], value)
    assert same(back.metrics["m.json"]["acc"], value)
    assert same(back.plot_data["p.csv"].rows[0][0], value)
    assert same(back.stages[0].lock_params[0][1], value)
    assert back.stages[0].lock_deps == stage.lock_deps


@pytest.mark.parametrize("problems", [(), ("missing-blob",)])
def test_has_problems_reads_the_document_as_decoding_does(problems):
    import zlib

    from helpers.snapshots import snap

    from mlpages.history.cache import StageTable
    from mlpages.history.codec import snapshot_doc
    from mlpages.history.collect import Snapshots
    from mlpages.models import Problem

    snapshot = snap(
        reports={"gate": {"problems": [], "note": ',"problems":[]'}},
        problems=tuple(Problem(kind, "x", ',"problems":[]') for kind in problems),
    )
    snapshots = Snapshots(StageTable())
    snapshots.add(snapshot.sha, None, zlib.compress(snapshot_doc(snapshot, []), 1), ())
    assert snapshots.has_problems(snapshot.sha) is bool(problems)
    assert bool(snapshots[snapshot.sha].problems) is bool(problems)
