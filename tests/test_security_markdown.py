"""The PR comment neutralises hostile metric/param names, gate reasons, labels and stage names."""

from __future__ import annotations

import re

import pytest

from mlpages.compare.diff import compare_snapshots
from mlpages.compare.markdown import MARKER, escape_cell, render_markdown
from mlpages.models import Snapshot, Stage

EVIL = (
    "<img src=x onerror=alert(1)> [x](javascript:alert(1)) ![t](https://t.invalid/p.png) "
    "@octocat #12 a\\|b `c` <!-- mlpages-report --> <details> {{7*7}}"
)
ZWSP = "\u200b"


def _markdown() -> str:
    stage = Stage(name=f"st{EVIL}", dvcfile="dvc.yaml", wdir=".", cmd="a", locked=True)
    base = Snapshot(
        sha="a" * 40, has_dvc=True, metrics={"m.json": {EVIL: 1.0}}, params={"p.yaml": {EVIL: 1}}
    )
    head = Snapshot(
        sha="b" * 40,
        has_dvc=True,
        metrics={"m.json": {EVIL: 2.0}},
        params={"p.yaml": {EVIL: EVIL}},
        stages=(stage,),
        reports={
            "gate": {
                "verdict": "rejected",
                "champion": {"version": EVIL, "sha": "c" * 40, "source": "registry"},
                "reasons": [EVIL, "# Approved by security", "> quote", "- nested", "12. item"],
            }
        },
    )
    return render_markdown(compare_snapshots(base, head), base_label=EVIL, head_label="h`<!--x")


def _html(markdown: str) -> str:
    """Rendered as GitHub would before its HTML sanitiser (raw HTML passes through)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_marker_cannot_be_forged():
    text = _markdown()
    assert text.startswith(MARKER + "\n")
    assert text.count(MARKER) == 1 and text.count("<!--") == 1


def test_no_markup_links_or_images_from_repository_text():
    html = _html(_markdown())
    tags = set(re.findall(r"<([a-z0-9]+)", html))
    assert tags <= {"h3", "h4", "p", "strong", "code", "table", "thead", "tbody", "tr", "th",
                    "td", "ul", "li", "sub"}, tags  # fmt: skip
    assert "javascript:" not in re.sub(r"<code>.*?</code>", "", html) or "href" not in html


def test_no_mentions_or_issue_references_in_text():
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_html(_markdown()), "html.parser")
    for code in soup.find_all("code"):
        code.decompose()  # GitHub does not link inside code
    text = soup.get_text()
    assert not re.search(r"@[A-Za-z0-9]", text)
    assert not re.search(r"#\d", text)
    assert "@" + ZWSP + "octocat" in text and "#" + ZWSP + "12" in text


def test_payload_is_shown_literally_and_tables_keep_their_shape():
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_html(_markdown()), "html.parser")
    tables = soup.find_all("table")
    assert len(tables) == 2
    for table, width in zip(tables, (7, 4), strict=True):
        for row in table.find_all("tr"):
            assert len(row.find_all(["td", "th"])) == width
    cell = tables[0].find("tbody").find_all("td")[1].get_text().replace(ZWSP, "")
    assert cell == EVIL
    items = [li.get_text() for li in soup.find_all("li")]
    assert "# Approved by security" in items and "> quote" in items and "- nested" in items
    assert not soup.find_all(["h1", "h2", "blockquote", "ol"])


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("a\\|b", "a\\\\\\|b"),
        ("[x](y)", "\\[x\\](y)"),
        ("@me #1 &#64;", "@&#8203;me #&#8203;1 &amp;#&#8203;64;"),  # "&#64;" shows as text
    ],
)
def test_escape_cell(raw, escaped):
    assert escape_cell(raw) == escaped
