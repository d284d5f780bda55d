"""Odd shapes: DVC's naming corners, name collisions across dvc.yaml files, a monorepo."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.foreign.files import md5_of
from helpers.git import RepoBuilder

ODD_DVC_YAML = """\
vars:
  - config.yaml:train
stages:
  fit:
    foreach:
      - {name: small, size: 1}
      - {name: big, size: 2}
    do:
      cmd: echo ${item.name} ${train.lr}
  evaluate:
    foreach: [alpha, beta]
    do:
      cmd: echo ${item}
  sweep:
    matrix:
      model: [{name: a}, {name: b}]
      lr: [0.1]
      flag: [true, false]
    cmd: echo ${item.model.name} ${item.lr} ${item.flag}
  train:
    cmd: echo root
    params:
      - lr
    metrics:
      - m.json:
          cache: false
metrics:
  - sym.json
  - list.json
  - bom.json
plots:
  - train_vs_test:
      x:
        train.csv: step
        test.csv: epoch
      y:
        train.csv: loss
        test.csv: [loss, acc]
      title: Train vs test
"""

# What `dvc stage list --all` (DVC 3.67) prints for ODD_DVC_YAML plus models/dvc.yaml.
ODD_DVC_STAGE_NAMES = {
    "fit@0", "fit@1", "evaluate@alpha", "evaluate@beta", "sweep@model0-0.1-true",
    "sweep@model0-0.1-false", "sweep@model1-0.1-true", "sweep@model1-0.1-false", "train",
    "models/dvc.yaml:train",
}  # fmt: skip


def build_odd_shapes(path: Path) -> dict[str, str]:
    """Two `train` stages in two dvc.yaml files, a symlinked metrics file, BOMs, CRLF, a tag
    named like the default branch, tags of a tree and of a blob."""
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n/tmp\n"})
    shas = {
        "one": repo.commit(
            "One",
            {
                "dvc.yaml": ODD_DVC_YAML,
                "config.yaml": "train:\n  lr: 0.5\n",
                "params.yaml": "\ufefflr: 0.1\n",
                "m.json": json.dumps({"acc": 0.5}),
                "models/dvc.yaml": "stages:\n  train:\n    cmd: echo sub\n    metrics:\n"
                "    - m.json:\n        cache: false\n",
                "models/m.json": json.dumps({"acc": 0.6}),
                "links/real.json": json.dumps({"acc": 0.1}),
                "list.json": "[1, 2, 3]",
                "bom.json": "\ufeff" + json.dumps({"acc": 0.3}),
                "train.csv": "step,loss\n0,1\n1,0.5\n2,0.2\n",
                "test.csv": "epoch,loss,acc\n0,1.2,0.3\n1,0.7,0.6\n2,0.4,0.8\n",
            },
        )
    }
    (path / "sym.json").symlink_to("links/real.json")
    shas["two"] = repo.commit(
        "Two: the sub-folder train stage changes, metrics via a symlink",
        {"models/dvc.yaml": "stages:\n  train:\n    cmd: echo sub2\n    metrics:\n"
         "    - m.json:\n        cache: false\n", "models/m.json": json.dumps({"acc": 0.7})},
    )  # fmt: skip
    repo.git("tag", "main", shas["one"])  # a tag named like the default branch
    repo.git("tag", "a-tree", "HEAD^{tree}")
    repo.git("tag", "a-blob", repo.git("rev-parse", "HEAD:config.yaml").strip())
    shas["crlf"] = repo.commit(
        "Three: CRLF dvc.yaml",
        {"dvc.yaml": "stages:\r\n  train:\r\n    cmd: echo crlf\r\n    metrics:\r\n"
         "    - m.json:\r\n        cache: false\r\n"},
    )  # fmt: skip
    return shas


def build_monorepo(path: Path) -> dict[str, str]:
    """`ml/` is the DVC project (its own .dvc/ and cache); `web/` is unrelated code."""
    repo = RepoBuilder(path)
    repo.write(
        {
            "web/index.js": "console.log(1)\n",
            "ml/.dvc/config": "",
            "ml/.dvc/.gitignore": "/cache\n/tmp\n",
            "ml/.gitignore": "/metrics.json\n",
            "ml/dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    params: [lr]\n"
            "    metrics:\n    - metrics.json\n",
        }
    )
    shas = {}
    for role, lr in (("one", 0.1), ("two", 0.2)):
        metrics = json.dumps({"acc": round(1 - lr, 3)}).encode()
        md5 = md5_of(metrics)
        target = path / "ml/.dvc/cache/files/md5" / md5[:2] / md5[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(metrics)
        lock = (
            "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    params:\n"
            f"      params.yaml:\n        lr: {lr}\n    outs:\n    - path: metrics.json\n"
            f"      hash: md5\n      md5: {md5}\n      size: {len(metrics)}\n"
        )
        shas[role] = repo.commit(
            f"ml: lr {lr}", {"ml/params.yaml": f"lr: {lr}\n", "ml/dvc.lock": lock}
        )
    return shas
