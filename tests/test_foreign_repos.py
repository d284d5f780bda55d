"""`mlpages history/build/diff` on DVC repositories shaped unlike ours, run as real subprocesses.

Repositories (see tests/foreign_repos.py): (a) a get-started-like project reproduced by the real
`dvc repro` (vars, ${...}, foreach, matrix, wdir, params.py, top-level metrics/plots, DVCLive
sub-folder, an image plot, a cached metrics object deleted for one commit); (b) a legacy history
(DVC 1.x → 2 → 3 locks, metrics renamed and reshaped, params keys renamed) and its shallow clone;
(c) hostile content and refs (broken YAML/JSON, binary and huge metrics, NaN/Infinity, non-UTF-8
messages, a merge, an orphan branch, a detached HEAD, a tag of a tag, an experiment ref) and its
CI-style checkout; (d) a repository without DVC.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import partial
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import cli
from helpers.foreign.get_started import build_get_started
from helpers.foreign.hostile import build_hostile, build_without_dvc, ci_checkout, shallow_clone
from helpers.foreign.legacy import build_legacy
from helpers.foreign.shapes import ODD_DVC_STAGE_NAMES, build_monorepo, build_odd_shapes

pytestmark = pytest.mark.xdist_group("foreign_repos")


# Every run: no traceback and exit 0 unless a test says otherwise (``ok=``); dates from the commits.
mlpages = partial(cli.mlpages, env={"CI": "1", "SOURCE_DATE_EPOCH": None}, ok=(0,))


def history_json(repo: Path) -> dict:
    return json.loads(mlpages("history", str(repo), "--json", cwd=repo).stdout)


def commit_of(doc: dict, sha: str) -> dict:
    return next(c for c in doc["commits"] if c["sha"] == sha)


def stages_of(doc: dict, sha: str) -> dict[str, dict]:
    return {
        doc["stages"][i]["name"]: doc["stages"][i]
        for i in commit_of(doc, sha)["snapshot"]["stages"]
    }


def problems_of(doc: dict, sha: str) -> set[tuple[str, str]]:
    return {(p["kind"], p["path"]) for p in commit_of(doc, sha)["snapshot"]["problems"]}


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


# ---------------------------------------------------------------------------------------------
# fixtures: each repository is built once per worker (the module shares one xdist group)


@pytest.fixture(scope="module")
def real_dvc_get_started(tmp_path_factory):
    path = tmp_path_factory.mktemp("foreign") / "get-started"
    shas = build_get_started(path)
    return path, shas, history_json(path)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    path = tmp_path_factory.mktemp("foreign") / "legacy"
    shas = build_legacy(path)
    return path, shas, history_json(path)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    path = tmp_path_factory.mktemp("foreign") / "hostile"
    shas = build_hostile(path)
    return path, shas, history_json(path)


@pytest.fixture(scope="module")
def sites(tmp_path_factory, real_dvc_get_started, hostile):
    """The built sites of (a) and (c) (used by the build and browser tests)."""
    out = tmp_path_factory.mktemp("sites")
    built = {}
    for name, (repo, _, _) in (("get-started", real_dvc_get_started), ("hostile", hostile)):
        proc = mlpages("build", str(repo), "--out", str(out / name), cwd=repo)
        built[name] = (out / name, proc)
    return built


# ---------------------------------------------------------------------------------------------
# (a) get-started


def test_get_started_stages_are_expanded_like_dvc_names_them(real_dvc_get_started):
    _repo, shas, doc = real_dvc_get_started
    stages = stages_of(doc, shas["v2"])
    assert set(stages) == {
        "prepare",
        "train@cnn",
        "train@rf",
        "sweep@0.1-2",
        "sweep@0.1-4",
        "sweep@0.01-2",
        "sweep@0.01-4",
        "summarize",
        "curves",
    }
    # Every expanded stage matched its entry in DVC's own lock file.
    assert all(stage["locked"] for stage in stages.values())
    assert stages["prepare"]["outs"][0]["path"] == "data/prepared.txt"  # ${data_dir} resolved
    assert stages["train@cnn"]["cmd"] == "python src/train.py cnn 3"
    assert stages["train@cnn"]["params"] == [
        "params.yaml:models.cnn.epochs",
        "params.py:THRESHOLD",
        "params.py:Train.seed",
    ]
    assert stages["sweep@0.01-4"]["outs"][0]["path"] == "sweep/0.01-4.txt"
    summarize = stages["summarize"]
    assert summarize["wdir"] == "report"
    assert "eval/cnn/metrics.json" in summarize["deps"]  # ../ resolved against wdir
    assert summarize["outs"][0]["path"] == "report/summary.json"


def test_get_started_params_metrics_and_plots(real_dvc_get_started):
    _repo, shas, doc = real_dvc_get_started
    snap = commit_of(doc, shas["v2"])["snapshot"]
    assert snap["params"]["params.py"] == {"THRESHOLD": 0.5, "Train.seed": 42}
    assert snap["params"]["params.yaml"]["prepare.split"] == 0.3
    metrics = snap["metrics"]
    assert metrics["eval/cnn/metrics.json"] == {"acc": 0.95, "epochs": 3}  # from the DVC cache
    assert metrics["eval/rf/metrics.json"]["acc"] == 1.05
    assert metrics["report/summary.json"] == {"best.acc": 0.95}  # wdir stage, cache: false
    assert metrics["eval/roc_auc.json"] == {"roc_auc": 0.86}  # top-level metrics with ${...}
    assert metrics["dvclive/metrics.json"] == {"train.acc": 0.8, "step": 3}  # DVCLive dvc.yaml
    plots = {p["id"]: p for p in snap["plots"]}
    assert plots["roc"]["x"] == "fpr" and plots["roc"]["y"] == [["eval/roc.csv", "tpr"]]
    assert plots["roc"]["template"] == "simple"
    assert set(plots["dvclive/plots/metrics"]["files"]) == {
        "dvclive/plots/metrics/train/acc.tsv",
        "dvclive/plots/metrics/train/loss.tsv",
    }
    assert metrics["eval/dirmetrics/a.json"] == {"x": 0.3}  # a cached folder output (.dir)
    assert metrics["eval/dirmetrics/b.yaml"] == {"y": 2}
    data = snap["plot_data"]
    assert data["eval/confusion.png"]["kind"] == "image"
    cached_png = data["eval/cached.png"]
    assert cached_png["source"] == "cache" and cached_png["image_sha"].startswith("md5:")
    assert data["eval/curves/roc.csv"]["source"] == "cache"
    assert data["eval/curves/roc.csv"]["rows"][1] == [0.5, 0.8]
    assert data["dvclive/plots/metrics/train/acc.tsv"]["columns"] == ["step", "acc"]
    assert data["eval/roc.csv"]["rows"][-1] == [1.0, 1.0]


def test_get_started_folder_plot_fields_apply_to_every_file(real_dvc_get_started, sites):
    """DVC: `plots: - eval/curves: {x: fpr, y: tpr}` on a folder output plots tpr of each file."""
    _repo, shas, doc = real_dvc_get_started
    plot = next(
        p for p in commit_of(doc, shas["v2"])["snapshot"]["plots"] if p["id"] == "eval/curves"
    )
    assert plot["files"] == ["eval/curves/pr.csv", "eval/curves/roc.csv"]
    assert plot["y"] == [["eval/curves/pr.csv", "tpr"], ["eval/curves/roc.csv", "tpr"]]
    site, _ = sites["get-started"]
    page = soup(site / "commit" / f"{shas['v2'][:12]}.html")
    for div in page.select("div[data-figure]"):
        figure = json.loads(page.find("script", id=div["data-figure"]).string)
        if figure["layout"]["title"]["text"] == "eval/curves":
            assert [trace["y"] for trace in figure["data"]] == [[1, 0.5], [0, 0.8, 1]]


def test_get_started_confusion_plot_keeps_its_axis_labels(real_dvc_get_started, sites):
    """DVCLive's sklearn confusion matrix names its axes with x_label/y_label."""
    _repo, shas, _ = real_dvc_get_started
    site, _ = sites["get-started"]
    page = soup(site / "commit" / f"{shas['v2'][:12]}.html")
    for div in page.select("div[data-figure]"):
        figure = json.loads(page.find("script", id=div["data-figure"]).string)
        if figure["layout"]["title"]["text"] == "Confusion Matrix":
            layout = figure["layout"]
            assert layout["xaxis"]["title"]["text"] == "True Label"
            assert layout["yaxis"]["title"]["text"] == "Predicted Label"
            break
    else:
        raise AssertionError("no confusion matrix figure")


