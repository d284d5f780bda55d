"""A repository with real DVC experiments: ``dvc exp run -S …`` on two baselines, pushed with
``dvc exp push`` to a bare origin, and a CI-style clone that fetches ``refs/exps/*``.

The training script writes DVCLive's exact file layout (``dvclive/metrics.json``,
``dvclive/plots/metrics/{train,eval}/loss.tsv`` with ``timestamp, step, loss``) without importing
``dvclive``: the files are what mlpages reads, and the package would add a dependency (and its
own dependencies) to the project for four small files. Its values are a deterministic function
of the params, so tests can assert them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.dvc import dvc
from helpers.git import git

TRAIN_PY = """\
import json, math, os
import yaml

params = yaml.safe_load(open("params.yaml"))["train"]
lr, epochs, width = params["lr"], params["epochs"], params["width"]
os.makedirs("dvclive/plots/metrics/train", exist_ok=True)
os.makedirs("dvclive/plots/metrics/eval", exist_ok=True)
train = open("dvclive/plots/metrics/train/loss.tsv", "w")
evaluation = open("dvclive/plots/metrics/eval/loss.tsv", "w")
train.write("timestamp\\tstep\\tloss\\n")
evaluation.write("timestamp\\tstep\\tloss\\n")
for step in range(epochs):
    loss = round(1.0 / (1 + lr * width * (step + 1)), 6)
    train.write(f"{1700000000000 + step}\\t{step}\\t{loss}\\n")
    evaluation.write(f"{1700000000000 + step}\\t{step}\\t{round(loss * 1.1 + 0.01, 6)}\\n")
acc = round(1 - loss, 6)
summary = {"train": {"loss": loss}, "eval": {"loss": round(loss * 1.1 + 0.01, 6), "acc": acc},
           "step": epochs - 1}
json.dump(summary, open("dvclive/metrics.json", "w"), indent=4)
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    params:
    - train
    metrics:
    - dvclive/metrics.json:
        cache: false
    plots:
    - dvclive/plots/metrics:
        cache: false
        x: step
plots:
- loss:
    title: Train and eval loss
    x: step
    y:
      dvclive/plots/metrics/train/loss.tsv: loss
      dvclive/plots/metrics/eval/loss.tsv: loss
"""

# (baseline params, experiments as (name, -S overrides)); the second baseline is the newest.
BASELINES = (
    ({"lr": 0.1, "epochs": 4, "width": 8}, (("old-lr", ["train.lr=0.05"]),)),
    (
        {"lr": 0.2, "epochs": 5, "width": 8},
        (
            ("fast-lr", ["train.lr=0.4"]),
            ("wide-net", ["train.width=12"]),
            ("long-run", ["train.epochs=7", "train.lr=0.1"]),
        ),
    ),
)


@dataclass(frozen=True)
class ExpRepo:
    """The three repositories and what was run: baseline shas (oldest first), names per sha."""

    work: Path  # where `dvc exp run` ran
    origin: Path  # bare, received `git push` + `dvc exp push`
    clone: Path  # CI-style clone with refs/exps fetched
    baselines: tuple[str, ...]
    experiments: dict[str, tuple[str, ...]]  # baseline sha -> experiment names
    first: str  # the repository's first commit (no experiments)


def _params_yaml(values: dict) -> str:
    return "train:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())


def _commit(repo: Path, message: str, when: int) -> str:
    date = f"{when} +0000"
    git(repo, "add", "-A")
    git(
        repo,
        "commit",
        "-q",
        "-m",
        message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    return git(repo, "rev-parse", "HEAD").strip()


def build_exp_repo(root: Path) -> ExpRepo:
    """Run it all for real (about a minute on a busy 2-core machine)."""
    work, origin, clone = root / "work", root / "origin.git", root / "clone"
    work.mkdir(parents=True)
    git(root, "init", "-q", "--bare", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.name", "Ada Tester")
    git(work, "config", "user.email", "ada@example.com")
    dvc(work, "init", "-q")
    dvc(work, "remote", "add", "-d", "store", str(root / "dvcstore"))
    dvc(work, "config", "core.autostage", "true")
    (work / "train.py").write_text(TRAIN_PY)
    (work / "dvc.yaml").write_text(DVC_YAML)
    (work / ".gitignore").write_text("")
    when = 1_700_000_000
    first = _commit(work, "set up the training stage", when)
    baselines: list[str] = []
    experiments: dict[str, tuple[str, ...]] = {}
    for n, (params, exps) in enumerate(BASELINES):
        (work / "params.yaml").write_text(_params_yaml(params))
        dvc(work, "repro", "-q")
        when += 86_400
        sha = _commit(work, f"baseline {n + 1}: lr {params['lr']}", when)
        baselines.append(sha)
        for name, sets in exps:
            git(work, "reset", "-q", "--hard")  # each experiment starts from its baseline
            args = [a for s in sets for a in ("-S", s)]
            dvc(work, "exp", "run", "-q", "-n", name, *args)
        experiments[sha] = tuple(name for name, _ in exps)
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    dvc(work, "exp", "push", "-A", "origin")
    git(root, "clone", "-q", str(origin), str(clone))
    git(clone, "fetch", "-q", "origin", "+refs/exps/*:refs/exps/*")
    return ExpRepo(work, origin, clone, tuple(baselines), experiments, first)
