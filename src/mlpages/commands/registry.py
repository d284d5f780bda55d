"""`mlpages registry`: the model registry as GTO-format git tags (register, assign, show, ...)."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from mlpages.commands.options import registry_write_options, repo_option
from mlpages.registry.state import ArtifactState, ModelVersion, Registry, RegistryEvent
from mlpages.registry.tags import PRIORITY

# GTO's names for the events in `gto history --json`.
GTO_EVENT = {
    "register": "registration",
    "deregister": "deregistration",
    "assign": "assignment",
    "unassign": "unassignment",
    "deprecate": "deprecation",
}


def _report(written: Any) -> None:
    click.echo(f"Created tag {written.tag} at {written.sha[:7]}: {written.message.splitlines()[0]}")
    if written.pushed_to:
        click.echo(f"Pushed {written.tag} to {written.pushed_to}")
    else:
        click.echo(f"Publish it with: git push origin {shlex.quote(written.tag)}")


@click.group(name="registry")
def registry_group() -> None:
    """Model registry: versions and stages as GTO-format git tags (GTO-compatible)."""


@registry_group.command(name="register")
@click.argument("artifact")
@click.argument("rev", default="HEAD")
@click.option("--version", "version", default=None, help="The version to register, e.g. v1.2.0.")
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    default=None,
    help="Bump this part of the highest registered version (default: patch; v0.0.1 first).",
)
@registry_write_options
def register_command(
    artifact: str,
    rev: str,
    version: str | None,
    bump: str | None,
    repo: Path,
    message: str | None,
    push: str | None,
) -> None:
    """Register a version of ARTIFACT at REV (default HEAD): tag ARTIFACT@vX.Y.Z."""
    from mlpages.registry.write import register

    _report(
        register(repo, artifact, version=version, bump=bump, rev=rev, message=message, push=push)
    )


@registry_group.command(name="assign")
@click.argument("artifact")
@click.argument("stage")
@click.argument("rev", required=False)
@click.option("--version", "version", default=None, help="The registered version to assign.")
@registry_write_options
def assign_command(
    artifact: str,
    stage: str,
    rev: str | None,
    version: str | None,
    repo: Path,
    message: str | None,
    push: str | None,
) -> None:
    """Assign STAGE to a registered version (--version, or the one at REV, default HEAD)."""
    from mlpages.registry.write import assign

    _report(assign(repo, artifact, stage, version=version, rev=rev, message=message, push=push))


@registry_group.command(name="unassign")
@click.argument("artifact")
@click.argument("stage")
@click.option("--version", "version", default=None, help="Unassign this version (default: holder).")
@registry_write_options
def unassign_command(
    artifact: str,
    stage: str,
    version: str | None,
    repo: Path,
    message: str | None,
    push: str | None,
) -> None:
    """Unassign STAGE from the version holding it; the previous holder takes it back (GTO)."""
    from mlpages.registry.write import unassign

    _report(unassign(repo, artifact, stage, version=version, message=message, push=push))


@registry_group.command(name="deprecate")
@click.argument("artifact")
@registry_write_options
def deprecate_command(artifact: str, repo: Path, message: str | None, push: str | None) -> None:
    """Deprecate ARTIFACT: tag ARTIFACT@deprecated (a later registration revives it)."""
    from mlpages.registry.write import deprecate

    _report(deprecate(repo, artifact, message=message, push=push))


@registry_group.command(name="rollback")
@click.argument("artifact")
@click.argument("stage")
@registry_write_options
def rollback_command(
    artifact: str, stage: str, repo: Path, message: str | None, push: str | None
) -> None:
    """Give STAGE back to its previous version with a new assignment marked 'Rollback:'."""
    from mlpages.registry.write import rollback

    _report(rollback(repo, artifact, stage, message=message, push=push))


# --- reading -----------------------------------------------------------------------------------


def iso(timestamp: int) -> str:
    """ISO 8601 in UTC, as GTO prints tag times."""
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


def registry_json(registry: Registry, deprecated: bool = False) -> dict[str, Any]:
    """`show --json` of the whole registry, shaped like `gto show --json` (plus path/type)."""
    return {
        name: {
            "version": state.latest,
            "stage": {stage: state.stages.get(stage) for stage in registry.stages},
            "registered": state.registered,
            "active": not state.deprecated,
            "deprecated": state.deprecated,
            "path": state.path,
            "type": state.type,
        }
        for name, state in registry.artifacts.items()
        if deprecated or not state.deprecated
    }


def _assigned_at(state: ArtifactState, version: str, stage: str) -> int | None:
    times = [
        e.time
        for e in state.events
        if e.kind == "assign" and e.version == version and e.stage == stage
    ]
    return max(times, default=None)


def version_json(state: ArtifactState, version: ModelVersion) -> dict[str, Any]:
    """One version, with GTO's key names for the fields GTO also has."""
    return {
        "artifact": state.name,
        "version": version.version,
        "commit_hexsha": version.sha,
        "created_at": iso(version.created_at),
        "is_active": not version.deregistered,
        "registered": version.registered,
        "deregistered": version.deregistered,
        "author": version.author,
        "message": version.message,
        "ref": version.tag or version.sha,
        "path": version.path,
        "stages": [
            {
                "stage": stage,
                "version": version.version,
                "created_at": iso(_assigned_at(state, version.version, stage) or 0),
            }
            for stage in version.stages
        ],
    }


