"""The plot data of every commit, precomputed for the compare pages: ``data/plots/<hash>.js``.

Line-like plots only (DVC's linear/simple/smooth/scatter templates, DVCLive step series), evenly
down-sampled to :data:`OVERLAY_ROWS` rows, deduplicated by content: commits with the same plots
share one file. The browser loads them with ``<script src>`` (works from ``file://``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlpages.models import Snapshot
from mlpages.site.page_core import Asset, SiteData

OVERLAY_ROWS = 400  # rows per plot file shipped to the picker (evenly down-sampled)
OVERLAY_TEMPLATES = {"linear", "simple", "smooth", "scatter", "scatter_jitter"}


def _downsample(rows: tuple, limit: int) -> list:
    if len(rows) <= limit:
        return list(rows)
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def overlay_payload(snap: Snapshot) -> dict[str, Any] | None:
    """The plot data of a commit the picker can overlay (line-like templates, table data)."""
    defs = []
    files: dict[str, Any] = {}
    for plot in snap.plots:
        if plot.template not in OVERLAY_TEMPLATES:
            continue
        tables = [
            f
            for f in plot.files
            if snap.plot_data.get(f, None) and snap.plot_data[f].kind == "table"
        ]
        if not tables:
            continue
        defs.append(
            {
                "id": plot.id,
                "template": plot.template,
                "x": plot.x,
                "y": [list(pair) for pair in plot.y],
                "files": tables,
                "title": plot.title or plot.id,
            }
        )
        for f in tables:
            data = snap.plot_data[f]
            files[f] = {"c": list(data.columns), "r": _downsample(data.rows, OVERLAY_ROWS)}
    return {"defs": defs, "files": files} if defs else None


def plot_assets(site: SiteData) -> tuple[dict[str, str], list[Asset]]:
    """sha -> data file hash, and the deduplicated ``data/plots/<hash>.js`` files (memoised)."""
    if "plot_assets" not in site.extra:
        site.extra["plot_assets"] = _plot_assets(site)
    return site.extra["plot_assets"]


def _plot_assets(site: SiteData) -> tuple[dict[str, str], list[Asset]]:
    index: dict[str, str] = {}
    assets: dict[str, Asset] = {}
    for sha in site.history.order:
        snap = site.snapshot(sha)
        payload = overlay_payload(snap) if snap else None
        if payload is None:
            continue
        # A JavaScript file, not JSON: NaN and Infinity are valid literals there, so the payload
        # needs no NaN clean-up pass (the slow part with thousands of rows).
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        index[sha] = digest
        if digest not in assets:
            # ensure_ascii keeps U+2028/2029 out; the file is a JSON literal assigned to a key.
            body = (
                "window.mlpagesPlots=window.mlpagesPlots||{};"
                f"window.mlpagesPlots[{json.dumps(digest)}]={text};\n"
            )
            assets[digest] = Asset(f"data/plots/{digest}.js", body.encode())
    return index, list(assets.values())
