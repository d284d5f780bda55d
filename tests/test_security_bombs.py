"""YAML and template bombs committed to real repositories (issue 13, finding 4).

Each hostile file is a `too-large` problem on its commit; `history --json`, `build`, `diff` and
`registry show` finish with no traceback inside the limits of ``tests/hostile.py`` (1 GB of address
space, a timeout), so a regression fails fast instead of eating the shared machine.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from helpers.git import RepoBuilder
from helpers.hostile import BOMB_342, laughs, mapping_laughs, python_limited, run_limited

from mlpages.config import Config
from mlpages.history.cache import SnapshotCache, StageTable
from mlpages.history.collect import collect
from mlpages.models import Snapshot, Stage
from mlpages.site.urls import commit_path

DVC_YAML = """stages:
  train:
    cmd: python train.py
    params:
    - train.lr
    metrics:
    - metrics.json:
        cache: false
"""
BASE = {
    ".dvc/config": "[core]\n    analytics = false\n",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    "dvc.yaml": DVC_YAML,
    "params.yaml": "train:\n  lr: 0.1\n",
    "metrics.json": '{"acc": 0.5}\n',
}


def _under(key: str, lines: list[str]) -> str:
    """The laughs as the value of a top-level key (anchors defined before the stages)."""
    return f"{key}:\n" + "".join(f"  {line}\n" for line in lines)


def _numbers(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


LAUGHS = _under("x-laughs", laughs())
# The laughs below 8 columns of indentation: what a lock's params mapping holds.
LOCK_LAUGHS = "".join(f"        {line}\n" for line in laughs())

# branch -> (files over the base commit, the path whose problem is `too-large`)
HOSTILE: dict[str, tuple[dict[str, str], str]] = {
    "params-laughs": ({"params.yaml": BOMB_342}, "params.yaml"),
    "params-mapping-laughs": ({"params.yaml": mapping_laughs()}, "params.yaml"),
    "cmd-alias": (
        {"dvc.yaml": LAUGHS + "stages:\n  train:\n    cmd: *i\n"},
        "dvc.yaml",
    ),
    "lock-laughs": (
        {
            "dvc.lock": "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n"
            "    params:\n      params.yaml:\n" + LOCK_LAUGHS
        },
        "dvc.lock",
    ),
    "matrix-3x100": (
        {
            "dvc.yaml": "stages:\n  grid:\n    matrix:\n"
            f"      a: {_numbers(100)}\n      b: {_numbers(100)}\n      c: {_numbers(100)}\n"
            "    cmd: echo ${item.a} ${item.b} ${item.c}\n"
        },
        "dvc.yaml",
    ),
    "matrix-aliased-axes": (
        {
            "dvc.yaml": "stages:\n  grid:\n    matrix:\n"
            f"      a: &x {_numbers(100)}\n      b: *x\n      c: *x\n"
            "    cmd: echo ${key}\n"
        },
        "dvc.yaml",
    ),
    "foreach-600k": (
        {
            "dvc.yaml": "stages:\n  many:\n    foreach: ["
            + ",".join(["0"] * 600_000)
            + "]\n    do:\n      cmd: echo ${item}\n"
        },
        "dvc.yaml",
    ),
    "interpolation-doubling": (
        {
            "params.yaml": "a: [" + ",".join(["xxxxxxxx"] * 50_000) + "]\n",
            "dvc.yaml": 'stages:\n  train:\n    cmd: "' + "${a}" * 2000 + '"\n',
        },
        "dvc.yaml",
    ),
    "vars-file-laughs": (
        {
            "vars.yaml": BOMB_342,
            "dvc.yaml": "vars:\n- vars.yaml\nstages:\n  train:\n    cmd: echo ${i}\n",
        },
        "vars.yaml",
    ),
    "artifact-desc-alias": (
        {
            "dvc.yaml": LAUGHS
            + DVC_YAML
            + "artifacts:\n  model:\n    path: model.pkl\n    type: model\n    desc: *i\n"
        },
        "dvc.yaml",
    ),
    "metrics-laughs": (
        {"dvc.yaml": DVC_YAML + "metrics:\n- scores.yaml\n", "scores.yaml": BOMB_342},
        "scores.yaml",
    ),
    "plot-records-laughs": (
        {
            "dvc.yaml": DVC_YAML + "plots:\n- curve.yaml\n",
            "curve.yaml": "\n".join(laughs(8))
            + "\nrows:\n- {step: 1, v: *h}\n- {step: 2, v: *h}\n",
        },
        "curve.yaml",
    ),
    "dvc-file-laughs": (
        {"data.dvc": "\n".join(laughs()) + "\nouts:\n- path: data\n  md5: *i\n"},
        "data.dvc",
    ),
}


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory) -> RepoBuilder:
    """A base commit on main, and one branch per bomb on top of it."""
    repo = RepoBuilder(tmp_path_factory.mktemp("bombs") / "repo")
    repo.commit("base", BASE)
    for branch, (files, _path) in HOSTILE.items():
        repo.git("checkout", "-q", "-b", branch, "main")
        repo.commit(branch, files)
    repo.git("checkout", "-q", "main")
    return repo


def _too_large(problems: list[dict]) -> set[str]:
    return {p["path"] for p in problems if p["kind"] == "too-large"}


def test_history_json_shows_each_bomb_as_too_large(hostile_repo):
    out = run_limited(["history", "--json", "--no-cache"], hostile_repo.path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    commits = {c["subject"]: c["snapshot"] for c in json.loads(out.stdout)["commits"]}
    assert not commits["base"]["problems"]
    for branch, (_files, path) in HOSTILE.items():
        assert path in _too_large(commits[branch]["problems"]), (branch, commits[branch])


def test_build_completes_and_shows_the_problems(hostile_repo, tmp_path):
    site = tmp_path / "site"
    out = run_limited(["build", "--out", str(site)], hostile_repo.path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    for branch in HOSTILE:
        sha = hostile_repo.git("rev-parse", branch).strip()
        page = (site / commit_path(sha)).read_text()
        assert "too-large" in page, branch


def test_diff_of_every_bomb_branch_completes(hostile_repo):
    for branch in HOSTILE:
        out = run_limited(["diff", "main", branch, "--format", "json"], hostile_repo.path)
        assert out.returncode == 0, (branch, out.stderr[-2000:])
        assert json.loads(out.stdout)["head_problems"] >= 1, branch


def test_diff_of_a_dirty_work_tree_with_a_bomb(hostile_repo):
    repo = hostile_repo
    repo.git("checkout", "-q", "params-laughs")
    try:
        (repo.path / "metrics.json").write_text('{"acc": 0.75}\n')
        out = run_limited(["diff", "main", "--format", "json"], repo.path)
        assert out.returncode == 0, out.stderr[-2000:]
        doc = json.loads(out.stdout)
        assert doc["head_label"] == "workspace" and doc["head_problems"] >= 1
    finally:
        repo.git("checkout", "-q", "--", "metrics.json")
        repo.git("checkout", "-q", "main")


def test_registry_show_with_an_aliased_description(hostile_repo):
    repo = hostile_repo
    repo.git("checkout", "-q", "artifact-desc-alias")
    try:
        repo.git("tag", "-a", "model@v0.1.0", "-m", "Registering artifact model version v0.1.0")
        for args in (["registry", "show"], ["registry", "show", "model", "--json"]):
            out = run_limited(args, repo.path)
            assert out.returncode == 0, out.stderr[-2000:]
            assert "v0.1.0" in out.stdout and "lol" not in out.stdout
    finally:
        repo.git("tag", "-d", "model@v0.1.0")
        repo.git("checkout", "-q", "main")


@pytest.mark.parametrize(
    ("name", "body"),
    [("laughs", BOMB_342), ("mapping", mapping_laughs()), ("recursive", "a: &a [*a]\n")],
)
def test_configuration_bombs_are_one_line_errors(make_repo, name, body):
    repo = make_repo([("base", {**BASE, "mlpages.yaml": body})])
    for args in (["history", "--json"], ["build", "--out", str(repo.path / "site")]):
        out = run_limited(args, repo.path)
        assert out.returncode == 1, (name, out.stderr[-2000:])
        assert out.stderr.startswith("mlpages: error:") and "Traceback" not in out.stderr
        assert "mlpages.yaml" in out.stderr and "too large" in out.stderr


def test_pipeline_params_and_schema_bombs_are_one_line_errors(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB_342 + "validate: *i\n")
    batch = tmp_path / "batch.csv"
    batch.write_text("a,b\n1,2\n")
    cases = [
        ["validate", str(batch), "--params", str(bomb)],
        ["validate", str(batch), "--schema", str(bomb), "--params", str(tmp_path / "none.yaml")],
    ]
    for args in cases:
        out = run_limited(args, tmp_path)
        assert out.returncode == 1, (args, out.stderr[-2000:])
        assert out.stderr.startswith("mlpages: error:") and "Traceback" not in out.stderr
        assert "too large" in out.stderr


PARSER_CASES = textwrap.dedent(
    """
    import json, sys, time
    from mlpages.dvcfiles.dotdvc import parse_artifacts_yaml, parse_dvc_file
    from mlpages.dvcfiles.dvcyaml import parse_dvc_yaml
    from mlpages.dvcfiles.lock import parse_dvc_lock
    from mlpages.dvcfiles.data import parse_metrics, parse_params, parse_plot_table

    cases = json.loads(open(sys.argv[1]).read())
    files = cases.pop("files")
    parsers = {
        "params": lambda d: parse_params(d, "params.yaml")[1],
        "metrics": lambda d: parse_metrics(d, "m.yaml")[1],
        "plot": lambda d: parse_plot_table(d, "p.yaml")[1],
        "lock": lambda d: parse_dvc_lock(d, "dvc.lock").problems,
        "dvcfile": lambda d: parse_dvc_file(d, "x.dvc")[1],
        "artifacts": lambda d: parse_artifacts_yaml(d, "artifacts.yaml")[1],
        "dvc.yaml": lambda d: parse_dvc_yaml(
            d, "dvc.yaml", lambda p: files.get(p, "").encode() or None
        ).problems,
    }
    result = {}
    for name, (parser, text) in cases.items():
        started = time.perf_counter()
        problems = parsers[parser](text.encode())
        result[name] = [sorted({p.kind for p in problems}), time.perf_counter() - started]
    print(json.dumps(result))
    """
)


def test_pure_parsers_refuse_bombs_quickly(tmp_path):
    """Each parser on its bomb, in one child process: a `too-large` problem every time."""
    cases = {
        "params-laughs": ["params", BOMB_342],
        "params-mapping": ["params", mapping_laughs()],
        "params-recursive": ["params", "a: &a {b: *a}\n"],
        "metrics-laughs": ["metrics", BOMB_342],
        "plot-laughs": ["plot", HOSTILE["plot-records-laughs"][0]["curve.yaml"]],
        "lock-laughs": ["lock", HOSTILE["lock-laughs"][0]["dvc.lock"]],
        "lock-sections": [
            "lock",
            "schema: '2.0'\nstages:\n"
            + "".join(
                f"  s{n}:\n    cmd: x\n    params:\n      params.yaml:\n{LOCK_LAUGHS}"
                for n in range(3)
            ),
        ],
        "lock-1.x": ["lock", BOMB_342 + "train: {cmd: *i}\n"],
        "dvcfile-laughs": ["dvcfile", HOSTILE["dvc-file-laughs"][0]["data.dvc"]],
        "artifacts-laughs": ["artifacts", BOMB_342 + "model: {path: m.pkl, desc: *i}\n"],
        "dvc.yaml-cmd-alias": ["dvc.yaml", HOSTILE["cmd-alias"][0]["dvc.yaml"]],
        "dvc.yaml-matrix": ["dvc.yaml", HOSTILE["matrix-3x100"][0]["dvc.yaml"]],
        "dvc.yaml-matrix-aliased": ["dvc.yaml", HOSTILE["matrix-aliased-axes"][0]["dvc.yaml"]],
        "dvc.yaml-foreach": ["dvc.yaml", HOSTILE["foreach-600k"][0]["dvc.yaml"]],
        "dvc.yaml-doubling": ["dvc.yaml", HOSTILE["interpolation-doubling"][0]["dvc.yaml"]],
        "dvc.yaml-desc": ["dvc.yaml", HOSTILE["artifact-desc-alias"][0]["dvc.yaml"]],
        "files": {
            "params.yaml": HOSTILE["interpolation-doubling"][0]["params.yaml"],
        },
    }
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps(cases))
    script = tmp_path / "cases.py"
    script.write_text(PARSER_CASES)
    out = python_limited(
        f"import runpy, sys; sys.argv = ['x', {str(spec)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    for name, (kinds, _seconds) in result.items():
        assert "too-large" in kinds, (name, kinds)


def test_stage_budget_per_commit(make_repo):
    """Three dvc.yaml files of two stages each, against a budget of three stages."""
    stage = "stages:\n  a:\n    cmd: echo a\n  b:\n    cmd: echo b\n"
    repo = make_repo(
        [("three", {**BASE, "dvc.yaml": stage, "x/dvc.yaml": stage, "y/dvc.yaml": stage})]
    )
    snapshot = next(
        iter(collect(repo.path, Config(max_stages=3), use_cache=False).snapshots.values())
    )
    # Files are read in path order until the budget is spent: one file may overshoot it.
    assert [p.path for p in snapshot.problems if p.kind == "too-large"] == ["y/dvc.yaml"]
    assert len(snapshot.stages) == 4
    full = next(iter(collect(repo.path, Config(), use_cache=False).snapshots.values()))
    assert len(full.stages) == 6 and not full.problems


def test_node_budget_is_a_setting(make_repo):
    params = "train:\n  lr: 0.1\n" + "".join(f"  k{i}: {i}\n" for i in range(300))
    repo = make_repo([("many keys", {**BASE, "params.yaml": params})])
    small = next(
        iter(collect(repo.path, Config(max_yaml_nodes=200), use_cache=False).snapshots.values())
    )
    assert [p.path for p in small.problems if p.kind == "too-large"] == ["params.yaml"]
    default = next(iter(collect(repo.path, Config(), use_cache=False).snapshots.values()))
    assert default.params["params.yaml"]["train.k299"] == 299 and not default.problems


def test_snapshot_cache_skips_rows_over_its_size_cap(tmp_path):
    """A row above the cap is not written (the build keeps the snapshot in memory instead)."""
    big = Stage(name="big", dvcfile="dvc.yaml", wdir=".", cmd="x" * 200_000)
    small = Stage(name="small", dvcfile="dvc.yaml", wdir=".", cmd="echo")
    stages = StageTable()
    cache = SnapshotCache(tmp_path, Config(), stages, max_row_bytes=100_000)
    assert cache.store(Snapshot(sha="a" * 40, has_dvc=True, stages=(big,)), []) is None
    assert cache.store(Snapshot(sha="b" * 40, has_dvc=True, stages=(small,)), []) is not None
    cache.close()
    again = SnapshotCache(tmp_path, Config(), StageTable())
    assert set(again.load(["a" * 40, "b" * 40])) == {"b" * 40}
    again.close()


def test_the_documented_bomb_is_342_bytes():
    assert len(BOMB_342) == 342
