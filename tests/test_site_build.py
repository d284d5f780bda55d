"""`mlpages build` on real git repositories: pages, links, incremental and atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup
from helpers.cli import mlpages
from helpers.git import RepoBuilder
from helpers.site_repo import build_history, commit_files

from mlpages.errors import SiteError
from mlpages.site.build import build_site
from mlpages.site.render import CONTENT_SECURITY_POLICY, plotly_asset
from mlpages.site.write import MANIFEST


def _html_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html"))


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One built site for the tests that only read it."""
    base = tmp_path_factory.mktemp("site-build")
    repo, shas = build_history(lambda name: RepoBuilder(base / name), commits=6)
    report = build_site(repo.path, base / "site")
    return repo, shas, base / "site", report


@pytest.fixture
def built(make_repo, tmp_path):
    """A site of its own, for tests that change the repository or the output."""
    repo, shas = build_history(make_repo, commits=6)
    report = build_site(repo.path, tmp_path / "site")
    return repo, shas, tmp_path / "site", report


def test_every_page_links_relatively_to_files_that_exist(shared):
    _, shas, site, report = shared
    pages = _html_files(site)
    assert report.pages == len(pages)
    names = {p.relative_to(site).as_posix() for p in pages}
    assert {"index.html", "runs.html", "compare.html", "lineage.html"} <= names
    assert {f"commit/{sha[:12]}.html" for sha in shas} <= names
    for page in pages:
        soup = _soup(page)
        for tag, attr in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src")):
            for el in soup.find_all(tag):
                url = el.get(attr)
                if not url or url.startswith(("#", "data:")):
                    continue
                parsed = urlparse(url)
                assert not parsed.scheme and not parsed.netloc and not url.startswith("/"), (
                    f"{page.name}: absolute link {url}"
                )
                target = (page.parent / unquote(parsed.path)).resolve()
                assert target.is_file(), f"{page.relative_to(site)} links to missing {url}"


