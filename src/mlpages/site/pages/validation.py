"""The data-validation page: one row per validated batch along the default branch.

``pages(site)`` yields ``validation.html``, from the validation and drift reports (untrusted
JSON: every field type-checked, a malformed entry skipped). Without reports the page says
plainly that none exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlpages.reports import MAX_ANOMALIES, as_float, as_int, as_list, as_str
from mlpages.site.charts.monitoring import validation_figure
from mlpages.site.page_core import Page, SiteData


def _anomalies(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in as_list(report.get("anomalies")):
        if isinstance(a, dict):
            out.append(
                {
                    "kind": as_str(a.get("kind"), "?"),
                    "column": as_str(a.get("column")),
                    "count": as_int(a.get("count")),
                    "detail": as_str(a.get("detail")),
                }
            )
    return out


def _drift_summary(report: Any) -> dict[str, Any] | None:
    if not isinstance(report, dict):
        return None
    features = [f for f in as_list(report.get("features")) if isinstance(f, dict)]
    drifted = [as_str(f.get("feature")) for f in features if f.get("drifted") is True]
    share = as_float(report.get("share_drifted"))
    return {
        "share": share,
        "dataset_drift": report.get("dataset_drift") is True,
        "drifted": drifted,
        "features": len(features),
        "reference": as_str(report.get("reference")),
    }


def validation_context(site: SiteData) -> dict[str, Any]:
    """Template context of ``validation.html``: one row per validated batch, newest first.

    A batch validated again later (a re-run, a quarantine commit) keeps its place in the
    sequence and shows its latest verdict, with how many times it was validated."""
    rows: list[dict[str, Any]] = []
    by_batch: dict[str, int] = {}
    for sha, report in site.mainline_reports("validation"):
        if not isinstance(report, dict):
            continue
        anomalies = _anomalies(report)
        snap = site.snapshot(sha)
        status = report.get("status")
        batch = as_str(report.get("batch"))
        row = {
            **site.commit_info(sha),
            "status": status if status in ("pass", "fail") else "unknown",
            "batch": batch,
            "rows": as_int(report.get("rows")),
            "schema": as_str(report.get("schema")),
            "anomalies": anomalies[:MAX_ANOMALIES],
            "more": max(len(anomalies) - MAX_ANOMALIES, 0),
            "drift": _drift_summary(snap.reports.get("drift") if snap else None),
            "runs": 1,
        }
        if batch and batch in by_batch:
            index = by_batch[batch]
            rows[index] = {**row, "runs": rows[index]["runs"] + 1}
        else:
            by_batch[batch] = len(rows)
            rows.append(row)
    figure = validation_figure(
        [r["batch"] or r["sha"][:8] for r in rows],
        [len(r["anomalies"]) + r["more"] for r in rows],
        [r["status"] == "fail" for r in rows],
        [r["drift"]["share"] if r["drift"] else None for r in rows],
    )
    rows.reverse()
    return {
        "has_data": bool(rows),
        "figure": figure,
        "plotly": bool(rows),  # the figure is drawn when there is data
        "rows": rows,
        "passed": sum(1 for r in rows if r["status"] == "pass"),
        "failed": sum(1 for r in rows if r["status"] == "fail"),
    }


def pages(site: SiteData) -> Iterable[Page]:
    """``validation.html``."""
    yield Page(
        path="validation.html",
        template="validation.html",
        context=lambda: validation_context(site),
        key=site.reports_key("validation", "drift"),
        title="Data validation",
        nav="validation",
    )
