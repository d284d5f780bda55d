"""Generate a synthetic DVC repository of N commits quickly with ``git fast-import``.

Every commit on main changes params.yaml, metrics.json, a plot CSV of a few hundred rows and a few
stages of a large dvc.lock (``--stages`` stages, a handful changing per commit); some outputs are
DVC-cached (a metrics file and a plot CSV live only in ``.dvc/cache``; every 10th commit's cached
objects are left out, so "not in cache" is exercised). A few feature branches and annotated tags
complete the history. Deterministic for a given seed.

    python benchmarks/synth.py /tmp/synth --commits 1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

EPOCH = 1_600_000_000
IDENT = "Synth Bench <synth@example.com>"


@dataclass(frozen=True)
class SynthInfo:
    path: Path
    main_commits: int
    branch_commits: int
    stages: int
    seconds: float

    @property
    def total_commits(self) -> int:
        return self.main_commits + self.branch_commits


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # DVC's content hash


def _dvc_yaml(stages: int) -> str:
    lines = ["stages:"]
    for i in range(stages):
        name = f"s{i:03d}"
        lines += [
            f"  {name}:",
            f"    cmd: python src/{name}.py",
            "    deps:",
            f"    - src/{name}.py",
        ]
        if i:
            lines.append(f"    - data/s{i - 1:03d}.out")
        lines += ["    params:", f"    - prep.p{i % 10}", "    outs:", f"    - data/{name}.out"]
    lines += [
        "  train:",
        "    cmd: python src/train.py",
        "    deps:",
        f"    - data/s{stages - 1:03d}.out",
        "    params:",
        "    - train",
        "    outs:",
        "    - model.pkl",
        "    metrics:",
        "    - metrics.json:",
        "        cache: false",
        "    - eval/cached.json",
        "    plots:",
        "    - plots/loss.csv:",
        "        cache: false",
        "        x: step",
        "        y: loss",
        "    - plots/roc.csv:",
        "        x: fpr",
        "        y: tpr",
        "artifacts:",
        "  model:",
        "    path: model.pkl",
        "    type: model",
    ]
    return "\n".join(lines) + "\n"


def _hash_entry(path: str, md5: str, size: int) -> str:
    return f"    - path: {path}\n      hash: md5\n      md5: {md5}\n      size: {size}\n"


class Generator:
    def __init__(self, out: Path, stages: int, plot_rows: int, seed: int) -> None:
        self.out = out
        self.stages = stages
        self.plot_rows = plot_rows
        self.rng = random.Random(seed)
        self.cache = out / ".dvc" / "cache" / "files" / "md5"
        self.versions = [0] * stages  # per stage: how often it changed
        self.sections = [self._section(i) for i in range(stages)]
        self.params = {"prep": {f"p{i}": 1 for i in range(10)}, "train": {"lr": 0.1, "epochs": 10}}

    def _section(self, i: int) -> str:
        name, v = f"s{i:03d}", self.versions[i]
        text = f"  {name}:\n    cmd: python src/{name}.py\n    deps:\n"
        text += _hash_entry(f"src/{name}.py", _md5(f"src{i}".encode()), 100 + i)
        if i:
            prev = self.versions[i - 1]
            text += _hash_entry(f"data/s{i - 1:03d}.out", _md5(f"out{i - 1}-{prev}".encode()), 999)
        text += f"    params:\n      params.yaml:\n        prep.p{i % 10}: {v % 7}\n"
        text += "    outs:\n" + _hash_entry(f"data/{name}.out", _md5(f"out{i}-{v}".encode()), 999)
        return text

    def _cache_put(self, data: bytes) -> str:
        md5 = _md5(data)
        target = self.cache / md5[:2] / md5[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return md5

    def commit_files(self, n: int) -> dict[str, bytes]:
        """The files that change in main commit number ``n``."""
        rng = self.rng
        for i in rng.sample(range(self.stages), min(3, self.stages)):
            self.versions[i] += 1
            self.sections[i] = self._section(i)
            if i + 1 < self.stages:
                self.sections[i + 1] = self._section(i + 1)
        lr = round(0.5 / (1 + n % 50), 6)
        self.params["train"] = {"lr": lr, "epochs": 10 + n % 5, "layers": [64, 32]}
        self.params["prep"][f"p{n % 10}"] = n % 7
        acc = round(0.6 + 0.3 * (1 - 1 / (1 + n / 100)) + rng.uniform(-0.01, 0.01), 6)
        metrics = {"acc": acc, "loss": round(1 - acc, 6), "test": {"auc": round(acc + 0.02, 6)}}
        loss_rows = ["step,loss,acc"] + [
            f"{s},{1 / (1 + s + n):.6f},{acc * s / self.plot_rows:.6f}"
            for s in range(self.plot_rows)
        ]
        cached_metrics = json.dumps({"precision": acc - 0.01, "recall": acc + 0.01}).encode()
        roc = "fpr,tpr\n" + "".join(
            f"{k / 50:.3f},{min(1.0, (k / 50) ** 0.5):.3f}\n" for k in range(51)
        )
        locked_outs = []
        for path, data in (("eval/cached.json", cached_metrics), ("plots/roc.csv", roc.encode())):
            md5 = self._cache_put(data) if n % 10 != 9 else _md5(data)
            locked_outs.append((path, md5, len(data)))
        loss_csv = ("\n".join(loss_rows) + "\n").encode()
        metrics_json = json.dumps(metrics, indent=2).encode()
        train = "  train:\n    cmd: python src/train.py\n    deps:\n"
        train += _hash_entry(f"data/s{self.stages - 1:03d}.out", _md5(str(n).encode()), 999)
        train += (
            f"    params:\n      params.yaml:\n        train.epochs: {10 + n % 5}\n"
            "        train.layers:\n        - 64\n        - 32\n"
            f"        train.lr: {lr}\n    outs:\n"
        )
        outs = [
            *locked_outs,
            ("metrics.json", _md5(metrics_json), len(metrics_json)),
            ("model.pkl", _md5(f"model{n}".encode()), 5000),
            ("plots/loss.csv", _md5(loss_csv), len(loss_csv)),
        ]
        train += "".join(_hash_entry(p, m, s) for p, m, s in sorted(outs))
        lock = "schema: '2.0'\nstages:\n" + "".join(self.sections) + train
        params_yaml = _yaml_params(self.params)
        return {
            "params.yaml": params_yaml.encode(),
            "metrics.json": metrics_json,
            "plots/loss.csv": loss_csv,
            "dvc.lock": lock.encode(),
        }


def _yaml_params(params: dict) -> str:
    lines = []
    for section, values in params.items():
        lines.append(f"{section}:")
        for key, value in values.items():
            lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _blob(data: bytes) -> bytes:
    return b"data %d\n" % len(data) + data + b"\n"


def _commit(
    ref: str, mark: int, when: int, message: str, files: dict[str, bytes], parent: int | None
) -> bytes:
    out = [f"commit {ref}\nmark :{mark}\n".encode()]
    out.append(f"author {IDENT} {when} +0000\ncommitter {IDENT} {when} +0000\n".encode())
    out.append(_blob(message.encode()))
    if parent is not None:
        out.append(f"from :{parent}\n".encode())
    for path, data in files.items():
        out.append(f"M 100644 inline {path}\n".encode() + _blob(data))
    return b"".join(out)


def make_synthetic_repo(
    out: Path,
    commits: int = 1000,
    *,
    stages: int = 150,
    branches: int = 3,
    branch_length: int = 10,
    plot_rows: int = 300,
    seed: int = 0,
) -> SynthInfo:
    """Create the repository at ``out`` (must not exist) and return what was made."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=env)
    gen = Generator(out, stages, plot_rows, seed)
    first = {
        ".dvc/config": b"[core]\n    autostage = true\n",
        ".dvc/.gitignore": b"/config.local\n/tmp\n/cache\n",
        ".dvcignore": b"",
        ".gitignore": b"/model.pkl\n/data\n/eval/cached.json\n/plots/roc.csv\n",
        "dvc.yaml": _dvc_yaml(stages).encode(),
        **{f"src/s{i:03d}.py": f"print({i})\n".encode() for i in range(stages)},
        "src/train.py": b"print('train')\n",
    }
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=out, stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    write = proc.stdin.write
    mark = 0
    main_marks: list[int] = []
    branch_points = {commits * (k + 1) // (branches + 1): k for k in range(branches)}
    branch_total = 0
    for n in range(commits):
        files = gen.commit_files(n)
        if n == 0:
            files = {**first, **files}
        mark += 1
        when = EPOCH + n * 600
        write(
            _commit(
                "refs/heads/main",
                mark,
                when,
                f"run {n}: lr={gen.params['train']['lr']}",
                files,
                main_marks[-1] if main_marks else None,
            )
        )
        main_marks.append(mark)
        if n % 100 == 99:
            write(
                f"tag v0.{n // 100}\nfrom :{mark}\ntagger {IDENT} {when} +0000\n".encode()
                + _blob(f"release {n // 100}".encode())
            )
        if n in branch_points:
            k = branch_points[n]
            parent = mark
            for j in range(branch_length):
                files = gen.commit_files(n)
                mark += 1
                write(
                    _commit(
                        f"refs/heads/feature-{k}",
                        mark,
                        when + 60 * (j + 1),
                        f"feature {k} step {j}",
                        files,
                        parent,
                    )
                )
                parent = mark
                branch_total += 1
    write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True, env=env)
    return SynthInfo(out, commits, branch_total, stages, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--stages", type=int, default=150)
    parser.add_argument("--branches", type=int, default=3)
    parser.add_argument("--plot-rows", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shape", choices=("synthetic", "mdocean"), default="synthetic", help="see synth_mdocean"
    )
    args = parser.parse_args(argv)
    if args.shape == "mdocean":  # out is the cache folder; the repository is out/mdocean-v*/repo
        from synth_mdocean import mdocean_repo

        info = mdocean_repo(args.out, args.commits, stages=args.stages, seed=args.seed)
        print(f"{info.path}: {info.total_commits} commits, {info.seconds:.1f} s", file=sys.stderr)
        return 0
    info = make_synthetic_repo(
        args.out,
        args.commits,
        stages=args.stages,
        branches=args.branches,
        plot_rows=args.plot_rows,
        seed=args.seed,
    )
    print(
        f"{info.path}: {info.total_commits} commits ({info.main_commits} on main), "
        f"{info.stages} stages, {info.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
