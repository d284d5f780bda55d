"""Figure specs: every DVC template, missing data, NaN, down-sampling, escaping, determinism."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from mlpages.models import PlotData, PlotDef
from mlpages.registry.state import StageSpan as RegistrySpan
from mlpages.site.charts import base as charts_base
from mlpages.site.charts import mlops as charts_mlops
from mlpages.site.charts import monitoring as charts_monitoring
from mlpages.site.charts import plots as charts
from mlpages.site.charts.mlops import StageSpan, TrendPoint, VersionMarker
from mlpages.site.charts.monitoring import BatchPoint


def table(path: str, columns: tuple[str, ...], rows: list[tuple]) -> PlotData:
    return PlotData(path=path, kind="table", columns=columns, rows=tuple(rows))


def dumps(fig: dict) -> str:
    # allow_nan=False: a NaN left in a figure would break JSON.parse in the browser.
    return json.dumps(fig, allow_nan=False, sort_keys=True)


LOSS = table("loss.csv", ("step", "loss", "acc"), [(i, 1 / (i + 1), i / 10) for i in range(10)])


def test_number_rounding_and_non_finite() -> None:
    assert charts_base.num(0.123456789) == 0.123457
    assert charts_base.num(123456789.123) == 123456789.0  # integer digits are never dropped
    assert charts_base.num(float("nan")) is None
    assert charts_base.num(float("-inf")) is None
    assert charts_base.num("2.5") == 2.5
    assert charts_base.num("abc") is None
    assert charts_base.num(True) == 1
    assert charts_base.num(7) == 7


def test_linear_defaults_x_step_y_last_column() -> None:
    fig = charts.plot_figure(PlotDef("loss", ("loss.csv",)), {"loss.csv": LOSS})
    (trace,) = fig["data"]
    assert trace["name"] == "acc"  # y defaults to the last column
    assert trace["x"] == list(range(10))  # x defaults to the step index
    assert trace["y"][3] == 0.3
    assert fig["layout"]["xaxis"]["title"]["text"] == "step"
    assert "template" not in fig["layout"]


def test_several_y_fields_and_files_make_several_traces() -> None:
    other = table("val.csv", ("step", "loss"), [(i, 2 / (i + 1)) for i in range(5)])
    plot = PlotDef(
        "loss",
        ("loss.csv", "val.csv"),
        template="simple",
        x="step",
        y=(("loss.csv", "loss"), ("loss.csv", "acc"), ("val.csv", "loss")),
        title="Training",
    )
    fig = charts.plot_figure(plot, {"loss.csv": LOSS, "val.csv": other})
    assert [t["name"] for t in fig["data"]] == ["loss.csv: loss", "loss.csv: acc", "val.csv: loss"]
    assert fig["layout"]["title"]["text"] == "Training"
    assert len({t["line"]["color"] for t in fig["data"]}) == 3


def test_smooth_adds_a_smoothed_line() -> None:
    fig = charts.plot_figure(PlotDef("p", ("loss.csv",), template="smooth"), {"loss.csv": LOSS})
    raw, smooth = fig["data"]
    assert smooth["name"] == "acc (smoothed)"
    assert raw["opacity"] < 1
    assert smooth["y"][-1] < raw["y"][-1]  # an average lags a rising series


def test_nan_becomes_null_and_figure_is_valid_json() -> None:
    data = table("m.json", ("step", "v"), [(0, 1.0), (1, math.nan), (2, math.inf), (3, 2.0)])
    fig = charts.plot_figure(PlotDef("m", ("m.json",)), {"m.json": data})
    assert fig["data"][0]["y"] == [1.0, None, None, 2.0]
    dumps(fig)


def test_missing_file_and_missing_field_are_reported_not_fatal() -> None:
    missing = PlotData(path="gone.csv", kind="missing")
    fig = charts.plot_figure(
        PlotDef("p", ("gone.csv", "loss.csv"), y=(("gone.csv", "v"), ("loss.csv", "nope"))),
        {"gone.csv": missing, "loss.csv": LOSS},
    )
    assert fig["data"] == []
    note = fig["layout"]["annotations"][0]["text"]
    assert "gone.csv: not available" in note and "no field 'nope'" in note
    partial = charts.plot_figure(
        PlotDef("p", ("gone.csv", "loss.csv")), {"gone.csv": missing, "loss.csv": LOSS}
    )
    assert len(partial["data"]) == 1
    assert "gone.csv" in partial["layout"]["annotations"][0]["text"]


def test_empty_data() -> None:
    fig = charts.plot_figure(PlotDef("p", ("e.csv",)), {"e.csv": table("e.csv", ("a",), [])})
    assert fig["data"] == [] and "no rows" in fig["layout"]["annotations"][0]["text"]
    assert charts.plot_figure(PlotDef("p", ()), {})["data"] == []


def test_huge_data_is_down_sampled_keeping_first_and_last() -> None:
    rows = [(i, float(i)) for i in range(100_000)]
    fig = charts.plot_figure(
        PlotDef("big", ("b.csv",)), {"b.csv": table("b.csv", ("step", "v"), rows)}, max_rows=500
    )
    ys = fig["data"][0]["y"]
    assert len(ys) == 500 and ys[0] == 0 and ys[-1] == 99_999
    assert "500 of 100000 rows" in fig["layout"]["annotations"][0]["text"]
    assert len(dumps(fig)) < 30_000


def test_data_sampled_by_the_reader_is_said_so() -> None:
    sampled = PlotData("s.csv", "table", ("step", "v"), ((0, 1.0), (9, 2.0)), truncated=True)
    fig = charts.plot_figure(PlotDef("p", ("s.csv",)), {"s.csv": sampled})
    assert "sample of 2 rows" in fig["layout"]["annotations"][0]["text"]


def test_scatter_and_deterministic_jitter() -> None:
    rows = [(i % 3, (i * 7) % 3) for i in range(60)]
    data = {"p.csv": table("p.csv", ("actual", "predicted"), rows)}
    plain = charts.plot_figure(
        PlotDef("s", ("p.csv",), "scatter", x="actual", y=(("p.csv", "predicted"),)), data
    )
    assert plain["data"][0]["mode"] == "markers" and plain["data"][0]["x"][:3] == [0, 1, 2]
    plot = PlotDef("s", ("p.csv",), "scatter_jitter", x="actual", y=(("p.csv", "predicted"),))
    first, second = charts.plot_figure(plot, data), charts.plot_figure(plot, data)
    assert dumps(first) == dumps(second)
    xs = first["data"][0]["x"]
    assert len(set(xs)) > 3  # spread out...
    assert all(abs(x - round(x)) <= 0.3 for x in xs)  # ...but within each value's band
    assert first["layout"]["xaxis"]["tickvals"] == [0, 1, 2]  # ticks at the true values


def test_jitter_on_categories_uses_tick_labels() -> None:
    rows = [("cat", "dog"), ("dog", "dog"), ("cat", "cat")]
    data = {"p.csv": table("p.csv", ("a", "b"), rows)}
    fig = charts.plot_figure(PlotDef("s", ("p.csv",), "scatter_jitter", x="a"), data)
    assert fig["layout"]["xaxis"]["ticktext"] == ["cat", "dog"]


def test_confusion_counts_and_normalisation_follow_dvc() -> None:
    rows = [("a", "a")] * 3 + [("a", "b")] + [("b", "b")] * 2 + [("b", "a")] * 2
    data = {"c.csv": table("c.csv", ("actual", "predicted"), rows)}
    plot = PlotDef("c", ("c.csv",), "confusion", x="actual", y=(("c.csv", "predicted"),))
    fig = charts.plot_figure(plot, data)
    (heat,) = fig["data"]
    assert heat["type"] == "heatmap"
    assert heat["x"] == ["a", "b"] and heat["y"] == ["a", "b"]
    # rows are the y field (predicted), columns the x field (actual)
    assert heat["z"] == [[3, 2], [1, 2]]
    normalized = charts.plot_figure(
        PlotDef(**{**plot.__dict__, "template": "confusion_normalized"}), data
    )
    z = normalized["data"][0]["z"]
    assert z[0] == [0.6, 0.4] and z[1] == [0.3333, 0.6667]  # each row sums to 1, as in DVC


def test_confusion_uses_every_row_even_when_down_sampling() -> None:
    rows = [(i % 2, i % 2) for i in range(10_001)]
    data = {"c.csv": table("c.csv", ("actual", "predicted"), rows)}
    plot = PlotDef("c", ("c.csv",), "confusion", x="actual", y=(("c.csv", "predicted"),))
    fig = charts.plot_figure(plot, data, max_rows=100)
    assert sum(map(sum, fig["data"][0]["z"])) == 10_001


def test_bar_horizontal_and_sorted() -> None:
    rows = [("age", 0.1), ("income", 0.5), ("debt", 0.3)]
    data = {"fi.csv": table("fi.csv", ("feature", "importance"), rows)}
    plot = PlotDef("fi", ("fi.csv",), "bar_horizontal", x="importance", y=(("fi.csv", "feature"),))
    (bar,) = charts.plot_figure(plot, data)["data"]
    assert bar["orientation"] == "h" and bar["y"] == ["age", "income", "debt"]
    assert bar["x"] == [0.1, 0.5, 0.3]
    ordered = charts.plot_figure(
        PlotDef(**{**plot.__dict__, "template": "bar_horizontal_sorted"}), data
    )
    assert ordered["data"][0]["y"] == ["income", "debt", "age"]
    assert ordered["layout"]["yaxis"]["autorange"] == "reversed"  # largest at the top


def test_unknown_template_falls_back_to_lines() -> None:
    fig = charts.plot_figure(PlotDef("p", ("loss.csv",), "my_custom.json"), {"loss.csv": LOSS})
    assert fig["data"][0]["type"] == "scatter" and "lines" in fig["data"][0]["mode"]


def test_repository_text_is_escaped_for_plotly_labels() -> None:
    evil = "<img src=x onerror=alert(1)>"
    data = {"e.csv": table("e.csv", ("step", evil), [(0, 1.0), (1, 2.0)])}
    fig = charts.plot_figure(PlotDef("p", ("e.csv",), title=evil), {"e.csv": data["e.csv"]})
    text = dumps(fig)
    assert "<img" not in text and "&lt;img" in text


def test_overlay_labels_traces_by_commit() -> None:
    older = table("loss.csv", ("step", "loss", "acc"), [(i, 1.0, i / 20) for i in range(10)])
    plot = PlotDef("p", ("loss.csv",))
    fig = charts.overlay_figure(
        plot, [("feature", {"loss.csv": LOSS}), ("abc123", {"loss.csv": older})]
    )
    names = [t["name"] for t in fig["data"]]
    assert names == ["feature · acc", "abc123 · acc"]
    assert fig["data"][1]["line"]["dash"] == "dash"
    confusion = PlotDef("c", ("c.csv",), "confusion", x="a", y=(("c.csv", "b"),))
    c1 = {"c.csv": table("c.csv", ("a", "b"), [(1, 1), (0, 1)])}
    side = charts.overlay_figure(confusion, [("new", c1), ("old", c1)])
    assert [t["xaxis"] for t in side["data"]] == ["x", "x2"]  # side by side, not stacked
    c2 = {"c.csv": table("c.csv", ("a", "b"), [(1, 1)] * 5)}
    scaled = charts.overlay_figure(confusion, [("new", c1), ("old", c2)])
    assert [t["zmax"] for t in scaled["data"]] == [5, 5]  # one colour scale for both panels


def test_same_input_gives_identical_json() -> None:
    plot = PlotDef("p", ("loss.csv",), "smooth", title="t")
    assert dumps(charts.plot_figure(plot, {"loss.csv": LOSS})) == dumps(
        charts.plot_figure(plot, {"loss.csv": LOSS})
    )


# --- MLOps figures ---------------------------------------------------------------------------


def test_trend_figure_with_version_markers() -> None:
    points = [
        TrendPoint(f"{i:040x}", 1_700_000_000 + i * 86400, f"run {i}", 0.7 + i / 100)
        for i in range(5)
    ]
    points.append(TrendPoint("f" * 40, 1_700_900_000, "broken", math.nan))
    markers = [
        VersionMarker(1_700_000_000 + 86400, "v1.0.0", "register", version="v1.0.0"),
        VersionMarker(1_700_000_000 + 2 * 86400, "v1.0.0 → prod", "promote", version="v1.0.0"),
        VersionMarker(1_700_000_000 + 3 * 86400, "v1.1.0", "register", version="v1.1.0"),
    ]
    fig = charts_mlops.trend_figure(points, "auc", markers)
    (trace,) = fig["data"]
    assert len(trace["x"]) == 5  # the NaN point is left out
    assert trace["x"][0] == "2023-11-14 22:13:20"
    assert trace["text"][0].startswith("00000000 run 0")
    # the registration of a promoted version is not drawn: its promotion says more
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [
        "2023-11-16 22:13:20",
        "2023-11-17 22:13:20",
    ]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["v1.0.0 → prod", "v1.1.0"]
    empty = charts_mlops.trend_figure([], "auc")
    assert empty["data"] == [] and "no value of auc" in empty["layout"]["annotations"][0]["text"]


def batches() -> list[BatchPoint]:
    out = []
    for week in range(6):
        shift = 0.5 if week >= 4 else 0.0
        out.append(
            BatchPoint(
                batch=f"week_{week:02d}",
                week=week,
                model_version="v1.0.0" if week < 3 else "v1.1.0",
                prediction_mean=0.3 + shift / 2,
                prediction_hist=(10, 20, 40, 20, 10) if not shift else (0, 10, 20, 40, 30),
                hist_edges=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
                drift={"income": 0.1 + shift, "age": 0.05},
                drifted_features=("income",) if shift else (),
                labels=week % 2 == 0,
                metrics={"roc_auc": 0.8 - shift / 2} if week % 2 == 0 else {},
                estimated={"confidence": 0.75},
            )
        )
    return out


def test_drift_heatmap_orders_most_drifted_first_and_flags_cells() -> None:
    fig = charts_monitoring.drift_heatmap(batches())
    heat, flags = fig["data"]
    assert heat["y"] == ["income", "age"] and heat["x"][0] == "week_00"
    assert heat["z"][0][5] == 0.6
    assert flags["x"] == ["week_04", "week_05"] and set(flags["y"]) == {"income"}
    assert charts_monitoring.drift_heatmap([])["data"] == []


def test_performance_figure_threshold_band_and_version_change() -> None:
    fig = charts_monitoring.performance_figure(batches(), "roc_auc", threshold=0.7)
    measured, estimate = fig["data"]
    assert measured["y"] == [0.8, None, 0.8, None, 0.55, None]
    assert measured["marker"]["color"][4] == "#dc2626"  # below the threshold
    assert "estimate" in estimate["name"]
    band = fig["layout"]["shapes"][0]
    assert band["type"] == "rect" and band["y1"] == 0.7
    version_lines = [s for s in fig["layout"]["shapes"] if s.get("xref") == "x"]
    assert [s["x0"] for s in version_lines] == ["week_03"]
    retrained = [BatchPoint("a", model_hash="1" * 32), BatchPoint("b", model_hash="2" * 32)]
    retrained.append(BatchPoint("c", model_hash="1" * 32, metrics={"auc": 0.8}, labels=True))
    fig = charts_monitoring.performance_figure(retrained, "auc")
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert labels == ["model 22222222", "model 11111111 (back)"]


def test_prediction_distribution_bands() -> None:
    fig = charts_monitoring.prediction_distribution_figure(batches())
    names = [t["name"] for t in fig["data"]]
    assert names == ["5–95 % low", "5–95 %", "25–75 % low", "25–75 %", "median", "mean"]
    median = fig["data"][4]["y"]
    assert median[0] == pytest.approx(0.5) and median[5] > median[0]
    assert charts_monitoring._quantile((0, 0), (0.0, 0.5, 1.0), 0.5) is None


def registry_events() -> list[SimpleNamespace]:
    def ev(kind, version, stage, t, rollback=False):
        return SimpleNamespace(
            artifact="churn",
            kind=kind,
            version=version,
            stage=stage,
            time=t,
            rollback=rollback,
            sha="a" * 40,
        )

    return [
        ev("register", "v1.0.0", None, 100),
        ev("assign", "v1.0.0", "prod", 200),
        ev("register", "v1.1.0", None, 300),
        ev("assign", "v1.1.0", "prod", 400),
        ev("assign", "v1.1.0", "staging", 350),
        ev("assign", "v1.0.0", "prod", 500, rollback=True),
        ev("unassign", "v1.1.0", "staging", 600),
    ]


def registry_timeline() -> list[RegistrySpan]:
    def span(stage, version, start, end, rollback=False):
        return RegistrySpan("churn", stage, version, "a" * 40, start, end, "t", rollback)

    return [
        span("prod", "v1.0.0", 200, 400),
        span("prod", "v1.1.0", 400, 500),
        span("prod", "v1.0.0", 500, None, rollback=True),
        span("staging", "v1.1.0", 350, 600),
    ]


def test_spans_from_the_registry_timeline_end_open_spans_at_until() -> None:
    spans = charts_mlops.spans_from_timeline(registry_timeline(), until=1000)
    assert spans[2] == StageSpan("prod", "v1.0.0", 500, 1000, open=True, rollback=True)
    assert spans[3] == StageSpan("staging", "v1.1.0", 350, 600)


def test_stage_timeline_figure_marks_rollbacks_and_registrations() -> None:
    events = registry_events()
    spans = charts_mlops.spans_from_timeline(registry_timeline(), until=1000)
    markers = charts_mlops.version_markers(events, "prod", "churn")
    assert [m.kind for m in markers] == ["register", "promote", "register", "promote", "rollback"]
    fig = charts_mlops.stage_timeline_figure(spans, markers, ["prod", "staging"])
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    assert [b["name"] for b in bars] == ["v1.0.0", "v1.1.0"]
    assert bars[0]["x"] == [200_000, 500_000]  # durations in ms on a date axis
    assert bars[0]["text"][1] == "v1.0.0 (now)"
    rollback = next(t for t in fig["data"] if t["name"] == "rollback")
    assert rollback["customdata"] == ["v1.0.0"]
    assert fig["layout"]["yaxis"]["categoryarray"] == ["prod", "staging", "registered"]
    assert charts_mlops.stage_timeline_figure([], [])["data"] == []


def test_mlops_figures_are_deterministic_json() -> None:
    for build in (
        lambda: charts_monitoring.drift_heatmap(batches()),
        lambda: charts_monitoring.performance_figure(batches(), "roc_auc", 0.7),
        lambda: charts_monitoring.prediction_distribution_figure(batches()),
    ):
        assert dumps(build()) == dumps(build())


def test_a_just_promoted_version_still_gets_a_visible_bar() -> None:
    spans = [StageSpan("prod", "v1", 0, 10_000), StageSpan("prod", "v2", 10_000, 10_000, open=True)]
    fig = charts_mlops.stage_timeline_figure(spans)
    assert fig["data"][1]["x"] == [200_000]  # 2 % of the timeline, in ms


def test_flat_trend_gets_a_tight_range_and_no_repeated_axis_title() -> None:
    points = [
        charts_mlops.TrendPoint(sha=f"{i:040d}", time=1_700_000_000 + i, value=0.8, subject="s")
        for i in range(3)
    ]
    fig = charts_mlops.trend_figure(points, "test.acc")
    low, high = fig["layout"]["yaxis"]["range"]
    assert 0.75 < low < 0.8 < high < 0.85
    assert "title" not in fig["layout"]["yaxis"]
