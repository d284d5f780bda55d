"""Unit tests of the pure parsers: bytes in, values and problems out."""

from __future__ import annotations

import math

import pytest

from mlpages.dvcfiles.data import parse_metrics, parse_params, parse_plot_table, plot_kind
from mlpages.dvcfiles.dotdvc import parse_artifacts_yaml, parse_dvc_file
from mlpages.dvcfiles.dvcyaml import parse_dvc_yaml
from mlpages.dvcfiles.lock import parse_dvc_lock, split_lock_sections, yaml_section
from mlpages.dvcfiles.lock_fast import parse_lock_section_fast
from mlpages.dvcfiles.lockentry import merge_lock
from mlpages.dvcfiles.paths import join
from mlpages.models import HashInfo, OutDecl

LOCK_V3 = b"""schema: '2.0'
stages:
  prepare:
    cmd: python -m pkg.prepare
    deps:
    - path: data/raw
      hash: md5
      md5: 2119f7661d49546288b73b5730d76485.dir
      size: 154683
      nfiles: 2
    outs:
    - path: data/prepared.csv
      hash: md5
      md5: 6f7c0e5b0c8d4e2d9a1b3c5d7e9f0a1b
      size: 1042
  train@cnn:
    cmd:
    - python train.py --model cnn
    - echo done
    params:
      params.yaml:
        train.lr: 0.01
        train.layers:
        - 64
        - 32
        train.name: cnn
        train.use_gpu: true
    outs:
    - path: models/cnn.pkl
      md5: aabbccddeeff00112233445566778899
      size: 10
"""

LOCK_DVC1 = b"""prepare:
  cmd: python prepare.py
  deps:
  - path: prepare.py
    md5: 0123456789abcdef0123456789abcdef
  outs:
  - path: data.csv
    md5: fedcba9876543210fedcba9876543210
"""


def test_lock_dvc3_and_legacy_entries():
    lock = parse_dvc_lock(LOCK_V3, "dvc.lock")
    assert lock.problems == ()
    assert lock.schema == "2.0"
    assert list(lock.stages) == ["prepare", "train@cnn"]
    prepare = lock.stages["prepare"]
    raw = prepare.deps[0]
    assert raw == HashInfo("data/raw", "2119f7661d49546288b73b5730d76485.dir", "md5", 154683, 2)
    assert raw.is_dir
    train = lock.stages["train@cnn"]
    assert train.cmd == "python train.py --model cnn && echo done"
    assert train.outs[0].hash_name is None  # no "hash: md5": a legacy DVC 2 hash
    assert ("params.yaml", "train.layers", "[64, 32]") in train.params
    assert ("params.yaml", "train.use_gpu", True) in train.params


def test_lock_dvc1_without_schema():
    lock = parse_dvc_lock(LOCK_DVC1, "dvc.lock")
    assert lock.schema is None
    assert lock.stages["prepare"].outs[0].md5 == "fedcba9876543210fedcba9876543210"


def test_lock_problems_never_raise():
    assert parse_dvc_lock(b"stages: [\n", "dvc.lock").problems[0].kind == "yaml-error"
    assert parse_dvc_lock(b"\x00\x01binary", "dvc.lock").problems[0].kind == "binary"
    assert parse_dvc_lock(b"- a\n- b\n", "dvc.lock").problems[0].kind == "bad-type"
    assert parse_dvc_lock(b"", "dvc.lock").stages == {}


def test_lock_sections_are_cached_and_match_yaml():
    cache: dict = {}
    parse_dvc_lock(LOCK_V3, "dvc.lock", cache)
    assert len(cache) == 2
    changed = LOCK_V3.replace(b"train.lr: 0.01", b"train.lr: 0.02")
    second = parse_dvc_lock(changed, "dvc.lock", cache)
    assert len(cache) == 3  # only the changed section was parsed again
    assert ("params.yaml", "train.lr", 0.02) in second.stages["train@cnn"].params
    header, parts = split_lock_sections(LOCK_V3)
    assert header == b"schema: '2.0'"
    for part in parts:
        fast = parse_lock_section_fast(part)
        assert fast is None or fast == yaml_section(part)[:2]  # [2]: what aliases expand to


