"""Plotly figure specs for DVC plots: pure functions returning compact, deterministic JSON dicts.

Figures follow the rules of :mod:`mlpages.site.charts.base` (compact, deterministic, escaped).

The templates follow DVC's (``dvc_render`` Vega-Lite templates): ``linear``/``simple``/``smooth``
draw lines (``smooth`` adds a smoothed line), ``scatter``/``scatter_jitter`` draw points,
``confusion``/``confusion_normalized`` count (x, y) pairs into a heatmap (normalised per value of
the y field, i.e. per heatmap row, as DVC does), ``bar_horizontal(_sorted)`` draw horizontal bars
with the x field as length and the y field as category. Image plots are shown by the page.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlpages.models import PlotData, PlotDef
from mlpages.site.charts.base import (
    PALETTE,
    axis_title,
    base_layout,
    downsample_indices,
    empty_figure,
    label_of,
    note,
    num,
    nums,
    text,
)

TEMPLATES = (
    "linear",
    "simple",
    "smooth",
    "scatter",
    "scatter_jitter",
    "confusion",
    "confusion_normalized",
    "bar_horizontal",
    "bar_horizontal_sorted",
)
STEP = "step"
# --- series extraction ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One (file, y field) pair of a plot with its raw x and y values."""

    file: str
    field: str
    x_field: str
    x: tuple[Any, ...]
    y: tuple[Any, ...]
    total_rows: int


def extract_series(
    plot: PlotDef, data: Mapping[str, PlotData], max_rows: int | None
) -> tuple[list[Series], list[str]]:
    """Resolve the plot's (file, field) pairs against the data; return series and problems."""
    problems: list[str] = []
    pairs: list[tuple[str, str | None]] = list(plot.y) or [(f, None) for f in plot.files]
    series: list[Series] = []
    for file, field in pairs:
        pd = data.get(file)
        if pd is None or pd.kind == "missing":
            problems.append(f"{file}: not available at this commit")
            continue
        if pd.kind != "table":
            problems.append(f"{file}: not a table")
            continue
        columns = list(pd.columns)
        if not columns or not pd.rows:
            problems.append(f"{file}: no rows")
            continue
        y_field = field if field is not None else columns[-1]
        if y_field not in columns:
            problems.append(f"{file}: no field {y_field!r}")
            continue
        x_given = dict(plot.x_files).get(file, plot.x)
        x_field = x_given or STEP
        if x_given and x_given not in columns:
            problems.append(f"{file}: no field {x_given!r}")
            continue
        rows = pd.rows
        keep = downsample_indices(len(rows), max_rows) if max_rows else range(len(rows))
        yi = columns.index(y_field)
        xi = columns.index(x_field) if x_given else None
        xs = tuple(rows[i][xi] if xi is not None and xi < len(rows[i]) else i for i in keep)
        ys = tuple(rows[i][yi] if yi < len(rows[i]) else None for i in keep)
        series.append(Series(file, y_field, x_field, xs, ys, len(rows)))
        if len(keep) < len(rows):
            problems.append(f"{file}: {len(keep)} of {len(rows)} rows shown")
        elif pd.truncated:
            problems.append(f"{file}: an evenly spaced sample of {len(rows)} rows (file too long)")
    return series, problems


def _trace_name(s: Series, all_series: Sequence[Series], prefix: str | None) -> str:
    files = {x.file for x in all_series}
    fields = {x.field for x in all_series}
    if len(files) > 1 and len(fields) > 1:
        name = f"{s.file}: {s.field}"
    elif len(files) > 1:
        name = s.file
    else:
        name = s.field
    return text(f"{prefix} · {name}" if prefix else name, 120)


def _numeric_or_labels(values: Sequence[Any]) -> list[Any]:
    """Numbers when every present value is numeric, else escaped category labels."""
    numbers = nums(values)  # num(None) and num("") are None
    present = [n for v, n in zip(values, numbers, strict=True) if v is not None and v != ""]
    if present and None not in present:
        return numbers
    return [None if v is None else text(label_of(v), 80) for v in values]


