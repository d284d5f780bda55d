"""Benchmark the history engine against DVC's own CLI and the `git cat-file` lower bound.

In one run, on synthetic repositories made by ``benchmarks/synth.py``:

* ``mlpages history --json`` cold (no snapshot cache) and warm (everything cached), at N commits;
* ``dvc exp show --all-commits --json`` (cold: ``.dvc/tmp`` removed, so DVC's own per-commit
  cache is empty; then warm) and ``dvc metrics show --all-commits --json`` on smaller repositories
  (``--dvc-commits`` on the big pipeline, ``--dvc-small-commits`` on a 5-stage one: DVC needs
  0.1-2 s per commit), next to mlpages cold and warm on the same repositories;
* the lower bound: one ``git cat-file --batch`` reading the blobs mlpages reads;
* 10,000 commits cold (``--big``), to show the cost grows linearly.

Every command is a separate process; wall time, CPU time (user+sys, including git children) and
peak RSS come from ``os.wait4``. Prints a markdown table.

    python benchmarks/bench_history.py [--commits 1000] [--dvc-commits 200] [--big 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_synthetic_repo

BIN = Path(sys.executable).parent
READ_PATHS = ("dvc.yaml", "dvc.lock", "params.yaml", "metrics.json", "plots/loss.csv")


@dataclass(frozen=True)
class Run:
    label: str
    commits: int
    wall: float
    cpu: float
    rss_mb: float

    @property
    def per_commit_ms(self) -> float:
        return 1000 * self.wall / max(self.commits, 1)


def measure(label: str, commits: int, cmd: list[str], cwd: Path, stdin: bytes | None = None) -> Run:
    """Run ``cmd`` (output discarded); wall, CPU of the whole process tree, peak RSS."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{BIN}:{os.environ['PATH']}"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: exit {proc.returncode}: {err.decode()[-2000:]}")
    return Run(label, commits, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def commit_count(repo: Path) -> int:
    out = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True)
    return int(out.stdout)


def drop_cache(repo: Path) -> None:
    shutil.rmtree(repo / ".git" / "mlpages-cache", ignore_errors=True)


def mlpages_runs(repo: Path, tag: str, warm: bool = True) -> list[Run]:
    n = commit_count(repo)
    cmd = [str(BIN / "mlpages"), "history", str(repo), "--json"]
    drop_cache(repo)
    runs = [measure(f"mlpages history --json, cold ({tag})", n, cmd, repo)]
    if warm:
        runs.append(measure(f"mlpages history --json, warm ({tag})", n, cmd, repo))
    return runs


def cat_file_run(repo: Path, tag: str) -> Run:
    """The lower bound: one ``git cat-file --batch`` over the blobs mlpages reads."""
    listing = subprocess.run(
        ["git", "rev-list", "--all", "--objects"], cwd=repo, capture_output=True, check=True
    ).stdout.decode()
    wanted = [
        line.split(" ", 1)[0]
        for line in listing.splitlines()
        if " " in line and line.split(" ", 1)[1] in READ_PATHS
    ]
    names = ("\n".join(wanted) + "\n").encode()
    return measure(
        f"git cat-file --batch, same blobs ({tag})",
        commit_count(repo),
        ["git", "cat-file", "--batch"],
        repo,
        stdin=names,
    )


def dvc_runs(repo: Path, tag: str) -> list[Run]:
    """DVC's commands cold (its own caches in .dvc/tmp removed first), then exp show warm."""
    n = commit_count(repo)
    dvc = str(BIN / "dvc")
    exp = [dvc, "exp", "show", "--all-commits", "--json"]
    metrics = [dvc, "metrics", "show", "--all-commits", "--json"]
    shutil.rmtree(repo / ".dvc" / "tmp", ignore_errors=True)
    cold_exp = measure(f"dvc exp show --all-commits --json, cold ({tag})", n, exp, repo)
    warm_exp = measure(f"dvc exp show --all-commits --json, warm ({tag})", n, exp, repo)
    shutil.rmtree(repo / ".dvc" / "tmp", ignore_errors=True)
    cold_metrics = measure(f"dvc metrics show --all-commits --json ({tag})", n, metrics, repo)
    return [cold_exp, warm_exp, cold_metrics]


def table(runs: list[Run], reference: dict[str, Run]) -> str:
    lines = [
        "| measurement | commits | wall s | CPU s | ms/commit (wall) | peak RSS MB | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        ratio = reference.get(run.label, "")
        lines.append(
            f"| {run.label} | {run.commits} | {run.wall:.2f} | {run.cpu:.2f} | "
            f"{run.per_commit_ms:.2f} | {run.rss_mb:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--dvc-commits", type=int, default=50, help="DVC on the big pipeline")
    parser.add_argument(
        "--dvc-small-commits", type=int, default=200, help="DVC on a 5-stage pipeline"
    )
    parser.add_argument("--big", type=int, default=10_000, help="0 to skip the big run")
    parser.add_argument("--stages", type=int, default=150)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mlpages-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr
    )

    def repo(n: int, stages: int = args.stages) -> Path:
        path = work / f"synth-{n}-{stages}"
        if not path.exists():
            info = make_synthetic_repo(path, n, stages=stages)
            print(
                f"generated {info.total_commits} commits in {info.seconds:.1f} s", file=sys.stderr
            )
        return path

    runs: list[Run] = []
    notes: dict[str, str] = {}
    comparisons = [(args.dvc_commits, args.stages), (args.dvc_small_commits, 5)]
    exp_per_commit = []
    for n, stages in comparisons:
        if not n:
            continue
        small = repo(n, stages)
        tag = f"{n} on main, {stages} stages"
        small_cold, small_warm = mlpages_runs(small, tag)
        cold_exp, warm_exp, cold_metrics = dvc_runs(small, tag)
        runs += [small_cold, small_warm, cold_exp, warm_exp, cold_metrics]
        exp_per_commit.append(cold_exp.wall / cold_exp.commits)
        for run, ours in (
            (cold_exp, small_cold),
            (warm_exp, small_warm),
            (cold_metrics, small_cold),
        ):
            notes[run.label] = (
                f"mlpages ({'warm' if ours is small_warm else 'cold'}) is"
                f" {run.wall / ours.wall:.0f}x faster (wall), {run.cpu / ours.cpu:.0f}x (CPU)"
            )

    main_repo = repo(args.commits)
    tag = f"{args.commits} on main, {args.stages} stages"
    cold, warm = mlpages_runs(main_repo, tag)
    bound = cat_file_run(main_repo, tag)
    runs += [cold, warm, bound]
    notes[warm.label] = (
        f"{100 * warm.wall / cold.wall:.0f}% of cold (wall), {100 * warm.cpu / cold.cpu:.0f}% (CPU)"
    )
    notes[bound.label] = f"mlpages cold = {cold.wall / bound.wall:.0f}x the lower bound (wall)"
    if exp_per_commit:
        low = min(exp_per_commit) * cold.commits
        notes[cold.label] = (
            f"dvc exp show -A at its lowest per-commit cost above: ~{low:.0f} s,"
            f" {low / cold.wall:.0f}x"
        )
    if args.big:
        big_cold = mlpages_runs(repo(args.big), f"{args.big} on main", warm=False)[0]
        runs.append(big_cold)
        notes[big_cold.label] = (
            f"{big_cold.per_commit_ms / cold.per_commit_ms:.2f}x the per-commit wall time"
            f" at {args.commits}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(table(runs, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
