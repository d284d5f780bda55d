"""Snapshots of real repositories: a real `dvc repro` history, odd commits, the snapshot cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import pytest
from helpers.dvc import dvc
from helpers.git import IDENTITY, RepoBuilder, git

from mlpages.config import Config
from mlpages.errors import NotADvcRepository
from mlpages.history.codec import snapshot_from_json, snapshot_to_json
from mlpages.history.collect import collect, snapshot_of
from mlpages.models import encode_value
from mlpages.objects.dvcconfig import cache_dir_of
from mlpages.objects.local import LocalCache


def _asdict_json(snapshot: Any) -> Any:
    """The documented JSON form the slow, obvious way: ``asdict`` with NaN/Inf tagged."""

    def encode(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {str(k): encode(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [encode(v) for v in obj]
        return encode_value(obj)

    return encode(asdict(snapshot))


TRAIN = """import json, sys, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
json.dump({"acc": p["lr"] * 5, "test": {"f1": 0.5}}, open("metrics.json", "w"))
open("loss.csv", "w").write("step,loss\\n" + "".join(f"{i},{1/(i+1)}\\n" for i in range(5)))
import os; os.makedirs("eval", exist_ok=True)
json.dump({"auc": p["lr"]}, open("eval/scores.json", "w"))
open("model.bin", "w").write(str(p["lr"]))
"""

DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    outs: [model.bin, eval]
    metrics:
    - metrics.json:
        cache: false
    plots:
    - loss.csv:
        x: step
        y: loss
metrics:
- eval/scores.json
"""


@pytest.fixture(scope="module")
def real_dvc_repo(tmp_path_factory) -> RepoBuilder:
    """A real DVC repository: `dvc add` of a folder, two `dvc repro` runs, a tag."""
    repo = RepoBuilder(tmp_path_factory.mktemp("dvc") / "repo")
    dvc(repo.path, "init", "-q")
    repo.write({"train.py": TRAIN, "dvc.yaml": DVC_YAML, "params.yaml": "train:\n  lr: 0.1\n"})
    repo.write({"data/raw/a.csv": "x\n1\n", "data/raw/b.csv": "x\n2\n"})
    dvc(repo.path, "add", "-q", "data/raw")
    dvc(repo.path, "repro", "-q")
    repo.commit("first run")
    repo.write({"params.yaml": "train:\n  lr: 0.2\n"})
    dvc(repo.path, "repro", "-q")
    repo.commit("second run")
    repo.git("tag", "-a", "v1", "-m", "release")
    return repo


def test_real_dvc_history(real_dvc_repo):
    history = collect(real_dvc_repo.path, Config(), use_cache=False)
    assert len(history.order) == 2 and history.default_branch == "main"
    assert [r.short for r in history.refs_at(history.order[0])] == ["main", "v1"]
    head = history.snapshots[history.order[0]]
    assert head.has_dvc and head.problems == ()
    (stage,) = head.stages
    assert stage.locked and stage.lock_params == (("params.yaml:train.lr", 0.2),)
    assert {h.path for h in stage.lock_outs} == {"eval", "loss.csv", "metrics.json", "model.bin"}
    assert head.params == {"params.yaml": {"train.lr": 0.2}}
    assert head.metrics["metrics.json"] == {"acc": 1.0, "test.f1": 0.5}
    assert head.metrics["eval/scores.json"] == {"auc": 0.2}  # inside a cached folder (.dir)
    loss = head.plot_data["loss.csv"]
    assert loss.source == "cache" and loss.rows[0] == (0, 1.0) and loss.columns == ("step", "loss")
    assert head.tracked[0].path == "data/raw" and head.tracked[0].is_dir
    first = history.snapshots[history.order[1]]
    assert first.metrics["eval/scores.json"] == {"auc": 0.1}


def test_objects_missing_from_the_cache_are_problems_then_recomputed(real_dvc_repo, tmp_path):
    repo = tmp_path / "copy"
    shutil.copytree(real_dvc_repo.path, repo)
    cache = cache_dir_of(repo)
    saved = tmp_path / "saved-cache"
    shutil.move(cache, saved)
    history = collect(repo, Config())
    head = history.snapshots[history.order[0]]
    kinds = {(p.kind, p.path) for p in head.problems}
    assert ("not-in-cache", "loss.csv") in kinds
    assert ("not-in-cache", "eval/scores.json") in kinds
    assert head.plot_data["loss.csv"].kind == "missing"
    assert "metrics.json" in head.metrics  # in git: unaffected
    assert collect(repo, Config()).computed == 0
    shutil.move(saved, cache)  # `dvc pull`: the cached snapshots are refreshed
    again = collect(repo, Config())
    assert again.computed == 2
    assert again.snapshots[again.order[0]].problems == ()


