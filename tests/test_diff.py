"""The PR markdown (golden files) and the `mlpages diff` command on real git + DVC repositories.

Regenerate the golden files after an intended change with
``MLPAGES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_diff.py`` and review the git diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from helpers.cli import mlpages
from helpers.dvc import dvc
from helpers.git import git
from helpers.snapshots import locked, snap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpages.compare.diff import compare_snapshots
from mlpages.compare.markdown import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    escape_cell,
    format_relative,
    format_value,
    github_length,
    render_markdown,
)
from mlpages.config import Config
from mlpages.models import HashInfo, Problem, Snapshot
from mlpages.site.urls import compare_path

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MLPAGES_UPDATE_GOLDEN") == "1"
NAN, INF = float("nan"), float("inf")
BASE_SHA, HEAD_SHA = "1" * 40, "2" * 40


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with MLPAGES_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (MLPAGES_UPDATE_GOLDEN=1)"


# --- golden fixtures ----------------------------------------------------------------------------


def fixture_numbers() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={
            "metrics.json": {
                "test.roc_auc": 0.812345678,
                "test.log_loss": 0.4321,
                "test.accuracy": 0.75,
                "train.rows": 12000,
                "latency_ms": 12.5,
                "big": 123456.789,
                "tiny": 1.23e-7,
                "unchanged": 0.5,
            }
        },
        params={"params.yaml": {"train.lr": 0.1, "train.depth": 6, "train.loss": "log_loss"}},
    )
    head = snap(
        HEAD_SHA,
        metrics={
            "metrics.json": {
                "test.roc_auc": 0.83,
                "test.log_loss": 0.4512,
                "test.accuracy": 0.7,
                "train.rows": 14000,
                "latency_ms": 9.75,
                "big": 123457.1,
                "tiny": 2e-7,
                "unchanged": 0.5,
            }
        },
        params={"params.yaml": {"train.lr": 0.05, "train.depth": 6, "train.loss": "hinge"}},
    )
    return base, head


def fixture_nan_inf() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={"metrics.json": {"a": NAN, "b": 0.9, "c": INF, "d": -INF, "e": NAN, "f": 1.0}},
    )
    head = snap(
        HEAD_SHA,
        metrics={"metrics.json": {"a": 0.9, "b": NAN, "c": 1.0, "d": -INF, "e": NAN, "f": INF}},
    )
    return base, head


def fixture_missing_one_side() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={"metrics.json": {"precision": 0.6, "recall": 0.5}},
        params={"params.yaml": {"train.seed": 1, "train.class_weight": "balanced"}},
    )
    head = snap(
        HEAD_SHA,
        metrics={"metrics.json": {"precision": 0.62, "f1": 0.55}},
        params={"params.yaml": {"train.seed": 1, "train.max_iter": 200}},
    )
    return base, head


def fixture_new_metric_file() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={"metrics.json": {"roc_auc": 0.8}, "old/scores.json": {"auc": 0.79}},
    )
    head = snap(
        HEAD_SHA,
        metrics={
            "metrics.json": {"roc_auc": 0.8},
            "eval/slices.json": {"region.north.roc_auc": 0.81, "region.south.roc_auc": 0.77},
        },
    )
    return base, head


def fixture_unreadable_metrics() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={"metrics.json": {"roc_auc": 0.8}, "eval/live.json": {"step": 10, "acc": 0.7}},
        problems=(Problem("not-in-cache", "eval/cnn/metrics.json", "not in the DVC cache"),),
    )
    head = snap(
        HEAD_SHA,
        metrics={"metrics.json": {"roc_auc": 0.82}, "eval/cnn/metrics.json": {"acc": 0.91}},
        problems=(Problem("json-error", "eval/live.json", "Expecting value: line 1 column 1"),),
    )
    return base, head


def fixture_renamed_params() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        params={"params.yaml": {"train.n_est": 50, "train.lr": 0.1, "featurize.window": 8}},
    )
    head = snap(
        HEAD_SHA,
        params={
            "params.yaml": {"train.n_estimators": 50, "train.lr": 0.1, "ingest.window_weeks": 8}
        },
    )
    return base, head


def fixture_pipeline_data_gate() -> tuple[Snapshot, Snapshot]:
    raw_v1 = HashInfo("data/raw", "0123456789abcdef0123456789abcdef.dir", "md5", 512_000, 8)
    raw_v2 = HashInfo("data/raw", "fedcba9876543210fedcba9876543210.dir", "md5", 576_000, 9)
    code = HashInfo("src/pkg/train.py", "aaaa1111aaaa1111aaaa1111aaaa1111", "md5", 900)
    features = HashInfo("data/features", "bbbb2222bbbb2222bbbb2222bbbb2222.dir", "md5")
    features2 = HashInfo("data/features", "cccc3333cccc3333cccc3333cccc3333.dir", "md5")
    model_v1 = HashInfo("model.pkl", "dddd4444dddd4444dddd4444dddd4444", "md5", 4096)
    model_v2 = HashInfo("model.pkl", "eeee5555eeee5555eeee5555eeee5555", "md5", 4100)
    base = snap(
        BASE_SHA,
        tracked=(raw_v1,),
        metrics={"metrics.json": {"test.roc_auc": 0.8}},
        stages=(
            locked("featurize", cmd="python -m pkg.featurize", deps=(raw_v1,), outs=(features,)),
            locked(
                "train",
                cmd="python -m pkg.train",
                deps=(features, code),
                outs=(model_v1,),
                params=(("params.yaml:train.lr", 0.1),),
            ),
        ),
    )
    head = snap(
        HEAD_SHA,
        tracked=(raw_v2,),
        metrics={"metrics.json": {"test.roc_auc": 0.74}},
        stages=(
            locked("featurize", cmd="python -m pkg.featurize", deps=(raw_v2,), outs=(features2,)),
            locked(
                "train",
                cmd="python -m pkg.train --balanced",
                deps=(features2, code),
                outs=(model_v2,),
                params=(("params.yaml:train.lr", 0.1),),
            ),
            locked("gate", cmd="mlpages gate", deps=(model_v2,)),
        ),
        reports={
            "gate": {
                "verdict": "rejected",
                "rubber_stamp": False,
                "champion": {"version": "v1.3.0", "sha": "9" * 40, "source": "registry"},
                "rules": [
                    {"rule": "floor", "metric": "test.roc_auc", "passed": True, "reason": "ok"},
                    {
                        "rule": "non_inferiority",
                        "metric": "test.roc_auc",
                        "passed": False,
                        "reason": "test.roc_auc 0.74 < champion 0.80 - margin 0.01",
                    },
                ],
                "reasons": ["test.roc_auc 0.74 < champion 0.80 - margin 0.01"],
            }
        },
    )
    return base, head


def fixture_rubber_stamp() -> tuple[Snapshot, Snapshot]:
    base = snap(BASE_SHA)
    head = snap(
        HEAD_SHA,
        metrics={"metrics.json": {"test.roc_auc": 0.8}},
        reports={
            "gate": {
                "verdict": "blessed",
                "rubber_stamp": True,
                "champion": None,
                "rules": [],
                "reasons": ["first model: approved on absolute floors only"],
            }
        },
    )
    return base, head


def fixture_untrusted() -> tuple[Snapshot, Snapshot]:
    evil = "<img src=x onerror=alert(1)> | @octocat `code` <!-- mlpages-report -->"
    base = snap(BASE_SHA, metrics={"m.json": {evil: 1.0}}, params={"p.yaml": {"k": evil}})
    head = snap(
        HEAD_SHA,
        metrics={"m.json": {evil: 2.0}},
        params={"p.yaml": {"k": "ok\nsecond line"}},
        stages=(locked("train`x", cmd="echo"),),
        reports={"gate": {"verdict": "blessed", "reasons": [evil]}},
        problems=(),
    )
    return base, head


def fixture_empty() -> tuple[Snapshot, Snapshot]:
    same = {"metrics": {"m.json": {"x": 1.0}}, "params": {"p.yaml": {"a": 1}}}
    return snap(BASE_SHA, **same), snap(HEAD_SHA, **same)


def fixture_huge() -> tuple[Snapshot, Snapshot]:
    base = snap(
        BASE_SHA,
        metrics={"metrics.json": {f"slice_{i:05d}.roc_auc": 0.5 + i / 10_000 for i in range(4000)}},
        params={"params.yaml": {f"grid.p{i:04d}": i for i in range(600)}},
    )
    head = snap(
        HEAD_SHA,
        metrics={"metrics.json": {f"slice_{i:05d}.roc_auc": 0.6 + i / 10_000 for i in range(4000)}},
        params={"params.yaml": {f"grid.p{i:04d}": i + 1 for i in range(600)}},
    )
    return base, head


FIXTURES = {
    "numbers": (fixture_numbers, {}),
    "nan_inf": (fixture_nan_inf, {}),
    "missing_one_side": (fixture_missing_one_side, {"base_label": "main", "head_label": "feature"}),
    "new_metric_file": (fixture_new_metric_file, {}),
    "renamed_params": (fixture_renamed_params, {}),
    "unreadable_metrics": (fixture_unreadable_metrics, {}),
    "pipeline_data_gate": (
        fixture_pipeline_data_gate,
        {"site_url": "https://acme.github.io/churn/compare/feature-x.html"},
    ),
    "rubber_stamp": (fixture_rubber_stamp, {"head_label": "workspace"}),
    "untrusted": (fixture_untrusted, {}),
    "empty": (fixture_empty, {}),
    "huge": (fixture_huge, {}),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_golden_markdown(name):
    build, options = FIXTURES[name]
    base, head = build()
    text = render_markdown(compare_snapshots(base, head, Config()), **options)
    assert text.startswith(MARKER + "\n")
    assert text.count(MARKER) == 1
    assert github_length(text) <= GITHUB_COMMENT_LIMIT
    assert_golden(name, text)


def test_huge_diff_truncates_with_a_note_and_keeps_both_tables():
    base, head = fixture_huge()
    text = render_markdown(compare_snapshots(base, head))
    assert 60_000 < github_length(text) <= GITHUB_COMMENT_LIMIT
    assert "Truncated to fit GitHub's 65,536-character comment limit" in text
    assert "#### Metrics" in text and "#### Params" in text
    hidden = [int(n) for n in re.findall(r"_… (\d+) more not shown\._", text)]
    shown_rows = sum(1 for line in text.splitlines() if line.startswith("| metrics.json"))
    assert hidden and shown_rows + hidden[0] == 4000


def test_small_limit_still_respected():
    base, head = fixture_pipeline_data_gate()
    for limit in (400, 1000, 3000):
        text = render_markdown(compare_snapshots(base, head), limit=limit)
        assert github_length(text) <= limit
        assert text.startswith(MARKER)


def test_untrusted_text_is_inert():
    base, head = fixture_untrusted()
    text = render_markdown(compare_snapshots(base, head))
    assert "<img" not in text and "@octocat" not in text
    assert text.count("<!--") == 1  # only our own marker: a payload cannot fake it
    for line in text.splitlines():
        if line.startswith("| m.json"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) == 7  # an injected pipe does not add a column


def test_value_formatting_matches_dvc_rules():
    assert format_value(0.123456789) == "0.12346"
    assert format_value(123456.789) == "123456.789"
    assert format_value(3) == "3"
    assert format_value(None) == "-"
    assert format_value(NAN) == "nan" and format_value(-INF) == "-inf"
    assert format_value(1.23e-7) == "1.23e-07"  # DVC would print 0.0
    assert format_value(True) == "True"
    assert format_relative(0.125) == "+12.5%"
    assert format_relative(-0.00001) == "-0.001%"
    assert format_relative(None) == "-"
    assert escape_cell("a|b") == "a\\|b"


# --- real repositories: `dvc metrics diff --md` agrees with us ----------------------------------


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """Cells of the markdown table whose first header is ``first_header`` (header row excluded)."""
    rows: list[list[str]] = []
    inside = False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0] == first_header:
            inside = True
            continue
        if inside and not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return rows


METRICS_V1 = (
    '{"test": {"roc_auc": 0.812345678, "log_loss": 0.4321, "rows": 100}, "model": "rf",'
    ' "gone": 1.5, "same": 0.5, "nan_metric": NaN}'
)
METRICS_V2 = (
    '{"test": {"roc_auc": 0.83, "log_loss": 0.4512, "rows": 120}, "model": "gbm",'
    ' "new": 2.25, "same": 0.5, "nan_metric": 1.0}'
)
DVC_YAML = """\
metrics:
  - metrics.json
