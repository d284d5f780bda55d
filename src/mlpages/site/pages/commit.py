"""One page per commit: what the commit is, what it changed and everything the pipeline produced."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from functools import partial
from typing import Any

from mlpages.compare.diff import compare_metrics, compare_params
from mlpages.models import SNAPSHOT_SCHEMA_VERSION, Snapshot
from mlpages.reports import gate_view, validation_view
from mlpages.site.charts import plots as charts
from mlpages.site.dag import anchor_id, layout_dag
from mlpages.site.page_core import Asset, Page, SiteData, fingerprint
from mlpages.site.unchanged import record_image
from mlpages.site.urls import commit_path
from mlpages.site.values import format_value

DAG_LIMIT = 30  # stages drawn in full on a commit page; larger pipelines are condensed
FIGURE_ROWS = 1000  # rows per series on a commit page: keeps the page small
IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".svg"}
SVG_MEMO = 4  # SVG data: URIs kept for the next commit pages


def stage_status(
    site: SiteData, parent: Snapshot | None, snap: Snapshot
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Stage key -> added | modified | unlocked | same vs the parent's lock, and what changed."""
    if parent is None:
        return {s.key: ("added" if s.locked else "unlocked") for s in snap.stages}, {}
    status: dict[str, str] = {}
    reasons: dict[str, tuple[str, ...]] = {}
    for change in site.stage_changes(parent.sha, snap.sha):
        status[change.key] = change.status
        reasons[change.key] = change.reasons
    for stage in snap.stages:
        if not stage.locked:
            status[stage.key] = "unlocked"
    return status, reasons


def params_rows(parent: Snapshot | None, snap: Snapshot) -> list[dict[str, Any]]:
    """Every param of the commit (and removed ones), with the parent's value when it differs."""
    changed = {(c.path, c.key): c for c in compare_params(parent, snap)} if parent else {}
    rows = []
    keys = {(f, k) for f, values in snap.params.items() for k in values} | set(changed)
    for file, key in sorted(keys):
        change = changed.get((file, key))
        rows.append(
            {
                "file": file,
                "key": key,
                "value": format_value(snap.params.get(file, {}).get(key)),
                "old": format_value(change.old) if change else "",
                "status": change.status if change else "same",
            }
        )
    return rows


def metrics_rows(site: SiteData, parent: Snapshot | None, snap: Snapshot) -> list[dict[str, Any]]:
    """Every metric of the commit with its delta against the parent."""
    base = parent or Snapshot(sha="", has_dvc=False)
    rows = []
    for delta in compare_metrics(base, snap, site.config):
        if delta.status == "removed" and parent is None:
            continue
        rows.append(
            {
                "file": delta.path,
                "key": delta.key,
                "value": format_value(delta.new),
                "old": format_value(delta.old) if parent else "",
                "change": delta.change,
                "relative": delta.relative,
                "status": delta.status if parent else "same",
            }
        )
    return rows


def registered_versions(site: SiteData, sha: str) -> list[Any]:
    """Model versions registered at this commit (empty without a registry)."""
    registry = site.registry
    if registry is None:
        return []
    return [
        version
        for artifact in registry.artifacts.values()
        for version in artifact.versions
        if version.sha == sha
    ]


def _figures(site: SiteData, snap: Snapshot) -> list[dict[str, Any]]:
    """One Plotly figure per plot definition whose files are tables (images are shown as such)."""
    limit = min(site.config.max_plot_rows, FIGURE_ROWS)
    figures = []
    for plot in snap.plots:
        kinds = {snap.plot_data[f].kind for f in plot.files if f in snap.plot_data}
        if kinds == {"image"}:
            continue
        figures.append(charts.plot_figure(plot, snap.plot_data, max_rows=limit))
    return figures


def image_path(image_sha: str, ext: str) -> str:
    """Site path of a plot image, named by its blob id (content-addressed, so read once)."""
    return f"img/{hashlib.sha256(image_sha.encode()).hexdigest()[:20]}{ext}"


def _images(site: SiteData, snap: Snapshot) -> list[tuple[str, str, str]]:
    """(plot file, image id, extension) of every image plot readable at this commit."""
    images = []
    for path, data in sorted(snap.plot_data.items()):
        if data.kind != "image" or not data.image_sha:
            continue
        ext = (data.image_ext or "").lower()
        ext = ext if ext.startswith(".") else f".{ext}"
        if ext not in IMAGE_TYPES:
            continue
        present = site.history.has_image(data.image_sha)
        record_image(site, data.image_sha, present)
        if present:
            images.append((path, data.image_sha, ext))
    return images


def _image_src(site: SiteData, image_sha: str, ext: str) -> str | None:
    """What an ``<img>`` shows: the image file, or an SVG inlined as a data: URI."""
    if ext != ".svg":
        return image_path(image_sha, ext)
    # An SVG file on the site's origin runs its scripts when opened directly; as a data: URI an
    # <img> shows it inert and browsers refuse to open it as a top-level page. Consecutive
    # commits mostly show the same SVG: keep the last few, not every commit's copy.
    memo: dict[str, str | None] = site.extra.setdefault("svg_uris", {})
    if image_sha not in memo:
        raw = site.history.read_image(image_sha)
        memo[image_sha] = (
            None if raw is None else "data:image/svg+xml;base64," + base64.b64encode(raw).decode()
        )
        if len(memo) > SVG_MEMO:
            del memo[next(iter(memo))]
    return memo[image_sha]


