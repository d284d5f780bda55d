"""One page per model version: its commit, gate verdict, stages held, metrics against the version
it replaced, what changed since, and its provenance (params, data, code and stage outputs).

The metric table and event rows are shared with the models page (:mod:`.models`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlpages.compare.data import CODE_SUFFIXES, data_inputs
from mlpages.compare.diff import compare_snapshots, metric_direction
from mlpages.models import Snapshot, Value
from mlpages.reports import gate_view
from mlpages.site.page_core import SiteData
from mlpages.site.urls import slug
from mlpages.site.values import delta_of, flat_values, format_delta, format_value, judge

MAX_METRIC_ROWS = 200
SHOWN_METRIC_ROWS = 12  # the rest of the side-by-side table is folded


def version_path(artifact: str, version: str) -> str:
    """Site path of a model version page."""
    return f"models/{slug(artifact)}/{slug(version)}.html"


def metric_order(site: SiteData, keys: set[str]) -> list[str]:
    """``key_metrics`` of the config first, then small metrics files before big ones (a summary
    file before per-slice breakdowns), then by name."""
    wanted = list(site.config.key_metrics)
    per_file: dict[str, int] = {}
    for key in keys:
        per_file[key.partition(":")[0]] = per_file.get(key.partition(":")[0], 0) + 1

    def rank(key: str) -> tuple:
        path, _, name = key.partition(":")
        hits = [i for i, w in enumerate(wanted) if w in (key, name)]
        return (hits[0] if hits else len(wanted), per_file[path], path, name)

    return sorted(keys, key=rank)


def metric_table(
    site: SiteData, columns: Sequence[tuple[str, Snapshot | None]]
) -> list[dict[str, Any]]:
    """Rows ``file:key`` × columns (label, snapshot) with Δ vs the column to the right (older)."""
    flats = [flat_values(snap.metrics) if snap else {} for _, snap in columns]
    keys = metric_order(site, {k for flat in flats for k in flat})[:MAX_METRIC_ROWS]
    rows = []
    for key in keys:
        path, _, name = key.partition(":")
        direction = metric_direction(site.config, path, name)
        cells = []
        for i, flat in enumerate(flats):
            value: Value = flat.get(key)
            older = flats[i + 1].get(key) if i + 1 < len(flats) else None
            delta = delta_of(value, older)
            cells.append(
                {
                    "value": format_value(value) if key in flat else "",
                    "delta": format_delta(delta) if delta else "",
                    "judge": judge(delta, direction),
                }
            )
        rows.append({"file": path, "key": name, "cells": cells})
    return rows


def event_row(event: Any) -> dict[str, Any]:
    return {
        "time": event.time,
        "kind": event.kind,
        "version": event.version,
        "stage": event.stage,
        "tag": event.tag,
        "author": event.author,
        "message": event.message,
        "rollback": bool(event.rollback),
        "sha": event.sha,
    }


def replaced_version(site: SiteData, artifact: Any, version: Any) -> tuple[Any, str] | None:
    """The version this one replaced: the production holder before its first promotion, else
    the previously registered version. Returns (ModelVersion, how)."""
    prod = site.config.production_stage
    events = sorted(artifact.events, key=lambda e: e.time)
    holder = None
    for event in events:
        if event.kind == "assign" and event.stage == prod:
            if event.version == version.version:
                if holder and holder != version.version:
                    found = _find_version(artifact, holder)
                    if found:
                        return found, f"held {prod} before this version was promoted"
                break
            holder = event.version
        elif event.kind == "unassign" and event.stage == prod and event.version == holder:
            holder = None
    older = [
        v
        for v in artifact.versions
        if v.created_at < version.created_at and v.version != version.version
    ]
    if older:
        previous = max(older, key=lambda v: v.created_at)
        return previous, "the previously registered version"
    return None


def stage_history(artifact: Any, version: str) -> list[dict[str, Any]]:
    """When ``version`` held each stage, and which version followed it there."""
    timeline = sorted(artifact.timeline, key=lambda s: (s.stage, s.start))
    rows = []
    for i, span in enumerate(timeline):
        if span.version != version:
            continue
        following = timeline[i + 1] if i + 1 < len(timeline) else None
        after = following if following and following.stage == span.stage else None
        rows.append(
            {
                "stage": span.stage,
                "start": span.start,
                "end": span.end,
                "arrived_by_rollback": bool(span.rollback),
                "followed_by": after.version if after and after.start == span.end else None,
                "followed_by_rollback": bool(after and after.rollback),
            }
        )
    return sorted(rows, key=lambda r: r["start"])


def _find_version(artifact: Any, name: str) -> Any:
    return next((v for v in artifact.versions if v.version == name), None)


def provenance(snapshot: Snapshot | None) -> dict[str, Any]:
    """Params, data hashes and code hashes recorded at the version's commit."""
    if snapshot is None:
        return {"params": [], "data": [], "code": [], "stages": []}
    params = [
        {"file": f, "key": k, "value": format_value(v)}
        for f, values in sorted(snapshot.params.items())
        for k, v in sorted(values.items())
    ]
    data = [
        {
            "path": path,
            "source": source,
            "hash": info.fingerprint or "",
            "size": info.size,
            "nfiles": info.nfiles,
        }
        for path, (source, info) in sorted(data_inputs(snapshot).items())
    ]
    code: dict[str, Any] = {}
    for stage in snapshot.stages:
        for dep in stage.lock_deps:
            suffix = "." + dep.path.rsplit(".", 1)[-1].lower() if "." in dep.path else ""
            if suffix in CODE_SUFFIXES and dep.path not in code:
                code[dep.path] = {"path": dep.path, "hash": dep.fingerprint or "", "stages": []}
            if dep.path in code:
                code[dep.path]["stages"].append(stage.name)
    stages = [
        {
            "name": s.key,
            "cmd": s.lock_cmd or s.cmd,
            "outs": [{"path": o.path, "hash": o.fingerprint or ""} for o in s.lock_outs],
            "locked": s.locked,
        }
        for s in snapshot.stages
    ]
    return {
        "params": params,
        "data": data,
        "code": sorted(code.values(), key=lambda c: c["path"]),
        "stages": stages,
    }


