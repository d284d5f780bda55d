"""The monitoring page: drift, performance and retraining triggers along the default branch.

``pages(site)`` yields ``monitoring.html``.
Reports are untrusted JSON (formats in docs/internals.md): every field is type-checked and a
malformed entry is skipped, never fatal. Without reports the page says plainly that none exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlpages.reports import as_float, as_int, as_list, as_numbers, as_str, gate_summary
from mlpages.site.charts.monitoring import (
    BatchPoint,
    drift_heatmap,
    model_label,
    performance_figure,
    prediction_distribution_figure,
)
from mlpages.site.page_core import Page, SiteData, fingerprint
from mlpages.site.values import format_value


def parse_batch(raw: Any) -> BatchPoint | None:
    """One entry of ``monitoring.json`` ``batches`` as a :class:`BatchPoint` (None if unusable)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("batch"), str | int):
        return None
    hist = raw.get("prediction_hist")
    edges = raw.get("hist_edges")
    hist_ok = isinstance(hist, list) and all(as_int(h) is not None and h >= 0 for h in hist)
    edges_ok = isinstance(edges, list) and all(as_float(e) is not None for e in edges)
    alerts = tuple(
        (as_str(a.get("kind"), "alert"), as_str(a.get("detail")))
        for a in as_list(raw.get("alerts"))
        if isinstance(a, dict)
    )
    drifted = raw.get("drifted_features")
    return BatchPoint(
        batch=as_str(raw["batch"]),
        week=as_int(raw.get("week")),
        model_version=as_str(raw["model_version"]) if raw.get("model_version") else None,
        model_hash=as_str(raw["model_hash"]) if raw.get("model_hash") else None,
        rows=as_int(raw.get("rows")),
        prediction_mean=as_float(raw.get("prediction_mean")),
        prediction_hist=tuple(hist) if hist_ok and edges_ok else (),
        hist_edges=tuple(float(e) for e in edges) if hist_ok and edges_ok else (),
        drift=as_numbers(raw.get("drift")),
        drifted_features=tuple(as_str(f) for f in drifted) if isinstance(drifted, list) else (),
        prediction_drift=as_float(raw.get("prediction_drift")),
        labels=raw.get("labels") is True,
        metrics=as_numbers(raw.get("metrics")),
        estimated=as_numbers(raw.get("estimated")),
        alerts=alerts,
    )


def parse_monitoring(report: Any) -> tuple[str | None, float | None, list[BatchPoint]]:
    """``monitoring.json`` → (threshold metric, threshold minimum, batches in record order)."""
    if not isinstance(report, dict):
        return None, None, []
    threshold = report.get("threshold") if isinstance(report.get("threshold"), dict) else {}
    metric = threshold.get("metric") if isinstance(threshold.get("metric"), str) else None
    batches = [b for b in map(parse_batch, as_list(report.get("batches"))) if b is not None]
    return metric, as_float(threshold.get("min")), batches


def _model_paths(site: SiteData, sha: str) -> set[str]:
    snap = site.snapshot(sha)
    if snap is None:
        return set()
    paths = {a.path for a in snap.artifacts if (a.type or "model") == "model"}
    return paths or {o.path for s in snap.stages if s.name.startswith("train") for o in s.outs}


def _model_hashes(site: SiteData, sha: str | None) -> dict[str, str | None]:
    snap = site.snapshot(sha)
    if snap is None:
        return {}
    wanted = _model_paths(site, snap.sha)
    return {o.path: o.fingerprint for s in snap.stages for o in s.lock_outs if o.path in wanted}


def next_retraining(site: SiteData) -> dict[str, str]:
    """Default-branch sha -> the first commit at or after it whose model output hash differs
    from the commit before (a trigger's decision carried out by its own CT run, or a later one)."""
    mainline = list(reversed(site.history.mainline))
    retrained: list[bool] = []
    before: dict[str, str | None] = {}
    for sha in mainline:
        now = _model_hashes(site, sha)
        retrained.append(bool(now) and now != before)
        before = now or before
    out: dict[str, str] = {}
    upcoming: str | None = None
    for sha, changed in zip(reversed(mainline), reversed(retrained), strict=True):
        upcoming = sha if changed else upcoming
        if upcoming is not None:
            out[sha] = upcoming
    return out


