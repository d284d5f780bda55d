"""Shared fixtures: real git (and DVC) repositories in tmp_path."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``repo`` with a fixed identity; return stdout."""
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=full_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class RepoBuilder:
    """Build a real git repository commit by commit with deterministic dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q")

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str, files: Mapping[str, str | bytes | None] | None = None) -> str:
        """Write ``files`` (None deletes), commit everything, return the new sha."""
        self.write(files or {})
        self.clock += 3600
        date = f"{self.clock} +0000"
        git(self.path, "add", "-A")
        git(
            self.path,
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        return git(self.path, *args)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., RepoBuilder]:
    """Factory: ``make_repo(commits=[("msg", {"path": "content"}), ...])`` -> RepoBuilder."""

    def factory(commits=(), name: str = "repo") -> RepoBuilder:
        builder = RepoBuilder(tmp_path / name)
        for message, files in commits:
            builder.commit(message, files)
        return builder

    return factory


# --- Chromium: one Playwright instance per test process (a second sync_playwright() in the same
# process fails while the first runs), shared by every browser test.

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