def diff_context(site: SiteData, base: Snapshot | None, head: Snapshot | None) -> dict | None:
    """What changed between two snapshots, as rows for the template (from mlpages.compare.diff)."""
    if base is None or head is None:
        return None
    diff = compare_snapshots(base, head, site.config)
    metrics = [
        {
            "file": m.path,
            "key": m.key,
            "old": format_value(m.old),
            "new": format_value(m.new),
            "delta": format_delta(m.change) if m.change is not None else "",
            "status": m.status,
        }
        for m in diff.changed_metrics
    ]
    order = {
        key: i
        for i, key in enumerate(metric_order(site, {f"{m['file']}:{m['key']}" for m in metrics}))
    }
    metrics.sort(key=lambda m: order[f"{m['file']}:{m['key']}"])
    params = [
        {"file": p.path, "key": p.key, "old": format_value(p.old), "new": format_value(p.new)}
        for p in diff.params
    ]
    stages = [{"key": s.key, "status": s.status, "reasons": list(s.reasons)} for s in diff.stages]
    data = [
        {"path": d.path, "status": d.status, "old": d.old_hash or "", "new": d.new_hash or ""}
        for d in diff.data
    ]
    return {
        "metrics": metrics,
        "params": params,
        "stages": stages,
        "data": data,
        "empty": diff.is_empty,
    }


def version_context(site: SiteData, artifact: Any, version: Any) -> dict[str, Any]:
    """Template context of one model version page."""
    snapshot = site.snapshot(version.sha)
    commit = site.history.commits.get(version.sha)
    replaced = replaced_version(site, artifact, version)
    base_snapshot = site.snapshot(replaced[0].sha) if replaced else None
    metric_columns = [(version.version, snapshot)]
    if replaced:
        metric_columns.append((replaced[0].version, base_snapshot))
    events = [event_row(e) for e in artifact.events if e.version == version.version]
    return {
        "artifact": artifact.name,
        "artifact_path": artifact.path,
        "version": version.version,
        "sha": version.sha,
        "commit": commit,
        "in_history": commit is not None and snapshot is not None,
        "created_at": version.created_at,
        "deregistered": version.deregistered,
        "stages": list(version.stages),
        "events": sorted(events, key=lambda e: e["time"]),
        "stage_history": stage_history(artifact, version.version),
        "provenance": provenance(snapshot),
        "metric_files": sorted(snapshot.metrics) if snapshot else [],
        "metric_columns": [label for label, _ in metric_columns],
        "metric_rows": metric_table(site, metric_columns),
        "gate": gate_view(snapshot.reports.get("gate")) if snapshot else None,
        "replaced": (
            {
                "version": replaced[0].version,
                "how": replaced[1],
                "sha": replaced[0].sha,
                "url": version_path(artifact.name, replaced[0].version),
            }
            if replaced
            else None
        ),
        "diff": diff_context(site, base_snapshot, snapshot),
        "problems": list(snapshot.problems) if snapshot else [],
        "shown_metric_rows": SHOWN_METRIC_ROWS,
    }