def test_get_started_cache_miss_is_a_problem_of_that_commit_only(real_dvc_get_started):
    _repo, shas, doc = real_dvc_get_started
    assert problems_of(doc, shas["v1"]) == {("not-in-cache", "eval/cnn/metrics.json")}
    assert shas["missing_md5"] in commit_of(doc, shas["v1"])["snapshot"]["problems"][0]["message"]
    assert "eval/cnn/metrics.json" not in commit_of(doc, shas["v1"])["snapshot"]["metrics"]
    assert commit_of(doc, shas["v1"])["snapshot"]["metrics"]["eval/rf/metrics.json"]["acc"] == 0.95
    assert problems_of(doc, shas["v2"]) == set()


def test_get_started_cache_object_restored_later_is_read(real_dvc_get_started, tmp_path):
    """After `dvc pull` brings the missing object back, the cached snapshot is recomputed."""
    repo, shas, _ = real_dvc_get_started
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    strict = mlpages("history", str(copy), "--strict", cwd=copy, ok=(1,))
    assert "problems=1" in strict.stdout
    md5 = shas["missing_md5"]
    target = copy / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    target.write_text(json.dumps({"acc": 0.85, "epochs": 3}))
    doc = history_json(copy)
    assert problems_of(doc, shas["v1"]) == set()
    v1_metrics = commit_of(doc, shas["v1"])["snapshot"]["metrics"]
    assert v1_metrics["eval/cnn/metrics.json"] == {"acc": 0.85, "epochs": 3}
    mlpages("history", str(copy), "--strict", cwd=copy)


