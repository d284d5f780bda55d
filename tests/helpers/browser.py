"""Headless Chromium for the browser tests: where it is, how it starts, a page that logs errors."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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