def test_snapshot_cache_second_collect_and_one_new_commit(make_repo):
    repo = make_repo(
        [
            (
                f"c{i}",
                {
                    ".dvc/config": "",
                    "params.yaml": f"lr: {i}\n",
                    "m.json": f'{{"a": {i}}}',
                    "dvc.yaml": "metrics: [m.json]\n",
                },
            )
            for i in range(5)
        ]
    )
    first = collect(repo.path, Config())
    assert first.computed == 5
    assert (repo.path / ".git" / "mlpages-cache").is_dir()
    second = collect(repo.path, Config())
    assert second.computed == 0
    for sha in first.order:
        assert second.snapshots[sha] == first.snapshots[sha]
    repo.commit("new", {"m.json": '{"a": 99}'})
    third = collect(repo.path, Config())
    assert third.computed == 1
    assert third.snapshots[repo.head()].metrics == {"m.json": {"a": 99}}
    other = collect(repo.path, Config(cache_dir="elsewhere"))  # another cache: all recomputed
    assert other.computed == 6 and (repo.path / "elsewhere").is_dir()
    assert collect(repo.path, Config(max_plot_rows=7)).computed == 6  # settings are in the key


def _odd_history(make_repo) -> RepoBuilder:
    big = '{"a": ' + " " * 2000 + "1}"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    return make_repo(
        [
            ("no dvc yet", {"README.md": "hello"}),
            (
                "pipeline",
                {
                    ".dvc/config": "",
                    "dvc.yaml": "stages:\n  t:\n    cmd: run\n    params: [lr]\n"
                    "    metrics:\n    - m.json:\n        cache: false\n"
                    "plots:\n- figs\nparams: [conf.py]\nmetrics: [dvclive/metrics.json]\n",
                    "params.yaml": "lr: 0.1\n",
                    "conf.py": "EPOCHS = 3\nclass Net:\n    depth = 4\n",
                    "m.json": '{"acc": 0.5, "bad": NaN}',
                    "figs/roc.png": png,
                    "figs/pr.csv": "r,p\n0,1\n",
                    "dvclive/dvc.yaml": "metrics:\n- metrics.json\nplots:\n- plots/acc.tsv\n",
                    "dvclive/metrics.json": '{"step": 3}',
                    "dvclive/plots/acc.tsv": "step\tacc\n0\t0.5\n",
                    "reports/gate.json": '{"verdict": "blessed", "reasons": ["ok"]}',
                    "artifacts.yaml": "legacy:\n  path: m.pkl\n  type: model\n",
                },
            ),
            ("broken yaml", {"dvc.yaml": "stages: [\n", "params.yaml": b"\x00\x01\x02"}),
            ("huge metrics", {"dvc.yaml": "metrics: [m.json]\n", "m.json": big}),
            ("bad report", {"reports/gate.json": "{not json"}),
        ]
    )


def test_odd_commits_never_stop_the_others(make_repo):
    repo = _odd_history(make_repo)
    history = collect(repo.path, Config(max_file_bytes=1000), use_cache=False)
    snaps = [history.snapshots[sha] for sha in reversed(history.order)]
    assert not snaps[0].has_dvc and snaps[0].problems == ()
    good = snaps[1]
    assert good.problems == ()
    assert good.params["params.yaml"] == {"lr": 0.1}
    assert good.params["conf.py"] == {"EPOCHS": 3, "Net.depth": 4}
    assert good.metrics["m.json"]["acc"] == 0.5 and good.metrics["m.json"]["bad"] != 0
    assert good.metrics["dvclive/metrics.json"] == {"step": 3}
    assert good.reports["gate"]["verdict"] == "blessed"
    assert good.artifacts[0].name == "legacy"
    figs = next(p for p in good.plots if p.id == "figs")
    assert figs.files == ("figs/pr.csv", "figs/roc.png")
    image = good.plot_data["figs/roc.png"]
    assert image.kind == "image" and image.image_ext == "png"
    assert history.read_image(image.image_sha).startswith(b"\x89PNG")
    assert good.plot_data["dvclive/plots/acc.tsv"].rows == ((0, 0.5),)
    kinds = {p.kind for p in snaps[2].problems}
    assert {"yaml-error", "binary"} <= kinds
    assert {p.kind for p in snaps[3].problems} == {"too-large", "binary"}  # params.yaml stays
    assert {p.kind for p in snaps[4].problems} == {"too-large", "binary", "json-error"}
    history.close()


