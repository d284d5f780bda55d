"""Pure parts of the site: relative URLs, safe JSON, value formatting, the DAG layout, runs data."""

from __future__ import annotations

import json
import math

import pytest

from mlpages.config import Config
from mlpages.models import Commit, OutDecl, Person, Ref, Snapshot, Stage
from mlpages.site.dag import layout_dag, stage_edges
from mlpages.site.page_core import SiteData
from mlpages.site.pages.runs import runs_data
from mlpages.site.urls import commit_path, compare_path, relative_url, slug
from mlpages.site.values import format_value, json_for_script


@pytest.mark.parametrize(
    ("page", "target", "expected"),
    [
        ("index.html", "runs.html", "runs.html"),
        ("commit/abc.html", "runs.html", "../runs.html"),
        ("commit/abc.html", "commit/def.html", "def.html"),
        ("models/churn/v1.html", "assets/site.css", "../../assets/site.css"),
        ("index.html", "assets/plotly-4.1.1.min.js", "assets/plotly-4.1.1.min.js"),
        ("compare/x.html", "lineage.html#stage-a", "../lineage.html#stage-a"),
        ("index.html", "https://example.com/x", "https://example.com/x"),
    ],
)
def test_relative_url(page, target, expected):
    assert relative_url(page, target) == expected


def test_slugs_are_file_safe_and_distinct():
    names = ["feature/x", "feature-x", "<img src=x>", "../../etc", "a" * 300, ""]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    for s in slugs:
        assert "/" not in s and "<" not in s and ".." not in s.split("-")[0]
        assert len(s) <= 70
    assert compare_path("../../x").startswith("compare/") and ".." not in compare_path("../../x")
    assert commit_path("0123456789abcdef" * 3) == "commit/0123456789ab.html"


def test_json_for_script_cannot_close_the_script_and_parses_back():
    value = {
        "m": "</script><script>alert(1)</script>",
        "x": "a&b<!--",
        "n": math.nan,
        "s": "\u2028",
    }
    text = json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    parsed = json.loads(text)
    assert parsed["m"] == value["m"] and parsed["x"] == value["x"]
    assert parsed["n"] == "NaN"  # JSON.parse rejects NaN: it travels as text


def test_format_value_like_dvc():
    assert format_value(0.123456789) == "0.12346"
    assert format_value(3) == "3"
    assert format_value(True) == "true"
    assert format_value(math.inf) == "Infinity"
    assert format_value(None) == "—"


def _stage(name, deps=(), outs=()):
    return Stage(
        name,
        "dvc.yaml",
        ".",
        f"run {name}",
        deps=deps,
        outs=tuple(OutDecl(o, "outs") for o in outs),
    )


def test_stage_edges_follow_files_and_folders():
    stages = (
        _stage("prep", deps=("data/raw",), outs=("data/prep",)),
        _stage("feat", deps=("data/prep/train.csv",), outs=("features",)),
        _stage("train", deps=("features", "data/prep"), outs=("model.pkl",)),
        _stage("report", deps=("model.pkl",)),
    )
    assert stage_edges(stages) == [
        ("prep", "feat"),
        ("prep", "train"),
        ("feat", "train"),
        ("train", "report"),
    ]


def test_layout_layers_and_routes_long_edges_around():
    stages = (
        _stage("prep", outs=("a",)),
        _stage("feat", deps=("a",), outs=("b",)),
        _stage("train", deps=("a", "b"), outs=("c",)),
    )
    layout = layout_dag(stages, {"feat": "modified"})
    y = {n.key: n.y for n in layout.nodes}
    assert y["prep"] < y["feat"] < y["train"]
    assert {n.key: n.status for n in layout.nodes}["feat"] == "modified"
    long_edge = next(e for e in layout.edges if (e.source, e.target) == ("prep", "train"))
    # The prep -> train edge bends to the right of feat instead of crossing it.
    feat = next(n for n in layout.nodes if n.key == "feat")
    assert f"C{feat.x + feat.w + 14:.1f}" in long_edge.path
    assert layout.width >= feat.x + feat.w + 14


def test_condensed_layout_keeps_changes_and_counts_hidden_stages():
    chain = tuple(
        _stage(f"s{i:02d}", deps=(f"d{i - 1}",) if i else (), outs=(f"d{i}",)) for i in range(50)
    )
    layout = layout_dag(chain, {"s20": "modified"}, limit=30)
    kept = [n.key for n in layout.nodes]
    assert kept == ["s19", "s20", "s21"]
    assert layout.hidden == 47
    # Nothing upstream of s19 is kept, so no edge enters it; s21 -> (28 hidden) -> nothing kept.
    assert [(e.source, e.target, e.skipped) for e in layout.edges] == [
        ("s19", "s20", 0),
        ("s20", "s21", 0),
    ]
    unchanged = layout_dag(chain, {}, limit=30)
    assert [n.key for n in unchanged.nodes] == ["s00", "s49"]
    assert [(e.source, e.target, e.skipped) for e in unchanged.edges] == [("s00", "s49", 48)]


class _History:
    def __init__(self, commits, order, refs, snapshots, mainline):
        self.root = "/nowhere/repo"
        self.commits = commits
        self.order = order
        self.refs = refs
        self.default_branch = "main"
        self.mainline = mainline
        self.snapshots = snapshots
        self.shallow = False
        self.problems = ()

    def read_image(self, image_sha):
        return None