@pytest.mark.parametrize(
    "value",
    [
        b"yes",
        b"no",
        b"on",
        b"1e5",
        b"010",
        b"0x1F",
        b"'quoted: yes'",
        b'"x\\ty"',
        b"2020-01-01",
        b"~",
        b".nan",
        b"-.inf",
        b"1_000",
        b"+3",
        b"1.5e+3",
        b"null",
        b"True",
        b"abc def",
    ],
)
def test_fast_section_parser_agrees_with_yaml(value):
    part = b"  s:\n    cmd: run\n    params:\n      params.yaml:\n        k: " + value + b"\n"
    fast = parse_lock_section_fast(part)
    expected = yaml_section(part)
    if fast is not None:  # None = "use YAML", also correct
        a, b = fast[1].params[0][2], expected[1].params[0][2]
        assert (a == b and type(a) is type(b)) or (
            isinstance(a, float) and math.isnan(a) and math.isnan(b)
        ), value


def test_dvc_yaml_stages_paths_and_plots():
    data = b"""
stages:
  train:
    cmd: python train.py
    wdir: src
    deps: [train.py, ../data/features]
    params:
    - lr
    - config/extra.yaml:
      - batch
    - other.toml:
    outs:
    - ../models/model.pkl
    metrics:
    - ../metrics.json:
        cache: false
    plots:
    - ../plots/loss.csv:
        x: step
        y: loss
        template: smooth
metrics: [eval/summary.json]
params: [global.yaml]
plots:
- plots/roc.csv
- acc-vs-epoch:
    y:
      plots/train.csv: acc
      plots/test.csv: [acc, loss]
    x: epoch
    title: Accuracy
artifacts:
  churn-model:
    path: models/model.pkl
    type: model
    labels: [prod]
"""
    parsed = parse_dvc_yaml(data, "dvc.yaml")
    assert parsed.problems == ()
    (stage,) = parsed.stages
    assert stage.wdir == "src"
    assert stage.deps == ("src/train.py", "data/features")
    assert stage.params == (
        "src/params.yaml:lr",
        "src/config/extra.yaml:batch",
        "src/other.toml:",
    )
    assert OutDecl("metrics.json", "metrics", cache=False) in stage.outs
    assert OutDecl("models/model.pkl", "outs") in stage.outs
    assert parsed.metrics == ("eval/summary.json",)
    assert parsed.params == ("global.yaml",)
    by_id = {p.id: p for p in parsed.plots}
    loss = by_id["plots/loss.csv"]
    assert (loss.x, loss.y, loss.template) == ("step", (("plots/loss.csv", "loss"),), "smooth")
    assert by_id["plots/roc.csv"].files == ("plots/roc.csv",)
    acc = by_id["acc-vs-epoch"]
    assert acc.files == ("plots/train.csv", "plots/test.csv")
    assert acc.y == (
        ("plots/train.csv", "acc"),
        ("plots/test.csv", "acc"),
        ("plots/test.csv", "loss"),
    )
    assert (acc.x, acc.title) == ("epoch", "Accuracy")
    (artifact,) = parsed.artifacts
    assert (artifact.name, artifact.type, artifact.labels) == ("churn-model", "model", ("prod",))


def test_dvc_yaml_in_a_subfolder_prefixes_paths_and_artifact_names():
    data = b"stages:\n  s:\n    cmd: x\n    outs: [out.bin]\nartifacts:\n  seg:\n    path: m.pt\n"
    parsed = parse_dvc_yaml(data, "cv/pool/dvc.yaml")
    assert parsed.stages[0].outs[0].path == "cv/pool/out.bin"
    assert parsed.stages[0].key == "cv/pool/dvc.yaml:s"
    assert parsed.artifacts[0].name == "cv/pool:seg"
    assert parsed.artifacts[0].path == "cv/pool/m.pt"


def test_foreach_matrix_vars_and_templating():
    files = {
        "params.yaml": b"model: {name: cnn}\nsizes: [10, 20]\n",
        "conf/vars.yaml": b"data: {dir: data/v2}\nunused: 1\n",
    }
    data = b"""
vars:
  - conf/vars.yaml:data
  - seed: 7
stages:
  prep:
    foreach: ${sizes}
    do:
      cmd: python prep.py --size ${item} --seed ${seed}
      outs:
      - ${data.dir}/prep_${item}.csv
  fit:
    foreach:
      us: {lr: 0.1}
      uk: {lr: 0.2}
    do:
      cmd: python fit.py --lr ${item.lr} --region ${key}
  grid:
    matrix:
      model: [cnn, xgb]
      flag: [true, false]
    cmd: python grid.py ${item.model} ${item.flag}
  train:
    cmd: python train.py ${model.name}
    outs:
    - models/${model.name}.pkl
"""
    parsed = parse_dvc_yaml(data, "dvc.yaml", files.get)
    assert parsed.problems == ()
    names = [s.name for s in parsed.stages]
    assert names == [
        "prep@10",
        "prep@20",
        "fit@us",
        "fit@uk",
        "grid@cnn-true",
        "grid@cnn-false",
        "grid@xgb-true",
        "grid@xgb-false",
        "train",
    ]
    stages = {s.name: s for s in parsed.stages}
    assert stages["prep@20"].cmd == "python prep.py --size 20 --seed 7"
    assert stages["prep@20"].outs[0].path == "data/v2/prep_20.csv"
    assert stages["fit@uk"].cmd == "python fit.py --lr 0.2 --region uk"
    assert stages["grid@xgb-false"].cmd == "python grid.py xgb false"
    assert stages["train"].outs[0].path == "models/cnn.pkl"
    assert set(parsed.reads) == {"params.yaml", "conf/vars.yaml"}