def test_get_started_fresh_clone_reads_a_local_dvc_remote(real_dvc_get_started, tmp_path):
    """DVC's tutorial remote is a folder (`dvc remote add -d store /tmp/dvcstore`)."""
    repo, shas, _ = real_dvc_get_started
    shutil.copytree(repo / ".dvc/cache", tmp_path / "dvcstore")  # what `dvc push` leaves there
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / ".dvc/config.local").write_text(
        "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../dvcstore\n"
    )
    doc = history_json(clone)
    snap = commit_of(doc, shas["v2"])["snapshot"]
    assert snap["metrics"]["eval/cnn/metrics.json"] == {"acc": 0.95, "epochs": 3}
    assert snap["plot_data"]["eval/curves/roc.csv"]["source"] == "remote"
    assert problems_of(doc, shas["v2"]) == set()
    assert problems_of(doc, shas["v1"]) == {("not-in-cache", "eval/cnn/metrics.json")}


def test_get_started_build_and_strict(real_dvc_get_started, sites, tmp_path):
    repo, shas, _ = real_dvc_get_started
    site, proc = sites["get-started"]
    assert "from 2 commits" in proc.stdout and "1 commit had problems" in proc.stdout
    v1_page = soup(site / "commit" / f"{shas['v1'][:12]}.html")
    v1_text = v1_page.get_text(" ", strip=True)
    assert "not-in-cache" in v1_text and "eval/cnn/metrics.json" in v1_text
    v2_page = soup(site / "commit" / f"{shas['v2'][:12]}.html")
    images = {img["src"] for img in v2_page.find_all("img")}
    assert len(images) == 2  # the PNG in git and the DVC-cached one
    for src in images:
        assert (site / "commit" / src).resolve().read_bytes()[:4] == b"\x89PNG"
    figures = {
        json.loads(v2_page.find("script", id=div["data-figure"]).string)["layout"]["title"][
            "text"
        ]: json.loads(v2_page.find("script", id=div["data-figure"]).string)["data"]
        for div in v2_page.select("div[data-figure]")
    }
    assert set(figures) == {"ROC curve", "eval/curves", "dvclive/plots/metrics", "Confusion Matrix"}
    assert len(figures["dvclive/plots/metrics"]) == 2
    assert figures["Confusion Matrix"][0]["type"] == "heatmap"
    lineage = soup(site / "lineage.html").get_text(" ", strip=True)
    assert "train@cnn" in lineage and "sweep@0.01-4" in lineage
    strict = mlpages(
        "build", str(repo), "--out", str(tmp_path / "s"), "--strict", cwd=repo, ok=(1,)
    )
    assert "--strict: 1 commits" in strict.stderr