def _commit(sha, parent, subject, t):
    who = Person("Ada", "ada@example.com")
    return Commit(sha, "tree", (parent,) if parent else (), who, t, "+0000", who, t, subject, "")


def test_runs_data_has_metrics_first_directions_and_refs():
    a, b = "a" * 40, "b" * 40
    commits = {a: _commit(a, None, "first", 1), b: _commit(b, a, "second", 2)}
    snaps = {
        a: Snapshot(
            a, True, params={"params.yaml": {"lr": 0.1}}, metrics={"m.json": {"loss": 1.0}}
        ),
        b: Snapshot(
            b,
            True,
            params={"params.yaml": {"lr": 0.2}},
            metrics={"m.json": {"loss": 0.5, "auc": 0.9}},
        ),
    }
    refs = (Ref("refs/heads/main", "main", "branch", b),)
    site = SiteData(history=_History(commits, (b, a), refs, snaps, (b, a)), config=Config())
    data = runs_data(site)
    assert [(c["g"], c["k"], c["d"]) for c in data["columns"]] == [
        ("metric", "auc", 1),
        ("metric", "loss", -1),
        ("param", "lr", 0),
    ]
    first, second = data["rows"]
    assert first["s"] == b and first["p"] == a and first["r"] == [["main", "branch"]]
    assert first["v"] == [0.9, 0.5, 0.2]
    assert second["v"] == [None, 1.0, 0.1] and second["p"] is None


def test_size_and_plural_filters():
    from mlpages.site.render import human_size, plural

    assert [human_size(n) for n in (None, 0, 1023, 1834929, 5 * 1024**3)] == [
        "",
        "0 B",
        "1023 B",
        "1.7 MB",
        "5.0 GB",
    ]
    assert [plural(1, "commit"), plural(2, "commit"), plural(3, "branch")] == [
        "1 commit",
        "2 commits",
        "3 branches",
    ]


def test_branch_comparisons_in_a_ci_clone_with_remote_branches_only():
    from mlpages.site.pages.compare import branch_comparisons

    a, b, c = "a" * 40, "b" * 40, "c" * 40
    commits = {
        a: _commit(a, None, "base", 1),
        b: _commit(b, a, "main", 2),
        c: _commit(c, a, "f", 3),
    }
    refs = (
        Ref("refs/remotes/origin/main", "origin/main", "remote", b),
        Ref("refs/remotes/origin/HEAD", "origin/HEAD", "remote", b),
        Ref("refs/remotes/origin/feature", "origin/feature", "remote", c),
    )
    snaps = {sha: Snapshot(sha, True) for sha in commits}
    site = SiteData(history=_History(commits, (c, b, a), refs, snaps, (b, a)), config=Config())
    items = branch_comparisons(site)
    assert [(i["ref"].short, i["head"], i["base"], i["ahead"]) for i in items] == [
        ("origin/feature", c, a, 1)
    ]


def test_merge_base_of_merged_and_side_branches():
    """main: a - b - m (m merges f2); f1 forks at b; f2 = a - x, merged by m; side forks at x."""
    from mlpages.site.pages.compare import branch_comparisons

    a, b, x, m, f1, side = (ch * 40 for ch in "abxmfs")
    commits = {
        a: _commit(a, None, "a", 1),
        b: _commit(b, a, "b", 2),
        x: _commit(x, a, "x", 3),
        m: Commit(m, "t", (b, x), Person("A", "a@x"), 4, "+0000", Person("A", "a@x"), 4, "m", ""),
        f1: _commit(f1, b, "f1", 5),
        side: _commit(side, x, "side", 6),
    }
    refs = (
        Ref("refs/heads/main", "main", "branch", m),
        Ref("refs/heads/f1", "f1", "branch", f1),
        Ref("refs/heads/f2", "f2", "branch", x),
        Ref("refs/heads/side", "side", "branch", side),
    )
    snaps = {sha: Snapshot(sha, True) for sha in commits}
    order = (side, f1, m, x, b, a)
    site = SiteData(history=_History(commits, order, refs, snaps, (m, b, a)), config=Config())
    found = {i["ref"].short: (i["base"], i["ahead"]) for i in branch_comparisons(site)}
    assert found == {"f1": (b, 1), "f2": (x, 0), "side": (x, 1)}


def test_long_pipelines_wrap_into_columns():
    chain = tuple(
        _stage(f"s{i:02d}", deps=(f"d{i - 1}",) if i else (), outs=(f"d{i}",)) for i in range(30)
    )
    layout = layout_dag(chain)
    xs = sorted({round(n.x) for n in layout.nodes})
    assert len(xs) == 3  # 12 + 12 + 6 layers
    assert layout.height < 12 * 80 + 80
    by_key = {n.key: n for n in layout.nodes}
    assert by_key["s12"].y == by_key["s00"].y and by_key["s12"].x > by_key["s11"].x
    wrap = next(e for e in layout.edges if (e.source, e.target) == ("s11", "s12"))
    assert " V" in wrap.path and " H" in wrap.path  # routed below, across and above the nodes