# --- trace builders per template ------------------------------------------------------------


def _smoothed(values: Sequence[Any], weight: float = 0.8) -> list[float | None]:
    """Debiased exponential moving average (as TensorBoard draws it); gaps stay gaps."""
    out: list[float | None] = []
    last, count = 0.0, 0
    for v in values:
        if not isinstance(v, int | float) or isinstance(v, bool):
            out.append(None)
            continue
        count += 1
        last = last * weight + (1 - weight) * v
        out.append(num(last / (1 - weight**count)))
    return out


def _line_traces(
    series: Sequence[Series], template: str, prefix: str | None, dash: str | None, offset: int
) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = []
    for i, s in enumerate(series):
        color = PALETTE[(offset + i) % len(PALETTE)]
        name = _trace_name(s, series, prefix)
        xs, ys = _numeric_or_labels(s.x), nums(s.y)
        line: dict[str, Any] = {"color": color, "width": 2}
        if dash:
            line["dash"] = dash
        trace = {"type": "scatter", "mode": "lines", "name": name, "x": xs, "y": ys}
        if len(xs) <= 40:
            trace["mode"] = "lines+markers"
            trace["marker"] = {"size": 5}
        if template == "smooth" and len(ys) >= 5:
            traces.append({**trace, "line": {**line, "width": 1}, "opacity": 0.35})
            smooth = {"type": "scatter", "mode": "lines", "x": xs, "y": _smoothed(ys)}
            traces.append({**smooth, "name": f"{name} (smoothed)", "line": line})
        else:
            traces.append({**trace, "line": line})
    return traces


def _jitter(values: list[Any], rng: random.Random) -> tuple[list[Any], dict | None]:
    """Spread points of a discrete axis within their band; categories become indices."""
    ticks: dict | None = None
    if any(isinstance(v, str) for v in values):
        labels = sorted({v for v in values if v is not None})
        index = {label: i for i, label in enumerate(labels)}
        values = [index.get(v) if v is not None else None for v in values]
        ticks = {"tickvals": list(range(len(labels))), "ticktext": labels}
        amplitude = 0.3
    else:
        distinct = sorted({v for v in values if v is not None})
        gaps = [b - a for a, b in itertools.pairwise(distinct)]
        spread = (distinct[-1] - distinct[0]) if distinct else 0
        discrete = bool(gaps) and len(distinct) <= 50
        amplitude = 0.3 * min(gaps) if discrete else 0.01 * spread
        if discrete and len(distinct) <= 12:
            ticks = {"tickvals": distinct, "ticktext": [label_of(v) for v in distinct]}
    return [None if v is None else num(v + amplitude * (2 * rng.random() - 1)) for v in values], (
        ticks
    )


def _scatter_traces(
    series: Sequence[Series],
    jitter: bool,
    prefix: str | None,
    symbol: str | None,
    offset: int,
    layout: dict[str, Any],
) -> list[dict[str, Any]]:
    traces = []
    rng = random.Random(0)  # fixed seed: jitter is part of the reproducible output
    for i, s in enumerate(series):
        xs, ys = _numeric_or_labels(s.x), _numeric_or_labels(s.y)
        if jitter:
            xs, xticks = _jitter(xs, rng)
            ys, yticks = _jitter(ys, rng)
            for axis, ticks in (("xaxis", xticks), ("yaxis", yticks)):
                if ticks:
                    layout[axis].update(ticks)
        marker: dict[str, Any] = {"color": PALETTE[(offset + i) % len(PALETTE)], "size": 6}
        marker["opacity"] = 0.6 if len(xs) > 200 else 0.85
        if symbol:
            marker["symbol"] = symbol
        traces.append(
            {
                "type": "scattergl" if len(xs) > 2000 else "scatter",
                "mode": "markers",
                "name": _trace_name(s, series, prefix),
                "x": xs,
                "y": ys,
                "marker": marker,
            }
        )
    return traces