def test_get_started_diff(real_dvc_get_started):
    repo, shas, _ = real_dvc_get_started
    proc = mlpages("diff", shas["v1"], shas["v2"], "--format", "json", cwd=repo)
    diff = json.loads(proc.stdout)
    metrics = {(m["path"], m["key"]): m for m in diff["metrics"]}
    assert metrics[("eval/rf/metrics.json", "acc")]["status"] == "better"
    assert metrics[("eval/roc_auc.json", "roc_auc")]["new"] == 0.86
    assert metrics[("dvclive/metrics.json", "train.acc")]["old"] == 0.7
    md = mlpages("diff", shas["v1"], shas["v2"], cwd=repo).stdout
    assert "| params.yaml | prepare.split | 0.2 | 0.3 |" in md
    assert "- `train@cnn` — dep data/prepared.txt" in md
    assert "could not be read: 1 at the base, 0 at the head" in md


def test_diff_does_not_call_an_unreadable_metric_new(real_dvc_get_started):
    repo, shas, _ = real_dvc_get_started
    diff = json.loads(mlpages("diff", shas["v1"], shas["v2"], "--format", "json", cwd=repo).stdout)
    metrics = {(m["path"], m["key"]): m for m in diff["metrics"]}
    assert metrics[("eval/cnn/metrics.json", "acc")]["status"] != "added"


def test_overview_key_metric_labels_are_distinct(sites):
    site, _ = sites["get-started"]
    labels = [d.get_text(strip=True) for d in soup(site / "index.html").select(".kpi-name")]
    assert len(labels) == 6 and len(set(labels)) == len(labels)


# ---------------------------------------------------------------------------------------------
# (b) legacy history


def test_legacy_locks_renamed_metrics_and_params(legacy):
    _repo, shas, doc = legacy
    snap = {role: commit_of(doc, sha)["snapshot"] for role, sha in shas.items()}
    assert snap["dvc1"]["metrics"] == {"metrics.json": {"acc": 0.7}}
    assert snap["dvc1"]["params"] == {"params.yaml": {"lr": 0.1}}
    # DVC 2: the metrics only exist in the legacy cache layout (.dvc/cache/ab/cdef…).
    assert snap["dvc2"]["metrics"] == {"scores.json": {"acc": 0.8, "loss": 0.3}}
    assert snap["dvc2"]["params"] == {"params.yaml": {"train.learning_rate": 0.05}}
    assert problems_of(doc, shas["dvc2_stale"]) == {("not-in-cache", "scores.json")}
    assert snap["dvc3"]["metrics"] == {
        "eval/metrics.json": {"train.acc": 0.93, "test.acc": 0.88, "test.loss": 0.21}
    }
    for role in ("dvc1", "dvc2", "dvc3"):
        assert problems_of(doc, shas[role]) == set(), role
        (train,) = stages_of(doc, shas[role]).values()
        assert train["locked"] and train["lock_deps"][0]["path"] == "train.py", role
    hash_names = [stages_of(doc, shas[r])["train"]["lock_outs"][0]["hash_name"] for r in shas]
    assert hash_names == [None, None, None, "md5"]


