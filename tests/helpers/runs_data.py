"""The runs JSON of a built site: ``data/runs-<hash>.js``, named by runs.html's script tag."""

from __future__ import annotations

import json
from pathlib import Path

from bs4 import BeautifulSoup

PREFIX = "window.mlpagesRuns="


def runs_file(site: Path) -> Path:
    """The data file runs.html loads."""
    soup = BeautifulSoup((site / "runs.html").read_text(), "html.parser")
    src = next(s["src"] for s in soup.find_all("script", src=True) if "data/runs-" in s["src"])
    return site / src


def runs_json(site: Path) -> dict:
    """``{columns, rows, default_branch, experiments}`` as the browser gets it."""
    text = runs_file(site).read_text()
    assert text.startswith(PREFIX) and text.rstrip().endswith(";")
    return json.loads(text[len(PREFIX) :].rstrip().rstrip(";"))
