"""`mlpages init [REPO]`: the workflows, registry stages and settings to adopt mlpages."""

from __future__ import annotations

from pathlib import Path

import click

from mlpages.commands.options import repo_argument


@click.command(name="init")
@repo_argument()
@click.option("--pages", is_flag=True, help="The site workflow (build and deploy to Pages).")
@click.option("--pr", is_flag=True, help="The pull-request workflow (diff and sticky comment).")
@click.option(
    "--train", is_flag=True, help="The continuous-training workflow (needs a gate stage)."
)
@click.option("--all", "everything", is_flag=True, help="All three (the default).")
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option(
    "--action",
    metavar="OWNER/NAME@REF",
    default=None,
    help="The mlpages action the workflows call (default: mlpages/mlpages@v<version>); "
    "a commit SHA is pinned with the version as a comment.",
)
def init_command(
    repo: Path,
    pages: bool,
    pr: bool,
    train: bool,
    everything: bool,
    force: bool,
    dry_run: bool,
    action: str | None,
) -> None:
    """Adopt mlpages in the git+DVC repository REPO: write .github/workflows/mlpages-*.yml
    calling the mlpages action, adapted to the default branch, the DVC remote, the model
    artifacts and the continuous-training stages found; `.gto` and `mlpages.yaml` if absent.
    Existing files are never overwritten without --force. Prints the manual steps left."""
    from mlpages.adopt.apply import apply_plan, report
    from mlpages.adopt.detect import detect
    from mlpages.adopt.plan import make_plan
    from mlpages.errors import InitError

    wanted = {name for name, on in (("pages", pages), ("pr", pr), ("train", train)) if on}
    if everything or not wanted:
        wanted = {"pages", "pr", "train"}
    found = detect(repo)
    plan = make_plan(found, wanted, action)
    if train and not everything and "mlpages-train.yml" not in " ".join(plan.files):
        raise InitError("\n".join(plan.skipped))
    outcomes = apply_plan(found.root, plan, force=force, dry_run=dry_run)
    remote = found.remote.kind + (f" ({found.remote.name})" if found.remote.name else "")
    click.echo(
        f"mlpages init: {found.root} (branch {found.branch}, DVC project {found.dvc_root}, "
        f"remote {remote}){' — dry run, nothing written' if dry_run else ''}"
    )
    click.echo(report(plan, outcomes, dry_run=dry_run))
