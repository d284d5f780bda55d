"""Benchmark `mlpages build` on the synthetic 1,000-commit repository, side by side with DVC.

    python benchmarks/bench_site.py [--commits 1000] [--dvc-timeout 1800] [--skip-dvc]

Measures: the full build (cold: no snapshot cache; warm: cache present, no previous site), the
rebuild after one new commit, total site size, commit page sizes (without shared assets), the
number of plotly.js copies, Chromium's load time of the runs page, and `dvc exp show -A` on the
same repository. Prints a markdown table (docs/site.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import make_synthetic_repo  # noqa: E402

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def add_commit(repo: Path) -> None:
    """One more run on main: new params and metrics."""
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("lr:", "lr: 0.0123 #", 1))
    metrics = repo / "metrics.json"
    metrics.write_text(metrics.read_text().replace("}", ', "extra": 1.0}', 1))
    last = subprocess.run(
        ["git", "log", "-1", "--format=%ct"],
        cwd=repo,
        check=True,
        env=GIT_ENV,
        capture_output=True,
        text=True,
    ).stdout.strip()
    when = f"{int(last) + 600} +0000"
    env = {**GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "one more run"], cwd=repo, check=True, env=env)


def chromium_load(page_path: Path, runs: int = 3) -> float:
    """Median seconds from navigation to the runs table being drawn (file://)."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            start = time.perf_counter()
            page.goto(page_path.resolve().as_uri())
            page.wait_for_selector("body[data-runs-ready]")
            times.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return statistics.median(times)


def dvc_exp_show(repo: Path, timeout: int) -> tuple[float | None, str]:
    """Seconds `dvc exp show -A` takes to print its table (None on timeout)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "dvc"), "exp", "show", "-A", "--no-pager", "--csv"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    seconds = time.perf_counter() - start
    rows = max(len(proc.stdout.splitlines()) - 1, 0)
    return seconds, f"exit {proc.returncode}, {rows} rows"


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "site-bench")
    parser.add_argument("--dvc-timeout", type=int, default=1800)
    parser.add_argument("--skip-dvc", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args(argv)

    from mlpages.config import load_config
    from mlpages.site.build import build_site

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    repo, site = args.work / "repo", args.work / "site"
    info = make_synthetic_repo(repo, args.commits)
    config = load_config(repo)
    cache = repo / ".git" / "mlpages-cache"

    cold, cold_wall, cold_cpu = timed(lambda: build_site(repo, site, config))
    shutil.rmtree(site)
    _, warm_wall, warm_cpu = timed(lambda: build_site(repo, site, config))
    add_commit(repo)
    again, again_wall, again_cpu = timed(lambda: build_site(repo, site, config))

    commit_sizes = sorted(p.stat().st_size for p in (site / "commit").glob("*.html"))
    plotly = [p for p in site.rglob("*.js") if "plotly" in p.name]
    load = None if args.skip_browser else chromium_load(site / "runs.html")
    dvc_seconds, dvc_note = (
        (None, "skipped") if args.skip_dvc else dvc_exp_show(repo, args.dvc_timeout)
    )

    kb = 1024
    rows = [
        (
            "repository",
            f"{info.total_commits} commits ({info.main_commits} on main), {info.stages} stages",
        ),
        (
            "full build, cold (no snapshot cache)",
            f"{cold_wall:.1f} s wall, {cold_cpu:.1f} s CPU ({cold.pages} pages)",
        ),
        ("full build, snapshot cache warm", f"{warm_wall:.1f} s wall, {warm_cpu:.1f} s CPU"),
        (
            "rebuild after one new commit",
            f"{again_wall:.1f} s wall, {again_cpu:.1f} s CPU "
            f"({again.rendered} pages rendered, "
            f"{again.unchanged} files untouched)",
        ),
        (
            "total site size",
            f"{size_of(site) / kb / kb:.1f} MB "
            f"(plotly.js {plotly[0].stat().st_size / kb / kb:.1f} MB of it)"
            if plotly
            else f"{size_of(site) / kb / kb:.1f} MB",
        ),
        (
            "commit page size (median / max)",
            f"{statistics.median(commit_sizes) / kb:.1f} KB / {commit_sizes[-1] / kb:.1f} KB",
        ),
        ("plotly.js copies", str(len(plotly))),
        (
            "runs page size (+ its data file)",
            f"{(site / 'runs.html').stat().st_size / kb:.0f} KB + "
            f"{sum(p.stat().st_size for p in (site / 'data').glob('runs-*.js')) / kb:.0f} KB",
        ),
        ("Chromium: runs page (all rows) ready", "skipped" if load is None else f"{load:.2f} s"),
        ("`dvc exp show -A`", f"{dvc_seconds:.1f} s ({dvc_note})" if dvc_seconds else dvc_note),
    ]
    if dvc_seconds:
        rows.append(
            (
                "site (cold full build) vs `dvc exp show -A`",
                f"{dvc_seconds / cold_wall:.1f}× faster",
            )
        )
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(
        f"\nsnapshot cache: {cache.exists()}; phases of the cold build: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in cold.seconds.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
