"""Fixtures only (helpers live in tests/helpers/): git repositories, Chromium, and the markers.

A test that uses the ``browser`` fixture is marked ``browser``; a test whose fixtures include one
named ``real_dvc_…`` (a fixture that runs the real ``dvc``) is marked ``slow``. ``make
test-fast`` deselects both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.browser import ARGS, CHROMIUM, PageWatch
from helpers.git import RepoBuilder


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        if any(name.startswith("real_dvc") for name in names):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., RepoBuilder]:
    """Factory: ``make_repo(commits=[("msg", {"path": "content"}), ...])`` -> RepoBuilder."""

    def factory(commits=(), name: str = "repo") -> RepoBuilder:
        builder = RepoBuilder(tmp_path / name)
        for message, files in commits:
            builder.commit(message, files)
        return builder

    return factory


# One Playwright instance per test process (a second sync_playwright() in the same process fails
# while the first runs), shared by every browser test.
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


@pytest.fixture
def watch(browser):
    """A fresh page (1360×900) with its error log."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield PageWatch(page)
    context.close()


@pytest.fixture(scope="session")
def real_dvc_exp_repo(tmp_path_factory):
    """Real `dvc exp run` experiments on two baselines, pushed, and a clone fetching refs/exps
    (helpers/exp_repo.py; built once per session: about a minute of real dvc)."""
    from helpers.exp_repo import build_exp_repo

    return build_exp_repo(tmp_path_factory.mktemp("exps"))


@pytest.fixture(scope="session")
def real_dvc_exp_site(real_dvc_exp_repo, tmp_path_factory):
    """The site of the CI-style clone of ``real_dvc_exp_repo``: (repo, site folder)."""
    from mlpages.site.build import build_site

    site = tmp_path_factory.mktemp("exps-site") / "site"
    build_site(real_dvc_exp_repo.clone, site)
    return real_dvc_exp_repo, site
