"""The overview page: production model, latest run, key metrics and their trends, open problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlpages.compare.diff import metric_direction
from mlpages.compare.values import is_number
from mlpages.reports import as_list, gate_view, validation_view
from mlpages.site.charts import mlops as charts_mlops
from mlpages.site.page_core import Page, SiteData
from mlpages.site.pages.commit import metrics_rows
from mlpages.site.pages.overview_experiments import best_experiments

KEY_METRICS = 6
MAX_PROBLEM_COMMITS = 15


def key_metrics(site: SiteData) -> list[str]:
    """The configured key metrics, else the first numeric metrics of the newest commits."""
    if site.config.key_metrics:
        return [str(m) for m in site.config.key_metrics]
    names: list[str] = []
    for sha in site.history.mainline or site.history.order:
        snap = site.snapshot(sha)
        if not snap:
            continue
        for file, values in snap.metrics.items():
            for key, value in values.items():
                name = f"{file}:{key}"
                if is_number(value) and name not in names:
                    names.append(name)
        if names:
            break
    return names[:KEY_METRICS]


def production_model(site: SiteData) -> dict[str, Any] | None:
    """The version in the production stage and when it got there (None without a registry)."""
    registry = site.registry
    if registry is None or not registry.artifacts:
        return None
    name = site.config.model_artifact or next(iter(registry.artifacts))
    artifact = registry.artifacts.get(name)
    if artifact is None:
        return {"artifact": name, "version": None, "missing": True}
    stage = site.config.production_stage
    version_name = artifact.stages.get(stage)
    version = next((v for v in artifact.versions if v.version == version_name), None)
    since = None
    for event in artifact.events:
        if event.kind == "assign" and event.stage == stage and event.version == version_name:
            since = event
    latest = next((v for v in reversed(artifact.versions) if not v.deregistered), None)
    return {
        "artifact": name,
        "stage": stage,
        "version": version,
        "since": since,
        "latest": latest,
        "stages": artifact.stages,
        "missing": False,
    }


def open_problems(site: SiteData) -> dict[str, Any]:
    """Failed validation, drift and performance alerts at the head, unreadable commits."""
    head = site.snapshot(site.head)
    reports = head.reports if head else {}
    alerts: list[dict[str, str]] = []
    validation = validation_view(reports.get("validation"))
    if validation and validation.failed:
        alerts.append(
            {
                "kind": "validation",
                "detail": f"data validation failed on {validation.batch_text}: "
                f"{validation.listed} anomalies",
            }
        )
    drift = reports.get("drift")
    if isinstance(drift, dict) and drift.get("dataset_drift"):
        features = [f for f in as_list(drift.get("features")) if isinstance(f, dict)]
        drifted = [f.get("feature") for f in features if f.get("drifted")]
        alerts.append(
            {"kind": "drift", "detail": "dataset drift: " + ", ".join(map(str, drifted[:8]))}
        )
    monitoring = reports.get("monitoring")
    if isinstance(monitoring, dict) and as_list(monitoring.get("batches")):
        last = monitoring["batches"][-1]
        for alert in as_list(last.get("alerts")) if isinstance(last, dict) else []:
            if isinstance(alert, dict):
                alerts.append(
                    {
                        "kind": str(alert.get("kind", "alert")),
                        "detail": f"{last.get('batch', '')}: {alert.get('detail', '')}",
                    }
                )
    gate = gate_view(reports.get("gate"))
    if gate and gate.summary.verdict == "rejected":
        alerts.append({"kind": "gate", "detail": gate.reasons_text[:300]})
    broken = [sha for sha in site.history.order if (s := site.snapshot(sha)) and s.problems]
    return {
        "alerts": alerts,
        "repo": site.history.problems,
        "shallow": site.history.shallow,
        "commits": [(sha, site.commit(sha), site.snapshot(sha).problems) for sha in broken][
            :MAX_PROBLEM_COMMITS
        ],
        "commit_count": len(broken),
    }


def trend_figures(site: SiteData) -> list[dict[str, Any]]:
    """One chart per key metric along the default branch, with model version markers."""
    markers = []
    if site.registry is not None:
        artifact = site.config.model_artifact or next(iter(site.registry.artifacts), None)
        markers = charts_mlops.version_markers(
            site.registry.events, site.config.production_stage, artifact
        )
    figures = []
    for metric in key_metrics(site):
        points = charts_mlops.mainline_points(site.history, metric)
        if len(points) < 2:
            continue
        file, _, key = metric.rpartition(":")
        title = f"{key}  ·  {file}" if file else key
        figures.append(charts_mlops.trend_figure(points, key, markers, title=title, height=260))
    return figures


def overview_context(site: SiteData) -> dict[str, Any]:
    """Everything ``index.html`` shows."""
    head = site.head
    snap = site.snapshot(head)
    parent = site.snapshot(site.parent(head)) if head else None
    keys = set(key_metrics(site))
    metrics = metrics_rows(site, parent, snap) if snap else []
    highlighted = [m for m in metrics if f"{m['file']}:{m['key']}" in keys] or metrics[:8]
    # The same key in two files (eval/cnn/metrics.json:acc, eval/rf/metrics.json:acc) needs the
    # file in the label, not only in the tooltip.
    repeated = {m["key"] for m in highlighted if sum(n["key"] == m["key"] for n in highlighted) > 1}
    highlighted = [
        {**m, "label": f"{m['key']} · {m['file']}" if m["key"] in repeated else m["key"]}
        for m in highlighted
    ]
    branches = [
        {"ref": ref, "commit": site.commit(ref.sha)}
        for ref in site.branches
        if ref.sha in site.history.commits
    ]
    figures = trend_figures(site)
    return {
        "head": head,
        "head_commit": site.commit(head) if head else None,
        "head_refs": site.refs_at(head) if head else (),
        "snap": snap,
        "metrics": highlighted,
        "all_metrics": len(metrics),
        "validation": validation_view(snap.reports.get("validation")) if snap else None,
        "gate": gate_view(snap.reports.get("gate")) if snap else None,
        "production": production_model(site),
        "problems": open_problems(site),
        "figures": figures,
        "plotly": bool(figures),
        "experiments": best_experiments(site, key_metrics(site)),
        "branches": sorted(branches, key=lambda b: -b["commit"].commit_time)[:12],
        "commit_count": len(site.history.commits),
        "default_branch": site.history.default_branch,
        "directions": {
            f"{m['file']}:{m['key']}": metric_direction(site.config, m["file"], m["key"])
            for m in metrics
        },
    }


def pages(site: SiteData) -> Iterator[Page]:
    """``index.html``."""
    yield Page(
        "index.html", "index.html", lambda: overview_context(site), title="Overview", nav="overview"
    )
