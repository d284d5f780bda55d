"""Shared pieces of every figure spec: number rounding, label escaping, the compact base layout.

Figures are plain dicts (``{"data": [...], "layout": {...}}``), no plotly.py objects, no default
template, no random uids, so the same input always gives byte-identical JSON. Numbers are rounded
to six significant digits and NaN/Inf become ``null``. Text read from a repository goes into a
figure as data with ``&``, ``<`` and ``>`` turned into entities, because plotly.js renders a small
HTML subset inside labels and hover text.
"""

from __future__ import annotations

import math
import sys
from typing import Any

PALETTE = (
    "#2563eb",
    "#ea580c",
    "#16a34a",
    "#9333ea",
    "#dc2626",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#4b5563",
    "#65a30d",
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_SIGNIFICANT = 6


def num(value: Any) -> float | int | None:
    """A finite number rounded to six significant digits (integer digits kept), else ``None``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        # Beyond the float range a chart (and JavaScript) would only see Infinity.
        return value if abs(value) <= sys.float_info.max else None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    digits = _SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))
    return round(value, max(digits, 0)) if digits > 0 else float(round(value))


def nums(values: Any) -> list[float | int | None]:
    """``[num(v) for v in values]``, with floats (the bulk of a plot table) rounded inline."""
    out: list[float | int | None] = []
    append = out.append
    log10, floor, isfinite = math.log10, math.floor, math.isfinite
    for value in values:
        if type(value) is not float:
            append(num(value))
        elif not isfinite(value):
            append(None)
        elif value == 0:
            append(0.0)
        else:
            digits = _SIGNIFICANT - 1 - floor(log10(abs(value)))
            append(round(value, digits) if digits > 0 else float(round(value)))
    return out


def text(value: Any, limit: int = 200) -> str:
    """Repository text made inert for plotly.js labels (entities for ``&<>``), truncated."""
    raw = value if isinstance(value, str) else label_of(value)
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_of(value: Any) -> str:
    """A category label for a cell value: integral floats print without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def base_layout(title: str | None = None, height: int = 340) -> dict[str, Any]:
    """The compact layout every figure starts from (no plotly default template)."""
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 48 if title else 28, "b": 52},
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "colorway": list(PALETTE),
        "hovermode": "closest",
        "hoverlabel": {"namelength": -1},
        "legend": {
            "orientation": "h",
            "x": 1,
            "xanchor": "right",
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": 11},
        },
        "xaxis": {"automargin": True, "gridcolor": "#eef0f3", "zerolinecolor": "#d1d5db"},
        "yaxis": {"automargin": True, "gridcolor": "#eef0f3", "zerolinecolor": "#d1d5db"},
    }
    if title:
        layout["title"] = {"text": text(title), "x": 0, "xanchor": "left", "font": {"size": 14}}
    return layout


def axis_title(layout: dict[str, Any], axis: str, title: str | None) -> None:
    """Set an axis title (escaped) when there is one."""
    if title:
        layout[axis]["title"] = {"text": text(title), "standoff": 8}


def empty_figure(message: str, title: str | None = None, height: int = 220) -> dict[str, Any]:
    """A figure without traces that says why (e.g. the data file is missing at this commit)."""
    layout = base_layout(title, height)
    layout["xaxis"] = {"visible": False}
    layout["yaxis"] = {"visible": False}
    layout["annotations"] = [note(message, 0.5, 0.5, size=13, anchor="middle")]
    return {"data": [], "layout": layout}


def note(message: str, x: float, y: float, size: int = 11, anchor: str = "right") -> dict:
    return {
        "text": text(message, 400),
        "xref": "paper",
        "yref": "paper",
        "x": x,
        "y": y,
        "xanchor": anchor,
        "showarrow": False,
        "font": {"size": size, "color": "#6b7280"},
    }


def downsample_indices(total: int, limit: int) -> list[int]:
    """Evenly spaced row indices (first and last kept) so that at most ``limit`` remain."""
    if total <= limit or limit <= 0:
        return list(range(total))
    if limit == 1:
        return [0]
    step = (total - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})
