"""mlpages.compare: pure diffs between two snapshots (metrics, params, stages, data, gate)."""

from __future__ import annotations

import json
import math

import pytest
from helpers.snapshots import locked, snap
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpages.compare.data import compare_data, data_inputs
from mlpages.compare.diff import (
    compare_metric,
    compare_params,
    compare_snapshots,
    detect_renames,
    metric_direction,
)
from mlpages.compare.stages import compare_stage, compare_stages
from mlpages.compare.values import same_value
from mlpages.config import Config
from mlpages.models import HashInfo, Problem, Stage, decode_value
from mlpages.reports import gate_summary

NAN, INF = float("nan"), float("inf")


# --- metrics ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "direction", "status", "change", "relative"),
    [
        (0.8, 0.9, 1, "better", 0.1, 0.125),
        (0.8, 0.9, -1, "worse", 0.1, 0.125),
        (2, 1, -1, "better", -1, -0.5),
        (0.5, 0.5, 1, "same", 0.0, 0.0),
        (3, 3.0, 1, "same", 0.0, 0.0),
        (0, 1, 1, "better", 1, None),  # relative change from zero is undefined
        (None, 1.0, 1, "added", None, None),
        (1.0, None, 1, "removed", None, None),
        ("adam", "sgd", 1, "changed", None, None),
        (True, 1, 1, "changed", None, None),  # a boolean is not the number 1
        (0.9, NAN, 1, "worse", None, None),  # becoming NaN is never better
        (NAN, 0.9, 1, "changed", None, None),
        (1.0, INF, -1, "worse", INF, None),
        (NAN, NAN, 1, "same", 0.0, 0.0),
    ],
)
def test_compare_metric_status_and_numbers(old, new, direction, status, change, relative):
    delta = compare_metric("m.json", "k", old, new, direction)
    assert delta.status == status
    assert delta.changed == (status != "same")
    if change is None:
        assert delta.change is None or math.isnan(delta.change)
    else:
        assert delta.change == pytest.approx(change)
    if relative is None:
        assert delta.relative is None
    else:
        assert delta.relative == pytest.approx(relative)


def test_metrics_cover_both_sides_sorted_with_direction():
    base = snap(metrics={"b.json": {"loss": 0.5, "acc": 0.7}, "a.json": {"x": 1}})
    head = snap(metrics={"b.json": {"loss": 0.4, "acc": 0.7, "f1": 0.6}})
    diff = compare_snapshots(base, head)
    assert [(m.path, m.key) for m in diff.metrics] == [
        ("a.json", "x"),
        ("b.json", "acc"),
        ("b.json", "f1"),
        ("b.json", "loss"),
    ]
    by_key = {m.key: m for m in diff.metrics}
    assert by_key["loss"].direction == -1 and by_key["loss"].status == "better"
    assert by_key["x"].status == "removed"
    assert by_key["f1"].status == "added"
    assert [m.key for m in diff.changed_metrics] == ["x", "f1", "loss"]


@pytest.mark.parametrize(
    "kind", ["yaml-error", "json-error", "binary", "too-large", "not-in-cache", "missing-blob"]
)
def test_metrics_of_a_file_unreadable_at_one_side_are_not_new_or_removed(kind):
    problem = Problem(kind, "eval/metrics.json", "could not be read")
    readable = {"eval/metrics.json": {"acc": 0.9, "loss": 0.2}, "other.json": {"f1": 0.5}}
    base = snap("b" * 40, metrics={"other.json": {"f1": 0.4}}, problems=(problem,))
    head = snap("c" * 40, metrics=readable)
    diff = compare_snapshots(base, head)
    statuses = {m.name: (m.status, m.change, m.relative) for m in diff.metrics}
    assert statuses == {
        "eval/metrics.json:acc": ("base-unreadable", None, None),
        "eval/metrics.json:loss": ("base-unreadable", None, None),
        "other.json:f1": ("better", pytest.approx(0.1), pytest.approx(0.25)),
    }
    assert all(m.unreadable for m in diff.metrics if m.path == "eval/metrics.json")
    assert [m["status"] for m in diff.to_json()["metrics"]][:2] == ["base-unreadable"] * 2
    # The other way round: unreadable at the head, so the base's values are not "removed".
    back = compare_snapshots(snap("c" * 40, metrics=readable), base)
    assert {m.name: m.status for m in back.metrics if m.path == "eval/metrics.json"} == {
        "eval/metrics.json:acc": "head-unreadable",
        "eval/metrics.json:loss": "head-unreadable",
    }


def test_an_absent_metrics_file_still_makes_its_metrics_new():
    missing = Problem("missing-file", "eval/metrics.json", "not in git and not a DVC output")
    elsewhere = Problem("json-error", "other.json", "bad JSON")
    base = snap("b" * 40, problems=(missing, elsewhere))
    head = snap("c" * 40, metrics={"eval/metrics.json": {"acc": 0.9}})
    (delta,) = compare_snapshots(base, head).metrics
    assert (delta.status, delta.unreadable) == ("added", False)


