"""Plotly figure specs for the MLOps views: metric trends, drift, performance, predictions, stages.

Same rules as :mod:`mlpages.site.charts`: plain deterministic dicts, rounded numbers, NaN/Inf as
``null``, repository text escaped for plotly.js labels. The inputs are small frozen dataclasses
(``TrendPoint``, ``VersionMarker``, ``BatchPoint``, ``StageSpan``) that the page models build from
the history, the registry and the continuous-training reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpages.site.charts import PALETTE, axis_title, base_layout, empty_figure, num, text

MARKER_STYLE = {
    "register": ("#6b7280", "dot"),
    "promote": ("#16a34a", "solid"),
    "rollback": ("#dc2626", "dash"),
    "demote": ("#9ca3af", "dashdot"),
}


def iso(seconds: int | float) -> str:
    """Epoch seconds as a UTC date string plotly.js reads (``2026-01-31 12:00:00``)."""
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class TrendPoint:
    """One mainline commit's value of a metric."""

    sha: str
    time: int
    subject: str
    value: Any


@dataclass(frozen=True)
class VersionMarker:
    """A registry event worth a vertical line on a timeline (register/promote/rollback/demote)."""

    time: int
    label: str
    kind: str
    sha: str = ""


@dataclass(frozen=True)
class BatchPoint:
    """One production batch of the monitoring record (``reports/monitoring.json``)."""

    batch: str
    week: int | None = None
    model_version: str | None = None
    rows: int | None = None
    prediction_mean: float | None = None
    prediction_hist: tuple[int, ...] = ()
    hist_edges: tuple[float, ...] = ()
    drift: dict[str, Any] = field(default_factory=dict)
    drifted_features: tuple[str, ...] = ()
    prediction_drift: float | None = None
    labels: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)
    estimated: dict[str, Any] = field(default_factory=dict)
    alerts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StageSpan:
    """A version holding a stage from ``start`` to ``end`` (``open``: still holds it)."""

    stage: str
    version: str
    start: int
    end: int
    open: bool = False
    rollback: bool = False


# --- inputs from the history and the registry ------------------------------------------------


def mainline_points(history: Any, metric: str) -> list[TrendPoint]:
    """The metric at every default-branch commit that has it, oldest first."""
    points = []
    for sha in reversed(history.mainline):
        snapshot = history.snapshots.get(sha)
        commit = history.commits.get(sha)
        if snapshot is None or commit is None:
            continue
        value = snapshot.metric(metric)
        if value is None or isinstance(value, str | bool):
            continue
        points.append(TrendPoint(sha, commit.commit_time, commit.subject, value))
    return points


def version_markers(
    events: Iterable[Any], production_stage: str = "prod", artifact: str | None = None
) -> list[VersionMarker]:
    """Markers for registrations, promotions to ``production_stage`` and rollbacks."""
    markers = []
    for event in events:
        if artifact and event.artifact != artifact:
            continue
        name = f"{event.version}" if artifact else f"{event.artifact} {event.version}"
        if event.kind == "register":
            markers.append(VersionMarker(event.time, name, "register", event.sha))
        elif event.kind == "assign" and event.stage == production_stage:
            kind = "rollback" if event.rollback else "promote"
            label = f"{name} → {event.stage}" + (" (rollback)" if event.rollback else "")
            markers.append(VersionMarker(event.time, label, kind, event.sha))
        elif event.kind == "unassign" and event.stage == production_stage:
            markers.append(VersionMarker(event.time, f"{name} ✕ {event.stage}", "demote"))
    return sorted(markers, key=lambda m: (m.time, m.label))


def spans_from_timeline(timeline: Iterable[Any], until: int) -> list[StageSpan]:
    """Chart spans from the registry's stage timeline (``end`` None = holds the stage now)."""
    spans = [
        StageSpan(
            stage=span.stage,
            version=span.version,
            start=span.start,
            end=max(until if span.end is None else span.end, span.start),
            open=span.end is None,
            rollback=bool(span.rollback),
        )
        for span in timeline
    ]
    return sorted(spans, key=lambda s: (s.stage, s.start, s.version))


# --- figures -----------------------------------------------------------------------------------