def _retraining(site: SiteData, sha: str, registered: dict[str, str]) -> dict[str, Any]:
    snap = site.snapshot(sha)
    gate = gate_summary(snap.reports.get("gate")) if snap else None
    return {
        **site.commit_info(sha),
        "version": registered.get(sha),
        "gate": gate.verdict if gate and gate.verdict != "unknown" else None,
    }


def triggers(site: SiteData) -> list[dict[str, Any]]:
    """Every retraining decision on the default branch with the retraining it caused."""
    rows = []
    caused = next_retraining(site)
    registered: dict[str, str] = {}
    for event in site.registry.events if site.registry else ():
        if event.kind == "register":
            registered.setdefault(event.sha, f"{event.artifact} {event.version}")
    for sha, report in site.mainline_reports("trigger"):
        if not isinstance(report, dict):
            continue
        reasons = [
            {"kind": as_str(r.get("kind"), "?"), "detail": as_str(r.get("detail"))}
            for r in as_list(report.get("reasons"))
            if isinstance(r, dict)
        ]
        retrain = report.get("retrain") is True
        blocked = report.get("blocked")
        rows.append(
            {
                **site.commit_info(sha),
                "batch": as_str(report.get("batch")),
                "retrain": retrain,
                "blocked": as_str(blocked) if blocked else None,
                "reasons": reasons,
                "caused": (
                    _retraining(site, caused[sha], registered)
                    if retrain and sha in caused
                    else None
                ),
            }
        )
    rows.reverse()
    for i, row in enumerate(rows):
        row["decisive"] = i == 0 or row["retrain"] or bool(row["blocked"])
    return rows


def monitoring_context(site: SiteData) -> dict[str, Any]:
    """Template context of ``monitoring.html``."""
    reports = site.mainline_reports("monitoring")
    latest_sha, latest = reports[-1] if reports else (None, None)
    metric, minimum, batches = parse_monitoring(latest)
    if metric is None:
        names = sorted({k for b in batches for k in b.metrics})
        metric = names[0] if names else "metric"
    direction = site.config.metric_direction(metric)
    figures = []
    if batches:
        figures = [
            ("drift", "Drift per feature and batch", drift_heatmap(batches)),
            (
                "performance",
                f"Performance: {metric}",
                performance_figure(batches, metric, minimum, higher_is_better=direction > 0),
            ),
            ("predictions", "Prediction distribution", prediction_distribution_figure(batches)),
        ]
    alerts = [
        {"batch": b.batch, "week": b.week, "kind": kind, "detail": detail}
        for b in reversed(batches)
        for kind, detail in b.alerts
    ]
    last = batches[-1] if batches else None
    health = None
    if last is not None:
        value = last.metrics.get(metric) if last.labels else None
        below = (
            value is not None and minimum is not None and value * direction < minimum * direction
        )
        health = {
            "batch": last.batch,
            "model_version": model_label(last),
            "metric": metric,
            "value": format_value(value) if value is not None else None,
            "estimate": format_value(next(iter(last.estimated.values())))
            if last.estimated
            else None,
            "threshold": format_value(minimum) if minimum is not None else None,
            "below": below,
            "drifted": list(last.drifted_features),
            "alerts": len(last.alerts),
            "status": "alert" if last.alerts or below else "ok",
        }
    return {
        "has_data": bool(batches),
        "source": site.commit_info(latest_sha) if latest_sha else None,
        "batches": [
            {
                "batch": b.batch,
                "week": b.week,
                "model_version": model_label(b),
                "rows": b.rows,
                "labels": b.labels,
                "metric": format_value(b.metrics.get(metric)) if metric in b.metrics else "",
                "drifted": list(b.drifted_features),
                "alerts": len(b.alerts),
            }
            for b in reversed(batches)
        ],
        "figures": figures,
        "plotly": bool(figures),
        "alerts": alerts,
        "health": health,
        "triggers": triggers(site),
        "metric": metric,
    }


def pages(site: SiteData) -> Iterable[Page]:
    """``monitoring.html``."""
    registry_events = [
        (e.artifact, e.kind, e.version, e.sha)
        for e in (site.registry.events if site.registry else ())
    ]
    yield Page(
        path="monitoring.html",
        template="monitoring.html",
        context=lambda: monitoring_context(site),
        key=fingerprint(site.reports_key("monitoring", "trigger"), registry_events),
        title="Monitoring",
        nav="monitoring",
    )