def test_history_cli_json_schema(make_repo):
    repo = _odd_history(make_repo)
    env = {**os.environ, **IDENTITY}
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "history", str(repo.path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert doc["schema"] == 1
    assert set(doc) == {
        "schema",
        "root",
        "default_branch",
        "shallow",
        "problems",
        "refs",
        "mainline",
        "commits",
        "stages",
    }
    assert doc["default_branch"] == "main" and len(doc["commits"]) == 5
    commit = doc["commits"][0]
    assert set(commit) == {
        "sha",
        "parents",
        "author",
        "author_time",
        "author_tz",
        "committer",
        "commit_time",
        "subject",
        "body",
        "refs",
        "snapshot",
    }
    assert commit["refs"] == ["refs/heads/main"]
    good = next(c for c in doc["commits"] if c["subject"] == "pipeline")["snapshot"]
    assert good["metrics"]["m.json"]["bad"] == {"$float": "nan"}
    stage_ids = good["stages"]
    good["stages"] = [doc["stages"][i] for i in stage_ids]
    snapshot = snapshot_from_json(good)
    assert snapshot.stages[0].name == "t"
    assert snapshot_to_json(snapshot) == _asdict_json(snapshot)
    strict = subprocess.run(
        [sys.executable, "-m", "mlpages", "history", str(repo.path), "--strict"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert strict.returncode == 1 and "problems" in strict.stderr


def test_no_dvc_at_all_is_a_clear_error(make_repo):
    repo = make_repo([("only code", {"a.py": "print(1)"})])
    with pytest.raises(NotADvcRepository, match="dvc init"):
        collect(repo.path, Config())


def test_shallow_clone_says_fetch_depth(make_repo, tmp_path):
    origin = make_repo([(f"c{i}", {".dvc/config": "", "p.yaml": str(i)}) for i in range(3)], "o")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin.path}", str(clone))
    history = collect(clone, Config())
    assert history.shallow and len(history.order) == 1
    assert any("fetch-depth: 0" in p.message for p in history.problems)


def test_partial_clone_missing_blobs_are_problems(make_repo, tmp_path):
    files = {".dvc/config": "", "dvc.yaml": "metrics: [m.json]\n"}
    origin = make_repo(
        [("one", {**files, "m.json": '{"a": 1}'}), ("two", {"m.json": '{"a": 2}'})], "o"
    )
    origin.git("config", "uploadpack.allowFilter", "true")
    clone, treeless = tmp_path / "partial", tmp_path / "treeless"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{origin.path}", str(clone))
    git(tmp_path, "clone", "-q", "--filter=tree:0", f"file://{origin.path}", str(treeless))
    shutil.rmtree(origin.path)
    history = collect(clone, Config(), use_cache=False)
    old = history.snapshots[history.order[1]]
    assert [p.kind for p in old.problems] == ["missing-blob"]
    assert history.snapshots[history.order[0]].metrics == {"m.json": {"a": 2}}
    history = collect(treeless, Config(), use_cache=False)
    assert history.snapshots[history.order[1]].problems[0].message == "the commit's tree is missing"
    assert history.snapshots[history.order[0]].metrics == {"m.json": {"a": 2}}


def test_snapshot_of_rev_and_work_tree(real_dvc_repo):
    tagged = snapshot_of(real_dvc_repo.path, "v1", Config())
    assert tagged.params == {"params.yaml": {"train.lr": 0.2}}
    first = snapshot_of(real_dvc_repo.path, "HEAD~1", Config())
    assert first.params == {"params.yaml": {"train.lr": 0.1}}
    work = snapshot_of(real_dvc_repo.path, None, Config())
    assert work.sha == "" and work.metrics["metrics.json"]["acc"] == 1.0
    assert work.metrics["eval/scores.json"] == {"auc": 0.2}


def test_extra_object_source_is_tried_after_the_local_cache(real_dvc_repo, tmp_path):
    repo = tmp_path / "copy"
    shutil.copytree(real_dvc_repo.path, repo)
    remote_dir = tmp_path / "remote"
    shutil.move(cache_dir_of(repo), remote_dir)

    # A second cache folder standing for a remote, after the (now empty) local cache.
    sources = [LocalCache(cache_dir_of(repo)), LocalCache(remote_dir, name="remote")]
    history = collect(repo, Config(), sources=sources, use_cache=False)
    head = history.snapshots[history.order[0]]
    assert head.problems == ()
    assert head.plot_data["loss.csv"].source == "remote"


def test_legacy_cache_layout_and_cache_dir_setting(make_repo, tmp_path):
    data = b'{"acc": 0.75}'
    md5 = hashlib.md5(data).hexdigest()
    cache = tmp_path / "shared-cache"
    (cache / md5[:2]).mkdir(parents=True)
    (cache / md5[:2] / md5[2:]).write_bytes(data)  # DVC 2 layout: no files/md5/
    lock = (
        "schema: '2.0'\nstages:\n  t:\n    cmd: run\n    outs:\n"
        f"    - path: m.json\n      md5: {md5}\n      size: {len(data)}\n"
    )
    repo = make_repo(
        [
            (
                "dvc2",
                {
                    ".dvc/config": f"[cache]\n    dir = {cache}\n",
                    "dvc.lock": lock,
                    "dvc.yaml": "stages:\n  t:\n    cmd: run\n    metrics: [m.json]\n",
                },
            )
        ]
    )
    history = collect(repo.path, Config(), use_cache=False)
    assert history.snapshots[repo.head()].metrics == {"m.json": {"acc": 0.75}}
    (repo.path / ".dvc" / "config.local").write_text("[cache]\n    dir = ../nowhere\n")
    assert cache_dir_of(repo.path) == (repo.path / "nowhere").resolve()


def test_outputs_of_stages_never_run_are_not_problems(make_repo):
    dvc_yaml = (
        "stages:\n  ran:\n    cmd: a\n    metrics: [done.json]\n"
        "  not_yet:\n    cmd: b\n    metrics: [later.json]\n    plots: [later.csv]\n"
    )
    lock = (
        "schema: '2.0'\nstages:\n  ran:\n    cmd: a\n    outs:\n    - path: done.json\n"
        "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 2\n"
    )
    repo = make_repo([("p", {".dvc/config": "", "dvc.yaml": dvc_yaml, "dvc.lock": lock})])
    snapshot = collect(repo.path, Config(), use_cache=False).snapshots[repo.head()]
    assert [(p.kind, p.path) for p in snapshot.problems] == [("not-in-cache", "done.json")]


def test_fast_json_matches_models_to_json_for_every_field():
    """snapshot_json lists fields explicitly: a field added to models.py must be added there too."""
    from mlpages.models import Artifact, HashInfo, OutDecl, PlotData, PlotDef, Problem, Snapshot
    from mlpages.models import Stage as StageModel

    h = HashInfo("d", "0" * 32 + ".dir", "md5", 3, 2, None)
    stage = StageModel(
        "t",
        "dvc.yaml",
        ".",
        "c",
        ("a",),
        (OutDecl("o", "outs"),),
        ("params.yaml:lr",),
        locked=True,
        lock_cmd="c",
        lock_deps=(h,),
        lock_outs=(h,),
        lock_params=(("p:lr", 0.1),),
    )
    snapshot = Snapshot(
        sha="s",
        has_dvc=True,
        stages=(stage,),
        params={"p": {"lr": 0.1, "l": "[1]"}},
        metrics={"m": {"acc": float("nan"), "n": 1}},
        plots=(PlotDef("p", ("a.csv",), x="x", y=(("a.csv", "y"),), title="T"),),
        plot_data={"a.csv": PlotData("a.csv", "table", ("x",), ((1,), (float("inf"),)))},
        artifacts=(Artifact("m", "m.pkl", "model", "d", ("l",)),),
        tracked=(h,),
        reports={"gate": {"verdict": "blessed", "x": float("nan")}},
        problems=(Problem("yaml-error", "f", "m"),),
    )
    assert snapshot_to_json(snapshot) == _asdict_json(snapshot)
    again = snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snapshot), allow_nan=False)))
    assert snapshot_to_json(again) == _asdict_json(snapshot)
