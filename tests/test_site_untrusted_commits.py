"""One hostile commit never takes the build (or the PR diff) down: names git stores as raw bytes,
numbers too large for a float. Each test runs the real CLI on a real repository and asserts
the commit's content is still shown, with no traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bs4 import BeautifulSoup
from helpers.cli import mlpages
from helpers.site_repo import build_history, commit_files

from mlpages.site.write import MANIFEST

HUGE = 10**400  # JSON and YAML integers are arbitrary precision; float() of this overflows


def _ok(proc: subprocess.CompletedProcess[bytes]) -> str:
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    return proc.stdout.decode("utf-8")  # strict: the output is valid UTF-8


def _site_text(site: Path) -> dict[str, str]:
    """Every text file of the site, decoded strictly (a lone surrogate cannot be written)."""
    texts = {}
    for path in site.rglob("*"):
        rel = path.relative_to(site).as_posix()
        assert rel.isascii(), f"site file name from repository text: {rel!r}"
        if path.is_file() and path.suffix in {".html", ".js", ".json", ".css"}:
            texts[rel] = path.read_bytes().decode("utf-8")
    return texts


# --- names that are not UTF-8 ------------------------------------------------------------------

RAW_DIR = os.fsdecode(b"exp-\xff\xfe")  # git keeps path bytes as they are
RAW_BRANCH = os.fsdecode(b"topic-\xe9t\xe9")  # Latin-1 "été": a valid ref name, not UTF-8
SHOWN_DIR = "exp-\ufffd\ufffd"


def _raw_names_repo(make_repo):
    repo, _ = build_history(make_repo, commits=3)
    sub = {
        f"{RAW_DIR}/dvc.yaml": (
            "stages:\n  score:\n    cmd: python score.py\n    deps:\n    - score.py\n"
            "    params:\n    - alpha\n    metrics:\n    - scores.json:\n        cache: false\n"
            "    plots:\n    - curve.csv:\n        cache: false\n"
        ),
        f"{RAW_DIR}/params.yaml": "alpha: 1\n",
        f"{RAW_DIR}/scores.json": json.dumps({"recall": 0.5, "name\udcff": 1}),
        f"{RAW_DIR}/curve.csv": "step,value\n0,1\n1,2\n",
        f"{RAW_DIR}/score.py": "print(1)\n",
    }
    first = repo.commit(os.fsdecode(b"raw \xff bytes in a path"), sub)
    second = repo.commit(
        "move the metric",
        {f"{RAW_DIR}/scores.json": json.dumps({"recall": 0.75, "name\udcff": 2})},
    )
    repo.git("branch", RAW_BRANCH, first)
    return repo, first, second


def test_non_utf8_folder_and_branch_names_are_shown_not_fatal(make_repo, tmp_path):
    repo, first, second = _raw_names_repo(make_repo)
    site = tmp_path / "site"
    out = _ok(mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False))
    assert "Built" in out
    texts = _site_text(site)
    page = BeautifulSoup(texts[f"commit/{second[:12]}.html"], "html.parser")
    shown = page.get_text()
    assert f"{SHOWN_DIR}/scores.json" in shown  # the path, its bad bytes as U+FFFD
    assert "0.75" in shown and "recall" in shown
    assert any("topic-\ufffdt\ufffd" in text for text in texts.values())
    assert "bytes in a path" in texts[f"commit/{first[:12]}.html"]
    # Every link still leads to a file of the site.
    for rel, text in texts.items():
        if not rel.endswith(".html"):
            continue
        for link in BeautifulSoup(text, "html.parser").find_all("a", href=True):
            href = link["href"].partition("#")[0]
            if href and "://" not in href and not href.startswith(("data:", "mailto:")):
                assert (site / rel).parent.joinpath(href).resolve().is_file(), (rel, href)
    json.loads((site / MANIFEST).read_text())


def test_non_utf8_names_in_the_pr_diff_markdown_and_json(make_repo, tmp_path):
    repo, first, second = _raw_names_repo(make_repo)
    markdown = _ok(mlpages("diff", first, second, cwd=repo.path, text=False))
    assert f"{SHOWN_DIR}/scores.json" in markdown and "0.75" in markdown
    report = _ok(mlpages("diff", first, second, "--format", "json", cwd=repo.path, text=False))
    assert json.loads(report)["metrics"]
    target = tmp_path / "comment.md"
    _ok(mlpages("diff", first, second, "--output", str(target), cwd=repo.path, text=False))
    assert f"{SHOWN_DIR}/scores.json" in target.read_text(encoding="utf-8")
    _ok(mlpages("history", "--json", cwd=repo.path, text=False))
    _ok(mlpages("history", cwd=repo.path, text=False))


# --- numbers too large for a float -------------------------------------------------------------


def _huge_files(i: int, value: int) -> dict[str, str]:
    files = commit_files(i)
    files["metrics.json"] = f'{{"auc": {value}, "loss": 0.5, "steps": {value}}}'
    files["params.yaml"] = f"train:\n  lr: 0.1\n  n_est: {value}\n"
    lock = files["dvc.lock"]
    files["dvc.lock"] = lock.replace("size: 100", f"size: {value}", 2)
    files["reports/monitoring.json"] = json.dumps(
        {
            "threshold": {"metric": "roc_auc", "min": value},
            "batches": [
                {
                    "batch": "week_01.csv",
                    "week": 1,
                    "rows": value,
                    "prediction_mean": value,
                    "prediction_hist": [1, value],
                    "hist_edges": [0, value, 2 * value],
                    "drift": {"age": value},
                    "prediction_drift": value,
                    "metrics": {"roc_auc": value},
                    "share_drifted": value,
                }
            ],
        }
    )
    return files


def test_integers_too_large_for_a_float_are_values_not_crashes(make_repo, tmp_path):
    repo, shas = build_history(make_repo, commits=3)
    before = repo.commit("huge", _huge_files(3, HUGE))
    after = repo.commit("huger", _huge_files(4, 2 * HUGE))
    repo.git("tag", "-a", "churn@v0.3.0", "-m", "Registering churn v0.3.0", after)
    repo.git("tag", "-a", "churn#prod#2", "-m", "Promote churn v0.3.0 to prod", after)
    site = tmp_path / "site"
    _ok(mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False))
    page = BeautifulSoup((site / f"commit/{after[:12]}.html").read_text(), "html.parser")
    metrics = page.select("table.values")[0]
    rows = {
        tr.find_all("td")[0].get_text(strip=True): tr
        for tr in metrics.select("tbody tr:not(.file-row)")
    }
    assert str(2 * HUGE)[:20] in rows["auc"].get_text()
    for other in (shas[-1], before):
        assert (site / f"commit/{other[:12]}.html").is_file()
    markdown = _ok(mlpages("diff", before, after, cwd=repo.path, text=False))
    assert "auc" in markdown and "steps" in markdown
    _ok(mlpages("diff", shas[-1], after, cwd=repo.path, text=False))
    report = json.loads(
        _ok(mlpages("diff", before, after, "--format", "json", cwd=repo.path, text=False))
    )
    auc = next(m for m in report["metrics"] if m["key"] == "auc")
    assert auc["new"] == 2 * HUGE and auc["change"] == HUGE


def test_integer_past_pythons_digit_limit_is_a_problem_not_a_crash(make_repo, tmp_path):
    """``int()`` refuses more than 4,300 digits (a ValueError): the lock is a problem instead."""
    repo, _ = build_history(make_repo, commits=2)
    files = commit_files(2)
    files["dvc.lock"] = files["dvc.lock"].replace("size: 100", "size: 1" + "0" * 5000, 1)
    sha = repo.commit("a lock with a 5,001-digit size", files)
    out = _ok(
        mlpages("build", str(repo.path), "--out", str(tmp_path / "site"), cwd=tmp_path, text=False)
    )
    assert "1 commit had problems" in out
    page = (tmp_path / "site" / f"commit/{sha[:12]}.html").read_text()
    assert "dvc.lock" in BeautifulSoup(page, "html.parser").select_one(".problems").get_text()
    _ok(mlpages("diff", "HEAD~1", "HEAD", cwd=repo.path, text=False))


def test_branch_names_differing_only_in_undecodable_bytes(make_repo, tmp_path):
    """Both read as "topic-\ufffd…": they share a compare page instead of failing the build, and
    ``mlpages diff`` on either (checked out) links to that page."""
    repo, _, second = _raw_names_repo(make_repo)
    repo.git("branch", os.fsdecode(b"topic-\xe8t\xe8"), second)
    site = tmp_path / "site"
    _ok(mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False))
    repo.git("checkout", "-q", RAW_BRANCH)
    markdown = _ok(
        mlpages("diff", "--site-url", "https://example.invalid/site", cwd=repo.path, text=False)
    )
    link = markdown.split("](https://example.invalid/site/", 1)[1].split(")", 1)[0]
    assert link.startswith("compare/") and (site / link).is_file(), link


# --- text that looks like markup ----------------------------------------------------------------


def test_a_commit_message_naming_data_figure_does_not_load_plotly(make_repo, tmp_path):
    """Whether a page loads plotly is the page's own decision, never a search of its text."""
    repo = make_repo()
    repo.write({".dvc/config": "", ".dvcignore": ""})
    repo.commit("run 0", commit_files(0))  # one run: no trend to draw on the overview
    gone = dict.fromkeys(commit_files(0))
    sha = repo.commit('drop the pipeline: <div data-figure="x"> data-figure=y', gone)
    site = tmp_path / "site"
    _ok(mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False))
    from helpers.runs_data import runs_file

    for page in (f"commit/{sha[:12]}.html", "index.html", "runs.html"):
        html = (site / page).read_text()
        # The message is on the page as text, or in the runs data the table loads.
        shown = runs_file(site).read_text() if page == "runs.html" else html
        assert "data-figure=" in shown, page
        soup = BeautifulSoup(html, "html.parser")
        assert not soup.select("div[data-figure]"), page
        sources = [s.get("src", "") for s in soup.find_all("script")]
        assert not [s for s in sources if "plotly" in s or s.endswith("plots.js")], page
