"""CT report JSON of the wrong shape (numbers, strings, objects where arrays belong) never stops
``mlpages build``: any branch could otherwise break the site for everyone."""

from __future__ import annotations

import json

import pytest
from helpers.git import RepoBuilder
from helpers.site_repo import commit_files

from mlpages.site.build import build_site

VARIANTS = [
    {
        "validation": {"status": ["x"], "anomalies": {"a": 1}, "rows": "many", "batch": {"b": 1}},
        "gate": {"verdict": {"x": 1}, "rules": 7, "champion": "str", "reasons": "abc"},
        "drift": {"features": "x", "skipped": 3},
        "monitoring": {"batches": {"a": 1}, "threshold": 5},
        "trigger": {"reasons": 5, "retrain": "yes"},
    },
    {"validation": [1, 2], "gate": "rejected", "drift": None, "monitoring": [], "trigger": "x"},
    {
        "validation": {"anomalies": [1, "x", None]},
        "gate": {"rules": [1, "x"], "reasons": [1, None, {"a": 2}]},
        "monitoring": {
            "batches": [1, {"batch": 3, "alerts": "x", "drift": [1], "metrics": [2]}],
            "threshold": {"metric": 5, "min": "x"},
        },
        "trigger": {"reasons": [1, {"kind": 2}], "blocked": {"a": 1}},
    },
    {
        "validation": {"status": "fail", "anomalies": 5, "batch": [1]},
        "drift": {"dataset_drift": True, "features": "abc"},
        "monitoring": {"batches": {"a": 1}},
    },
    {
        "drift": {"dataset_drift": True, "features": [1, {"drifted": True, "feature": [1]}]},
        "monitoring": {"batches": [5]},
    },
    {
        "monitoring": {"batches": [{"alerts": 5}]},
        "gate": {"verdict": "rejected", "rules": {"a": 1}, "champion": [1], "reasons": 3},
    },
    {"monitoring": {"batches": [{"alerts": [5, {"kind": [1], "detail": {"a": 1}}]}]}},
    # A champion whose sha is a number once stopped the build (a Jinja slice of an int).
    {"gate": {"verdict": "blessed", "champion": {"version": None, "sha": 5}}},
    {"gate": {"champion": {"sha": True}, "rules": [{"passed": 1, "rule": None}]}},
]


def _files(i: int, reports: dict) -> dict[str, str]:
    files = commit_files(i)
    files.update({f"reports/{k}.json": json.dumps(v) for k, v in reports.items()})
    return files


@pytest.mark.parametrize("head", range(len(VARIANTS)))
def test_malformed_reports_do_not_stop_the_build(tmp_path, head):
    repo = RepoBuilder(tmp_path / "repo")
    repo.write({".dvc/config": "", ".dvcignore": ""})
    order = VARIANTS[head + 1 :] + VARIANTS[: head + 1]  # each variant once at the head
    for i, reports in enumerate(order):
        repo.commit(f"variant {i}", _files(i, reports))
    repo.git("checkout", "-q", "-b", "side", "HEAD~2")
    repo.commit("side", _files(9, order[-1]))  # and at a branch head (compare page, gate diff)
    repo.git("checkout", "-q", "main")
    build_site(repo.path, tmp_path / "site")
    for page in ("index.html", "monitoring.html", "validation.html", "models.html"):
        assert (tmp_path / "site" / page).exists(), page
    assert len(list((tmp_path / "site" / "commit").glob("*.html"))) == len(VARIANTS) + 1
