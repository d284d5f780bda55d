"""Benchmark `mlpages build` at scale (issue 18), every command a separate process.

In one run:

* the MDOcean-shaped repository (``benchmarks/synth_mdocean.py``: 5,000+ commits, 100 branches,
  ~1,000 versions of a ~1 MB dvc.lock of 155 stages): build cold (no snapshot cache, no site),
  warm (cache, no site), rebuild with nothing new, rebuild after one new commit — with
  ``--jobs 1`` and ``--jobs 2``; the sites of both are compared byte for byte;
* the 10,000-commit synthetic history (``benchmarks/synth.py``) built cold;
* the 300-commit small pipeline: ``mlpages history --json`` vs ``dvc exp show -A --json``.

Wall time, CPU time (user+sys of the process tree) and peak RSS come from ``os.wait4``. The
machine may be shared: CPU time is the figure that does not depend on the others' load.

    python benchmarks/bench_scale.py [--commits 5000] [--big 10000] [--small 300] [--jobs 1,2]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_history import BIN, Run, drop_cache, measure  # noqa: E402
from bench_site import GIT_ENV  # noqa: E402
from synth import make_synthetic_repo  # noqa: E402
from synth_mdocean import mdocean_repo  # noqa: E402


def _commits(repo: Path) -> int:
    out = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True)
    return int(out.stdout)


def build(label: str, repo: Path, site: Path, jobs: int | None) -> Run:
    cmd = [str(BIN / "mlpages"), "build", str(repo), "--out", str(site)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    return measure(label, _commits(repo), cmd, repo)


def one_more_commit(repo: Path) -> None:
    """A new commit on main that changes one stage of dvc.lock (a new md5)."""
    lock = repo / "dvc.lock"
    text = lock.read_text()
    at = text.index("md5: ") + 5
    lock.write_text(text[:at] + "0" * 32 + text[at + 32 :])
    last = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    when = f"{int(last) + 600} +0000"
    env = {**GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "commit", "-qam", "one more run"], cwd=repo, check=True, env=env)


def same_tree(a: Path, b: Path) -> bool:
    """Whether two sites hold the same files with the same bytes."""
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(same_tree(a / d, b / d) for d in cmp.common_dirs)


def scale_runs(repo: Path, work: Path, jobs: int | None, tag: str) -> tuple[list[Run], Path]:
    """Cold, warm, nothing new, after one commit, on a private copy of ``repo``."""
    copy = work / f"run-{tag}" / "repo"  # the same folder name: the site title is the same
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, symlinks=True)
    site = work / f"site-{tag}"
    shutil.rmtree(site, ignore_errors=True)
    drop_cache(copy)
    runs = [build(f"build cold ({tag})", copy, site, jobs)]
    shutil.rmtree(site)
    runs.append(build(f"build warm, no site ({tag})", copy, site, jobs))
    runs.append(build(f"rebuild, nothing new ({tag})", copy, site, jobs))
    snapshot = work / f"site-{tag}-before-commit"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(site, snapshot)
    one_more_commit(copy)
    runs.append(build(f"rebuild after one commit ({tag})", copy, site, jobs))
    shutil.rmtree(copy)
    return runs, snapshot


def small_runs(work: Path, commits: int) -> list[Run]:
    repo = work / f"small-{commits}"
    if not repo.exists():
        make_synthetic_repo(repo, commits, stages=5)
    n = _commits(repo)
    drop_cache(repo)
    ours = measure(
        f"mlpages history --json, cold ({commits} commits, 5 stages)",
        n,
        [str(BIN / "mlpages"), "history", str(repo), "--json"],
        repo,
    )
    shutil.rmtree(repo / ".dvc" / "tmp", ignore_errors=True)
    dvc = measure(
        f"dvc exp show -A --json, cold ({commits} commits, 5 stages)",
        n,
        [str(BIN / "dvc"), "exp", "show", "-A", "--json"],
        repo,
    )
    return [ours, dvc]


def compile_package(src: Path | None) -> None:
    """Byte-compile the mlpages that runs, as an installed package is (pip compiles at install
    time; with PYTHONDONTWRITEBYTECODE=1 an editable checkout would compile every run)."""
    if src is None:
        import mlpages

        folder = Path(mlpages.__file__).parent
    else:
        folder = src / "mlpages"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True)


def table(runs: list[Run], notes: dict[str, str]) -> str:
    lines = [
        "| measurement | commits | wall s | CPU s | peak RSS MB | note |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {r.commits} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mb:.0f} | "
            f"{notes.get(r.label, '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=5000, help="MDOcean-shaped, 0 to skip")
    parser.add_argument("--stages", type=int, default=155)
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--big", type=int, default=10_000, help="synthetic cold, 0 to skip")
    parser.add_argument("--small", type=int, default=300, help="vs dvc exp show, 0 to skip")
    parser.add_argument("--jobs", default="1,2", help="comma-separated; 'none' for the default")
    parser.add_argument("--work", type=Path, default=HERE / "out" / "scale")
    parser.add_argument(
        "--src", type=Path, help="run the mlpages of this src/ folder (e.g. an older checkout)"
    )
    args = parser.parse_args(argv)
    args.work = args.work.resolve()  # builds run inside the repositories
    if args.src:  # children import mlpages from here before the installed one
        os.environ["PYTHONPATH"] = str(args.src.resolve())
    compile_package(args.src)
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    runs: list[Run] = []
    notes: dict[str, str] = {}
    if args.commits:
        info = mdocean_repo(
            args.work / "repos", args.commits, stages=args.stages, branches=args.branches
        )
        print(
            f"MDOcean-shaped: {info.total_commits} commits ({info.seconds:.1f} s)", file=sys.stderr
        )
        sites = []
        for jobs_text in args.jobs.split(","):
            jobs = None if jobs_text == "none" else int(jobs_text)
            got, site = scale_runs(info.path, args.work, jobs, f"mdocean, jobs={jobs_text}")
            runs += got
            sites.append(site)
        if len(sites) > 1:
            same = all(same_tree(sites[0], s) for s in sites[1:])
            notes[runs[-4].label] = f"site byte-identical to jobs={args.jobs.split(',')[0]}: {same}"
    if args.big:
        repo = args.work / f"synth-{args.big}"
        if not repo.exists():
            make_synthetic_repo(repo, args.big)
        site = args.work / "site-big"
        shutil.rmtree(site, ignore_errors=True)
        drop_cache(repo)
        runs.append(build(f"build cold ({args.big} commits, 150 stages)", repo, site, None))
    if args.small:
        ours, dvc = small_runs(args.work, args.small)
        runs += [ours, dvc]
        notes[dvc.label] = (
            f"mlpages is {dvc.wall / ours.wall:.0f}x faster (wall), {dvc.cpu / ours.cpu:.0f}x (CPU)"
        )
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    print(table(runs, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