def test_configured_direction_matches_bare_key_or_file_key():
    config = Config(lower_is_better=["latency_p*"], higher_is_better=["eval.json:drift_score"])
    assert metric_direction(config, "eval.json", "latency_p95") == -1
    assert metric_direction(config, "eval.json", "drift_score") == 1  # overrides the "drift" hint
    assert metric_direction(config, "other.json", "drift_score") == -1
    assert metric_direction(Config(), "m.json", "test.log_loss") == -1
    assert metric_direction(Config(), "m.json", "test.roc_auc") == 1


def test_same_value_rules():
    assert same_value(1, 1.0)
    assert same_value(NAN, NAN)
    assert not same_value(True, 1)
    assert not same_value("1", 1)
    assert same_value(None, None)


# --- params -------------------------------------------------------------------------------------


def test_params_changes_and_renames():
    base = snap(params={"params.yaml": {"train.lr": 0.1, "train.n_est": 50, "seed": 1}})
    head = snap(params={"params.yaml": {"train.lr": 0.01, "train.n_estimators": 50, "seed": 1}})
    changes = compare_params(base, head)
    assert [(c.key, c.status, c.old, c.new) for c in changes] == [
        ("train.lr", "modified", 0.1, 0.01),
        ("train.n_est", "removed", 50, None),
        ("train.n_estimators", "added", None, 50),
    ]
    renames = detect_renames(changes)
    assert [(r.old_key, r.new_key, r.value) for r in renames] == [
        ("train.n_est", "train.n_estimators", 50)
    ]


def test_ambiguous_renames_are_not_guessed():
    base = snap(params={"p.yaml": {"a": 1, "b": 1}})
    head = snap(params={"p.yaml": {"c": 1, "d": 1}})
    assert detect_renames(compare_params(base, head)) == ()


def test_param_file_added_and_null_values():
    base = snap(params={"params.yaml": {"x": None}})
    head = snap(params={"params.yaml": {"x": None}, "extra.json": {"y": "z"}})
    changes = compare_params(base, head)
    assert [(c.path, c.key, c.status) for c in changes] == [("extra.json", "y", "added")]


# --- stages -------------------------------------------------------------------------------------


def test_stage_changes_name_what_changed():
    data_v1 = HashInfo("data/raw", "aa.dir", "md5", 10, 2)
    data_v2 = HashInfo("data/raw", "bb.dir", "md5", 12, 3)
    code = HashInfo("src/train.py", "c1", "md5")
    model_v1, model_v2 = HashInfo("model.pkl", "m1"), HashInfo("model.pkl", "m2")
    base = snap(
        stages=(
            locked("prepare", deps=(data_v1,), outs=(HashInfo("data/prep", "p1.dir"),)),
            locked(
                "train", deps=(code,), outs=(model_v1,), params=(("params.yaml:train.lr", 0.1),)
            ),
            locked("old", cmd="echo old"),
        )
    )
    head = snap(
        stages=(
            locked("prepare", deps=(data_v2,), outs=(HashInfo("data/prep", "p1.dir"),)),
            locked(
                "train",
                cmd="python -m train --fast",
                deps=(code,),
                outs=(model_v2,),
                params=(("params.yaml:train.lr", 0.01),),
            ),
            locked("evaluate", cmd="python -m evaluate"),
        )
    )
    changes = {c.key: c for c in compare_stages(base, head)}
    assert list(changes) == ["prepare", "train", "evaluate", "old"]
    assert changes["prepare"].deps == ("data/raw",) and not changes["prepare"].outs
    assert changes["train"].cmd_changed
    assert changes["train"].params == ("params.yaml:train.lr",)
    assert changes["train"].outs == ("model.pkl",)
    assert changes["train"].reasons == ("cmd", "param params.yaml:train.lr", "out model.pkl")
    assert changes["evaluate"].status == "added"
    assert changes["old"].status == "removed"


def test_identical_and_unlocked_stages():
    stage = locked("train", deps=(HashInfo("a.csv", "1"),))
    assert compare_stage(stage, stage) is None
    unlocked = Stage("train", "dvc.yaml", ".", "python t.py")
    assert compare_stage(unlocked, unlocked) is None
    now_run = compare_stage(unlocked, locked("train", cmd="python t.py"))
    assert now_run is not None and now_run.lock == "added"
    assert now_run.reasons == ("now run (new dvc.lock entry)",)


# --- data ---------------------------------------------------------------------------------------


