"""Browser fixtures: Debian's Chromium driven by Playwright, pages opened from file://."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """A browser page that records console errors, uncaught exceptions and failed requests."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("requestfailed", lambda req: self.errors.append(f"failed: {req.url} {req.failure}"))

    def _console(self, message) -> None:
        if message.type in ("error", "warning") and "Content Security Policy" in message.text:
            self.errors.append(f"csp: {message.text}")
        elif message.type == "error":
            self.errors.append(f"console: {message.text}")

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def draw_all_figures(self) -> int:
        """Draw every figure now (they are normally drawn when scrolled into view)."""
        return self.page.evaluate(
            """() => {
                const divs = [...document.querySelectorAll('div[data-figure]')];
                if (divs.length) divs.forEach(d => window.mlpagesDrawFigure(d));
                return divs.length;
            }"""
        )


@pytest.fixture
def watch(browser):
    """A fresh page (1360×900) with its error log."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield PageWatch(page)
    context.close()
