"""The overview's experiments card: the best experiments of the newest baselines by the key metric.

Kept apart from ``overview.py`` (its own partial, ``_partials/experiments.html``) so the overview's
other sections can change without touching it.
"""

from __future__ import annotations

from typing import Any

from mlpages.compare.diff import metric_direction
from mlpages.compare.values import is_number
from mlpages.site.page_core import SiteData
from mlpages.site.values import delta_of, format_delta, format_value, judge

BASELINES_SHOWN = 3
BEST_SHOWN = 5


def _value(site: SiteData, sha: str, file: str, key: str) -> Any:
    snap = site.snapshot(sha)
    return snap.metrics.get(file, {}).get(key) if snap else None


def best_experiments(site: SiteData, key_metrics: list[str]) -> dict[str, Any] | None:
    """Per newest baseline: its experiments ranked by the first key metric, with Δ vs baseline.

    None when the repository has no experiments. Experiments without a numeric value of the
    metric are ranked last (they still count in ``total``).
    """
    index = site.experiments
    if not index.experiments:
        return None
    metric = key_metrics[0] if key_metrics else ""
    file, _, key = metric.rpartition(":")
    direction = metric_direction(site.config, file, key) if metric else 1
    baselines = sorted(index.by_baseline, key=lambda sha: -site.commit(sha).commit_time)
    groups = []
    for baseline in baselines[:BASELINES_SHOWN]:
        base_value = _value(site, baseline, file, key) if metric else None
        ranked = []
        for exp in index.under(baseline):
            value = _value(site, exp.tip, file, key) if metric else None
            change = delta_of(value, base_value)
            ranked.append(
                {
                    "exp": exp,
                    "value": format_value(value),
                    "delta": format_delta(change) if change is not None else "",
                    "status": judge(change, direction),
                    "sort": value * direction if is_number(value) else None,
                }
            )
        ranked.sort(key=lambda r: (r["sort"] is None, -(r["sort"] or 0), r["exp"].name))
        groups.append(
            {
                "baseline": baseline,
                "commit": site.commit(baseline),
                "value": format_value(base_value),
                "best": ranked[:BEST_SHOWN],
                "total": len(ranked),
                "compare": "compare.html#sel="
                + ",".join(
                    sha[:12] for sha in [baseline, *(r["exp"].tip for r in ranked[:BEST_SHOWN])]
                ),
            }
        )
    return {
        "metric": key,
        "file": file,
        "direction": direction,
        "groups": groups,
        "count": len(index),
        "baselines": len(baselines),
    }
