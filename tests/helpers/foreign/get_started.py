"""A "get-started"-like repository, reproduced by the real ``dvc`` (two ``dvc repro`` runs)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.dvc import dvc
from helpers.foreign.files import PNG_BLUE, PNG_RED
from helpers.git import RepoBuilder, git

GET_STARTED_PARAMS = """\
data_dir: data
prepare:
  split: 0.2
models:
  cnn:
    epochs: 3
  rf:
    epochs: 5
"""

GET_STARTED_PARAMS_PY = """\
THRESHOLD = 0.5


class Train:
    seed = 42
"""

GET_STARTED_DVC_YAML = """\
vars:
  - params.yaml
  - report_dir: eval
stages:
  prepare:
    cmd: python src/prepare.py ${data_dir}/prepared.txt
    deps:
      - src/prepare.py
    params:
      - prepare.split
    outs:
      - ${data_dir}/prepared.txt
  train:
    foreach: ${models}
    do:
      cmd: python src/train.py ${key} ${item.epochs}
      deps:
        - src/train.py
        - ${data_dir}/prepared.txt
      params:
        - models.${key}.epochs
        - params.py:
            - THRESHOLD
            - Train.seed
      metrics:
        - ${report_dir}/${key}/metrics.json
  sweep:
    matrix:
      lr: [0.1, 0.01]
      depth: [2, 4]
    cmd: python src/sweep.py ${item.lr} ${item.depth}
    deps:
      - src/sweep.py
    outs:
      - sweep/${item.lr}-${item.depth}.txt
  summarize:
    wdir: report
    cmd: python ../src/summarize.py
    deps:
      - ../src/summarize.py
      - ../${report_dir}/cnn/metrics.json
    metrics:
      - summary.json:
          cache: false
  curves:
    cmd: python src/curves.py
    deps:
      - src/curves.py
      - ${data_dir}/prepared.txt
    plots:
      - ${report_dir}/curves:
          x: fpr
          y: tpr
      - ${report_dir}/cached.png
    metrics:
      - ${report_dir}/dirmetrics
metrics:
  - ${report_dir}/roc_auc.json
plots:
  - roc:
      template: simple
      x: fpr
      y:
        ${report_dir}/roc.csv: tpr
      title: ROC curve
  - ${report_dir}/confusion.png
"""

GET_STARTED_SCRIPTS = {
    "src/prepare.py": (
        "import sys, pathlib, yaml\n"
        "split = yaml.safe_load(open('params.yaml'))['prepare']['split']\n"
        "p = pathlib.Path(sys.argv[1]); p.parent.mkdir(parents=True, exist_ok=True)\n"
        "p.write_text(str(split))\n"
    ),
    "src/train.py": (
        "import json, sys, pathlib\n"
        "name, epochs = sys.argv[1], int(sys.argv[2])\n"
        "scale = float(open('data/prepared.txt').read())\n"
        "out = pathlib.Path('eval') / name; out.mkdir(parents=True, exist_ok=True)\n"
        "acc = round(0.5 + epochs / 20 + scale, 4)\n"
        "json.dump({'acc': acc, 'epochs': epochs}, open(out / 'metrics.json', 'w'))\n"
    ),
    "src/sweep.py": (
        "import sys, pathlib\n"
        "pathlib.Path('sweep').mkdir(exist_ok=True)\n"
        "pathlib.Path(f'sweep/{sys.argv[1]}-{sys.argv[2]}.txt').write_text(str(sys.argv))\n"
    ),
    "src/curves.py": (
        "import json, pathlib, shutil\n"
        "split = float(open('data/prepared.txt').read())\n"
        "curves = pathlib.Path('eval/curves'); curves.mkdir(parents=True, exist_ok=True)\n"
        "(curves / 'roc.csv').write_text(f'fpr,tpr\\n0,0\\n0.5,{split + 0.5}\\n1,1\\n')\n"
        "(curves / 'pr.csv').write_text('fpr,tpr\\n0,1\\n1,0.5\\n')\n"
        "shutil.copy('assets/blue.png', 'eval/cached.png')\n"
        "metrics = pathlib.Path('eval/dirmetrics'); metrics.mkdir(exist_ok=True)\n"
        "(metrics / 'a.json').write_text(json.dumps({'x': split}))\n"
        "(metrics / 'b.yaml').write_text('y: 2\\n')\n"
    ),
    "src/summarize.py": (
        "import json\n"
        "cnn = json.load(open('../eval/cnn/metrics.json'))\n"
        "json.dump({'best': {'acc': cnn['acc']}}, open('summary.json', 'w'))\n"
    ),
}


DVCLIVE_DVC_YAML = """\
metrics:
  - metrics.json
