"""An incremental build is byte-identical to a clean one, whatever changed in between.

Each step changes the repository the way real work does (new commits, a branch, a registry
version and stage, a lightweight tag, a DVC object that arrives later, a merge, a deleted
branch); after each, the same ``--out`` is rebuilt and a fresh folder is built from scratch,
and every file of the two must be equal. A reused page that shows something outside its key
("7 commits" on a page built before the 8th) fails here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers.git import git
from helpers.site_repo import build_history, commit_files

from mlpages.site.build import build_site

SCORE_YAML = """\
stages:
  score:
    cmd: python score.py
    deps:
    - score.py
    metrics:
    - scores.json
"""


def _score_lock(scores: bytes) -> str:
    return (
        "schema: '2.0'\nstages:\n  score:\n    cmd: python score.py\n    deps:\n"
        f"    - path: score.py\n      hash: md5\n      md5: {hashlib.md5(b's').hexdigest()}\n"
        "      size: 1\n    outs:\n"
        f"    - path: scores.json\n      hash: md5\n      md5: {hashlib.md5(scores).hexdigest()}\n"
        f"      size: {len(scores)}\n"
    )


def _cache(repo: Path, data: bytes) -> None:
    digest = hashlib.md5(data).hexdigest()
    target = repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


SCORES_LATE = json.dumps({"recall": 0.61, "precision": 0.7}).encode()
SCORES_NOW = json.dumps({"recall": 0.64, "precision": 0.72}).encode()


def _files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _assert_same(incremental: Path, clean: Path, step: str) -> None:
    ours, theirs = _files_of(incremental), _files_of(clean)
    assert sorted(ours) == sorted(theirs), f"{step}: different files"
    stale = sorted(p for p in ours if ours[p] != theirs[p])
    assert not stale, f"{step}: the incremental build differs from a clean one in {stale}"


def _steps(repo, shas):
    """(name, change) pairs, applied in order."""
    main_head = {"sha": shas[-1]}

    def commits_on_main():
        repo.commit("run 5", commit_files(5))
        main_head["sha"] = repo.commit("run 6", commit_files(6))

    def new_branch():
        repo.git("checkout", "-q", "-b", "exp/two", "main~2")
        repo.commit("try two", commit_files(7, lr=0.3))
        repo.git("checkout", "-q", "main")

    def registry_version_and_tags():
        env = {"GIT_COMMITTER_DATE": f"{repo.clock + 50} +0000"}
        head = main_head["sha"]
        git(repo.path, "tag", "-a", "churn@v0.3.0", "-m", "Registering churn v0.3.0", head, env=env)
        git(repo.path, "tag", "-a", "churn#prod#2", "-m", "Promote churn v0.3.0", head, env=env)
        repo.git("tag", "v0.2", shas[2])

    def object_arrives():
        _cache(repo.path, SCORES_LATE)  # `dvc pull` brings the missing metrics

    def merge_branch():
        repo.clock += 3600
        date = {
            "GIT_AUTHOR_DATE": f"{repo.clock} +0000",
            "GIT_COMMITTER_DATE": f"{repo.clock} +0000",
        }
        git(
            repo.path,
            "merge",
            "-q",
            "--no-ff",
            "-X",
            "theirs",
            "-m",
            "merge",
            "feature/bigger-model",
            env=date,
        )

    def delete_branch():
        repo.git("branch", "-D", "exp/two")

    return [
        ("new commits on main", commits_on_main),
        ("a new branch", new_branch),
        ("a registry version, a stage and a tag", registry_version_and_tags),
        ("a DVC object becomes available", object_arrives),
        ("a merge into main", merge_branch),
        ("a deleted branch", delete_branch),
    ]


@pytest.mark.parametrize("dates", ["newest commit", "SOURCE_DATE_EPOCH"])
def test_incremental_builds_equal_clean_builds(make_repo, tmp_path, monkeypatch, dates):
    if dates == "SOURCE_DATE_EPOCH":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    else:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    repo, shas = build_history(make_repo, commits=4)
    extra = {"extra/dvc.yaml": SCORE_YAML, "extra/score.py": "s"}
    shas.append(repo.commit("score", {**extra, "extra/dvc.lock": _score_lock(SCORES_LATE)}))
    _cache(repo.path, SCORES_NOW)
    shas.append(repo.commit("score again", {"extra/dvc.lock": _score_lock(SCORES_NOW)}))
    site = tmp_path / "site"
    build_site(repo.path, site)
    for index, (step, change) in enumerate(_steps(repo, shas)):
        change()
        report = build_site(repo.path, site)
        clean = tmp_path / f"clean-{index}"
        build_site(repo.path, clean)
        _assert_same(site, clean, step)
        assert report.unchanged > 0, f"{step}: nothing was reused"
