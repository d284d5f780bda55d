"""``mlpages demo``: build the sandbox repository with weeks of real pipeline runs, and its site."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="demo")
@click.argument("directory", default="mlpages-demo", type=click.Path(path_type=Path))
@click.option(
    "--weeks",
    default=14,
    show_default=True,
    type=click.IntRange(min=8),
    help="Weekly batches to play (below 12 the events come earlier: a short story for tests).",
)
@click.option("--rows", default=1500, show_default=True, type=click.IntRange(min=200),
              help="Rows per weekly batch (about).")  # fmt: skip
@click.option("--seed", default=20240101, show_default=True, type=int, help="Data seed.")
@click.option("--no-site", is_flag=True, help="Skip `mlpages build` (the repository only).")
def demo(directory: Path, weeks: int, rows: int, seed: int, no_site: bool) -> None:
    """Create DIRECTORY/repo (git + DVC, weeks of continuous training) and DIRECTORY/site.

    Rerunning replaces both. The history is deterministic: same options, same commits.
    """
    from mlpages.demo.story import DemoPlan, run_demo

    plan = DemoPlan.for_weeks(weeks, rows, seed)
    click.echo(f"Playing {weeks} weeks of continuous training in {directory / 'repo'} ...")
    result = run_demo(directory, plan, build=not no_site, echo=lambda line: click.echo(f"  {line}"))
    click.echo(f"Repository: {result.repo}")
    click.echo(f"Model versions: {', '.join(result.versions) or 'none'}")
    if result.site_built:
        click.echo(f"Site: {result.site / 'index.html'}  (open it in a browser)")
    click.echo(f"Done in {result.seconds:.0f}s.")
