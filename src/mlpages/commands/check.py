"""`mlpages check [REPO]`: the problems a commit page would show for the work tree."""

from __future__ import annotations

from pathlib import Path

import click

from mlpages.commands.options import repo_argument


@click.command(name="check")
@repo_argument()
def check_command(repo: Path) -> None:
    """Read the work tree of REPO exactly as the site reads a commit and list its problems.

    Fails (exit 1) when there is any: dvc.yaml, dvc.lock, params or metrics files that do not
    parse, stage outputs declared in dvc.yaml but missing from dvc.lock, NaN metrics, artifacts
    whose path does not exist. Fast enough for a pre-commit hook (`mlpages-check`).
    """
    from mlpages.adopt.check import check_work_tree, problem_line
    from mlpages.errors import CheckFailed

    result = check_work_tree(repo)
    for problem in result.problems:
        click.echo(problem_line(problem))
    snapshot = result.snapshot
    if result.problems:
        count = len(result.problems)
        raise CheckFailed(f"{count} problem{'s' * (count != 1)} in the work tree of {result.root}")
    click.echo(
        f"mlpages check: {len(snapshot.stages)} stages, {len(snapshot.metrics)} metrics files, "
        f"{len(snapshot.artifacts)} artifacts: no problems",
        err=True,
    )