def versions_json(state: ArtifactState, deprecated: bool = False) -> list[dict[str, Any]]:
    """`show ARTIFACT --json`: versions, highest first (deregistered ones only with -d)."""
    return [
        version_json(state, v)
        for v in reversed(state.versions)
        if (deprecated or not v.deregistered) and (deprecated or not state.deprecated)
    ]


def event_json(event: RegistryEvent) -> dict[str, Any]:
    """One event, shaped like an entry of `gto history --json` (plus kind and rollback)."""
    return {
        "timestamp": iso(event.time),
        "artifact": event.artifact,
        "event": GTO_EVENT[event.kind],
        "kind": event.kind,
        "priority": PRIORITY[event.kind],
        "version": event.version,
        "stage": event.stage,
        "commit": event.sha,
        "author": event.author,
        "author_email": event.author_email,
        "message": event.message,
        "ref": event.tag,
        "rollback": event.rollback,
    }


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@registry_group.command(name="show")
@click.argument("artifact", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON shaped like `gto show --json`.")
@click.option(
    "--deprecated", "-d", is_flag=True, help="Include deprecated artifacts, deregistered versions."
)
@repo_option()
def show_command(artifact: str | None, as_json: bool, deprecated: bool, repo: Path) -> None:
    """Show the registry (latest version and stage holders), or the versions of ARTIFACT."""
    from mlpages.errors import RegistryError
    from mlpages.registry.gitio import read_registry

    registry = read_registry(repo)
    if artifact is None:
        data = registry_json(registry, deprecated)
        if as_json:
            click.echo(json.dumps(data, indent=2))
            return
        stages = list(registry.stages)
        rows = [["name", "latest", *(f"#{s}" for s in stages)]]
        for name, item in data.items():
            label = name if item["registered"] else f"*{name}"
            rows.append([label, item["version"] or "-", *(item["stage"][s] or "-" for s in stages)])
        click.echo(_table(rows) if len(rows) > 1 else "No artifacts in this repository")
        return
    state = registry.artifacts.get(artifact)
    if state is None:
        raise RegistryError(
            f"unknown artifact {artifact!r} (known: {', '.join(registry.artifacts)})"
        )
    versions = versions_json(state, deprecated)
    if as_json:
        click.echo(json.dumps(versions, indent=2))
        return
    rows = [["artifact", "version", "stage", "created_at", "commit", "ref"]]
    for v in versions:
        stage = ", ".join(s["stage"] for s in v["stages"]) or "-"
        created = v["created_at"][:19].replace("T", " ")
        rows.append([artifact, v["version"], stage, created, v["commit_hexsha"][:7], v["ref"]])
    click.echo(_table(rows) if len(rows) > 1 else f"No versions of {artifact}")


@registry_group.command(name="history")
@click.argument("artifact", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON shaped like `gto history --json`.")
@click.option("--ascending", "-a", is_flag=True, help="Oldest first (default: newest first).")
@repo_option()
def history_command(artifact: str | None, as_json: bool, ascending: bool, repo: Path) -> None:
    """Show the journal of registry events (every tag), newest first."""
    from mlpages.registry.gitio import read_registry

    events = [e for e in read_registry(repo).events if artifact is None or e.artifact == artifact]
    if not ascending:
        events.reverse()
    if as_json:
        click.echo(json.dumps([event_json(e) for e in events], indent=2))
        return
    rows = [["timestamp", "artifact", "event", "version", "stage", "commit", "ref"]]
    for e in events:
        event = GTO_EVENT[e.kind] + (" (rollback)" if e.rollback else "")
        rows.append(
            [
                iso(e.time)[:19].replace("T", " "),
                e.artifact,
                event,
                e.version[:7] if e.version == e.sha else (e.version or "-"),
                e.stage or "-",
                e.sha[:7],
                e.tag,
            ]
        )
    click.echo(_table(rows) if len(rows) > 1 else "No registry events")
