"""The runs table: every commit × params × metrics, shipped to the browser as compact JSON.

``runs.js`` renders the visible rows only (virtual scrolling), computes deltas against the parent or
a chosen baseline, sorts, filters, hides unchanged columns and exports CSV, all client-side. DVC
experiments (``refs/exps/…``) follow their baseline's row, named, with Δ against the baseline.

The JSON is written once, as ``data/runs-<hash>.js`` (a script file, so it loads from ``file://``),
and shared by the runs table and the compare pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from mlpages.compare.diff import metric_direction
from mlpages.history.experiments import Experiment
from mlpages.site.page_core import Asset, Page, SiteData
from mlpages.site.pages.plotdata import plot_assets
from mlpages.site.values import json_for_script
from mlpages.text import utf8_text

EXPANDED_BASELINES = 3  # the newest baselines with experiments start expanded


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
    """The JSON document behind the runs table and the compare pages (computed once)."""
    if "runs" not in site.extra:
        site.extra["runs"] = _runs_data(site)
    return site.extra["runs"]


def row_order(site: SiteData) -> list[tuple[str, Experiment | None]]:
    """Commits newest first, each followed by its experiments; checkpoints are left out."""
    index = site.experiments
    out: list[tuple[str, Experiment | None]] = []
    for sha in site.history.order:
        if sha in index.by_tip or sha in index.by_checkpoint:
            continue
        out.append((sha, None))
        out.extend((exp.tip, exp) for exp in index.under(sha))
    return out


def _expanded(site: SiteData) -> set[str]:
    """The newest baselines (by commit time) whose experiments are shown at first."""
    baselines = sorted(
        site.experiments.by_baseline,
        key=lambda sha: -site.commit(sha).commit_time,
    )
    return set(baselines[:EXPANDED_BASELINES])


def _row(site: SiteData, sha: str, columns: list[dict[str, Any]], exp: Experiment | None) -> dict:
    commit = site.commit(sha)
    snap = site.snapshot(sha)
    values: list[Any] = []
    for col in columns:
        source = (snap.params if col["g"] == "param" else snap.metrics) if snap else {}
        values.append(source.get(col["f"], {}).get(col["k"]))
    refs = [ref for ref in site.refs_at(sha) if exp is None or ref.kind != "exp"]
    row = {
        "s": sha,
        "p": site.parent(sha),
        "m": commit.subject,
        "a": commit.author.name,
        "t": commit.author_time,
        "r": [[ref.short, ref.kind] for ref in refs],
        "ml": sha in site.mainline_set,
        "pb": len(snap.problems) if snap else 0,
        "v": values,
    }
    if exp is not None:
        row["x"] = exp.name  # an experiment: its name, its baseline, its checkpoints
        row["b"] = exp.baseline
        row["t"] = exp.created
        if exp.checkpoints:
            row["ck"] = exp.checkpoints
    return row


def _runs_data(site: SiteData) -> dict[str, Any]:
    columns = columns_of(site)
    expanded = _expanded(site)
    plot_index, _ = plot_assets(site)
    rows = []
    for sha, exp in row_order(site):
        row = _row(site, sha, columns, exp)
        if exp is None and site.experiments.under(sha):
            row["nx"] = len(site.experiments.under(sha))
            row["open"] = sha in expanded
        if sha in plot_index:
            row["pl"] = plot_index[sha]
        rows.append(row)
    return {
        "columns": columns,
        "rows": rows,
        "default_branch": site.history.default_branch,
        "experiments": len(site.experiments),
    }


def runs_asset(site: SiteData) -> Asset:
    """``data/runs-<hash>.js``: the runs JSON, named by its content (one copy in the site)."""
    if "runs_asset" not in site.extra:
        text = utf8_text(json_for_script(runs_data(site)))  # undecodable bytes as U+FFFD
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        body = f"window.mlpagesRuns={text};\n".encode()
        site.extra["runs_asset"] = Asset(f"data/runs-{digest}.js", body)
    return site.extra["runs_asset"]


def pages(site: SiteData) -> Iterator[Page | Asset]:
    """``runs.html`` and the runs data file."""
    asset = runs_asset(site)
    yield asset
    yield Page(
        path="runs.html",
        template="runs.html",
        context=lambda: {
            "runs_js": asset.path,
            "count": sum(1 for _, exp in row_order(site) if exp is None),
            "experiments": len(site.experiments),
        },
        title="Runs",
        nav="runs",
    )
