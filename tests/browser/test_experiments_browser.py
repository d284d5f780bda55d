"""Experiments in Chromium (file://): nesting and the toggle, keyboard, CSV, compare many."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from helpers.runs_data import runs_json

pytestmark = pytest.mark.browser


def _messages(watch) -> list[str]:
    return watch.page.evaluate(
        "() => [...document.querySelectorAll('#runs-table tbody tr[data-row] td.msg')]"
        ".map(td => td.textContent)"
    )


def test_experiments_nest_toggle_by_mouse_and_keyboard(real_dvc_exp_site, watch):
    repo, site = real_dvc_exp_site
    watch.open(site / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    texts = _messages(watch)
    # Newest baseline expanded (its three experiments right under it), the oldest too (latest 3).
    assert texts[0].endswith("baseline 2: lr 0.2")
    assert sorted(t.strip("├─└ ") for t in texts[1:4]) == ["[fast-lr]", "[long-run]", "[wide-net]"]
    assert not any("dvc: commit experiment" in t for t in texts)
    toggle = watch.page.locator(
        f'tr[data-row] button.exp-toggle[aria-label*="{repo.baselines[1][:8]}"]'
    )
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    assert len(_messages(watch)) == len(texts) - 3
    toggle = watch.page.locator("button.exp-toggle").first
    assert toggle.get_attribute("aria-expanded") == "false"
    # Keyboard: the toggle keeps focus across the re-render; Enter and Space both work.
    toggle.focus()
    watch.page.keyboard.press("Enter")
    assert (
        watch.page.evaluate("() => document.activeElement.getAttribute('aria-expanded')") == "true"
    )
    assert len(_messages(watch)) == len(texts)
    watch.page.keyboard.press(" ")
    assert len(_messages(watch)) == len(texts) - 3
    # A filter matching one experiment keeps its baseline row above it.
    watch.page.fill("#runs-filter", "wide-net")
    watch.page.wait_for_function(
        "() => document.querySelectorAll('#runs-table tbody tr[data-row]').length === 2"
    )
    shown = _messages(watch)
    assert shown[0].endswith("baseline 2: lr 0.2") and shown[1].endswith("[wide-net]")
    assert watch.errors == []


def test_delta_against_the_baseline_and_csv_with_a_baseline_column(real_dvc_exp_site, watch):
    repo, site = real_dvc_exp_site
    data = runs_json(site)
    fast = next(r for r in data["rows"] if r.get("x") == "fast-lr")
    watch.open(site / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    row = watch.page.locator(f'tr[data-row="{data["rows"].index(fast)}"]')
    lr = row.locator("td.v").nth([c["k"] for c in data["columns"]].index("train.lr"))
    # 0.4 against the baseline's 0.2 (the value, then its delta slot)
    assert [lr.evaluate("td => td.firstChild.textContent"), lr.locator("span.d").inner_text()] == [
        "0.4",
        "+0.2",
    ]
    with watch.page.expect_download() as download:
        watch.page.click("#runs-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    exps = {r["experiment"]: r for r in rows if r["experiment"]}
    assert set(exps) == {"old-lr", "fast-lr", "wide-net", "long-run"}
    assert exps["fast-lr"]["baseline"] == repo.baselines[1]
    assert len(rows) == len(data["rows"])
    watch.page.check("#runs-changed")
    assert "4 of 4 experiments" in watch.page.inner_text("#runs-count")
    assert watch.errors == []


def test_select_three_runs_compare_overlaid_and_round_trip_the_url(real_dvc_exp_site, watch):
    repo, site = real_dvc_exp_site
    watch.open(site / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    picks = watch.page.locator("tr[data-row] input.pick")
    for n in range(3):  # the newest baseline and two of its experiments
        picks.nth(n).check()
    link = watch.page.locator("#runs-compare")
    assert link.get_attribute("aria-disabled") == "false"
    href = link.get_attribute("href")
    assert href.startswith("compare.html#sel=") and len(href.split("=", 1)[1].split(",")) == 3
    link.click()
    watch.page.wait_for_selector("body[data-many-plots]")
    assert watch.page.url.endswith(href)
    names = watch.page.evaluate(
        "() => [...document.querySelectorAll('#many-legend .chip-run a')].map(a => a.textContent)"
    )
    assert names[0].startswith(repo.baselines[1][:8]) and all(n.startswith("[") for n in names[1:])
    charts = watch.page.evaluate(
        "() => [...document.querySelectorAll('#many-plots .js-plotly-plot')]"
        ".map(d => ({n: d.data.length, names: d.data.map(t => t.name),"
        " colors: d.data.map(t => t.line.color)}))"
    )
    assert len(charts) == 2  # DVCLive's folder of step series, and the train/eval pair
    for chart in charts:
        assert chart["n"] == 3 * 2  # three runs x (train, eval)
        assert {n.split(" · ")[0] for n in chart["names"]} == set(names)
        assert len(set(chart["colors"])) == 3
    assert charts[0]["colors"] == charts[1]["colors"]  # one colour per run on every chart
    header = watch.page.locator("#many-table thead th.run").all_inner_texts()
    assert header == names
    # The URL is the selection: reloading it (a shared link) shows the same runs.
    watch.page.reload()
    watch.page.wait_for_selector("body[data-many-plots]")
    again = watch.page.locator("#many-legend .chip-run a").all_inner_texts()
    assert again == names
    watch.page.locator("#many-legend button.drop").last.click()
    assert watch.page.url.count(",") == 1
    assert watch.errors == []


def test_explore_panel_draws_parallel_coordinates_and_scatter(real_dvc_exp_site, watch):
    _, site = real_dvc_exp_site
    watch.open(site / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    watch.page.click("#runs-explore summary")
    watch.page.wait_for_selector("body[data-explore-drawn]")
    drawn = watch.page.evaluate(
        """() => {
            const par = document.getElementById('explore-parcoords');
            const sc = document.getElementById('explore-scatter');
            return {axes: par.layout.shapes.length,
                    lines: par.data.map(t => t.x.filter(x => x === null).length),
                    groups: sc.data.map(t => [t.name, t.x.length])};
        }"""
    )
    assert drawn["axes"] == 4  # epochs, lr, width vary; then the metric
    assert sum(drawn["lines"]) == 6  # both baselines and the four experiments
    assert dict(drawn["groups"]) == {"commits": 2, "experiments": 4}
    # Filtering the table narrows the charts to the rows shown.
    watch.page.fill("#runs-filter", "fast-lr")
    watch.page.wait_for_function("() => document.body.dataset.exploreDrawn === '2'")
    assert watch.errors == []


def test_a_malformed_or_foreign_selection_is_ignored(real_dvc_exp_site, watch):
    repo, site = real_dvc_exp_site
    good = repo.baselines[1][:12]
    watch.page.goto((site / "compare.html").as_uri() + f"#sel=%E0%A4%A,{good}")
    watch.page.wait_for_selector("body[data-many-ready]")
    assert watch.page.get_attribute("body", "data-many-ready") == "0"  # unreadable: nothing
    watch.page.goto((site / "compare.html").as_uri() + f"#sel=<img>,zz,{good},{good}")
    watch.page.wait_for_function("() => document.body.dataset.manyReady === '1'")
    assert watch.errors == []