def test_legacy_diff_across_lock_generations(legacy):
    repo, shas, _ = legacy
    diff = json.loads(
        mlpages("diff", shas["dvc1"], shas["dvc3"], "--format", "json", cwd=repo).stdout
    )
    params = {(p["path"], p["key"]): p["status"] for p in diff["params"]}
    assert params == {
        ("params.yaml", "lr"): "removed",
        ("params.yaml", "train.learning_rate"): "added",
    }
    metrics = {(m["path"], m["key"]): m["status"] for m in diff["metrics"]}
    assert metrics[("metrics.json", "acc")] == "removed"
    assert metrics[("eval/metrics.json", "test.acc")] == "added"
    build = mlpages("build", str(repo), "--out", "site", cwd=repo)
    assert "from 4 commits" in build.stdout


def test_dvc2_live_section_metrics_are_read(make_repo):
    repo = make_repo(
        [
            (
                "DVC 2.5 with a live: section",
                {
                    ".dvc/config": "",
                    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    live:\n"
                    "      training_metrics:\n        summary: true\n        html: true\n",
                    "training_metrics.json": json.dumps({"step": 2, "acc": 0.9}),
                    "training_metrics/scalars/acc.tsv": "timestamp\tstep\tacc\n1\t0\t0.5\n",
                },
            )
        ]
    )
    doc = history_json(repo.path)
    snap = doc["commits"][0]["snapshot"]
    assert snap["metrics"] == {"training_metrics.json": {"step": 2, "acc": 0.9}}
    assert snap["plot_data"]["training_metrics/scalars/acc.tsv"]["rows"] == [[1, 0, 0.5]]


def test_shallow_clone_says_to_fetch_the_full_history(legacy, tmp_path):
    source, shas, _ = legacy
    clone = tmp_path / "shallow"
    shallow_clone(source, clone)
    proc = mlpages("history", str(clone), "--json", cwd=clone)
    doc = json.loads(proc.stdout)
    assert doc["shallow"] is True
    assert [c["sha"] for c in doc["commits"]] == [shas["dvc3"], shas["dvc2_stale"]]
    (problem,) = doc["problems"]
    assert problem["kind"] == "shallow-clone" and "fetch-depth: 0" in problem["message"]
    assert "fetch-depth: 0" in proc.stderr
    diff = mlpages("diff", "HEAD~3", "HEAD", cwd=clone, ok=(1, 2))
    assert "shallow clone" in diff.stderr and "fetch-depth: 0" in diff.stderr
    assert len(diff.stderr.strip().splitlines()) == 1
    build = mlpages("build", str(clone), "--out", "site", "--strict", cwd=clone, ok=(1,))
    assert "1 repository-level problems" in build.stderr
    assert "fetch-depth: 0" in (clone / "site/index.html").read_text()


# ---------------------------------------------------------------------------------------------
# (c) hostile content


def test_hostile_problems_land_on_the_right_commits(hostile):
    _repo, shas, doc = hostile
    assert problems_of(doc, shas["bad_yaml"]) == {
        ("yaml-error", "dvc.yaml"),
        ("yaml-error", "params.yaml"),
    }
    assert problems_of(doc, shas["bad_json"]) == {("json-error", "metrics.json")}
    assert problems_of(doc, shas["binary"]) == {("binary", "metrics.json")}
    assert problems_of(doc, shas["huge"]) == {("too-large", "metrics.json")}
    for role in ("good", "nan", "latin1", "bad_utf8", "feature", "merge", "exp", "orphan"):
        assert problems_of(doc, shas[role]) == set(), role
    assert commit_of(doc, shas["nan"])["snapshot"]["metrics"]["metrics.json"] == {
        "acc": {"$float": "nan"},
        "loss": {"$float": "inf"},
        "gain": {"$float": "-inf"},
        "ok": 0.5,
    }
    assert commit_of(doc, shas["merge"])["snapshot"]["metrics"]["metrics.json"] == {"acc": 0.9}


