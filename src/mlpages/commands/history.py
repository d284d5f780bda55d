"""``mlpages history``: the snapshots of every commit (a debug view of the history engine)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from mlpages.commands.options import repo_argument

HISTORY_JSON_SCHEMA = 1


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def write_history_json(history: Any, out: IO[bytes]) -> None:
    """Write the documented ``mlpages history --json`` document (see docs/history.md).

    Snapshots are streamed from the cached JSON documents without decoding them; every stage
    appears once under ``stages`` and snapshots list stage ids.
    """
    from dataclasses import asdict

    head = {
        "schema": HISTORY_JSON_SCHEMA,
        "root": str(history.root),
        "default_branch": history.default_branch,
        "shallow": history.shallow,
        "problems": [asdict(p) for p in history.problems],
        "refs": [
            {
                "name": r.name,
                "short": r.short,
                "kind": r.kind,
                "sha": r.sha,
                "annotated": r.annotated,
                "tag_message": r.tag_message,
                "tag_time": r.tag_time,
            }
            for r in history.refs
        ],
        "mainline": list(history.mainline),
    }
    out.write(_dumps(head)[:-1].encode())
    out.write(b',"commits":[')
    used: dict[str, None] = {}
    for i, sha in enumerate(history.order):
        commit = history.commits[sha]
        doc, stage_ids = history.snapshots.doc(sha)
        used.update(dict.fromkeys(stage_ids))
        entry = {
            "sha": sha,
            "parents": list(commit.parents),
            "author": {"name": commit.author.name, "email": commit.author.email},
            "author_time": commit.author_time,
            "author_tz": commit.author_tz,
            "committer": {"name": commit.committer.name, "email": commit.committer.email},
            "commit_time": commit.commit_time,
            "subject": commit.subject,
            "body": commit.body,
            "refs": [ref.name for ref in history.refs_at(sha)],
        }
        out.write((("," if i else "") + _dumps(entry)[:-1] + ',"snapshot":').encode())
        out.write(doc)
        out.write(b"}")
    out.write(b'],"stages":{')
    docs = history.snapshots.stages.docs
    for i, sid in enumerate(sorted(used)):
        out.write(f'{"," if i else ""}"{sid}":'.encode() + docs[sid])
    out.write(b"}}\n")


@click.command(name="history")
@repo_argument()
@click.option("--json", "as_json", is_flag=True, help="Print every snapshot as one JSON document.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the snapshot cache.")
@click.option("--strict", is_flag=True, help="Exit 1 if any commit has problems.")
def history_command(repo: Path, as_json: bool, no_cache: bool, strict: bool) -> None:
    """Show what the history engine reads from every commit (params, metrics, problems)."""
    from mlpages.config import load_config
    from mlpages.errors import StrictFailure
    from mlpages.gitread.reader import locate_repo
    from mlpages.history.collect import collect

    root = locate_repo(repo).root
    history = collect(root, load_config(root), use_cache=not no_cache)
    for problem in history.problems:
        click.echo(f"mlpages: warning: {problem.message}", err=True)
    if as_json:
        sys.stdout.flush()
        write_history_json(history, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        for sha in history.order:
            commit = history.commits[sha]
            snap = history.snapshots[sha]
            when = datetime.fromtimestamp(commit.commit_time, UTC).strftime("%Y-%m-%d")
            refs = ",".join(r.short for r in history.refs_at(sha))
            n_metrics = sum(len(v) for v in snap.metrics.values())
            line = (
                f"{sha[:8]} {when} stages={len(snap.stages)} metrics={n_metrics} "
                f"problems={len(snap.problems)} {('(' + refs + ') ') if refs else ''}"
                f"{commit.subject[:60]}"
            )
            click.echo(line)
    if not strict:
        return
    bad = sum(1 for s in history.snapshots.values() if s.problems)
    if bad or history.shallow:
        raise StrictFailure(
            f"{bad} commits have problems" + (" (shallow clone)" if history.shallow else "")
        )