def test_pages_have_csp_and_no_inline_code(shared):
    site = shared[2]
    for page in _html_files(site):
        soup = _soup(page)
        csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert csp and csp["content"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in csp["content"] and "object-src 'none'" in csp["content"]
        for script in soup.find_all("script"):
            assert script.get("src") or script.get("type") == "application/json", page
        assert not soup.find_all("style"), page  # styles live in assets/site.css
        for el in soup.find_all(True):
            assert not [a for a in el.attrs if a.lower().startswith("on")], (page, el.name)
            assert not str(el.get("href", "")).lower().startswith("javascript:")


def test_plotly_is_copied_once_and_referenced_by_figure_pages(shared):
    site = shared[2]
    copies = [p for p in site.rglob("*.js") if "plotly" in p.name]
    assert [p.relative_to(site).as_posix() for p in copies] == [plotly_asset()[0]]
    commit_page = _soup(next((site / "commit").glob("*.html")))
    sources = [s.get("src", "") for s in commit_page.find_all("script")]
    assert any(src.endswith(plotly_asset()[0].split("/")[-1]) for src in sources)
    assert commit_page.select("div.plot[data-figure]")
    runs = _soup(site / "runs.html")
    assert not any("plotly" in s.get("src", "") for s in runs.find_all("script"))


def test_a_page_loads_plotly_exactly_when_it_draws_a_figure(shared):
    site = shared[2]
    drawn = 0
    for page in _html_files(site):
        soup = _soup(page)
        sources = [s.get("src", "") for s in soup.find_all("script")]
        plotly = any(src.endswith(plotly_asset()[0].split("/")[-1]) for src in sources)
        plots_js = any(src.endswith("assets/plots.js") for src in sources)
        figures = bool(soup.select("div.plot[data-figure]"))
        drawn += figures
        if page.name == "compare.html":  # the picker draws overlays with plotly itself
            assert plotly and not plots_js and not figures
            continue
        assert plotly == figures == plots_js, page.relative_to(site)
    assert drawn >= 4  # commit pages, the overview's trends, the models timeline


def test_commit_page_shows_deltas_stages_and_verdicts(shared):
    _, shas, site, _ = shared
    soup = _soup(site / f"commit/{shas[5][:12]}.html")
    metrics = soup.select("table.values")[0]
    assert [td.get_text() for td in metrics.select("tr.file-row td")] == ["metrics.json"]
    rows = {
        tr.find_all("td")[0].get_text(strip=True): tr
        for tr in metrics.select("tbody tr:not(.file-row)")
    }
    # run 5 vs run 4: auc 0.84 vs 0.82 (higher is better), loss 0.475 vs 0.5 (lower is better).
    assert "better" in rows["auc"].select_one("td.delta")["class"]
    assert rows["auc"].select_one("td.delta").get_text(strip=True) == "+0.02"
    assert "better" in rows["loss"].select_one("td.delta")["class"]
    statuses = {
        node.find("text").get_text(): node["class"] for node in soup.select("svg.dag a.dag-node")
    }
    # Runs 4 and 5 read the same data batch with the same code; only the learning rate moved.
    assert "st-modified" in statuses["train"] and "st-modified" in statuses["evaluate"]
    assert "st-same" in statuses["prepare"]
    train_row = soup.find("tr", id=lambda v: v and v.startswith("stage-train-"))
    assert "param params.yaml:train.lr" in train_row.get_text()
    assert soup.find(string="blessed")


def test_runs_data_and_branch_compare_page(shared):

    from helpers.runs_data import runs_json

    site = shared[2]
    data = runs_json(site)
    assert len(data["rows"]) == 8
    assert {c["k"] for c in data["columns"]} >= {"auc", "loss", "train.lr"}
    compare_pages = list((site / "compare").glob("*.html"))
    assert len(compare_pages) == 1
    page = _soup(compare_pages[0])
    assert "feature/bigger-model" in page.h1.get_text()
    commits = page.find(string="Commits on the branch").find_parent("section").select("tbody tr")
    assert len(commits) == 2
    params = {tr.find_all("td")[0].get_text(strip=True) for tr in page.select("tr.st-modified")}
    assert "train.lr" in params


def test_rebuild_after_one_commit_rewrites_only_what_changed(built):
    repo, shas, site, _ = built
    old_page = site / f"commit/{shas[2][:12]}.html"
    before = old_page.stat()
    new_sha = repo.commit("run 6", commit_files(6))
    report = build_site(repo.path, site)
    assert (site / f"commit/{new_sha[:12]}.html").is_file()
    after = old_page.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    # Of the commit pages, only the new one and the old head (its "main" badge moved) render.
    commits = sorted(p for p in report.rendered_paths if p.startswith("commit/"))
    assert commits == sorted([f"commit/{new_sha[:12]}.html", f"commit/{shas[-1][:12]}.html"])
    assert "runs.html" in report.rendered_paths
    assert report.unchanged >= 6
    assert not list(site.parent.glob(f".{site.name}.*"))


def test_two_builds_are_byte_identical(shared, tmp_path, monkeypatch):
    repo = shared[0]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = build_site(repo.path, tmp_path / "a")
    second = build_site(repo.path, tmp_path / "b")
    assert first.pages == second.pages
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file() and path.name != MANIFEST:
            twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
            assert twin.read_bytes() == path.read_bytes(), path
    assert "2023-11-14 22:13" in (tmp_path / "a" / "index.html").read_text()


def test_interrupted_write_keeps_the_previous_site(built, monkeypatch):
    repo, _, site, _ = built
    index_before = (site / "index.html").read_bytes()
    repo.commit("run 6", commit_files(6))
    calls = {"n": 0}
    real_write = Path.write_bytes

    def failing_write(self, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(SiteError, match="disk full"):  # an OSError becomes one line
        build_site(repo.path, site)
    monkeypatch.undo()
    assert (site / "index.html").read_bytes() == index_before
    assert not list(site.parent.glob(f".{site.name}.*"))


def test_refuses_to_replace_a_folder_it_did_not_build(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=3)
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.md").write_text("keep me")
    with pytest.raises(SiteError, match="not built by mlpages"):
        build_site(repo.path, precious)
    with pytest.raises(SiteError, match="repository itself"):
        build_site(repo.path, repo.path)
    assert (precious / "notes.md").read_text() == "keep me"


def test_cli_build_and_strict(make_repo):
    repo, _ = build_history(make_repo, commits=3)
    ok = mlpages("build", ".", "--out", "public", "--title", "Churn <b>", cwd=repo.path)
    assert ok.returncode == 0, ok.stderr
    assert "Built" in ok.stdout and ok.stderr == ""  # no progress bar without a terminal
    index = _soup(repo.path / "public" / "index.html")
    assert index.title.get_text().endswith("Churn <b>")
    repo.commit("broken params", {"params.yaml": "train: [unclosed\n"})
    lenient = mlpages("build", ".", "--out", "public", cwd=repo.path)
    assert lenient.returncode == 0 and "1 commit had problems" in lenient.stdout
    strict = mlpages("build", ".", "--out", "public", "--strict", cwd=repo.path)
    assert strict.returncode == 1
    assert "--strict" in strict.stderr


def test_progress_bar_on_a_terminal_only(make_repo):
    import shlex
    import shutil

    if shutil.which("script") is None:
        pytest.skip("util-linux `script` (a pseudo-terminal) is not installed")
    repo, _ = build_history(make_repo, commits=3)
    command = shlex.join([sys.executable, "-m", "mlpages", "build", ".", "--out", "tty-site"])
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    on_tty = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert on_tty.returncode == 0, on_tty.stdout
    assert "render" in on_tty.stdout and "100%" in on_tty.stdout
    in_ci = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**env, "CI": "true"},
    )
    assert "100%" not in in_ci.stdout and "Built" in in_ci.stdout


def test_base_url_adds_canonical_links_but_links_stay_relative(shared, tmp_path):
    repo, shas = shared[0], shared[1]
    build_site(repo.path, tmp_path / "pub", base_url="https://org.github.io/repo/")
    page = _soup(tmp_path / "pub" / f"commit/{shas[0][:12]}.html")
    canonical = page.find("link", rel="canonical")["href"]
    assert canonical == f"https://org.github.io/repo/commit/{shas[0][:12]}.html"
    assert page.find("link", rel="stylesheet")["href"] == "../assets/site.css"
    assert not (_soup(shared[2] / "index.html").find("link", rel="canonical"))
