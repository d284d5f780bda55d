"""A real git repository with a DVC pipeline history for the site tests (files written by hand
in DVC's formats, so no `dvc repro` is needed to read them back)."""

from __future__ import annotations

import hashlib
import json

from helpers.git import git

PAYLOAD_IMG = "<img src=x onerror=window.__pwned=1>"
PAYLOAD_SCRIPT = "</script><script>window.__pwned=1</script>"
PAYLOAD_SVG = "<svg onload=window.__pwned=1>"
# Ref names cannot hold spaces; HTML accepts "/" between attributes instead.
PAYLOAD_REF = "x<img/src=x/onerror=window.__pwned=1>"

DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps:
    - prepare.py
    - data/raw.csv
    outs:
    - data/prepared
  train:
    cmd: python train.py
    deps:
    - train.py
    - data/prepared
    params:
    - train
    outs:
    - model.pkl
  evaluate:
    cmd: python evaluate.py
    deps:
    - evaluate.py
    - model.pkl
    - data/prepared
    metrics:
    - metrics.json:
        cache: false
    plots:
    - roc.csv:
        cache: false
        x: fpr
        y: tpr
    - preds.csv:
        cache: false
        template: confusion
        x: actual
        y: predicted
artifacts:
  churn:
    path: model.pkl
    type: model
"""


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def lock(data: str, code: str, params: dict, model: str, metrics: str) -> str:
    """A dvc.lock (schema 2.0) whose hashes follow the inputs."""
    prepared = md5("prep" + data) + ".dir"

    def entry(path: str, digest: str, size: int = 100) -> str:
        return f"    - path: {path}\n      hash: md5\n      md5: {digest}\n      size: {size}\n"

    params_lines = "".join(f"        train.{k}: {json.dumps(v)}\n" for k, v in params.items())
    return (
        "schema: '2.0'\nstages:\n"
        "  prepare:\n    cmd: python prepare.py\n    deps:\n"
        + entry("data/raw.csv", md5(data))
        + entry("prepare.py", md5("prepare"))
        + "    outs:\n"
        + entry("data/prepared", prepared)
        + "  train:\n    cmd: python train.py\n    deps:\n"
        + entry("data/prepared", prepared)
        + entry("train.py", md5(code))
        + "    params:\n      params.yaml:\n"
        + params_lines
        + "    outs:\n"
        + entry("model.pkl", md5(model))
        + "  evaluate:\n    cmd: python evaluate.py\n    deps:\n"
        + entry("data/prepared", prepared)
        + entry("evaluate.py", md5("evaluate"))
        + entry("model.pkl", md5(model))
        + "    outs:\n"
        + entry("metrics.json", md5(metrics))
        + entry("preds.csv", md5("preds" + model))
        + entry("roc.csv", md5("roc" + model))
    )


def commit_files(i: int, *, payload: bool = False, lr: float | None = None) -> dict[str, str]:
    """The files of run ``i``: params, metrics, plots, lock and reports change with ``i``."""
    lr = lr if lr is not None else round(0.1 + 0.05 * (i % 3), 2)
    params = {"lr": lr, "n_est": 50 + 10 * (i // 2)}
    data = f"batch-{i // 2}"
    code = f"train-v{i // 3}"
    auc = round(0.70 + 0.03 * i - 0.01 * (i % 2), 4)
    metrics: dict = {
        "auc": auc,
        "loss": round(0.6 - 0.025 * i, 4),
        "accuracy": round(0.8 + 0.01 * i, 4),
    }
    params_doc: dict = {"train": params}
    plot_header = "fpr,tpr"
    rows = [f"{x / 10},{min(1.0, (x / 10) ** (0.8 - 0.05 * i)):.4f}" for x in range(11)]
    preds = "actual,predicted\n" + "\n".join(
        f"{a},{p}" for a, p in [(0, 0), (0, 1), (1, 1), (1, 1), (1, 0), (0, 0)]
    )
    validation = {"status": "pass", "batch": f"week_{i:02d}.csv", "rows": 2000, "anomalies": []}
    gate = {
        "verdict": "blessed" if i % 4 != 3 else "rejected",
        "rubber_stamp": i == 0,
        "champion": None,
        "rules": [
            {
                "rule": "floor",
                "metric": "auc",
                "candidate": auc,
                "champion": None,
                "threshold": 0.7,
                "passed": True,
                "reason": f"auc {auc} >= 0.7",
            }
        ],
        "reasons": ["all rules passed"],
    }
    if payload:
        params_doc[PAYLOAD_IMG] = PAYLOAD_SCRIPT
        metrics[PAYLOAD_SVG] = 1.5
        plot_header = "fpr,tpr"
        rows.append("1.0,1.0")
        preds = f"actual,predicted\n{PAYLOAD_IMG},{PAYLOAD_SCRIPT}\n0,1\n1,1\n"
        validation["batch"] = PAYLOAD_SCRIPT
        validation["status"] = "fail"
        validation["anomalies"] = [
            {
                "kind": "unknown_category",
                "column": PAYLOAD_IMG,
                "count": 2,
                "detail": PAYLOAD_SCRIPT,
            }
        ]
        gate["reasons"] = [PAYLOAD_IMG]
        gate["rules"][0]["reason"] = PAYLOAD_SCRIPT
    import yaml

    metrics_text = json.dumps(metrics)
    return {
        "dvc.yaml": DVC_YAML,
        "params.yaml": yaml.safe_dump(params_doc, sort_keys=True),
        "metrics.json": metrics_text,
        "roc.csv": plot_header + "\n" + "\n".join(rows) + "\n",
        "preds.csv": preds,
        "dvc.lock": lock(data, code, params, f"model-{i}", metrics_text),
        "reports/validation.json": json.dumps(validation),
        "reports/gate.json": json.dumps(gate),
        "train.py": f"# {code}\n",
    }


def build_history(make_repo, *, commits: int = 6, payload: bool = False, name: str = "repo"):
    """main with ``commits`` runs, a 2-run feature branch off main~2, tags; returns the builder."""
    repo = make_repo(name=name)
    repo.write({".dvc/config": "", ".dvcignore": ""})
    shas = []
    for i in range(commits):
        message = f"run {i}: lr sweep"
        if payload and i == commits - 1:
            message = f"run {i} {PAYLOAD_IMG}\n\nbody {PAYLOAD_SCRIPT}"
        shas.append(repo.commit(message, commit_files(i, payload=payload)))
    branch = PAYLOAD_REF if payload else "feature/bigger-model"
    repo.git("branch", branch, shas[max(len(shas) - 3, 0)])
    repo.git("checkout", "-q", branch)
    repo.commit("try a bigger learning rate", commit_files(commits, lr=0.5, payload=payload))
    repo.commit("and more trees", commit_files(commits + 1, lr=0.5, payload=payload))
    repo.git("checkout", "-q", "main")
    repo.git("tag", "v0.1", shas[1])
    if payload:
        repo.git("tag", "t" + PAYLOAD_REF, shas[2])
    env = {"GIT_COMMITTER_DATE": f"{repo.clock + 10} +0000"}
    git(repo.path, "tag", "-a", "churn@v0.1.0", "-m", "Registering churn v0.1.0", shas[1], env=env)
    git(repo.path, "tag", "-a", "churn@v0.2.0", "-m", "Registering churn v0.2.0", shas[-1], env=env)
    git(
        repo.path,
        "tag",
        "-a",
        "churn#prod#1",
        "-m",
        "Promote churn v0.2.0 to prod",
        shas[-1],
        env=env,
    )
    return repo, shas
