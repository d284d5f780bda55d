"""What DVC experiments cost the site: size and build time per 100 experiments.

Makes a synthetic repository (git only, files in DVCLive's layout: ``dvclive/metrics.json`` and
two step series of ``--steps`` rows) with ``--baselines`` commits on main and ``--per``
experiments on each (``refs/exps/<ab>/<cdef…>/<name>``, one commit on top of the baseline, as
``dvc exp run`` makes them). Builds the site of that repository and of a copy without the
``refs/exps`` refs, cold (no snapshot cache), in the same run, and prints the difference per 100
experiments: total site bytes, ``data/`` bytes (runs JSON + plot files), pages, seconds.

    python benchmarks/bench_experiments.py [--baselines 20] [--per 5] [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    params: [train]
    metrics: [{dvclive/metrics.json: {cache: false}}]
    plots: [{dvclive/plots/metrics: {cache: false, x: step}}]
plots:
- loss:
    x: step
    y: {dvclive/plots/metrics/train/loss.tsv: loss, dvclive/plots/metrics/eval/loss.tsv: loss}
"""


def git(repo: Path, *args: str, when: int | None = None) -> str:
    env = dict(ENV)
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when} +0000"
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def write_run(repo: Path, lr: float, width: int, steps: int) -> None:
    (repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n  width: {width}\n  steps: {steps}\n")
    folder = repo / "dvclive/plots/metrics"
    loss = 1.0
    for split, factor in (("train", 1.0), ("eval", 1.1)):
        lines = ["timestamp\tstep\tloss"]
        for step in range(steps):
            loss = round(factor / (1 + lr * width * (step + 1)), 6)
            lines.append(f"{1700000000000 + step}\t{step}\t{loss}")
        (folder / split).mkdir(parents=True, exist_ok=True)
        (folder / split / "loss.tsv").write_text("\n".join(lines) + "\n")
    summary = {
        "train": {"loss": loss / 1.1},
        "eval": {"loss": loss, "acc": 1 - loss},
        "step": steps,
    }
    (repo / "dvclive/metrics.json").write_text(json.dumps(summary))


def make_repo(repo: Path, baselines: int, per: int, steps: int) -> None:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "gc.auto", "0")  # no background repack while the repository is copied
    (repo / ".dvc").mkdir()
    (repo / ".dvc/config").write_text("")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    when = 1_700_000_000
    for b in range(baselines):
        write_run(repo, 0.01 * (b + 1), 8, steps)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"baseline {b}", when=when)
        base = git(repo, "rev-parse", "HEAD")
        for e in range(per):
            when += 60
            write_run(repo, 0.01 * (b + 1) * (1 + 0.3 * (e + 1)), 8 + 4 * e, steps)
            git(repo, "add", "-A")
            tree = git(repo, "write-tree")
            tip = git(
                repo, "commit-tree", tree, "-p", base, "-m", "dvc: commit experiment x", when=when
            )
            git(repo, "update-ref", f"refs/exps/{base[:2]}/{base[2:]}/exp-{b}-{e}", tip)
        git(repo, "checkout", "-q", "--", ".")
        when += 3600


def build(repo: Path, out: Path) -> dict:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlpages", "build", str(repo), "--out", str(out)],
        check=True, capture_output=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    data = sum(p.stat().st_size for p in (out / "data").rglob("*") if p.is_file())
    runs = sum(p.stat().st_size for p in (out / "data").glob("runs-*.js"))
    pages = sum(1 for p in files if p.suffix == ".html")
    return {"seconds": seconds, "bytes": size, "data": data, "runs": runs, "pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baselines", type=int, default=20)
    parser.add_argument("--per", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root / "exps", args.baselines, args.per, args.steps)
        shutil.copytree(root / "exps", root / "plain")
        for ref in git(root / "plain", "for-each-ref", "--format=%(refname)", "refs/exps").split():
            git(root / "plain", "update-ref", "-d", ref)
        plain = build(root / "plain", root / "site-plain")
        exps = build(root / "exps", root / "site-exps")
    n = args.baselines * args.per
    per100 = 100 / n
    print(
        f"{args.baselines} baselines x {args.per} experiments = {n} experiments, {args.steps} steps"
    )
    print("| | without refs/exps | with | extra per 100 experiments |")
    print("| --- | --- | --- | --- |")
    for key, unit in (
        ("bytes", "KB"),
        ("data", "KB"),
        ("runs", "KB"),
        ("pages", ""),
        ("seconds", "s"),
    ):
        a, b = plain[key], exps[key]
        scale = 1024 if unit == "KB" else 1
        extra = (b - a) * per100 / scale
        print(f"| {key} | {a / scale:,.1f}{unit} | {b / scale:,.1f}{unit} | {extra:+,.1f}{unit} |")


if __name__ == "__main__":
    main()