params:
  - params.yaml
stages:
  train:
    cmd: python -c "print('train')"
    params:
      - train
"""


@pytest.fixture
def dvc_repo(make_repo):
    repo = make_repo()
    base = repo.commit(
        "v1",
        {
            # What `dvc init` writes (without spawning it: the diff tests only read).
            ".dvc/config": "[core]\n    analytics = false\n",
            ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
            "dvc.yaml": DVC_YAML,
            "params.yaml": "train:\n  lr: 0.1\n  n_est: 50\n  loss: log_loss\n  seed: null\n",
            "metrics.json": METRICS_V1,
        },
    )
    head = repo.commit(
        "v2",
        {
            "params.yaml": "train:\n  lr: 0.05\n  n_estimators: 50\n  loss: log_loss\n  seed: 7\n",
            "metrics.json": METRICS_V2,
        },
    )
    return repo, base, head


@pytest.mark.slow
def test_tables_agree_with_dvc(dvc_repo):
    repo, base, head = dvc_repo
    ours = mlpages("diff", base, head, cwd=repo.path)
    assert ours.returncode == 0, ours.stderr
    dvc_metrics = table_rows(dvc(repo.path, "metrics", "diff", base, head, "--md").stdout, "Path")
    our_metrics = [row[:5] for row in table_rows(ours.stdout, "Path") if len(row) == 7]
    assert dvc_metrics, "dvc printed no metrics table"
    # Same rows and cells (header labels aside); NaN -> 1.0 is a change for both.
    assert sorted(our_metrics) == sorted(dvc_metrics)
    dvc_params = table_rows(dvc(repo.path, "params", "diff", base, head, "--md").stdout, "Path")
    our_params = [row for row in table_rows(ours.stdout, "Path") if len(row) == 4]
    assert dvc_params and our_params == dvc_params


@pytest.mark.slow
def test_cli_json_and_defaults(dvc_repo):
    repo, base, head = dvc_repo
    out = mlpages("diff", "--format", "json", cwd=repo.path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # On the default branch with a clean tree the default base is HEAD's parent.
    assert (data["base"], data["head"]) == (base, head)
    statuses = {m["key"]: m["status"] for m in data["metrics"]}
    assert statuses["test.roc_auc"] == "better" and statuses["test.log_loss"] == "worse"
    assert statuses["gone"] == "removed" and statuses["new"] == "added"

    # A dirty work tree is compared with the merge-base (here: HEAD) by default.
    (repo.path / "metrics.json").write_text(METRICS_V2.replace("0.83", "0.9"))
    out = mlpages("diff", "--site-url", "https://example.org/site/", cwd=repo.path)
    assert out.returncode == 0, out.stderr
    assert "`workspace`" in out.stdout
    roc = next(r for r in table_rows(out.stdout, "Path") if r[1] == "test.roc_auc")
    assert roc[2:7] == ["0.83", "0.9", "0.07", "+8.4%", "🟢 better"]
    assert "](https://example.org/site/compare.html)" in out.stdout  # main: the picker


@pytest.mark.slow
def test_cli_feature_branch_uses_merge_base(dvc_repo):
    repo, _base, head = dvc_repo
    repo.git("checkout", "-q", "-b", "feature")
    feature = repo.commit("feature", {"metrics.json": METRICS_V2.replace("0.83", "0.85")})
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", {"README.md": "hi"})
    repo.git("checkout", "-q", "feature")
    out = mlpages("diff", "--format", "json", "--site-url", "https://x.org", cwd=repo.path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["base"], data["head"]) == (head, feature)
    assert data["site_url"] == "https://x.org/" + compare_path("feature")

    # A CI checkout of the pull request: detached, the branch only as origin/feature.
    repo.git("checkout", "-q", "main")
    ci = repo.path.parent / "ci"
    git(repo.path.parent, "clone", "-q", str(repo.path), str(ci))
    git(ci, "checkout", "-q", "--detach", feature)
    out = mlpages("diff", head, "--branch", "feature", "--site-url", "https://x.org/", cwd=ci)
    assert out.returncode == 0, out.stderr
    assert f"](https://x.org/{compare_path('origin/feature')})" in out.stdout
    out = mlpages("diff", head, "--branch", "from-a-fork", "--site-url", "https://x.org/", cwd=ci)
    assert "](https://x.org/compare.html)" in out.stdout


def test_cli_errors_are_one_line(tmp_path, make_repo):
    out = mlpages("diff", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith("mlpages: error:") and "Traceback" not in out.stderr
    repo = make_repo(commits=[("one", {"a.txt": "1"}), ("two", {"a.txt": "2"})])
    out = mlpages("diff", "no-such-rev", "HEAD", cwd=repo.path)
    assert out.returncode == 1 and "no-such-rev" in out.stderr and "Traceback" not in out.stderr
    out = mlpages("diff", cwd=repo.path)
    assert out.returncode == 1 and "no DVC files" in out.stderr

    shallow = repo.path.parent / "shallow"
    git(repo.path.parent, "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow))
    for args in (["HEAD~1"], []):
        out = mlpages("diff", *args, cwd=shallow)
        assert out.returncode == 1 and "fetch-depth: 0" in out.stderr, out.stderr


def test_note_is_shown_escaped_and_counted_in_the_limit():
    base, head = fixture_huge()
    note = "dvc repro failed <script>; see the job log"
    text = render_markdown(compare_snapshots(base, head), note=note)
    assert "⚠️ dvc repro failed &lt;script&gt;; see the job log" in text.splitlines()
    assert github_length(text) <= GITHUB_COMMENT_LIMIT


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
metric_maps = st.dictionaries(st.text(min_size=1, max_size=40), values, max_size=25)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=metric_maps,
    new=metric_maps,
    path=st.text(min_size=1, max_size=20),
    limit=st.integers(800, 6000),
)
def test_any_metrics_render_inert_and_within_the_limit(old, new, path, limit):
    base = snap(BASE_SHA, metrics={path: old}, params={path: old})
    head = snap(HEAD_SHA, metrics={path: new}, params={path: new})
    text = render_markdown(compare_snapshots(base, head), limit=limit)
    assert github_length(text) <= limit
    assert text.startswith(MARKER + "\n")
    # Outside code spans (where GitHub shows text literally) no tag or comment can start.
    prose = re.sub(r"`[^`]*`", "", text.removeprefix(MARKER))
    for tag in ("<sub>", "</sub>", "<code>", "</code>"):
        prose = prose.replace(tag, "")
    assert "<" not in prose
    widths = {7: "metrics", 4: "params", 8: "data"}
    for line in text.splitlines():
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in widths, line