plots:
  - plots/metrics:
      x: step
  - plots/sklearn/confusion_matrix.json:
      template: confusion
      x: actual
      y: predicted
      title: Confusion Matrix
      x_label: True Label
      y_label: Predicted Label
"""


def _dvclive_files(final_acc: float) -> dict[str, str]:
    rows = "\n".join(f"{i}\t{round(final_acc * (i + 1) / 4, 4)}" for i in range(4))
    loss = "\n".join(f"{i}\t{round(1 - final_acc * (i + 1) / 4, 4)}" for i in range(4))
    return {
        "dvclive/dvc.yaml": DVCLIVE_DVC_YAML,
        "dvclive/metrics.json": json.dumps({"train": {"acc": final_acc}, "step": 3}),
        "dvclive/plots/metrics/train/acc.tsv": "step\tacc\n" + rows + "\n",
        "dvclive/plots/metrics/train/loss.tsv": "step\tloss\n" + loss + "\n",
        "dvclive/plots/sklearn/confusion_matrix.json": json.dumps(
            {"confusion_matrix": [{"actual": a, "predicted": p} for a, p in ("00", "01", "11")]}
        ),
    }


def _roc(shift: float) -> str:
    lines = ["fpr,tpr"] + [f"{i / 4},{min(1.0, i / 4 + shift)}" for i in range(5)]
    return "\n".join(lines) + "\n"


def build_get_started(path: Path) -> dict[str, str]:
    """Two `dvc repro` runs; the cached cnn metrics object of the first run is then deleted.

    Returns the shas by role: ``v1`` (first run), ``v2`` (second run, params changed).
    """
    repo = RepoBuilder(path)
    dvc(path, "init", "-q")
    dvc(path, "config", "core.analytics", "false")
    repo.write(
        {
            "params.yaml": GET_STARTED_PARAMS,
            "params.py": GET_STARTED_PARAMS_PY,
            "dvc.yaml": GET_STARTED_DVC_YAML,
            **GET_STARTED_SCRIPTS,
            "eval/roc_auc.json": json.dumps({"roc_auc": 0.81}),
            "eval/roc.csv": _roc(0.1),
            "eval/confusion.png": PNG_RED,
            "assets/blue.png": PNG_BLUE,
            "report/.keep": "",
            **_dvclive_files(0.7),
        }
    )
    dvc(path, "repro", "-q")
    shas = {"v1": repo.commit("First pipeline run (dvc repro)")}
    repo.write(
        {
            "params.yaml": GET_STARTED_PARAMS.replace("split: 0.2", "split: 0.3"),
            "eval/roc_auc.json": json.dumps({"roc_auc": 0.86}),
            "eval/roc.csv": _roc(0.2),
            **_dvclive_files(0.8),
        }
    )
    dvc(path, "repro", "-q")
    shas["v2"] = repo.commit("Bigger split (dvc repro)")
    # The first run's cached cnn metrics object leaves the cache (as after `dvc gc`).
    lock_v1 = git(path, "show", f"{shas['v1']}:dvc.lock")
    md5 = _lock_md5(lock_v1, "eval/cnn/metrics.json")
    lock_v2 = (path / "dvc.lock").read_text()
    assert md5 != _lock_md5(lock_v2, "eval/cnn/metrics.json")
    (path / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).unlink()
    shas["missing_md5"] = md5
    return shas


def _lock_md5(lock_text: str, out_path: str) -> str:
    import yaml

    for stage in yaml.safe_load(lock_text)["stages"].values():
        for out in stage.get("outs", []):
            if out["path"].endswith(out_path):
                return out["md5"]
    raise AssertionError(f"{out_path} not in lock")