def _marker_shapes(markers: Sequence[VersionMarker], layout: dict[str, Any], xs: Any) -> None:
    shapes = layout.setdefault("shapes", [])
    annotations = layout.setdefault("annotations", [])
    for i, marker in enumerate(markers):
        color, dash = MARKER_STYLE.get(marker.kind, MARKER_STYLE["register"])
        x = xs(marker)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"color": color, "width": 1.5, "dash": dash},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "text": text(marker.label, 60),
                "x": x,
                "xref": "x",
                "yref": "paper",
                "y": 1 - 0.07 * (i % 3),
                "xanchor": "left",
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": 10, "color": color},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )


def trend_figure(
    points: Sequence[TrendPoint],
    metric: str,
    version_markers: Sequence[VersionMarker] = (),
    title: str | None = None,
    height: int = 300,
) -> dict[str, Any]:
    """A metric along the default branch with registry events as vertical markers."""
    heading = title if title is not None else metric
    values = [(p, num(p.value)) for p in sorted(points, key=lambda p: (p.time, p.sha))]
    values = [(p, v) for p, v in values if v is not None]
    if not values:
        return empty_figure(f"no value of {metric} on the default branch", heading)
    layout = base_layout(heading, height)
    layout["xaxis"]["type"] = "date"
    axis_title(layout, "yaxis", metric)
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": text(metric),
        "x": [iso(p.time) for p, _ in values],
        "y": [v for _, v in values],
        "text": [f"{p.sha[:8]} {text(p.subject, 80)}" for p, _ in values],
        "hovertemplate": "%{y}<br>%{text}<br>%{x}<extra></extra>",
        "line": {"color": PALETTE[0], "width": 2},
        "marker": {"size": 6},
        "showlegend": False,
    }
    first, last = values[0][0].time, values[-1][0].time
    shown = [m for m in version_markers if first - 86400 * 365 <= m.time <= last + 86400 * 30]
    _marker_shapes(shown, layout, lambda m: iso(m.time))
    return {"data": [trace], "layout": layout}


def drift_heatmap(batches: Sequence[BatchPoint], title: str | None = None) -> dict[str, Any]:
    """Drift score per feature (rows) × batch (columns); drifted cells outlined."""
    features = sorted({f for b in batches for f in b.drift})
    if not batches or not features:
        return empty_figure("no drift scores recorded", title)
    peak = {f: max((num(b.drift.get(f)) or 0) for b in batches) for f in features}
    features.sort(key=lambda f: (-peak[f], f))
    columns = [text(b.batch, 60) for b in batches]
    z = [[num(b.drift.get(f)) for b in batches] for f in features]
    top = max([v for row in z for v in row if v is not None] + [1.0])
    layout = base_layout(title, height=min(900, 140 + 26 * len(features)))
    layout["xaxis"].update({"type": "category", "tickangle": -45 if len(batches) > 12 else 0})
    layout["yaxis"].update({"type": "category", "autorange": "reversed"})
    layout["xaxis"]["showgrid"] = layout["yaxis"]["showgrid"] = False
    heat = {
        "type": "heatmap",
        "x": columns,
        "y": [text(f, 60) for f in features],
        "z": z,
        "zmin": 0,
        "zmax": num(top),
        "colorscale": [[0, "#f8fafc"], [0.5, "#fdba74"], [1, "#b91c1c"]],
        "colorbar": {"title": {"text": "drift", "side": "right"}, "thickness": 12},
        "xgap": 1,
        "ygap": 1,
        "hovertemplate": "%{y} · %{x}<br>drift %{z}<extra></extra>",
        "name": "drift",
    }
    flagged = [(text(b.batch, 60), text(f, 60)) for b in batches for f in b.drifted_features]
    traces: list[dict[str, Any]] = [heat]
    if flagged:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "drifted",
                "x": [x for x, _ in flagged],
                "y": [y for _, y in flagged],
                "marker": {"symbol": "x-thin-open", "size": 9, "color": "#111827"},
                "hovertemplate": "%{y} drifted in %{x}<extra></extra>",
            }
        )
    return {"data": traces, "layout": layout}


