"""The lineage page: the current pipeline DAG with hashes, and where each stage changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlpages.site.dag import anchor_id, layout_dag
from mlpages.site.page_core import Page, SiteData

MAX_HISTORY = 12  # changes listed per stage (newest first); the total is counted
OPEN_STAGES = 12  # pipelines up to this many stages show every stage's details open


def stage_history(site: SiteData) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Stage key -> the newest mainline commits where its lock entry changed, and how many."""
    history: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    mainline = site.history.mainline
    for index, sha in enumerate(mainline):
        snap = site.snapshot(sha)
        if snap is None:
            continue
        parent_sha = mainline[index + 1] if index + 1 < len(mainline) else None
        parent = site.snapshot(parent_sha)
        if parent is None:
            changes = [(s.key, "added", ("first commit with this stage",)) for s in snap.stages]
        else:
            changes = [(c.key, c.status, c.reasons) for c in site.stage_changes(parent_sha, sha)]
        for key, status, reasons in changes:
            counts[key] = counts.get(key, 0) + 1
            entries = history.setdefault(key, [])
            if len(entries) < MAX_HISTORY:
                entries.append(
                    {"sha": sha, "commit": site.commit(sha), "status": status, "reasons": reasons}
                )
    return history, counts


def model_provenance(site: SiteData) -> list[dict[str, Any]]:
    """Every registered model version with the data hashes of its commit."""
    registry = site.registry
    if registry is None:
        return []
    rows = []
    for artifact in registry.artifacts.values():
        for version in reversed(artifact.versions):
            snap = site.snapshot(version.sha)
            rows.append(
                {
                    "artifact": artifact.name,
                    "version": version,
                    "known": version.sha in site.history.commits,
                    "data": [(h.path, h.fingerprint) for h in snap.tracked] if snap else [],
                }
            )
    return rows


def lineage_context(site: SiteData) -> dict[str, Any]:
    """Everything ``lineage.html`` shows."""
    head = site.snapshot(site.head)
    stages = head.stages if head else ()
    history, counts = stage_history(site)
    return {
        "head": site.head,
        "head_commit": site.commit(site.head) if site.head else None,
        "dag": layout_dag(stages) if stages else None,
        "stages": [
            {
                "stage": s,
                "anchor": anchor_id(s.key),
                "history": history.get(s.key, []),
                "changes": counts.get(s.key, 0),
            }
            for s in stages
        ],
        "open_stages": len(stages) <= OPEN_STAGES,
        "tracked": head.tracked if head else (),
        "provenance": model_provenance(site),
    }


def pages(site: SiteData) -> Iterator[Page]:
    """``lineage.html``."""
    yield Page(
        path="lineage.html",
        template="lineage.html",
        context=lambda: lineage_context(site),
        title="Lineage",
        nav="lineage",
    )