def _bar_traces(
    series: Sequence[Series], sort: bool, prefix: str | None, offset: int, layout: dict[str, Any]
) -> list[dict[str, Any]]:
    traces = []
    for i, s in enumerate(series):
        pairs = [(num(x), text(label_of(y), 80)) for x, y in zip(s.x, s.y, strict=False)]
        if sort:
            pairs.sort(key=lambda p: -(p[0] if p[0] is not None else -math.inf))
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": _trace_name(s, series, prefix),
                "x": [p[0] for p in pairs],
                "y": [p[1] for p in pairs],
                "marker": {"color": PALETTE[(offset + i) % len(PALETTE)]},
            }
        )
    # plotly draws the first category at the bottom; DVC (and readers) expect it at the top.
    layout["yaxis"].update({"autorange": "reversed", "type": "category"})
    layout["barmode"] = "group"
    rows = max((len(t["y"]) for t in traces), default=0) * max(len(traces), 1)
    layout["height"] = max(layout["height"], min(1400, 80 + 22 * rows))
    return traces


def _sorted_labels(values: set[Any]) -> list[Any]:
    as_numbers = [num(v) for v in values]
    if all(n is not None for n in as_numbers):
        return sorted(values, key=lambda v: num(v))
    return sorted(values, key=label_of)


def confusion_matrix(s: Series, normalized: bool) -> tuple[list[str], list[str], list[list[Any]]]:
    """Count (x, y) pairs; rows are y values, columns x values; optionally each row sums to 1."""
    xs = [label_of(v) for v in s.x]
    ys = [label_of(v) for v in s.y]
    x_labels = [label_of(v) for v in _sorted_labels(set(xs))]
    y_labels = [label_of(v) for v in _sorted_labels(set(ys))]
    xi = {v: i for i, v in enumerate(x_labels)}
    yi = {v: i for i, v in enumerate(y_labels)}
    counts = [[0] * len(x_labels) for _ in y_labels]
    for x, y in zip(xs, ys, strict=False):
        counts[yi[y]][xi[x]] += 1
    if normalized:
        z: list[list[Any]] = []
        for row in counts:
            total = sum(row)
            z.append([round(c / total, 4) if total else None for c in row])
        return x_labels, y_labels, z
    return x_labels, y_labels, [list(r) for r in counts]


def _confusion_panels(
    panels: Sequence[tuple[str, Series]], normalized: bool, layout: dict[str, Any]
) -> list[dict[str, Any]]:
    """One heatmap per (label, series), side by side on their own axes."""
    traces = []
    n = len(panels)
    gap = 0.08 if n > 1 else 0.0
    width = (1 - gap * (n - 1)) / n
    annotations = layout.setdefault("annotations", [])
    for i, (label, s) in enumerate(panels):
        x_labels, y_labels, z = confusion_matrix(s, normalized)
        suffix = "" if i == 0 else str(i + 1)
        xa, ya = f"xaxis{suffix}", f"yaxis{suffix}"
        layout[xa] = {
            "domain": [i * (width + gap), i * (width + gap) + width],
            "type": "category",
            "title": {"text": text(s.x_field), "standoff": 6},
            "automargin": True,
        }
        layout[ya] = {"type": "category", "automargin": True, "autorange": "reversed"}
        if i == 0:
            layout[ya]["title"] = {"text": text(s.field), "standoff": 6}
        else:
            layout[ya]["anchor"] = f"x{suffix}"
            layout[xa]["anchor"] = f"y{suffix}"
            layout[ya]["matches"] = "y"
        fmt = "%{z:.2f}" if normalized else "%{z}"
        traces.append(
            {
                "type": "heatmap",
                "x": [text(v, 80) for v in x_labels],
                "y": [text(v, 80) for v in y_labels],
                "z": z,
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "colorscale": [[0, "#f1f5fb"], [0.5, "#7aa6db"], [1, "#1e3a8a"]],
                "zmin": 0,
                "showscale": i == n - 1,
                "texttemplate": fmt,
                "hovertemplate": f"{text(s.x_field)}=%{{x}}<br>{text(s.field)}=%{{y}}"
                f"<br>{'share' if normalized else 'count'}=%{{z}}<extra></extra>",
                "name": text(label),
            }
        )
        if n > 1:
            annotations.append(
                {
                    "text": text(label),
                    "xref": "paper",
                    "yref": "paper",
                    "x": i * (width + gap) + width / 2,
                    "y": 1.0,
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 12},
                }
            )
    if n > 1:
        layout["margin"]["t"] += 18
    # One colour scale for every panel, so two commits' matrices compare by colour too.
    top = max((v for t in traces for row in t["z"] for v in row if v is not None), default=1)
    for trace in traces:
        trace["zmax"] = top
    cells = max((len(t["y"]) for t in traces), default=0)
    layout["height"] = max(layout["height"], min(900, 120 + 34 * cells))
    return traces