def _version_changes(batches: Sequence[BatchPoint]) -> list[tuple[str, str]]:
    changes, previous = [], None
    for b in batches:
        if b.model_version and b.model_version != previous and previous is not None:
            changes.append((text(b.batch, 60), b.model_version))
        previous = b.model_version or previous
    return changes


def performance_figure(
    batches: Sequence[BatchPoint],
    metric: str,
    threshold: float | None = None,
    title: str | None = None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """The metric per labelled batch and the label-free estimate, below-threshold band shaded."""
    xs = [text(b.batch, 60) for b in batches]
    measured = [num(b.metrics.get(metric)) if b.labels else None for b in batches]
    estimate = [
        num(next(iter(b.estimated.values()), None)) if b.estimated else None for b in batches
    ]
    if not any(v is not None for v in measured + estimate):
        return empty_figure(f"no {metric} or estimate recorded for any batch", title)
    layout = base_layout(title, height=320)
    layout["xaxis"].update({"type": "category", "tickangle": -45 if len(xs) > 12 else 0})
    axis_title(layout, "yaxis", metric)
    bad = [
        threshold is not None
        and v is not None
        and (v < threshold if higher_is_better else v > threshold)
        for v in measured
    ]
    traces: list[dict[str, Any]] = []
    if any(v is not None for v in measured):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{text(metric)} (labelled batches)",
                "x": xs,
                "y": measured,
                "line": {"color": PALETTE[0], "width": 2},
                "marker": {
                    "size": 8,
                    "color": ["#dc2626" if b else PALETTE[0] for b in bad],
                },
                "connectgaps": False,
            }
        )
    if any(v is not None for v in estimate):
        names = sorted({k for b in batches for k in b.estimated})
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"estimate: {text(', '.join(names))} (no labels)",
                "x": xs,
                "y": estimate,
                "line": {"color": PALETTE[8], "width": 1.5, "dash": "dot"},
                "marker": {"size": 6, "symbol": "circle-open"},
            }
        )
    if threshold is not None:
        y0, y1 = (-1e9, threshold) if higher_is_better else (threshold, 1e9)
        layout["shapes"] = [
            {
                "type": "rect",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": y0,
                "y1": y1,
                "fillcolor": "rgba(220,38,38,0.08)",
                "line": {"width": 0},
                "layer": "below",
            },
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": threshold,
                "y1": threshold,
                "line": {"color": "#dc2626", "width": 1, "dash": "dash"},
            },
        ]
        values = [v for v in measured + estimate if v is not None] + [threshold]
        low, high = min(values), max(values)
        pad = (high - low) * 0.12 or 0.05
        layout["yaxis"]["range"] = [num(low - pad), num(high + pad)]
        layout["annotations"] = [
            {
                "text": f"threshold {num(threshold)}",
                "xref": "paper",
                "yref": "y",
                "x": 0,
                "y": threshold,
                "xanchor": "left",
                "yanchor": "top" if higher_is_better else "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#dc2626"},
            }
        ]
    changes = _version_changes(batches)
    markers = [VersionMarker(i, f"model {v}", "promote") for i, (_, v) in enumerate(changes)]
    lookup = {i: x for i, (x, _) in enumerate(changes)}
    _marker_shapes(markers, layout, lambda m: lookup[m.time])
    return {"data": traces, "layout": layout}


def _quantile(hist: Sequence[int], edges: Sequence[float], q: float) -> float | None:
    total = sum(hist)
    if total <= 0 or len(edges) != len(hist) + 1:
        return None
    target, seen = q * total, 0.0
    for count, lo, hi in zip(hist, edges, edges[1:], strict=False):
        if count and seen + count >= target:
            return lo + (hi - lo) * (target - seen) / count
        seen += count
    return edges[-1]


