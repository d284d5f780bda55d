"""mlpages.reports: gate and validation reports (untrusted JSON) read once, in Python."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlpages.reports import (
    MAX_ANOMALIES,
    MAX_GATE_RULES,
    as_float,
    as_int,
    as_list,
    as_numbers,
    as_str,
    as_value,
    gate_view,
    validation_view,
)

TEMPLATES = Path(__file__).parents[1] / "src" / "mlpages" / "site" / "templates"


def test_coercers_accept_only_their_json_type():
    assert as_str("a") == "a" and as_str(None) == "" and as_str(None, "?") == "?"
    assert as_str(3) == "3" and as_str({"a": 1}) == "{'a': 1}"
    assert as_float(2) == 2.0 and as_float(True) is None and as_float("1") is None
    assert as_float(10**400) is None  # beyond the float range, not an OverflowError
    assert as_int(3) == 3 and as_int(3.0) is None and as_int(False) is None
    assert as_list([1]) == [1] and as_list({"a": 1}) == [] and as_list("abc") == []
    assert as_numbers({"a": 1, "b": "x", 3: 2.5, "c": None}) == {"a": 1.0, "3": 2.5}
    assert as_numbers([1]) == {}
    assert as_value([1, 2]) == "[1, 2]" and as_value(None) is None and as_value(True) is True


def test_gate_view_reads_a_real_report():
    report = {
        "verdict": "rejected",
        "rubber_stamp": False,
        "champion": {"version": "v1.0.0", "sha": "0123456789abcdef"},
        "rules": [
            {"rule": "floor", "metric": "auc", "candidate": 0.7, "threshold": 0.8, "passed": False},
            {"rule": "slice", "metric": "auc", "slice": "eu", "passed": True, "reason": "ok"},
        ],
        "reasons": ["auc below floor", 2],
    }
    view = gate_view(report)
    assert view is not None
    assert view.summary.verdict == "rejected" and view.summary.champion == "v1.0.0"
    assert view.verdict_text == "rejected" and view.champion_text == "v1.0.0"
    assert [(r.rule, r.passed, r.slice, r.candidate, r.champion) for r in view.rules] == [
        ("floor", False, None, 0.7, None),
        ("slice", True, "eu", None, None),
    ]
    assert view.rules[0].reason == "" and view.rules[1].reason == "ok"
    assert view.rules_listed and view.reasons_text == "auc below floor; 2"


@pytest.mark.parametrize(
    ("champion", "shown"),
    [
        ({"version": None, "sha": "0123456789abcdef"}, "01234567"),
        ({"version": 0, "sha": None}, ""),  # a champion object without a name: an empty label
        ({"sha": 5}, "5"),  # a number once stopped the whole build (Jinja sliced an int)
        ({"sha": True}, "True"),
        ({"version": {"v": 1}}, "{'v': 1}"),
        ("v1.0.0", None),  # not an object: no champion shown
        (None, None),
    ],
)
def test_gate_view_champion_of_any_shape(champion, shown):
    view = gate_view({"verdict": "blessed", "champion": champion})
    assert view is not None and view.champion_text == shown


def test_gate_view_of_malformed_reports():
    assert gate_view(None) is None and gate_view(["rejected"]) is None and gate_view("x") is None
    view = gate_view({"verdict": {"x": 1}, "rules": 7, "reasons": "abc"})
    assert view is not None
    assert view.summary.verdict == "unknown" and view.verdict_text == "{'x': 1}"
    assert view.rules == () and not view.rules_listed and view.reasons_text == ""
    odd = gate_view({"verdict": "", "rules": [1, "x", {"rule": None, "reason": None}]})
    assert odd is not None and odd.verdict_text is None
    assert odd.rules_listed and len(odd.rules) == 1
    assert odd.rules[0].rule == "None" and odd.rules[0].reason == "None"
    many = gate_view({"rules": [{"rule": str(i)} for i in range(MAX_GATE_RULES + 5)]})
    assert many is not None and len(many.rules) == MAX_GATE_RULES


def test_validation_view_reads_a_real_report():
    report = {
        "status": "fail",
        "batch": "week_06.csv",
        "rows": 600,
        "schema": "schema.yaml",
        "anomalies": [{"kind": "missing_column", "column": "income", "count": 600, "detail": "x"}],
    }
    view = validation_view(report)
    assert view is not None and view.failed
    assert (view.status_text, view.batch_text, view.rows_text, view.schema_text) == (
        "fail",
        "week_06.csv",
        "600",
        "schema.yaml",
    )
    assert [(a.kind, a.column, a.count, a.detail) for a in view.anomalies] == [
        ("missing_column", "income", "600", "x")
    ]
    assert view.listed == 1 and view.more == 0


def test_validation_view_of_malformed_reports():
    assert validation_view([1, 2]) is None and validation_view(None) is None
    view = validation_view({"status": ["x"], "anomalies": {"a": 1}, "rows": 0, "batch": None})
    assert view is not None and not view.failed
    assert view.status_text == "['x']" and view.batch_text == "None" and view.rows_text == "0"
    assert view.listed == 0 and view.anomalies == ()
    assert validation_view({}).batch_text == "?"
    anomalies = [5, {"kind": None, "count": None}] + [{"kind": "k"}] * (MAX_ANOMALIES + 10)
    many = validation_view({"status": "fail", "anomalies": anomalies})
    assert many is not None and many.listed == MAX_ANOMALIES + 12 and many.more == 12
    assert len(many.anomalies) == MAX_ANOMALIES - 1  # the number among the first rows is skipped
    assert (many.anomalies[0].kind, many.anomalies[0].count, many.anomalies[0].detail) == (
        "None",
        "None",
        "",
    )


def test_report_numbers_stay_values():
    view = gate_view({"rules": [{"candidate": math.nan, "threshold": 10**30, "champion": [1]}]})
    assert view is not None
    rule = view.rules[0]
    assert math.isnan(rule.candidate) and rule.threshold == 10**30 and rule.champion == "[1]"


def test_templates_never_inspect_report_json():
    """Report structure is checked in Python: no template tests types or reads raw reports."""
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text()
        assert " is mapping" not in source, path
        assert ".get(" not in source, path  # views are dataclasses, not JSON objects
