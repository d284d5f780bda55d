"""A repository full of HTML/JS payloads: no page may run them; every page shows them as text."""

from __future__ import annotations

import pytest
from helpers.git import RepoBuilder
from helpers.site_repo import PAYLOAD_IMG, PAYLOAD_REF, PAYLOAD_SCRIPT, PAYLOAD_SVG, build_history

from mlpages.site.build import build_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    repo, shas = build_history(lambda name: RepoBuilder(base / name), commits=4, payload=True)
    build_site(repo.path, base / "site", title=PAYLOAD_IMG)
    return base / "site", shas


def test_no_payload_runs_on_any_page(hostile_site, watch):
    root, _ = hostile_site
    pages = sorted(root.rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        watch.open(page)
        watch.draw_all_figures()
        if page.name == "runs.html":
            watch.page.wait_for_selector("body[data-runs-ready]")
        if page.name == "compare.html":
            watch.page.wait_for_selector("body[data-compare-ready]")
            watch.page.wait_for_timeout(300)  # the overlaid plots load their data script
        injected = watch.page.evaluate(
            """() => ({
                pwned: typeof window.__pwned,
                handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
                images: document.querySelectorAll('img[src="x"], svg[onload]').length,
            })"""
        )
        where = page.relative_to(root).as_posix()
        assert injected == {"pwned": "undefined", "handlers": 0, "images": 0}, where
        assert watch.errors == [], (where, watch.errors)


def test_payloads_are_shown_as_text(hostile_site, watch):
    root, shas = hostile_site
    head = shas[-1]
    watch.open(root / f"commit/{head[:12]}.html")
    assert PAYLOAD_IMG in watch.page.inner_text("h1")
    body = watch.page.inner_text("main")
    for text in (PAYLOAD_SCRIPT, PAYLOAD_SVG):
        assert text in body, text
    assert watch.page.title().endswith(PAYLOAD_IMG)
    # Plot labels (confusion matrix categories) are text inside the chart, not markup.
    watch.draw_all_figures()
    watch.page.wait_for_selector(".js-plotly-plot .main-svg")
    labels = watch.page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent)"
    )
    assert any(PAYLOAD_IMG in label for label in labels)

    watch.open(root / f"commit/{shas[2][:12]}.html")  # the tagged commit
    assert "t" + PAYLOAD_REF in watch.page.inner_text(".commit-head")

    watch.open(root / "runs.html")
    watch.page.wait_for_selector("body[data-runs-ready]")
    table = watch.page.inner_text("#runs-table")
    assert PAYLOAD_IMG in table and PAYLOAD_REF in table and PAYLOAD_SVG in table

    watch.open(root / "compare.html")
    watch.page.wait_for_selector("body[data-compare-ready]")
    assert PAYLOAD_REF in watch.page.inner_text("main")
    options = watch.page.evaluate(
        "() => [...document.querySelectorAll('#cmp-b option')].map(o => o.textContent)"
    )
    assert any(PAYLOAD_IMG in o for o in options)

    watch.open(root / "index.html")
    main = watch.page.inner_text("main")
    assert PAYLOAD_IMG in main and PAYLOAD_SCRIPT in main  # latest run + validation alert
    assert watch.errors == []