def test_hostile_commits_and_refs(hostile):
    _repo, shas, doc = hostile
    assert len(doc["commits"]) == 12
    assert commit_of(doc, shas["latin1"])["subject"] == "Modèle réentraîné: précision"
    assert commit_of(doc, shas["bad_utf8"])["subject"] == "Broken \ufffd\ufffd bytes"
    assert commit_of(doc, shas["merge"])["parents"] == [shas["bad_utf8"], shas["feature"]]
    orphan = commit_of(doc, shas["orphan"])
    assert orphan["parents"] == [] and orphan["snapshot"]["has_dvc"] is False
    refs = {r["short"]: r for r in doc["refs"]}
    assert refs["exp-4f2a1"]["kind"] == "exp" and refs["exp-4f2a1"]["sha"] == shas["exp"]
    assert refs["v1-alias"]["sha"] == shas["good"] and refs["v1-alias"]["annotated"]
    assert refs["gh-pages"]["kind"] == "branch"
    assert doc["default_branch"] == "main"
    assert doc["mainline"][0] == shas["merge"] and doc["mainline"][-1] == shas["good"]


def test_hostile_build_and_strict(hostile, sites, tmp_path):
    repo, shas, _ = hostile
    site, proc = sites["hostile"]
    assert "from 12 commits" in proc.stdout and "4 commits had problems" in proc.stdout
    assert len(list((site / "commit").glob("*.html"))) == 12
    huge = soup(site / "commit" / f"{shas['huge'][:12]}.html").get_text(" ", strip=True)
    assert "too-large" in huge and "max_file_bytes" in huge
    nan_page = soup(site / "commit" / f"{shas['nan'][:12]}.html").get_text(" ", strip=True)
    assert "NaN" in nan_page and "-Infinity" in nan_page
    from helpers.runs_data import runs_file

    runs = runs_file(site).read_text()  # the runs table's data
    assert "Modèle réentraîné" in runs and "exp-4f2a1" in runs
    strict = mlpages(
        "build", str(repo), "--out", str(tmp_path / "s"), "--strict", cwd=repo, ok=(1,)
    )
    assert strict.stderr.strip().splitlines()[-1].startswith("mlpages: error: --strict: 4 commits")


def test_merged_branch_is_not_shown_as_ahead(hostile, sites):
    site, _ = sites["hostile"]
    page = next((site / "compare").glob("feature-wider-*.html"))
    text = soup(page).get_text(" ", strip=True)
    assert "0 commits ahead of main" in text


def test_hostile_diff_on_detached_head_with_non_finite_base(hostile):
    repo, shas, _ = hostile
    diff = json.loads(mlpages("diff", "--format", "json", cwd=repo).stdout)
    assert (diff["base"], diff["head"]) == (shas["bad_utf8"], shas["merge"])
    acc = next(m for m in diff["metrics"] if m["key"] == "acc")
    assert acc["old"] == {"$float": "nan"} and acc["new"] == 0.9 and acc["status"] == "changed"
    md = mlpages("diff", "v1-alias", "exp-4f2a1", cwd=repo).stdout
    assert "| metrics.json | acc | 0.75 | 0.9 |" in md


