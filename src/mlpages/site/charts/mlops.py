"""Plotly figure specs for the MLOps views: metric trends with registry markers, stage timelines.

Same rules as :mod:`mlpages.site.charts.base`: plain deterministic dicts, rounded numbers,
NaN/Inf as ``null``, repository text escaped for plotly.js labels. The inputs are small frozen
dataclasses (``TrendPoint``, ``VersionMarker``, ``StageSpan``) that the page models build from
the history and the registry. Monitoring figures live in :mod:`mlpages.site.charts.monitoring`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlpages.site.charts.base import PALETTE, base_layout, empty_figure, num, text

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
    version: str = ""  # "artifact version" (or just the version when one artifact is shown)


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
            markers.append(VersionMarker(event.time, name, "register", event.sha, name))
        elif event.kind == "assign" and event.stage == production_stage:
            kind = "rollback" if event.rollback else "promote"
            label = f"{name} → {event.stage}" + (" (rollback)" if event.rollback else "")
            markers.append(VersionMarker(event.time, label, kind, event.sha, name))
        elif event.kind == "unassign" and event.stage == production_stage:
            label = f"{name} ✕ {event.stage}"
            markers.append(VersionMarker(event.time, label, "demote", event.sha, name))
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


CLOSE_MARKERS = 0.08  # markers nearer than this share of the time axis share one label


def label_groups(markers: Sequence[VersionMarker], span: int | None) -> list[list[int]]:
    """Indices of markers whose labels would overlap (closer than :data:`CLOSE_MARKERS` of
    ``span`` seconds to the previous one), in time order; every marker alone without a span."""
    groups: list[list[int]] = []
    for i, marker in enumerate(markers):
        if groups and span and marker.time - markers[groups[-1][-1]].time < CLOSE_MARKERS * span:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def joined_label(labels: Sequence[str]) -> str:
    """One label for close markers: ``v1.1.0, v1.2.0 → prod`` when they share the arrow's
    right side, else ``a · b``."""
    tails = {label.partition(" → ")[2] for label in labels}
    if len(labels) > 1 and len(tails) == 1 and "" not in tails:
        heads = ", ".join(label.partition(" → ")[0] for label in labels)
        return f"{heads} → {tails.pop()}"
    return " · ".join(labels)


def marker_shapes(
    markers: Sequence[VersionMarker], layout: dict[str, Any], xs: Any, span: int | None = None
) -> None:
    """A line per marker; labels of markers close in time collapse into one ("a · b"), and
    the labels left are staggered over three heights so neighbours do not overlap."""
    shapes = layout.setdefault("shapes", [])
    annotations = layout.setdefault("annotations", [])
    for marker in markers:
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
    for level, group in enumerate(label_groups(markers, span)):
        first = markers[group[0]]
        color, _ = MARKER_STYLE.get(first.kind, MARKER_STYLE["register"])
        label = joined_label([markers[i].label for i in group])
        annotations.append(
            {
                "text": text(label, 60 + 20 * (len(group) - 1)),
                "x": xs(first),
                "xref": "x",
                "yref": "paper",
                "y": round(1 - 0.07 * (level % 3), 2),
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
    # No y-axis title: the heading names the metric. A flat series gets a tight range instead of
    # Plotly's default of ±1 around it, which hides small moves.
    ys = [v for _, v in values]
    low, high = min(ys), max(ys)
    if high - low < 1e-9:
        pad = max(abs(low) * 0.05, 1e-3)
        layout["yaxis"]["range"] = [low - pad, high + pad]
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
    # A promoted version is labelled by its promotion; its registration line would only crowd.
    promoted = {m.version for m in version_markers if m.kind in ("promote", "rollback")}
    shown = [
        m
        for m in version_markers
        if first - 86400 * 365 <= m.time <= last + 86400 * 30
        and not (m.kind == "register" and m.version and m.version in promoted)
    ]
    marker_shapes(shown, layout, lambda m: iso(m.time), span=max(last - first, 1))
    return {"data": [trace], "layout": layout}


def _version_bars(
    spans: Sequence[StageSpan], versions: list[str], least: int
) -> list[dict[str, Any]]:
    """One horizontal bar trace per version: where it held each stage, and when."""
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
                "x": [max(s.end - s.start, least) * 1000 for s in own],
                # Labels only on bars wide enough to hold them; hover names every bar.
                "text": [
                    text(version) + (" (now)" if s.open else "")
                    if s.end - s.start >= 4 * least
                    else ""
                    for s in own
                ],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textangle": 0,
                "marker": {"color": PALETTE[i % len(PALETTE)], "line": {"width": 0}},
                "customdata": [[iso(s.start), iso(s.end)] for s in own],
                "hovertemplate": f"{text(version)} in %{{y}}<br>%{{customdata[0]}} → "
                "%{customdata[1]}<extra></extra>",
            }
        )
    return traces


def _rollback_trace(rollbacks: Sequence[StageSpan]) -> dict[str, Any]:
    """A red marker where a stage went back to an earlier version."""
    return {
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


def _registered_trace(registered: Sequence[VersionMarker]) -> dict[str, Any]:
    """A diamond on the "registered" row for every version registration."""
    return {
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
    # A span shorter than ~2 % of the whole timeline (a promotion just before the build) would be
    # an invisible sliver: give every bar that minimum width.
    times = [t for s in spans for t in (s.start, s.end)] + [m.time for m in markers]
    least = max((max(times) - min(times)) // 50, 1) if times else 1
    traces = _version_bars(spans, versions, least)
    rollbacks = [s for s in spans if s.rollback]
    if rollbacks:
        traces.append(_rollback_trace(rollbacks))
    if registered:
        traces.append(_registered_trace(registered))
    return {"data": traces, "layout": layout}
