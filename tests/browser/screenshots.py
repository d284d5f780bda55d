"""Screenshots of a built site for the README: ``python tests/browser/screenshots.py SITE OUT``.

Shoots the overview, the runs table and the newest default-branch commit page at 1280×800 with
Debian's Chromium, after every figure is drawn. Not a test (pytest does not collect it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def newest_commit_page(site: Path) -> Path:
    """The commit page of the newest default-branch commit (from the runs data)."""
    text = next((site / "data").glob("runs-*.js")).read_text()
    rows = json.loads(text[text.index("=") + 1 :].rstrip().rstrip(";"))["rows"]
    sha = next(r["s"] for r in rows if r["ml"])
    return site / "commit" / f"{sha[:12]}.html"


def shoot(site: Path, out: Path, width: int = 1280, height: int = 800) -> list[Path]:
    """Write overview.png, runs.png and commit.png into ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = {
        "overview.png": site / "index.html",
        "runs.png": site / "runs.html",
        "commit.png": newest_commit_page(site),
    }
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, path in shots.items():
            page.goto(path.resolve().as_uri())
            page.evaluate(
                "() => document.querySelectorAll('div[data-figure]')"
                ".forEach(d => window.mlpagesDrawFigure && window.mlpagesDrawFigure(d))"
            )
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / name))
            written.append(out / name)
        browser.close()
    return written


if __name__ == "__main__":
    for path in shoot(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path, path.stat().st_size // 1024, "KB")
