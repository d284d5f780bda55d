"""Builders of DVC repositories shaped unlike ours (used by tests/test_foreign_repos.py).

Each builder writes a real git repository with plain file writes and ``git``; only
``build_get_started`` runs the real ``dvc repro`` (its lock file and DVC cache are DVC's own).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from conftest import GIT_ENV, RepoBuilder, git

# --------------------------------------------------------------------------------------------
# (a) a "get-started"-like repository, reproduced by the real dvc


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


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid solid-colour PNG (a real image the site must show as <img>)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG_RED = _png(40, 30, (200, 30, 30))
PNG_BLUE = _png(30, 30, (30, 60, 200))

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


def _dvc(repo: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, env=env, check=True, capture_output=True
    )


def build_get_started(path: Path) -> dict[str, str]:
    """Two `dvc repro` runs; the cached cnn metrics object of the first run is then deleted.

    Returns the shas by role: ``v1`` (first run), ``v2`` (second run, params changed).
    """
    repo = RepoBuilder(path)
    _dvc(path, "init", "-q")
    _dvc(path, "config", "core.analytics", "false")
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
    _dvc(path, "repro", "-q")
    shas = {"v1": repo.commit("First pipeline run (dvc repro)")}
    repo.write(
        {
            "params.yaml": GET_STARTED_PARAMS.replace("split: 0.2", "split: 0.3"),
            "eval/roc_auc.json": json.dumps({"roc_auc": 0.86}),
            "eval/roc.csv": _roc(0.2),
            **_dvclive_files(0.8),
        }
    )
    _dvc(path, "repro", "-q")
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


# --------------------------------------------------------------------------------------------
# (b) a legacy history: DVC 1.x lock, DVC 2 locks, then DVC 3; metrics renamed and reshaped


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _put_legacy_cache(path: Path, data: bytes) -> str:
    md5 = md5_of(data)
    target = path / ".dvc/cache" / md5[:2] / md5[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def build_legacy(path: Path) -> dict[str, str]:
    """Five commits spanning DVC 1.x → 2 → 3 lock files; returns shas by role."""
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n/tmp\n"})
    train = "import json\n"
    dvc_yaml_v1 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - lr\n    metrics:\n    - metrics.json:\n        cache: false\n"
    )
    lock_v1 = (
        "train:\n  cmd: python train.py\n  deps:\n  - path: train.py\n"
        f"    md5: {md5_of(train.encode())}\n  params:\n    params.yaml:\n      lr: 0.1\n"
        "  outs:\n  - path: metrics.json\n    md5: 0123456789abcdef0123456789abcdef\n"
    )
    shas = {
        "dvc1": repo.commit(
            "DVC 1.x era",
            {
                "train.py": train,
                "params.yaml": "lr: 0.1\n",
                "dvc.yaml": dvc_yaml_v1,
                "dvc.lock": lock_v1,
                "metrics.json": json.dumps({"acc": 0.7}),
            },
        )
    }
    # DVC 2: renamed metrics (scores.json, cached, legacy cache layout), params key renamed.
    scores = json.dumps({"acc": 0.8, "loss": 0.3}).encode()
    scores_md5 = _put_legacy_cache(path, scores)
    dvc_yaml_v2 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - train.learning_rate\n    metrics:\n    - scores.json\n"
    )
    lock_v2 = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        f"    - path: train.py\n      md5: {md5_of(train.encode())}\n      size: {len(train)}\n"
        "    params:\n      params.yaml:\n        train.learning_rate: 0.05\n    outs:\n"
        f"    - path: scores.json\n      md5: {scores_md5}\n      size: {len(scores)}\n"
    )
    shas["dvc2"] = repo.commit(
        "DVC 2: scores.json in the cache, learning_rate",
        {
            "params.yaml": "train:\n  learning_rate: 0.05\n",
            "dvc.yaml": dvc_yaml_v2,
            "dvc.lock": lock_v2,
            "metrics.json": None,
            ".gitignore": "/scores.json\n",
        },
    )
    # DVC 2 again, with a stale lock (params changed, lock not rerun) and no cache object.
    shas["dvc2_stale"] = repo.commit(
        "DVC 2: params edited, not reproduced",
        {
            "params.yaml": "train:\n  learning_rate: 0.01\n",
            "dvc.lock": lock_v2.replace(scores_md5, "fedcba9876543210fedcba9876543210"),
        },
    )
    # DVC 3: nested train/test metrics under eval/, in git.
    nested = json.dumps({"train": {"acc": 0.93}, "test": {"acc": 0.88, "loss": 0.21}})
    dvc_yaml_v3 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - train.learning_rate\n    metrics:\n    - eval/metrics.json:\n"
        "        cache: false\n"
    )
    lock_v3 = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        f"    - path: train.py\n      hash: md5\n      md5: {md5_of(train.encode())}\n"
        f"      size: {len(train)}\n    params:\n      params.yaml:\n"
        "        train.learning_rate: 0.01\n    outs:\n    - path: eval/metrics.json\n"
        f"      hash: md5\n      md5: {md5_of(nested.encode())}\n      size: {len(nested)}\n"
    )
    shas["dvc3"] = repo.commit(
        "DVC 3: nested eval/metrics.json",
        {
            "dvc.yaml": dvc_yaml_v3,
            "dvc.lock": lock_v3,
            "eval/metrics.json": nested,
            ".gitignore": "",
        },
    )
    return shas


# --------------------------------------------------------------------------------------------
# (c) hostile content and refs of every kind

HOSTILE_DVC_YAML = (
    "stages:\n  train:\n    cmd: python train.py\n    params:\n    - lr\n"
    "    metrics:\n    - metrics.json:\n        cache: false\n"
)


def _commit_bytes_message(repo: RepoBuilder, message: bytes, encoding: str) -> str:
    msg_file = repo.path.parent / f"{repo.path.name}-msg.txt"
    msg_file.write_bytes(message)
    repo.clock += 3600
    date = f"{repo.clock} +0000"
    args = ["-c", f"i18n.commitEncoding={encoding}"]
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(repo.path, "add", "-A")
    git(repo.path, *args, "commit", "-q", "--allow-empty", "-F", str(msg_file), env=env)
    msg_file.unlink()
    return repo.head()


def _raw_commit(repo: RepoBuilder, message: bytes) -> str:
    """A commit object written byte for byte (git commit would re-encode invalid UTF-8)."""
    repo.clock += 3600
    head = repo.head()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    who = f"Ada Tester <ada@example.com> {repo.clock} +0000".encode()
    body = b"tree %s\nparent %s\nauthor %s\ncommitter %s\n\n" % (
        tree.encode(),
        head.encode(),
        who,
        who,
    )
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.path,
            input=body + message,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    repo.git("update-ref", "HEAD", sha)
    return sha


def build_hostile(path: Path) -> dict[str, str]:
    """Broken files, odd messages, merges, orphan/exp/tag-of-tag refs, detached HEAD."""
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n/tmp\n"})
    shas = {
        "good": repo.commit(
            "Good start",
            {
                "dvc.yaml": HOSTILE_DVC_YAML,
                "params.yaml": "lr: 0.1\n",
                "metrics.json": json.dumps({"acc": 0.75}),
            },
        )
    }
    repo.git("tag", "-a", "v1", "-m", "release one")
    repo.git("tag", "-a", "v1-alias", "v1", "-m", "a tag of a tag")
    shas["bad_yaml"] = repo.commit(
        "Broken dvc.yaml", {"dvc.yaml": "stages:\n  train: [unclosed\n", "params.yaml": "lr: [\n"}
    )
    shas["bad_json"] = repo.commit(
        "Broken metrics",
        {"dvc.yaml": HOSTILE_DVC_YAML, "params.yaml": "lr: 0.2\n", "metrics.json": '{"acc": 0.8,'},
    )
    shas["binary"] = repo.commit("Binary metrics", {"metrics.json": PNG_RED + b"\x00" * 64})
    huge = json.dumps({f"m{i}": i * 0.5 for i in range(330_000)})
    assert len(huge) > 5_000_000
    shas["huge"] = repo.commit("Huge metrics", {"metrics.json": huge})
    shas["nan"] = repo.commit(
        "Non-finite metrics",
        {"metrics.json": '{"acc": NaN, "loss": Infinity, "gain": -Infinity, "ok": 0.5}'},
    )
    shas["latin1"] = _commit_bytes_message(
        repo, "Modèle réentraîné: précision\n".encode("latin-1"), "ISO-8859-1"
    )
    shas["bad_utf8"] = _raw_commit(repo, b"Broken \xff\xfe bytes\n")
    # A feature branch merged back with --no-ff.
    repo.git("checkout", "-q", "-b", "feature/wider")
    shas["feature"] = repo.commit(
        "Wider model", {"params.yaml": "lr: 0.3\n", "metrics.json": json.dumps({"acc": 0.9})}
    )
    repo.git("checkout", "-q", "main")
    repo.clock += 3600
    date = f"{repo.clock} +0000"
    git(
        path,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature/wider",
        "feature/wider",
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    shas["merge"] = repo.head()
    # A DVC 3 experiment ref on a commit no branch reaches.
    tree = repo.git("rev-parse", f"{shas['feature']}^{{tree}}").strip()
    exp = git(
        path,
        "commit-tree",
        tree,
        "-p",
        shas["merge"],
        "-m",
        "exp-4f2a1",
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    ).strip()
    base = shas["merge"]
    repo.git("update-ref", f"refs/exps/{base[:2]}/{base[2:]}/exp-4f2a1", exp)
    shas["exp"] = exp
    # An orphan branch without any DVC file (a gh-pages-like branch).
    repo.git("checkout", "-q", "--orphan", "gh-pages")
    repo.git("rm", "-rq", "--cached", ".")
    for child in path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shas["orphan"] = repo.commit("Pages root", {"index.html": "<p>hi</p>"})
    # Detached HEAD on main's merge commit.
    repo.git("checkout", "-q", "-f", "--detach", shas["merge"])
    return shas


def ci_checkout(source: Path, target: Path) -> str:
    """What actions/checkout leaves: only refs/remotes/origin/*, HEAD detached, no local branch."""
    target.mkdir(parents=True)
    git(target, "init", "-q")
    git(target, "remote", "add", "origin", str(source))
    git(target, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "--no-tags")
    git(target, "checkout", "-q", "--detach", "origin/main")
    assert not git(target, "for-each-ref", "refs/heads").strip()
    return git(target, "rev-parse", "HEAD").strip()


def shallow_clone(source: Path, target: Path) -> None:
    """`git clone --depth 2` (as actions/checkout without fetch-depth: 0)."""
    git(target.parent, "clone", "-q", "--depth", "2", f"file://{source}", str(target))


def build_without_dvc(path: Path) -> None:
    """A plain git repository: no dvc.yaml, no .dvc/ in any commit."""
    repo = RepoBuilder(path)
    repo.commit("Plain project", {"README.md": "# nothing to see\n", "src/app.py": "print(1)\n"})


# --------------------------------------------------------------------------------------------
# (e) odd shapes: DVC's naming corners, name collisions across dvc.yaml files, odd files and refs

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


# --------------------------------------------------------------------------------------------
# (f) a monorepo: the DVC project lives in a sub-folder (`dvc init --subdir`)


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
