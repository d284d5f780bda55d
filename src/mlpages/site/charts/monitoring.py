"""Plotly figure specs for production monitoring and data validation (drift, performance, ...).

Same rules as :mod:`mlpages.site.charts.base`. Inputs are :class:`BatchPoint` objects, one per
production batch of the monitoring record, parsed from untrusted JSON by the monitoring page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpages.site.charts.base import PALETTE, axis_title, base_layout, empty_figure, num, text
from mlpages.site.charts.mlops import VersionMarker, marker_shapes


@dataclass(frozen=True)
class BatchPoint:
    """One production batch of the monitoring record (``reports/monitoring.json``)."""

    batch: str
    week: int | None = None
    model_version: str | None = None
    model_hash: str | None = None  # md5 of the scoring model: marks retrains without versions
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


def drift_heatmap(batches: Sequence[BatchPoint], title: str | None = None) -> dict[str, Any]:
    """Drift score per feature (rows) × batch (columns); drifted cells outlined."""
    features = sorted({f for b in batches for f in b.drift})
    if not batches or not features:
        return empty_figure("no drift scores recorded", title)
    peak = {f: max((num(b.drift.get(f)) or 0) for b in batches) for f in features}
    features.sort(key=lambda f: (-peak[f], f))
    columns = [text(b.batch, 60) for b in batches]
    z = [[num(b.drift.get(f)) for b in batches] for f in features]
    # Scores are normalised so that 1.0 is each method's threshold: colour steps up there.
    top = max([v for row in z for v in row if v is not None] + [2.0])
    edge = 1 / top
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
        "colorscale": [
            [0, "#f8fafc"],
            [num(edge * 0.999), "#fdba74"],
            [num(edge), "#f97316"],
            [1, "#7f1d1d"],
        ],
        "colorbar": {
            "title": {"text": "drift (1 = threshold)", "side": "right"},
            "thickness": 12,
        },
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


def model_label(batch: BatchPoint) -> str | None:
    """The scoring model of a batch: its registry version, else the start of its file hash."""
    if batch.model_version:
        return batch.model_version
    return batch.model_hash[:8] if batch.model_hash else None


def version_changes(batches: Sequence[BatchPoint]) -> list[tuple[str, str, bool]]:
    """(batch, new model, back to an earlier model) wherever the scoring model changed."""
    changes, previous, seen = [], None, set()
    for b in batches:
        model = model_label(b)
        if model and model != previous and previous is not None:
            changes.append((text(b.batch, 60), model, model in seen))
        if model:
            seen.add(model)
        previous = model or previous
    return changes


def _measured_trace(
    xs: list[str], measured: list[Any], bad: list[bool], metric: str
) -> dict[str, Any]:
    """The metric of the labelled batches, below-threshold points in red."""
    return {
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
        "connectgaps": True,  # labels arrive for some batches only
    }


def _estimate_trace(
    xs: list[str], estimate: list[Any], batches: Sequence[BatchPoint]
) -> dict[str, Any]:
    """The label-free estimate of every batch, dotted."""
    names = sorted({k for b in batches for k in b.estimated})
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": f"estimate: {text(', '.join(names))} (no labels)",
        "x": xs,
        "y": estimate,
        "line": {"color": PALETTE[8], "width": 1.5, "dash": "dot"},
        "marker": {"size": 6, "symbol": "circle-open"},
    }


def _threshold_band(
    layout: dict[str, Any], threshold: float, values: list[float], higher_is_better: bool
) -> None:
    """Shade the failing side of ``threshold``, draw its line and label, fit the y range."""
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


def _model_change_markers(layout: dict[str, Any], batches: Sequence[BatchPoint]) -> None:
    """A vertical marker at each batch scored by another model than the one before."""
    changes = version_changes(batches)
    markers = [
        VersionMarker(
            i, f"model {v}" + (" (back)" if back else ""), "rollback" if back else "promote"
        )
        for i, (_, v, back) in enumerate(changes)
    ]
    lookup = {i: x for i, (x, _, _) in enumerate(changes)}
    marker_shapes(markers, layout, lambda m: lookup[m.time])


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
        traces.append(_measured_trace(xs, measured, bad, metric))
    if any(v is not None for v in estimate):
        traces.append(_estimate_trace(xs, estimate, batches))
    if threshold is not None:
        values = [v for v in measured + estimate if v is not None] + [threshold]
        _threshold_band(layout, threshold, values, higher_is_better)
    _model_change_markers(layout, batches)
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


def validation_figure(
    batches: Sequence[str],
    anomalies: Sequence[int],
    failed: Sequence[bool],
    share_drifted: Sequence[float | None],
    title: str | None = None,
) -> dict[str, Any]:
    """Anomalies per validated batch, each batch's verdict, and the share of drifted features."""
    if not batches:
        return empty_figure("no validated batch", title)
    xs = [text(b, 60) for b in batches]
    layout = base_layout(title, height=260)
    layout["margin"]["r"] = 64
    layout["xaxis"].update({"type": "category", "tickangle": -45 if len(xs) > 12 else 0})
    axis_title(layout, "yaxis", "anomalies")
    layout["yaxis"]["rangemode"] = "tozero"
    if max(anomalies, default=0) <= 8:
        layout["yaxis"]["dtick"] = 1
    layout["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "range": [0, 1.05],
        "tickformat": ".0%",
        "showgrid": False,
        "title": {"text": "features drifted", "standoff": 8},
    }
    layout["bargap"] = 0.35
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "anomalies",
            "x": xs,
            "y": list(anomalies),
            "marker": {"color": ["#dc2626" if f else "#f59e0b" for f in failed]},
            "hovertemplate": "%{x}: %{y} anomalies<extra></extra>",
        },
        {
            # The verdict of every batch on the baseline, so clean batches are visible too.
            "type": "scatter",
            "mode": "markers",
            "name": "verdict",
            "x": xs,
            "y": [0] * len(xs),
            "marker": {
                "symbol": ["x" if f else "circle" for f in failed],
                "size": 9,
                "color": ["#dc2626" if f else "#16a34a" for f in failed],
            },
            "customdata": ["fail" if f else "pass" for f in failed],
            "hovertemplate": "%{x}: %{customdata}<extra></extra>",
            "cliponaxis": False,
        },
    ]
    if any(v is not None for v in share_drifted):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "share of features drifted",
                "x": xs,
                "y": [num(v) for v in share_drifted],
                "yaxis": "y2",
                "line": {"color": PALETTE[1], "width": 2},
                "marker": {"size": 6},
                "connectgaps": True,
            }
        )
    return {"data": traces, "layout": layout}