def prediction_distribution_figure(
    batches: Sequence[BatchPoint], title: str | None = None
) -> dict[str, Any]:
    """Prediction quantile bands (5–95 %, 25–75 %), median and mean per batch, from histograms."""
    xs = [text(b.batch, 60) for b in batches]
    qs = {
        q: [num(_quantile(b.prediction_hist, b.hist_edges, q)) for b in batches]
        for q in (0.05, 0.25, 0.5, 0.75, 0.95)
    }
    means = [num(b.prediction_mean) for b in batches]
    if not any(v is not None for v in qs[0.5] + means):
        return empty_figure("no prediction histograms recorded", title)
    layout = base_layout(title, height=300)
    layout["xaxis"].update({"type": "category", "tickangle": -45 if len(xs) > 12 else 0})
    layout["hovermode"] = "x unified"
    axis_title(layout, "yaxis", "prediction")
    blue = "37,99,235"

    def band(lo: float, hi: float, name: str, alpha: float) -> list[dict[str, Any]]:
        edge = {"type": "scatter", "mode": "lines", "x": xs, "line": {"width": 0}}
        return [
            {**edge, "y": qs[lo], "name": f"{name} low", "showlegend": False, "hoverinfo": "skip"},
            {
                **edge,
                "y": qs[hi],
                "name": name,
                "fill": "tonexty",
                "fillcolor": f"rgba({blue},{alpha})",
                "hoverinfo": "skip",
            },
        ]

    traces = band(0.05, 0.95, "5–95 %", 0.15) + band(0.25, 0.75, "25–75 %", 0.3)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "median",
            "x": xs,
            "y": qs[0.5],
            "line": {"color": f"rgb({blue})", "width": 2},
            "marker": {"size": 5},
        }
    )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "mean",
            "x": xs,
            "y": means,
            "line": {"color": PALETTE[1], "width": 1.5, "dash": "dot"},
        }
    )
    return {"data": traces, "layout": layout}


def stage_timeline_figure(
    spans: Sequence[StageSpan],
    markers: Sequence[VersionMarker] = (),
    stages_order: Sequence[str] = (),
    title: str | None = None,
) -> dict[str, Any]:
    """Gantt of which version held each stage when; rollbacks marked, registrations as diamonds."""
    if not spans and not markers:
        return empty_figure("no stage was ever assigned", title)
    stages = list(stages_order) + sorted({s.stage for s in spans} - set(stages_order))
    registered = [m for m in markers if m.kind == "register"]
    rows = [*stages, "registered"] if registered else stages
    layout = base_layout(title, height=120 + 44 * len(rows))
    layout["xaxis"]["type"] = "date"
    layout["yaxis"].update(
        {"type": "category", "categoryorder": "array", "categoryarray": [text(r) for r in rows]}
    )
    layout["yaxis"]["autorange"] = "reversed"
    layout["barmode"] = "overlay"
    versions = sorted({s.version for s in spans})
    traces: list[dict[str, Any]] = []
    for i, version in enumerate(versions):
        own = [s for s in spans if s.version == version]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": text(version),
                "y": [text(s.stage) for s in own],
                "base": [iso(s.start) for s in own],
                "x": [max(s.end - s.start, 1) * 1000 for s in own],
                "text": [text(version) + (" (now)" if s.open else "") for s in own],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "marker": {"color": PALETTE[i % len(PALETTE)], "line": {"width": 0}},
                "customdata": [[iso(s.start), iso(s.end)] for s in own],
                "hovertemplate": f"{text(version)} in %{{y}}<br>%{{customdata[0]}} → "
                "%{customdata[1]}<extra></extra>",
            }
        )
    rollbacks = [s for s in spans if s.rollback]
    if rollbacks:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "rollback",
                "x": [iso(s.start) for s in rollbacks],
                "y": [text(s.stage) for s in rollbacks],
                "text": ["↩ rollback"] * len(rollbacks),
                "textposition": "top right",
                "textfont": {"color": "#dc2626", "size": 10},
                "marker": {"symbol": "triangle-left", "size": 12, "color": "#dc2626"},
                "hovertemplate": "rollback to %{customdata} in %{y}<br>%{x}<extra></extra>",
                "customdata": [text(s.version) for s in rollbacks],
            }
        )
    if registered:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "registered",
                "x": [iso(m.time) for m in registered],
                "y": ["registered"] * len(registered),
                "text": [text(m.label, 30) for m in registered],
                "textposition": "top center",
                "textfont": {"size": 10},
                "marker": {"symbol": "diamond", "size": 10, "color": "#4b5563"},
                "hovertemplate": "%{text} registered %{x}<extra></extra>",
                "showlegend": False,
            }
        )
    return {"data": traces, "layout": layout}