# --- public figures ----------------------------------------------------------------------------


def plot_figure(
    plot: PlotDef,
    data: Mapping[str, PlotData],
    title: str | None = None,
    max_rows: int | None = 5000,
) -> dict[str, Any]:
    """The figure of one DVC plot at one commit (``data`` maps file path -> its PlotData)."""
    return overlay_figure(plot, [(None, data)], title=title, max_rows=max_rows)


def overlay_figure(
    plot: PlotDef,
    sides: Sequence[tuple[str | None, Mapping[str, PlotData]]],
    title: str | None = None,
    max_rows: int | None = 5000,
) -> dict[str, Any]:
    """The same plot at several commits in one figure, traces labelled ``label · field``."""
    template = plot.template if plot.template in TEMPLATES else "linear"
    heading = title if title is not None else (plot.title or plot.id)
    layout = base_layout(heading)
    traces: list[dict[str, Any]] = []
    problems: list[str] = []
    panels: list[tuple[str, Series]] = []
    dashes = (None, "dash", "dot", "dashdot")
    symbols = (None, "diamond-open", "x", "triangle-up")
    offset = 0
    for k, (label, data) in enumerate(sides):
        # Confusion counts need every row: down-sampling would change the matrix.
        limit = None if template.startswith("confusion") else max_rows
        series, found = extract_series(plot, data, limit)
        problems += [f"{label}: {p}" if label else p for p in found]
        if template.startswith("confusion"):
            for s in series[:1] if len(sides) > 1 else series:
                tag = f"{label} · {s.file}" if label and len(series) > 1 else (label or s.file)
                panels.append((tag, s))
            continue
        if template in ("scatter", "scatter_jitter"):
            jitter = template == "scatter_jitter"
            traces += _scatter_traces(series, jitter, label, symbols[k % 4], offset, layout)
        elif template.startswith("bar_horizontal"):
            traces += _bar_traces(series, template.endswith("sorted"), label, offset, layout)
        else:
            traces += _line_traces(series, template, label, dashes[k % 4], offset)
        if len(sides) == 1 or not series:
            offset += len(series)
    if panels:
        traces = _confusion_panels(panels, template == "confusion_normalized", layout)
        for axis, label in (("xaxis", plot.x_label), ("yaxis", plot.y_label)):
            titled = [k for k in layout if k.startswith(axis) and "title" in layout[k]]
            for key in titled if label else []:
                layout[key]["title"]["text"] = text(label)
    elif traces:
        x_name = plot.x or STEP
        y_names = sorted({field for _, field in plot.y}) if plot.y else []
        x_title = plot.x_label or x_name
        y_title = plot.y_label or (y_names[0] if len(y_names) == 1 else None)
        if template.startswith("bar_horizontal"):
            axis_title(layout, "xaxis", x_title)
            axis_title(layout, "yaxis", plot.y_label)
        else:
            axis_title(layout, "xaxis", x_title)
            axis_title(layout, "yaxis", y_title)
        if template in ("linear", "simple", "smooth"):
            layout["hovermode"] = "x unified" if len(traces) > 1 else "closest"
    if not traces:
        return empty_figure("; ".join(problems) or "no data", heading)
    if problems:
        layout.setdefault("annotations", []).append(note("; ".join(problems), 1, -0.22))
        layout["margin"]["b"] += 16
    return {"data": traces, "layout": layout}