def test_ci_checkout_with_only_remote_branches(hostile, tmp_path):
    source, shas, _ = hostile
    clone = tmp_path / "ci"
    head = ci_checkout(source, clone)
    doc = json.loads(mlpages("history", str(clone), "--json", cwd=clone).stdout)
    assert {r["kind"] for r in doc["refs"]} == {"remote"}
    assert doc["default_branch"] == "main" and doc["mainline"][0] == head == shas["merge"]
    assert len(doc["commits"]) == 11  # no exp ref, no tags fetched
    diff = json.loads(mlpages("diff", "--format", "json", cwd=clone).stdout)
    assert diff["head"] == shas["merge"]
    build = mlpages("build", str(clone), "--out", "site", cwd=clone)
    assert "from 11 commits" in build.stdout
    # origin/main is the default branch: no page compares it with itself.
    pages = sorted(p.name.rsplit("-", 1)[0] for p in (clone / "site/compare").glob("*.html"))
    assert pages == ["origin-feature-wider", "origin-gh-pages"]


def test_bare_mirror_is_read(hostile, tmp_path):
    source, shas, _ = hostile
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    doc = json.loads(mlpages("history", str(bare), "--json", cwd=tmp_path).stdout)
    assert len(doc["commits"]) == 11  # the exp ref is not cloned
    assert commit_of(doc, shas["merge"])["snapshot"]["metrics"] == {"metrics.json": {"acc": 0.9}}
    build = mlpages("build", str(bare), "--out", str(tmp_path / "site"), cwd=tmp_path)
    assert "from 11 commits" in build.stdout
    md = mlpages("diff", "v1", "main", cwd=bare).stdout
    assert "| metrics.json | acc | 0.75 | 0.9 |" in md


# ---------------------------------------------------------------------------------------------
# (e) odd shapes


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    path = tmp_path_factory.mktemp("foreign") / "odd"
    shas = build_odd_shapes(path)
    return path, shas, history_json(path)


def test_odd_stage_names_match_dvc_stage_list(odd):
    _repo, shas, doc = odd
    stages = [doc["stages"][i] for i in commit_of(doc, shas["two"])["snapshot"]["stages"]]
    names = {
        s["name"] if s["dvcfile"] == "dvc.yaml" else f"{s['dvcfile']}:{s['name']}" for s in stages
    }
    assert names == ODD_DVC_STAGE_NAMES
    cmds = {s["name"]: s["cmd"] for s in stages if s["dvcfile"] == "dvc.yaml"}
    assert cmds["fit@1"] == "echo big 0.5"  # vars: config.yaml:train keeps the `train` key
    assert cmds["sweep@model1-0.1-false"] == "echo b 0.1 false"
    snap = commit_of(doc, shas["two"])["snapshot"]
    assert snap["metrics"]["m.json"] == {"acc": 0.5}
    assert snap["metrics"]["models/m.json"] == {"acc": 0.7}
    assert snap["metrics"]["bom.json"] == {"acc": 0.3}  # a UTF-8 BOM is not an error
    assert snap["params"]["params.yaml"] == {"lr": 0.1}
    assert ("bad-type", "list.json") in problems_of(doc, shas["two"])
    crlf = [doc["stages"][i] for i in commit_of(doc, shas["crlf"])["snapshot"]["stages"]]
    assert [(s["dvcfile"], s["cmd"]) for s in crlf] == [
        ("dvc.yaml", "echo crlf"),
        ("models/dvc.yaml", "echo sub2"),
    ]
    assert {r["short"] for r in doc["refs"]} == {"main"}  # tags of a tree/blob are no commits
    assert {r["kind"] for r in doc["refs"]} == {"branch", "tag"}


@pytest.fixture(scope="module")
def odd_site(odd, tmp_path_factory):
    repo = odd[0]
    out = tmp_path_factory.mktemp("sites") / "odd"
    mlpages("build", str(repo), "--out", str(out), cwd=repo)
    return out


