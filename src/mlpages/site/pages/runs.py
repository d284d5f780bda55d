"""The runs table: every commit × params × metrics, shipped to the browser as compact JSON.

``runs.js`` renders the visible rows only (virtual scrolling), computes deltas against the parent or
a chosen baseline, sorts, filters, hides unchanged columns and exports CSV, all client-side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlpages.compare.diff import metric_direction
from mlpages.site.page_core import Page, SiteData


def columns_of(site: SiteData) -> list[dict[str, Any]]:
    """Every metric and param seen in any commit: metrics first, grouped by file, keys sorted."""
    params: set[tuple[str, str]] = set()
    metrics: set[tuple[str, str]] = set()
    for snap in site.history.snapshots.values():
        params.update((f, k) for f, values in snap.params.items() for k in values)
        metrics.update((f, k) for f, values in snap.metrics.items() for k in values)
    cols = [
        {"g": "metric", "f": f, "k": k, "d": metric_direction(site.config, f, k)}
        for f, k in sorted(metrics)
    ]
    cols += [{"g": "param", "f": f, "k": k, "d": 0} for f, k in sorted(params)]
    return cols


def runs_data(site: SiteData) -> dict[str, Any]:
    """The JSON document behind the runs table and the compare picker (computed once)."""
    if "runs" not in site.extra:
        site.extra["runs"] = _runs_data(site)
    return site.extra["runs"]


def _runs_data(site: SiteData) -> dict[str, Any]:
    columns = columns_of(site)
    rows = []
    for sha in site.history.order:
        commit = site.commit(sha)
        snap = site.snapshot(sha)
        values: list[Any] = []
        for col in columns:
            source = (snap.params if col["g"] == "param" else snap.metrics) if snap else {}
            values.append(source.get(col["f"], {}).get(col["k"]))
        rows.append(
            {
                "s": sha,
                "p": site.parent(sha),
                "m": commit.subject,
                "a": commit.author.name,
                "t": commit.author_time,
                "r": [[ref.short, ref.kind] for ref in site.refs_at(sha)],
                "ml": sha in site.mainline_set,
                "pb": len(snap.problems) if snap else 0,
                "v": values,
            }
        )
    return {"columns": columns, "rows": rows, "default_branch": site.history.default_branch}


def pages(site: SiteData) -> Iterator[Page]:
    """``runs.html``."""
    yield Page(
        path="runs.html",
        template="runs.html",
        context=lambda: {"runs": runs_data(site), "count": len(site.history.order)},
        title="Runs",
        nav="runs",
    )