def test_foreach_list_of_dicts_uses_indexes_and_bad_template_is_a_problem():
    data = b"""
stages:
  a:
    foreach: [{x: 1}, {x: 2}]
    do:
      cmd: echo ${item.x}
  b:
    cmd: echo ${missing.key}
  c:
    cmd: echo ok
"""
    parsed = parse_dvc_yaml(data, "dvc.yaml")
    assert [s.name for s in parsed.stages] == ["a@0", "a@1", "c"]
    assert parsed.stages[1].cmd == "echo 2"
    assert any("missing.key" in p.message for p in parsed.problems)


def test_a_key_interpolated_to_a_list_becomes_its_text():
    data = b"stages:\n  train:\n    cmd: echo\n    meta:\n      ${a}: 1\n"
    parsed = parse_dvc_yaml(data, "dvc.yaml", lambda p: b"a: [1, 2]\n")
    assert [s.name for s in parsed.stages] == ["train"] and not parsed.problems


def test_dvc_yaml_bad_inputs_are_problems():
    assert parse_dvc_yaml(b"stages: [", "dvc.yaml").problems[0].kind == "yaml-error"
    assert parse_dvc_yaml(b"\xff\xfe\x00x", "dvc.yaml").problems[0].kind == "binary"
    assert parse_dvc_yaml(b"- 1\n", "dvc.yaml").problems[0].kind == "bad-type"
    assert parse_dvc_yaml(b"stages: 3\n", "dvc.yaml").problems[0].kind == "bad-type"
    parsed = parse_dvc_yaml(b"stages:\n  x: 5\n  y: {cmd: ok}\n", "dvc.yaml")
    assert [s.name for s in parsed.stages] == ["y"]
    assert parsed.problems[0].kind == "bad-type"


def test_every_yaml_file_fails_the_same_way(monkeypatch):
    """One loader for every DVC file and data file: the same Problem for the same fault."""
    import yaml

    bad_date = b"- {step: 1, at: 2001-13-45}\n"  # the YAML constructor raises ValueError
    parsers = {
        ".dvc": lambda d: parse_dvc_file(d, "x.dvc")[1],
        "artifacts.yaml": lambda d: parse_artifacts_yaml(d, "artifacts.yaml")[1],
        "dvc.lock": lambda d: parse_dvc_lock(d, "dvc.lock").problems,
        "dvc.yaml": lambda d: parse_dvc_yaml(d, "dvc.yaml").problems,
        "params": lambda d: parse_params(d, "params.yaml")[1],
        "metrics": lambda d: parse_metrics(d, "m.yaml")[1],
        "plot": lambda d: parse_plot_table(d, "p.yaml")[1],
    }
    for name, parse in parsers.items():
        (problem,) = parse(bad_date)
        assert (problem.kind, problem.message) == ("yaml-error", "month must be in 1..12"), name
    # Without libyaml (PyYAML's own parser) deep nesting ends in a RecursionError.
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    deep = b"outs: " + b"[" * 3000 + b"]" * 3000
    for name, parse in parsers.items():
        (problem,) = parse(deep)
        assert (problem.kind, problem.message) == ("unsupported", "nested too deeply"), name


def test_merge_lock_rebases_paths_through_wdir():
    yaml_stage = parse_dvc_yaml(
        b"stages:\n  t:\n    cmd: x\n    wdir: sub\n    params: [lr]\n", "dvc.yaml"
    ).stages[0]
    lock = parse_dvc_lock(
        b"schema: '2.0'\nstages:\n  t:\n    cmd: x\n    deps:\n    - path: a.py\n"
        b"      md5: 0123456789abcdef0123456789abcdef\n    params:\n      params.yaml:\n"
        b"        lr: 0.5\n",
        "dvc.lock",
    )
    merged = merge_lock(yaml_stage, lock.stages["t"])
    assert merged.locked
    assert merged.lock_deps[0].path == "sub/a.py"
    assert merged.lock_params == (("sub/params.yaml:lr", 0.5),)


