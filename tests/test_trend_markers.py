"""Version markers on the overview trends: close releases share one label instead of overlapping."""

from __future__ import annotations

from mlpages.site.charts import mlops as charts_mlops
from mlpages.site.charts.mlops import TrendPoint, VersionMarker

DAY = 86400
T0 = 1_700_000_000


def _points(days: int) -> list[TrendPoint]:
    return [TrendPoint(f"{i:040x}", T0 + i * DAY, f"run {i}", 0.7 + i / 100) for i in range(days)]


def test_close_promotions_collapse_into_one_label_and_keep_their_lines():
    markers = [
        VersionMarker(T0 + 10 * DAY, "v1.1.0 → prod", "promote", version="v1.1.0"),
        VersionMarker(T0 + 11 * DAY, "v1.2.0 → prod", "promote", version="v1.2.0"),
        VersionMarker(T0 + 50 * DAY, "v2.0.0 → prod", "promote", version="v2.0.0"),
        VersionMarker(T0 + 51 * DAY, "v2.1.0", "register", version="v2.1.0"),
    ]
    fig = charts_mlops.trend_figure(_points(60), "auc", markers)
    assert len(fig["layout"]["shapes"]) == 4  # every release keeps its line
    labels = [(a["text"], a["y"]) for a in fig["layout"]["annotations"]]
    assert labels == [("v1.1.0, v1.2.0 → prod", 1.0), ("v2.0.0 → prod · v2.1.0", 0.93)]


def test_markers_far_apart_keep_their_own_labels_staggered():
    markers = [
        VersionMarker(T0 + d * DAY, f"v{d}.0.0 → prod", "promote", version=f"v{d}")
        for d in (5, 20, 35, 50)
    ]
    fig = charts_mlops.trend_figure(_points(60), "auc", markers)
    ys = [a["y"] for a in fig["layout"]["annotations"]]
    assert len(ys) == 4 and ys[:3] == [1.0, 0.93, 0.86] and ys[3] == 1.0