def commit_context(site: SiteData, sha: str, images: list[tuple[str, str, str]]) -> dict:
    """Everything ``commit.html`` shows."""
    commit = site.commit(sha)
    snap = site.snapshot(sha) or Snapshot(sha=sha, has_dvc=False)
    exp = site.experiments.of(sha)
    # An experiment's deltas are against its baseline (a checkpoint's parent is the previous one).
    parent_sha = exp.baseline if exp is not None and exp.tip == sha else site.parent(sha)
    parent = site.snapshot(parent_sha)
    status, reasons = stage_status(site, parent, snap)
    validation, gate = snap.reports.get("validation"), snap.reports.get("gate")
    stages = [
        {
            "stage": stage,
            "status": status.get(stage.key, "same"),
            "reasons": reasons.get(stage.key, ()),
            "anchor": anchor_id(stage.key),
        }
        for stage in snap.stages
    ]
    unchanged = 0
    if len(stages) > DAG_LIMIT:
        # Large pipelines: list what changed; the full pipeline is on the lineage page.
        listed = [s for s in stages if s["status"] != "same"]
        unchanged = len(stages) - len(listed)
        stages = listed
    figures = _figures(site, snap)
    return {
        "commit": commit,
        "sha": sha,
        "refs": site.refs_at(sha),
        "parents": [(p, p in site.history.commits) for p in commit.parents],
        "on_mainline": sha in site.mainline_set,
        "snap": snap,
        "params": params_rows(parent, snap),
        "metrics": metrics_rows(site, parent, snap),
        "has_parent": parent is not None,
        "dag": layout_dag(snap.stages, status, DAG_LIMIT) if snap.stages else None,
        "stages": stages,
        "unchanged_stages": unchanged,
        "figures": figures,
        "plotly": bool(figures),
        "images": [
            (path, src)
            for path, image_sha, ext in images
            if (src := _image_src(site, image_sha, ext)) is not None
        ],
        "missing_plots": sorted(p for p, d in snap.plot_data.items() if d.kind == "missing"),
        "reports_shown": validation is not None or gate is not None,
        "validation": validation_view(validation),
        "gate": gate_view(gate),
        # A report identical to the parent's was not produced at this commit (e.g. the pipeline
        # stopped at validation): say so rather than present it as this run's verdict.
        "gate_carried": bool(
            parent is not None and gate is not None and parent.reports.get("gate") == gate
        ),
        "versions": registered_versions(site, sha),
        "experiment": exp,
        "vs": "baseline" if exp is not None and exp.tip == sha else "parent",
        "siblings": [e for e in site.experiments.under(exp.baseline) if e.tip != sha]
        if exp
        else [],
        "experiments": site.experiments.under(sha),
        "compare_sel": "compare.html#sel="
        + ",".join(s[:12] for s in [sha, *(e.tip for e in site.experiments.under(sha)[:7])]),
    }


def commit_key(site: SiteData, sha: str, images: list[tuple[str, str, str]]) -> str:
    """Everything a commit page shows: its snapshot and its parent's (deltas), refs, versions."""
    exp = site.experiments.of(sha)
    parent = exp.baseline if exp is not None and exp.tip == sha else site.parent(sha)
    return fingerprint(
        sha,
        # The experiments the page names: its siblings (an experiment) or its own (a baseline).
        [(e.name, e.tip, e.chain) for e in site.experiments.under(exp.baseline if exp else sha)],
        SNAPSHOT_SCHEMA_VERSION,
        site.snapshot_key(sha),
        [(p, p in site.history.commits) for p in site.commit(sha).parents],
        site.snapshot_key(parent),
        sha in site.mainline_set,
        [(r.name, r.kind, r.short) for r in site.refs_at(sha)],
        [(v.artifact, v.version, v.stages, v.deregistered) for v in registered_versions(site, sha)],
        images,
    )


def pages(site: SiteData) -> Iterator[Page | Asset]:
    """A page per commit, plus the image files its plots show."""
    for sha in site.history.order:
        snap = site.snapshot(sha)
        images = _images(site, snap) if snap else []
        for _, image_sha, ext in images:
            if ext != ".svg":  # the same path from many commits is one file (build.collect_pages)
                yield Asset(image_path(image_sha, ext), partial(site.history.read_image, image_sha))
        commit = site.commit(sha)
        exp = site.experiments.of(sha)
        yield Page(
            path=commit_path(sha),
            template="commit.html",
            context=lambda sha=sha, images=images: commit_context(site, sha, images),
            key=commit_key(site, sha, images),
            title=f"{sha[:8]} {exp.label if exp else commit.subject}",
            nav="runs",
        )
