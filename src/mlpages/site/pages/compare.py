"""Compare pages: each branch against its merge-base with the default branch, and a picker.

The diff itself comes from :mod:`mlpages.compare.diff` (the same code as the pull-request comment).
The picker (``compare.html`` + ``compare.js``) diffs any two commits in the browser from the runs
JSON; the plot data it overlays lives in small ``data/plots/<hash>.js`` files loaded on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlpages.compare.diff import compare_snapshots
from mlpages.models import Snapshot
from mlpages.site.charts import plots as charts
from mlpages.site.page_core import Asset, Page, SiteData, fingerprint
from mlpages.site.pages.plotdata import OVERLAY_ROWS, plot_assets
from mlpages.site.pages.runs import runs_asset
from mlpages.site.urls import compare_path


def branch_comparisons(site: SiteData) -> list[dict[str, Any]]:
    """Every branch other than the default one, with its head and merge-base."""
    out = []
    taken: set[str] = set()
    default = site.history.default_branch
    for ref in site.branches:
        name = ref.short.split("/", 1)[-1] if ref.kind == "remote" else ref.short
        if name == default or ref.sha not in site.history.commits:
            continue
        path = compare_path(ref.short)
        if path in taken:  # names that differ only in undecodable bytes read the same
            continue
        taken.add(path)
        base = site.merge_base(ref.sha)
        ahead = site.ancestors(ref.sha) - site.default_ancestors
        out.append(
            {
                "ref": ref,
                "head": ref.sha,
                "base": base,
                "ahead": len(ahead),
                "path": path,
                "ahead_shas": [sha for sha in site.history.order if sha in ahead],
            }
        )
    return out


def _overlay_figures(
    site: SiteData, base: Snapshot, head: Snapshot, labels: tuple[str, str]
) -> list[dict[str, Any]]:
    """The plots both sides define, drawn over each other (base dashed)."""
    base_ids = {p.id for p in base.plots}
    figures = []
    for plot in head.plots:
        if plot.id not in base_ids:
            continue
        kinds = {head.plot_data[f].kind for f in plot.files if f in head.plot_data}
        if kinds == {"image"}:
            continue
        sides = [(labels[1], head.plot_data), (labels[0], base.plot_data)]
        figures.append(charts.overlay_figure(plot, sides, max_rows=OVERLAY_ROWS))
    return figures


def branch_context(site: SiteData, item: dict[str, Any]) -> dict[str, Any]:
    """Everything ``compare_branch.html`` shows."""
    head = site.snapshot(item["head"]) or Snapshot(sha=item["head"], has_dvc=False)
    base_sha = item["base"]
    base = site.snapshot(base_sha) or Snapshot(sha=base_sha or "", has_dvc=False)
    diff = compare_snapshots(base, head, site.config)
    figures = (
        _overlay_figures(site, base, head, (base_sha[:8], item["ref"].short)) if base_sha else []
    )
    return {
        "item": item,
        "diff": diff,
        "base_commit": site.commit(base_sha) if base_sha else None,
        "head_commit": site.commit(item["head"]),
        "commits": [site.commit(sha) for sha in item["ahead_shas"][:200]],
        "more_commits": max(len(item["ahead_shas"]) - 200, 0),
        "figures": figures,
        "plotly": bool(figures),
    }


def latest_selection(site: SiteData) -> str:
    """``compare.html#sel=…`` of the newest baseline and (up to 7 of) its experiments, or ""."""
    index = site.experiments
    if not index.experiments:
        return ""
    baseline = max(index.by_baseline, key=lambda sha: site.commit(sha).commit_time)
    shas = [baseline, *(e.tip for e in index.under(baseline)[:7])]
    return "compare.html#sel=" + ",".join(sha[:12] for sha in shas)


def pages(site: SiteData) -> Iterator[Page | Asset]:
    """``compare.html`` (the picker and the list of branches) and one page per branch."""
    branches = branch_comparisons(site)
    _, assets = plot_assets(site)
    yield from assets
    yield Page(
        path="compare.html",
        template="compare.html",
        context=lambda: {
            "branches": branches,
            "runs_js": runs_asset(site).path,
            "latest_sel": latest_selection(site),
        },
        title="Compare",
        nav="compare",
    )
    for item in branches:
        yield Page(
            path=item["path"],
            template="compare_branch.html",
            context=lambda item=item: branch_context(site, item),
            key=fingerprint(
                "branch",
                (item["ref"].name, item["ref"].short, item["ref"].kind),
                item["head"],
                item["base"],
                site.snapshot_key(item["head"]),
                site.snapshot_key(item["base"]),
                item["ahead_shas"],
            ),
            title=f"{item['ref'].short} vs {site.history.default_branch}",
            nav="compare",
        )