def test_data_inputs_are_tracked_files_and_external_non_code_deps():
    snapshot = snap(
        tracked=(HashInfo("data/raw", "r1.dir", "md5", 100, 4),),
        params={"params.yaml": {"a": 1}},
        stages=(
            locked(
                "featurize",
                deps=(
                    HashInfo("data/raw", "r1.dir"),
                    HashInfo("data/lookup.csv", "l1"),
                    HashInfo("src/featurize.py", "c1"),
                    HashInfo("params.yaml", "p1"),
                    HashInfo("schema.yaml", "s1"),
                    HashInfo("data/events.json", "e1"),
                ),
                outs=(HashInfo("data/features", "f1.dir"),),
            ),
            locked("train", deps=(HashInfo("data/features", "f1.dir"),)),
        ),
    )
    inputs = data_inputs(snapshot)
    assert {path: source for path, (source, _) in inputs.items()} == {
        "data/raw": "tracked",
        "data/lookup.csv": "dep",
        "data/events.json": "dep",
    }


def test_data_changes_detect_modified_added_removed():
    base = snap(
        tracked=(HashInfo("data/raw", "r1.dir", "md5", 100, 4), HashInfo("data/old.csv", "o1")),
    )
    head = snap(
        tracked=(HashInfo("data/raw", "r2.dir", "md5", 150, 5), HashInfo("data/new.csv", "n1")),
    )
    changes = {c.path: c for c in compare_data(base, head)}
    assert changes["data/raw"].status == "modified"
    assert (changes["data/raw"].old_nfiles, changes["data/raw"].new_nfiles) == (4, 5)
    assert changes["data/old.csv"].status == "removed"
    assert changes["data/new.csv"].status == "added"
    assert compare_data(base, base) == ()


# --- gate ---------------------------------------------------------------------------------------


def test_gate_summary_reads_the_contract_and_survives_garbage():
    report = {
        "verdict": "rejected",
        "rubber_stamp": False,
        "champion": {"version": "v1.2.0", "sha": "c" * 40, "source": "registry"},
        "rules": [
            {"rule": "floor", "metric": "roc_auc", "passed": True, "reason": "ok"},
            {"rule": "non_inferiority", "passed": False, "reason": "roc_auc fell by 0.05"},
        ],
        "reasons": ["roc_auc fell by 0.05"],
    }
    gate = gate_summary(report)
    assert gate is not None
    assert (gate.verdict, gate.champion, gate.rubber_stamp) == ("rejected", "v1.2.0", False)
    assert gate.reasons == ("roc_auc fell by 0.05",)
    assert gate.failed_rules == ("roc_auc fell by 0.05",)
    assert gate_summary(None) is None
    assert gate_summary(["not", "a", "dict"]) is None
    odd = gate_summary({"verdict": "maybe", "reasons": "not a list", "rules": {"x": 1}})
    assert odd is not None and odd.verdict == "unknown" and odd.failed_rules == ()
    stamped = gate_summary({"verdict": "blessed", "rubber_stamp": True, "champion": None})
    assert stamped is not None and stamped.rubber_stamp and stamped.champion is None


def test_gate_comes_from_the_head_side_only():
    base = snap(reports={"gate": {"verdict": "rejected"}})
    head = snap(sha="b" * 40)
    assert compare_snapshots(base, head).gate is None
    assert compare_snapshots(head, base).gate.verdict == "rejected"


def test_diff_to_json_round_trips_nan_and_reasons():
    base = snap(metrics={"m.json": {"x": 1.0}})
    head = snap(
        sha="b" * 40,
        metrics={"m.json": {"x": NAN}},
        stages=(locked("train"),),
        problems=(),
    )
    raw = json.loads(json.dumps(compare_snapshots(base, head).to_json(), allow_nan=False))
    assert raw["head"] == "b" * 40
    assert math.isnan(decode_value(raw["metrics"][0]["new"]))
    assert raw["stages"][0]["reasons"] == ["now run (new dvc.lock entry)"]


def test_empty_diff():
    same = snap(metrics={"m.json": {"x": 1}}, params={"p.yaml": {"a": 1}})
    diff = compare_snapshots(same, same)
    assert diff.is_empty and diff.changed_metrics == () and diff.params == ()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
maps = st.dictionaries(st.sampled_from("abcdef"), scalars, max_size=6)


@settings(max_examples=200, deadline=None)
@given(old=maps, new=maps)
def test_diff_properties(old, new):
    a = snap(metrics={"m.json": old}, params={"p.yaml": old})
    b = snap(sha="b" * 40, metrics={"m.json": new}, params={"p.yaml": new})
    assert compare_snapshots(a, a).is_empty
    forward = {m.key: m.status for m in compare_snapshots(a, b).metrics}
    backward = {m.key: m.status for m in compare_snapshots(b, a).metrics}
    assert forward.keys() == backward.keys()
    mirror = {"added": "removed", "removed": "added", "same": "same"}
    for key, status in forward.items():
        if status in mirror:
            assert backward[key] == mirror[status]
        if status in ("better", "worse") and math.isfinite(old[key]) and math.isfinite(new[key]):
            assert backward[key] == ("worse" if status == "better" else "better")
    changed_params = {(c.key, c.status) for c in compare_params(a, b)}
    assert {k for k, _ in changed_params} == {
        k
        for k in set(old) | set(new)
        if k not in old or k not in new or not same_value(old[k], new[k])
    }
