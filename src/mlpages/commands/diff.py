"""`mlpages diff`: what a change does to the pipeline, as PR-comment markdown or JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlpages.commands.options import repo_option
from mlpages.errors import (
    MlpagesError,
    NotADvcRepository,
    NotAGitRepository,
    ShallowClone,
    UnknownRevision,
)
from mlpages.gitread.process import try_git

if TYPE_CHECKING:
    from mlpages.compare.experiments import ExperimentTable
    from mlpages.config import Config
    from mlpages.models import Snapshot

WORKSPACE = "workspace"
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a commit sha, or None for the work tree."""

    rev: str | None
    label: str


def _experiment(root: Path, name: str) -> str | None:
    """The commit of DVC experiment ``name`` (``refs/exps/<ab>/<cdef…>/<name>``) when unique."""
    refs = try_git(root, "for-each-ref", "--format=%(objectname)", f"refs/exps/*/*/{name}")
    found = set((refs or "").split())
    return found.pop() if len(found) == 1 else None


def experiments_on(root: Path, sha: str) -> list[tuple[str, str]]:
    """(name, tip sha) of the DVC experiments whose baseline is ``sha``, newest first."""
    from mlpages.history.experiments import parse_exp_ref

    listed = try_git(
        root,
        "for-each-ref",
        "--sort=-committerdate",
        "--format=%(refname)%00%(objectname)",
        f"refs/exps/{sha[:2]}/{sha[2:]}/",
    )
    found = []
    for line in (listed or "").splitlines():
        ref, _, tip = line.partition("\0")
        parsed = parse_exp_ref(ref)
        if parsed is not None and parsed[0] == sha and _SHA.match(tip):
            found.append((parsed[1], tip))
    return found


def _experiment_table(
    root: Path, head: Snapshot, config: Config, sources: list, of: str | None = None
) -> ExperimentTable | None:
    """The experiments pushed on the head commit, or on commit ``of`` (None without any, and
    for the work tree unless ``of`` is given)."""
    from mlpages.compare.experiments import MAX_EXPERIMENTS, experiment_table
    from mlpages.history.collect import snapshot_of

    baseline = of or head.sha
    if not baseline:
        return None
    found = experiments_on(root, baseline)
    if not found:
        return None
    snaps = [
        (name, snapshot_of(root, tip, config, sources=sources))
        for name, tip in found[:MAX_EXPERIMENTS]
    ]
    return experiment_table(config, head, snaps, total=len(found))


def _experiments_json(
    root: Path, head: Snapshot, config: Config, sources: list, of: str | None = None
) -> list[dict]:
    """The experiments on the head commit (or ``of``) for ``--format json``: name, sha, key
    metrics."""
    from mlpages.models import encode_value

    table = _experiment_table(root, head, config, sources, of)
    if table is None:
        return []
    return [
        {
            "name": row.name,
            "sha": row.sha,
            "metrics": [
                {
                    "path": f,
                    "key": k,
                    "value": encode_value(c.value),  # NaN/Inf tagged, as in the diff
                    "change": c.change,
                    "status": c.status,
                }
                for (f, k), c in zip(table.metrics, row.cells, strict=True)
            ],
        }
        for row in table.rows
    ]


def _commit_or_warn(root: Path, rev: str | None) -> str | None:
    """The commit of ``rev`` (``--experiments-of``); a warning and None when there is none."""
    if not rev:
        return None
    sha = try_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not sha:
        click.echo(f"mlpages: warning: --experiments-of {rev!r}: no such commit", err=True)
    return sha or None


def _resolve(root: Path, rev: str, shallow: bool = False) -> str:
    sha = try_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not sha:
        experiment = None if "/" in rev else _experiment(root, rev)
        if experiment:
            return experiment
        if shallow:
            raise ShallowClone(
                f"unknown revision {rev!r}: this is a shallow clone, fetch the full history "
                "(actions/checkout with fetch-depth: 0)"
            )
        raise UnknownRevision(f"unknown revision {rev!r} in {root}")
    return sha


def _label(rev: str, sha: str) -> str:
    return sha[:7] if _SHA.match(rev) else rev