def test_odd_same_stage_name_in_two_dvc_yaml_files(odd, odd_site):
    repo, shas, _ = odd
    md = mlpages("diff", shas["one"], shas["two"], cwd=repo).stdout
    assert "- `models/dvc.yaml:train` — cmd" in md
    assert "| models/m.json | acc | 0.6 | 0.7 |" in md
    page = soup(odd_site / "commit" / f"{shas['two'][:12]}.html")
    rows = {
        tuple(td.get_text(" ", strip=True) for td in tr.find_all("td"))
        for tr in page.select("table.stages tbody tr")
    }
    # No dvc.lock: both stages are unlocked; only the sub-folder one changed its command.
    assert ("models/dvc.yaml:train", "unlocked", "cmd") in rows
    assert ("train", "unlocked", "") in rows


def test_odd_plot_with_one_x_field_per_file(odd, odd_site):
    _repo, shas, _ = odd
    page = soup(odd_site / "commit" / f"{shas['one'][:12]}.html")
    figures = [
        json.loads(page.find("script", id=div["data-figure"]).string)
        for div in page.select("div[data-figure]")
    ]
    (figure,) = [f for f in figures if f["layout"]["title"]["text"] == "Train vs test"]
    assert [trace["x"] for trace in figure["data"]] == [[0, 1, 2]] * 3


def test_odd_diff_default_base_ignores_a_tag_named_like_the_branch(odd):
    repo, shas, _ = odd
    diff = json.loads(mlpages("diff", "--format", "json", cwd=repo).stdout)
    # HEAD is the tip of the default branch: the base is its parent, not the tag `main`.
    assert (diff["base"], diff["head"]) == (shas["two"], shas["crlf"])


def test_odd_symlinked_metrics_file(odd):
    _repo, shas, doc = odd
    snap = commit_of(doc, shas["two"])["snapshot"]
    assert snap["metrics"]["sym.json"] == {"acc": 0.1}  # sym.json -> links/real.json
    assert "sym.json" not in {p["path"] for p in snap["problems"]}


# ---------------------------------------------------------------------------------------------
# (f) a monorepo with the DVC project in a sub-folder


def test_monorepo_reads_the_cache_of_the_sub_folder_project(tmp_path):
    repo = tmp_path / "mono"
    shas = build_monorepo(repo)
    doc = history_json(repo / "ml")
    assert commit_of(doc, shas["two"])["snapshot"]["metrics"] == {"ml/metrics.json": {"acc": 0.8}}
    assert problems_of(doc, shas["one"]) == set()
    diff = mlpages("diff", "HEAD~1", "HEAD", "--format", "json", cwd=repo / "ml").stdout
    (acc,) = json.loads(diff)["metrics"]
    assert (acc["old"], acc["new"], acc["status"]) == (0.9, 0.8, "worse")


# ---------------------------------------------------------------------------------------------
# (d) no DVC at all


def test_repository_without_dvc_is_one_clear_error(tmp_path):
    repo = tmp_path / "plain"
    build_without_dvc(repo)
    for args in (["history", "--json"], ["build", "--out", "site"], ["diff"]):
        proc = mlpages(*args, cwd=repo, ok=(1, 2))
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mlpages: error:"), (args, proc.stderr)
        assert "no DVC files" in lines[0]
        assert not (repo / "site").exists()


# ---------------------------------------------------------------------------------------------
# browser: every page of (a) and (c) loads from file:// without a console error


@pytest.mark.browser
def test_foreign_sites_load_in_chromium_without_errors(sites, browser):
    errors: list[str] = []
    pages = 0
    page = browser.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"{page.url}: failed {req.url}"))
    for site, _ in sites.values():
        for html in sorted(site.rglob("*.html")):
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            drawn = page.evaluate(
                "() => [...document.querySelectorAll('div[data-figure]')]"
                ".map(d => (window.mlpagesDrawFigure(d), d)).length"
            )
            if drawn:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('div[data-figure]')]"
                    ".every(d => d.querySelector('.main-svg'))"
                )
            pages += 1
    page.close()
    assert pages == 9 + 21
    assert errors == []