def test_dvc_file_and_legacy_artifacts():
    outs, problems = parse_dvc_file(
        b"outs:\n- md5: 2119f7661d49546288b73b5730d76485.dir\n  size: 5\n  nfiles: 2\n"
        b"  hash: md5\n  path: raw\n",
        "data/raw.dvc",
    )
    assert problems == ()
    assert outs == (HashInfo("data/raw", "2119f7661d49546288b73b5730d76485.dir", "md5", 5, 2),)
    arts, _ = parse_artifacts_yaml(
        b"model:\n  path: m.pkl\n  type: model\n  description: churn\n", "artifacts.yaml"
    )
    assert (arts[0].name, arts[0].desc) == ("model", "churn")


def test_params_by_extension():
    assert parse_params(b"train:\n  lr: 0.1\n  layers: [1, 2]\n", "params.yaml")[0] == {
        "train.lr": 0.1,
        "train.layers": "[1, 2]",
    }
    assert parse_params(b'{"a": {"b": null}}', "p.json")[0] == {"a.b": None}
    assert parse_params(b"[train]\nlr = 0.5\n", "p.toml")[0] == {"train.lr": 0.5}
    py = b"LR = 0.1\nNAME: str = 'x'\nclass Train:\n    epochs = 3\nX = compute()\n"
    assert parse_params(py, "params.py")[0] == {"LR": 0.1, "NAME": "x", "Train.epochs": 3}
    assert parse_params(b"a: [", "params.yaml")[1][0].kind == "yaml-error"
    assert parse_params(b"{bad", "p.json")[1][0].kind == "json-error"
    assert parse_params(b"- 1\n", "params.yaml")[1][0].kind == "bad-type"


def test_metrics_flatten_keep_nan_drop_lists():
    values, problems = parse_metrics(
        b'{"train": {"acc": 0.9, "hist": [1, 2]}, "loss": NaN, "inf": Infinity, "ok": true,'
        b' "note": "x", "none": null}',
        "metrics.json",
    )
    assert problems == ()
    assert values["train.acc"] == 0.9
    assert math.isnan(values["loss"])
    assert values["inf"] == math.inf
    assert values["ok"] is True
    assert "train.hist" not in values and "none" not in values
    assert parse_metrics(b"acc: .nan\n", "m.yaml")[0]["acc"] != 0


def test_plot_tables_csv_tsv_json_yaml():
    csv_data, _ = parse_plot_table(b"step,loss,name\n0,1.5,a\n1,0.5,b\n", "loss.csv")
    assert csv_data.columns == ("step", "loss", "name")
    assert csv_data.rows == ((0, 1.5, "a"), (1, 0.5, "b"))
    quoted, _ = parse_plot_table(b'a,b\n"1,5",2\n', "q.csv")
    assert quoted.rows == (("1,5", 2),)
    tsv, _ = parse_plot_table(b"x\ty\n1\t2\n", "p.tsv")
    assert tsv.rows == ((1, 2),)
    no_header, _ = parse_plot_table(b"1,2\n3,4\n", "p.csv", header=False)
    assert no_header.columns == ("0", "1") and len(no_header.rows) == 2
    js, _ = parse_plot_table(b'{"train": [{"step": 0, "acc": 0.5}, {"step": 1}]}', "p.json")
    assert js.columns == ("step", "acc") and js.rows == ((0, 0.5), (1, None))
    ym, _ = parse_plot_table(b"- {fpr: 0.0, tpr: 0.1}\n", "roc.yaml")
    assert ym.rows == ((0.0, 0.1),)
    _, problems = parse_plot_table(b'{"a": 1}', "p.json")
    assert problems[0].kind == "bad-type"


def test_plot_downsampling_keeps_first_and_last():
    rows = "\n".join(f"{i},{i * 2}" for i in range(10_000))
    data, _ = parse_plot_table(("x,y\n" + rows).encode(), "big.csv", max_rows=100)
    assert data.truncated and len(data.rows) == 100
    assert data.rows[0] == (0, 0) and data.rows[-1] == (9999, 19998)


def test_plot_kind_and_join():
    assert plot_kind("a/b.PNG") == "image" and plot_kind("x.csv") == "table"
    assert plot_kind("model.pkl") == "unsupported"
    assert join(".", "a/b") == "a/b"
    assert join("sub", "../x") == "x"
    assert join(".", "./a/../b") == "b"
    assert join("a", ".") == "a"