def default_branch(root: Path, configured: str) -> str | None:
    """The configured default branch, else origin/HEAD, else main/master (local or origin)."""
    candidates = [configured, f"origin/{configured}"] if configured else []
    symref = try_git(root, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD")
    if symref:
        candidates.append(symref)
    candidates += ["main", "master", "origin/main", "origin/master"]
    for name in candidates:
        if _branch_ref(root, name):
            return name
    return None


def _branch_ref(root: Path, name: str) -> str | None:
    """The full ref of branch ``name`` (local, else remote-tracking), never a same-named tag."""
    for ref in (f"refs/heads/{name}", f"refs/remotes/{name}", name):
        if (
            ref.startswith("refs/")
            and try_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is not None
        ):
            return ref
    return None


def work_tree_dirty(root: Path) -> bool:
    """True when tracked files changed or new files appeared (ignored files do not count)."""
    return bool(try_git(root, "status", "--porcelain"))


def choose_sides(
    root: Path, base: str | None, head: str | None, configured_branch: str, shallow: bool
) -> tuple[Side, Side, str]:
    """Resolve BASE and HEAD with the documented defaults; also return an explanation."""
    if head is not None:
        sha = _resolve(root, head, shallow)
        head_side = Side(sha, _label(head, sha))
    elif work_tree_dirty(root):
        head_side = Side(None, WORKSPACE)
    else:
        sha = _resolve(root, "HEAD")
        head_side = Side(sha, sha[:7])
    if base is not None:
        sha = _resolve(root, base, shallow)
        return Side(sha, _label(base, sha)), head_side, f"base {base}"
    branch = default_branch(root, configured_branch)
    if branch is None:
        raise MlpagesError(
            "cannot find the default branch (set default_branch in mlpages.yaml or pass BASE)"
        )
    tip = head_side.rev or "HEAD"
    merge_base = try_git(root, "merge-base", _branch_ref(root, branch) or branch, tip)
    if merge_base is None:
        if shallow:
            raise ShallowClone(
                "this is a shallow clone: fetch the full history "
                "(actions/checkout with fetch-depth: 0) or pass BASE"
            )
        raise MlpagesError(f"{branch} and {tip} have no common ancestor; pass BASE")
    if head_side.rev == merge_base:
        # On the default branch itself: show what the last commit did.
        parent = try_git(root, "rev-parse", "--verify", "--quiet", f"{merge_base}^1")
        if parent:
            return Side(parent, parent[:7]), head_side, f"{branch} is HEAD: base is its parent"
        if shallow:
            raise ShallowClone(
                "this is a shallow clone without HEAD's parent: fetch the full history "
                "(actions/checkout with fetch-depth: 0) or pass BASE"
            )
    return Side(merge_base, merge_base[:7]), head_side, f"base is the merge-base with {branch}"


def site_branch(root: Path, branch: str | None) -> str | None:
    """The name the site gives ``branch``: the local branch, else its remote-tracking branch.

    The site lists local branches and, when a clone has no local branch of that name, the
    remote-tracking one (``origin/feature``): a CI checkout of a pull request has only the latter.
    """
    if not branch:
        return None
    for name in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        if try_git(root, "rev-parse", "--verify", "--quiet", name) is not None:
            return branch if name.startswith("refs/heads/") else f"origin/{branch}"
    return None


def site_link(site_url: str | None, branch: str | None) -> str | None:
    """The compare page of ``branch`` on the published site (the picker page without one)."""
    if not site_url:
        return None
    from mlpages.site.urls import compare_path

    page = compare_path(branch) if branch else "compare.html"
    return site_url.rstrip("/") + "/" + page


@click.command(name="diff")
@click.argument("base", required=False)
@click.argument("head", required=False)
@repo_option("Repository to compare in.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Markdown for a PR comment, or the full diff as JSON.",
)
@click.option("--site-url", default=None, help="Published site URL; adds a compare-page link.")
@click.option(
    "--branch",
    default=None,
    help="Branch whose compare page to link (default: the checked-out branch).",
)
@click.option("--note", default=None, help="One line shown under the summary of the markdown.")
@click.option(
    "--experiments-of",
    "experiments_of",
    default=None,
    metavar="REV",
    help="List the DVC experiments of commit REV instead of HEAD's (CI: a pull request's head "
    "commit, when the checkout is GitHub's test merge). An unknown REV lists none.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def diff_command(
    base: str | None,
    head: str | None,
    repo: Path,
    output_format: str,
    site_url: str | None,
    branch: str | None,
    note: str | None,
    experiments_of: str | None,
    output: Path | None,
) -> None:
    """Compare metrics, params, stages, data and the gate between BASE and HEAD.

    BASE defaults to the merge-base with the default branch (HEAD's parent on the default
    branch itself); HEAD defaults to the work tree when it has changes, else the HEAD commit.
    """
    from mlpages.compare.diff import compare_snapshots
    from mlpages.compare.markdown import render_markdown
    from mlpages.config import load_config
    from mlpages.gitread.reader import locate_repo
    from mlpages.history.collect import snapshot_of
    from mlpages.objects.store import default_sources, source_problems

    if not repo.is_dir():
        raise NotAGitRepository(f"{repo}: no such directory")
    location = locate_repo(repo)
    root = location.root
    config = load_config(root)
    base_side, head_side, why = choose_sides(
        root, base, head, config.default_branch, location.shallow
    )
    sources = default_sources(root, config)  # one remote client for both sides
    base_snapshot = snapshot_of(root, base_side.rev, config, sources=sources)
    head_snapshot = snapshot_of(root, head_side.rev, config, sources=sources)
    exp_base = _commit_or_warn(root, experiments_of)
    for problem in source_problems(sources):  # e.g. an unreachable remote, no S3 libraries
        click.echo(f"mlpages: warning: {problem.message}", err=True)
    if not (base_snapshot.has_dvc or head_snapshot.has_dvc):
        raise NotADvcRepository(
            f"{root}: no DVC files (dvc.yaml, dvc.lock, *.dvc) at {base_side.label} "
            f"or {head_side.label}"
        )
    diff = compare_snapshots(base_snapshot, head_snapshot, config)
    if branch is None and head is None:
        current = try_git(root, "symbolic-ref", "-q", "--short", "HEAD")
        branch = current or None
    branch = site_branch(root, branch)
    default = default_branch(root, config.default_branch) or ""
    if branch and branch.removeprefix("origin/") == default.removeprefix("origin/"):
        branch = None  # the default branch has no compare page: link the picker
    if output_format == "json":
        payload = {
            "base_label": base_side.label,
            "head_label": head_side.label,
            "explanation": why,
            **diff.to_json(),
            "base": base_side.rev or WORKSPACE,
            "head": head_side.rev or WORKSPACE,
            "site_url": site_link(site_url, branch),
            "note": note,
            "experiments": _experiments_json(root, head_snapshot, config, sources, exp_base),
        }
        text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    else:
        text = render_markdown(
            diff,
            base_label=base_side.label,
            head_label=head_side.label,
            site_url=site_link(site_url, branch),
            note=note,
            experiments=_experiment_table(root, head_snapshot, config, sources, exp_base),
        )
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
