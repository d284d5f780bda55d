"""``mlpages build``: write the static report site of a repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlpages.commands.options import repo_argument


def default_jobs() -> int:
    """The CPUs this process may use, at most 4 (more gains little: git and writing are serial)."""
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(cpus, 4))


def _interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@click.command(name="build")
@repo_argument()
@click.option(
    "--out",
    "out",
    default="site",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Output folder (replaced atomically; relative paths are relative to REPO).",
)
@click.option(
    "--strict", is_flag=True, help="Exit 1 if any commit had problems (site still written)."
)
@click.option(
    "--base-url",
    default="",
    help="Public URL of the site (e.g. GitHub Pages); links stay relative.",
)
@click.option(
    "--title", default="", help="Site title (default: config title, then the folder name)."
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes reading the history (default: the CPUs, at most 4); same site for any.",
)
def build(repo: Path, out: Path, strict: bool, base_url: str, title: str, jobs: int | None) -> None:
    """Build the static report site from the repository's git history."""
    from mlpages.config import load_config
    from mlpages.errors import StrictFailure
    from mlpages.site.build import build_site

    out = out if out.is_absolute() else repo / out
    config = load_config(repo)
    progress = None
    if _interactive():
        state: dict[str, object] = {}

        def progress(phase: str, done: int, total: int) -> None:
            bar = state.get(phase)
            if bar is None:
                bar = click.progressbar(length=max(total, 1), label=phase.ljust(8), file=sys.stderr)
                bar.__enter__()
                state[phase] = bar
            bar.update(done - bar.pos)
            if done >= total:
                bar.__exit__(None, None, None)

    jobs = jobs if jobs is not None else default_jobs()
    report = build_site(
        repo, out, config, title=title, base_url=base_url, progress=progress, jobs=jobs
    )
    click.echo(
        f"Built {report.pages} pages from {report.commits} commits into {report.out} "
        f"in {report.seconds['total']:.1f}s ({report.rendered} rendered, {report.written} files "
        f"written, {report.unchanged} unchanged)."
    )
    for message in report.repo_problem_messages:  # e.g. a shallow clone, an unreachable remote
        click.echo(f"mlpages: warning: {message}", err=True)
    if report.problem_commits:
        count = len(report.problem_commits)
        noun = "commit" if count == 1 else "commits"
        click.echo(f"{count} {noun} had problems (shown on their pages).")
    if strict and (report.problem_commits or report.repo_problems):
        raise StrictFailure(
            f"--strict: {len(report.problem_commits)} commits and {report.repo_problems} "
            "repository-level problems (the site was written)"
        )
