"""The built site in Chromium from file://: no errors, charts drawn, runs table, compare picker."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from helpers.git import RepoBuilder
from helpers.site_repo import build_history

from mlpages.site.build import build_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-site")
    repo, shas = build_history(lambda name: RepoBuilder(base / name), commits=6)
    build_site(repo.path, base / "site")
    return base / "site", shas


def test_every_page_loads_without_errors_or_failed_requests(site, watch):
    root, _ = site
    pages = sorted(root.rglob("*.html"))
    assert len(pages) >= 12
    for page in pages:
        watch.open(page)
        drawn = watch.draw_all_figures()
        if drawn:
            watch.page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot').length >= n", arg=drawn
            )
        assert watch.errors == [], f"{page.relative_to(root)}: {watch.errors}"


def test_charts_render_with_data(site, watch):
    root, shas = site
    watch.open(root / f"commit/{shas[-1][:12]}.html")
    watch.page.mouse.wheel(0, 4000)
    watch.page.wait_for_selector("div[data-figure].js-plotly-plot .main-svg")
    counts = watch.page.evaluate(
        "() => [...document.querySelectorAll('div[data-figure]')].map(d => (d.data || []).length)"
    )
    assert len(counts) == 2 and all(n >= 1 for n in counts)
    watch.open(root / "index.html")
    assert watch.draw_all_figures() >= 3
    traces = watch.page.evaluate(
        "() => [...document.querySelectorAll('div[data-figure]')].map(d => d.data[0].y.length)"
    )
    assert min(traces) == 6  # one point per default-branch commit
    assert watch.errors == []


def _cells(watch, column: str) -> list[str]:
    return watch.page.evaluate(
        """col => {
            const heads = [...document.querySelectorAll('#runs-table thead tr.cols th')];
            const i = heads.findIndex(h => h.textContent === col);
            return [...document.querySelectorAll('#runs-table tbody tr')]
                .filter(tr => tr.children.length > 1)
                .map(tr => tr.children[i].firstChild ? tr.children[i].firstChild.textContent : '');
        }""",
        column,
    )


def test_runs_table_sorts_filters_and_exports(site, watch):
    root, shas = site
    watch.open(root / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    assert len(_cells(watch, "auc")) == 8
    watch.page.click("#runs-table thead th:text-is('auc')")
    values = [float(v) for v in _cells(watch, "auc")]
    assert values == sorted(values, reverse=True)
    watch.page.click("#runs-table thead th:text-is('auc')")
    values = [float(v) for v in _cells(watch, "auc")]
    assert values == sorted(values)
    watch.page.fill("#runs-filter", "learning RATE")
    watch.page.wait_for_function(
        "() => document.getElementById('runs-count').textContent.startsWith('1 of 8')"
    )
    assert watch.page.inner_text("#runs-table tbody").count("try a bigger learning rate") == 1
    watch.page.fill("#runs-filter", "feature/bigger-model")  # a branch badge matches too
    watch.page.wait_for_function(
        "() => document.querySelector('#runs-table tbody').textContent.includes('and more trees')"
    )
    assert watch.page.inner_text("#runs-count").startswith("1 of 8")
    watch.page.fill("#runs-filter", "")
    watch.page.check("#runs-mainline")
    watch.page.wait_for_function(
        "() => document.getElementById('runs-count').textContent.startsWith('6 of 8')"
    )
    assert watch.page.locator("#runs-table thead tr.cols th").count() == 1 + 4 + 5
    with watch.page.expect_download() as download:
        watch.page.click("#runs-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:4] == ["commit", "experiment", "baseline", "message"]
    assert "metrics.json:auc" in rows[0]
    assert len(rows) == 1 + 6
    # One row left: no column varies, so "changed columns only" hides every value column.
    watch.page.fill("#runs-filter", shas[1][:10])
    watch.page.check("#runs-changed")
    watch.page.wait_for_function(
        "() => document.getElementById('runs-count').textContent.includes('0 of 5 columns')"
    )
    assert watch.page.locator("#runs-table thead tr.cols th").count() == 1 + 4
    assert watch.errors == []


def test_runs_table_pins_a_baseline(site, watch):
    root, shas = site
    watch.open(root / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    last = watch.page.locator("#runs-table tbody tr:has(button.pin)").last
    last.locator("button.pin").click()
    assert shas[0][:8] in watch.page.inner_text("#runs-baseline")
    # Against run 0 every newer run's auc shows a positive, "better" delta.
    better = watch.page.locator("#runs-table tbody td.v span.d.better").count()
    assert better >= 7
    assert watch.errors == []


def test_runs_table_is_virtualised_at_a_thousand_rows(tmp_path, watch):
    from mlpages.config import Config
    from mlpages.models import Commit, Person, Snapshot
    from mlpages.site.build import NAV
    from mlpages.site.page_core import SiteData
    from mlpages.site.pages import runs
    from mlpages.site.render import render_site, static_files
    from mlpages.site.write import write_site

    class History:
        root, refs, default_branch, shallow, problems = tmp_path, (), "main", False, ()

        def read_image(self, sha):
            return None

    who = Person("Ada", "a@example.com")
    shas = [f"{i:012x}" + "0" * 28 for i in range(1500)]
    history = History()
    history.commits = {
        sha: Commit(sha, "t", (shas[i - 1],) if i else (), who, i, "+0000", who, i, f"run {i}", "")
        for i, sha in enumerate(shas)
    }
    history.order = history.mainline = tuple(reversed(shas))
    history.snapshots = {
        sha: Snapshot(sha, True, metrics={"m.json": {"auc": i / 1500, "loss": 1 - i / 1500}})
        for i, sha in enumerate(shas)
    }
    site = SiteData(history=history, config=Config(), title="big")
    files, manifest, _ = render_site(site, list(runs.pages(site)), {}, NAV)
    write_site(tmp_path / "site", files, static_files(), manifest)
    watch.open(tmp_path / "site" / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    rows_in_dom = watch.page.locator("#runs-table tbody tr").count()
    assert 10 < rows_in_dom < 120
    watch.page.locator("#runs-wrap").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    watch.page.wait_for_function(
        "() => document.querySelector('#runs-table tbody').textContent.includes('run 0')"
    )
    watch.page.locator("#runs-wrap").evaluate("el => { el.scrollTop = 0; }")
    watch.page.click("#runs-table thead th:text-is('loss')")  # numeric columns sort descending
    assert _cells(watch, "loss")[0] == "1"
    assert watch.errors == []


def test_compare_picks_two_commits(site, watch):
    root, shas = site
    watch.open(root / "compare.html")
    watch.page.wait_for_selector("body[data-compare-ready]")
    watch.page.select_option("#cmp-a", shas[0])
    watch.page.select_option("#cmp-b", shas[3])
    table = watch.page.inner_text("#cmp-table tbody")
    # Runs 0 and 3 share the learning rate (0.1); auc moved from 0.7 to 0.78.
    assert "auc\t0.7\t0.78\t+0.08" in table and "train.lr" not in table
    assert watch.page.evaluate("location.hash") == f"#a={shas[0][:12]}&b={shas[3][:12]}"
    watch.page.wait_for_selector("#cmp-plots .js-plotly-plot")
    names = watch.page.evaluate(
        "() => document.querySelector('#cmp-plots .js-plotly-plot').data.map(t => t.name)"
    )
    assert any(shas[0][:8] in n for n in names) and any(shas[3][:8] in n for n in names)
    watch.page.uncheck("#cmp-changed")
    assert "train.lr" in watch.page.inner_text("#cmp-table tbody")
    watch.page.click("#cmp-swap")
    assert watch.page.evaluate("location.hash") == f"#a={shas[3][:12]}&b={shas[0][:12]}"
    assert watch.errors == []


def test_commit_page_opens_the_picker_on_itself_and_its_parent(site, watch):
    root, shas = site
    watch.open(root / f"commit/{shas[4][:12]}.html")
    watch.page.click("text=compare with another commit")
    watch.page.wait_for_selector("body[data-compare-ready]")
    assert watch.page.input_value("#cmp-a") == shas[3]
    assert watch.page.input_value("#cmp-b") == shas[4]
    assert watch.errors == []


def test_runs_and_compare_show_values_and_deltas_alike(tmp_path, watch):
    """One formatter for both pages: a missing value reads "—", a tiny delta keeps its digits."""
    from mlpages.config import Config
    from mlpages.models import Commit, Person, Snapshot
    from mlpages.site.build import NAV
    from mlpages.site.page_core import SiteData
    from mlpages.site.pages import compare, runs
    from mlpages.site.render import render_site, static_files
    from mlpages.site.write import write_site

    class History:
        root, refs, default_branch, shallow, problems = tmp_path, (), "main", False, ()

        def read_image(self, sha):
            return None

        def has_image(self, sha):
            return False

    who = Person("Ada", "a@example.com")
    old, new = "a" * 40, "b" * 40
    history = History()
    history.commits = {
        old: Commit(old, "t", (), who, 1, "+0000", who, 1, "first", ""),
        new: Commit(new, "t", (old,), who, 2, "+0000", who, 2, "second", ""),
    }
    history.order = history.mainline = (new, old)
    history.snapshots = {
        old: Snapshot(old, True, metrics={"m.json": {"tiny": 1.0}}),
        new: Snapshot(
            new, True, params={"p.yaml": {"lr": 0.1}}, metrics={"m.json": {"tiny": 1.0001}}
        ),
    }
    site = SiteData(history=history, config=Config(), title="values")
    items = [*runs.pages(site), *compare.pages(site)]
    files, manifest, _ = render_site(site, items, {}, NAV)
    write_site(tmp_path / "site", files, static_files(), manifest)
    watch.open(tmp_path / "site" / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    assert _cells(watch, "lr") == ["0.1", "—"]
    deltas = watch.page.eval_on_selector_all(
        "#runs-table tbody td.v span.d", "spans => spans.map(s => s.textContent)"
    )
    assert "+1.00e-4" in deltas
    watch.open(tmp_path / "site" / "compare.html")
    watch.page.wait_for_selector("body[data-compare-ready]")
    watch.page.select_option("#cmp-a", old)
    watch.page.select_option("#cmp-b", new)
    table = watch.page.inner_text("#cmp-table tbody")
    assert "lr\t—\t0.1\tadded" in table and "tiny\t1\t1.0001\t+1.00e-4" in table
    assert watch.errors == []
