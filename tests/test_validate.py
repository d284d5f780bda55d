"""Batch validation against a schema (ct/validate.py, ct/batches.py, `mlpages validate`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.cli import mlpages
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlpages.ct.batches import batch_files, read_batch, select_batch
from mlpages.ct.schema import ColumnSchema, Schema, save_schema
from mlpages.ct.validate import (
    KINDS,
    ValidateSettings,
    check_frame,
    run_validation,
    select_inputs,
    summary_text,
    validate_batches,
    validate_settings,
)
from mlpages.errors import ConfigError, DataError, ValidationFailed

SCHEMA = Schema(
    columns=(
        ColumnSchema("age", "int", min=18, max=100),
        ColumnSchema("income", "float", min=0, max=1000, max_null_fraction=0.25),
        ColumnSchema("region", "category", values=("north", "south")),
        ColumnSchema("when", "datetime"),
        ColumnSchema("vip", "bool", required=False),
    ),
    min_rows=3,
    max_rows=100,
)


def _good(rows: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20 + i for i in range(rows)],
            "income": [100.0 + i for i in range(rows)],
            "region": ["north", "south"] * (rows // 2),
            "when": [f"2024-01-0{1 + i % 9}T10:00:00" for i in range(rows)],
        }
    )


def _kinds(frame: pd.DataFrame) -> list[tuple[str, str | None, int]]:
    return [(a.kind, a.column, a.count) for a in check_frame(frame, SCHEMA)]


def test_a_clean_batch_has_no_anomaly() -> None:
    assert check_frame(_good(), SCHEMA) == ()


def test_missing_and_unexpected_columns() -> None:
    frame = _good().drop(columns=["region"]).assign(extra=1)
    assert _kinds(frame) == [("missing_column", "region", 6), ("unexpected_column", "extra", 6)]


def test_type_changes_are_counted_per_column() -> None:
    frame = _good().astype({"age": object, "income": object, "when": object})
    frame.loc[0, "age"] = "twenty"
    frame.loc[1, "age"] = 30.5
    frame.loc[[2, 3], "income"] = "n/a"
    frame.loc[4, "when"] = "yesterday"
    kinds = _kinds(frame)
    assert ("type_change", "age", 1) in kinds  # the text value
    assert ("type_change", "age", 1) in kinds and len([k for k in kinds if k[1] == "age"]) == 2
    assert ("type_change", "income", 2) in kinds
    assert ("type_change", "when", 1) in kinds


def test_out_of_range_unknown_category_nulls_and_infinities() -> None:
    frame = _good(8)
    frame.loc[0, "age"] = 5
    frame.loc[1, "age"] = 130
    frame.loc[2, "region"] = "mars"
    frame.loc[[3, 4, 5], "income"] = np.nan  # 3/8 > 25 %
    frame.loc[6, "income"] = np.inf
    found = {(a.kind, a.column): a for a in check_frame(frame, SCHEMA)}
    assert found["out_of_range", "age"].count == 2
    assert "1 below min 18" in found["out_of_range", "age"].detail
    assert "1 above max 100" in found["out_of_range", "age"].detail
    assert found["unknown_category", "region"].count == 1
    assert "mars" in found["unknown_category", "region"].detail
    assert found["too_many_nulls", "income"].count == 3
    assert found["nan_or_inf", "income"].count == 1


def test_row_count_bounds() -> None:
    assert _kinds(_good(2)) == [("too_few_rows", None, 2)]
    many = pd.concat([_good(60), _good(60)], ignore_index=True)
    assert _kinds(many) == [("too_many_rows", None, 120)]


def test_optional_column_may_be_absent_and_extra_columns_may_be_allowed() -> None:
    relaxed = Schema(SCHEMA.columns, allow_extra_columns=True)
    assert check_frame(_good().assign(other="x"), relaxed) == ()


def test_several_batches_name_the_file_in_each_detail() -> None:
    bad = _good().drop(columns=["age"])
    report = validate_batches([("w1.csv", _good()), ("w2.csv", bad)], SCHEMA, "schema.yaml")
    assert report.status == "fail" and report.batch == "w1.csv,w2.csv" and report.rows == 12
    assert report.anomalies[0].detail.startswith("w2.csv: ")
    text = summary_text(report)
    assert "validation FAILED" in text and "missing_column" in text and "[age]" in text


# --- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n", "no columns to read"),
        (b"\xff\xfe\x00a,b\n1,2\n", "not UTF-8"),
        (b'a,b\n1,"2\n', "unreadable CSV"),
        (b"a,b\n1,2\n1,2,3,4\n", "unreadable CSV: Error tokenizing"),
    ],
)
def test_bad_files_are_one_line_data_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "batch.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_batch(path)
    assert "\n" not in str(info.value)


def test_folders_without_batches_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no CSV files"):
        batch_files(tmp_path)
    with pytest.raises(DataError, match="is a folder"):
        read_batch(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        read_batch(tmp_path / "x.csv")


def _folder(tmp_path: Path, weeks: int) -> Path:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for week in range(1, weeks + 1):
        _good().to_csv(raw / f"week_{week:02d}.csv", index=False)
    return raw


def test_select_batch_takes_the_newest_and_the_window_before_it(tmp_path: Path) -> None:
    raw = _folder(tmp_path, 6)
    chosen = select_batch(raw, "latest", 3)
    assert chosen.batch_name == "week_06.csv"
    assert [p.name for p in chosen.reference] == ["week_03.csv", "week_04.csv", "week_05.csv"]
    assert chosen.reference_name == "week_03.csv..week_05.csv"
    early = select_batch(raw, "week_02.csv", 3)
    assert [p.name for p in early.reference] == ["week_01.csv"]
    with pytest.raises(DataError, match="no batch named"):
        select_batch(raw, "week_99.csv", 3)


def test_run_validation_writes_both_reports(tmp_path: Path) -> None:
    raw = _folder(tmp_path, 4)
    save_schema(SCHEMA, tmp_path / "schema.yaml")
    outcome = run_validation(root=tmp_path, settings=ValidateSettings(window=2))
    report = json.loads((tmp_path / "reports/validation.json").read_text())
    assert report == {
        "status": "pass",
        "batch": "week_04.csv",
        "rows": 6,
        "schema": "schema.yaml",
        "anomalies": [],
    }
    drift = json.loads((tmp_path / "reports/drift.json").read_text())
    assert drift["reference"] == "week_02.csv..week_03.csv"
    assert {f["feature"] for f in drift["features"]} == {"age", "income", "region"}
    assert outcome.selection.batch == (raw / "week_04.csv",)


def test_one_batch_file_is_compared_with_the_window_before_it_in_its_folder(tmp_path: Path) -> None:
    raw = _folder(tmp_path, 5)
    settings = ValidateSettings(window=2)
    chosen = select_inputs([raw / "week_04.csv"], (), settings, tmp_path)
    assert chosen.batch_name == "week_04.csv"
    assert chosen.reference_name == "week_02.csv..week_03.csv"
    explicit = select_inputs([raw / "week_04.csv"], [raw / "week_01.csv"], settings, tmp_path)
    assert explicit.reference_name == "week_01.csv"
    several = select_inputs([raw / "week_04.csv", raw / "week_05.csv"], (), settings, tmp_path)
    assert several.batch_name == "week_04.csv,week_05.csv" and several.reference == ()


def test_run_validation_fails_with_the_report_written(tmp_path: Path) -> None:
    raw = _folder(tmp_path, 2)
    _good().drop(columns=["income"]).to_csv(raw / "week_03.csv", index=False)
    save_schema(SCHEMA, tmp_path / "schema.yaml")
    with pytest.raises(ValidationFailed, match=r"week_03\.csv: 1 schema anomaly") as info:
        run_validation(root=tmp_path)
    assert info.value.exit_code == 4  # its own code: 2 is click's usage error
    report = json.loads((tmp_path / "reports/validation.json").read_text())
    assert report["status"] == "fail"
    assert report["anomalies"] == [
        {
            "kind": "missing_column",
            "column": "income",
            "count": 6,
            "detail": "required column is absent",
        }
    ]
    # Drift is still measured on what can be measured, and the missing feature is listed.
    drift = json.loads((tmp_path / "reports/drift.json").read_text())
    assert {"feature": "income", "reason": "missing from the batch"} in drift["skipped"]


def test_first_batch_has_an_empty_drift_report(tmp_path: Path) -> None:
    _folder(tmp_path, 1)
    save_schema(SCHEMA, tmp_path / "schema.yaml")
    outcome = run_validation(root=tmp_path)
    assert outcome.drift.features == ()
    assert json.loads((tmp_path / "reports/drift.json").read_text())["features"] == []


def test_settings_from_params_reject_unknown_keys() -> None:
    settings = validate_settings({"window": 2, "drift": {"share": 0.25}})
    assert settings.window == 2 and settings.drift.share == 0.25
    # One message format for every settings section (mlpages.settings).
    with pytest.raises(ConfigError, match=r"^params\.yaml: validate\.windw: unknown setting"):
        validate_settings({"windw": 2})
    with pytest.raises(ConfigError) as info:
        validate_settings({"window": "four"})
    assert str(info.value) == "params.yaml: validate.window: expected an integer >= 0, got 'four'"


# --- the command ---------------------------------------------------------------------------------


def test_cli_exit_codes_and_messages(tmp_path: Path) -> None:
    raw = _folder(tmp_path, 3)
    save_schema(SCHEMA, tmp_path / "schema.yaml")
    (tmp_path / "params.yaml").write_text("validate:\n  window: 2\n")
    ok = mlpages("validate", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "validation passed: week_03.csv" in ok.stderr
    assert "drift: 0/3 features drifted" in ok.stderr

    broken = _good().assign(age=lambda f: f["age"] * 10)
    broken.to_csv(raw / "week_04.csv", index=False)
    bad = mlpages("validate", cwd=tmp_path)
    assert bad.returncode == 4  # a bad batch, told apart from a usage error (2)
    assert "out_of_range" in bad.stderr and "[age]" in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("mlpages: error: week_04.csv:")
    assert "Traceback" not in bad.stderr

    (tmp_path / "junk.csv").write_bytes(b"\xff\xfe\x00\x01")
    junk = mlpages(
        "validate", "junk.csv", "--report", "r.json", "--drift-report", "d.json", cwd=tmp_path
    )
    assert junk.returncode == 1
    assert (
        junk.stderr.strip()
        == "mlpages: error: junk.csv: not UTF-8 text (byte 0: invalid start byte)"
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    none = mlpages("validate", "empty", cwd=tmp_path)
    assert none.returncode == 1 and "no CSV files in this folder" in none.stderr
    gone = mlpages("validate", "nowhere", cwd=tmp_path)
    assert gone.stderr.strip() == "mlpages: error: nowhere: no such file or folder"
    typo = mlpages("validate", "--shema", "schema.yaml", cwd=tmp_path)
    assert typo.returncode == 2 and "No such option '--shema'" in typo.stderr


# --- robustness: any CSV-like content yields anomalies, never an exception ----------------------

CELL = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.booleans(),
    st.sampled_from(["north", "south", "2024-01-01", "true", "inf", "-1e309"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {}, optional={name: CELL for name in ("age", "income", "region", "when", "vip", "x")}
        ),
        max_size=8,
    )
)
@example(rows=[{"region": float("inf")}])  # a float category column holding inf (hypothesis)
def test_check_frame_never_raises_on_arbitrary_cells(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    anomalies = check_frame(frame, SCHEMA)
    assert all(a.kind in KINDS and a.count >= 0 for a in anomalies)
    if len(frame) < SCHEMA.min_rows:
        assert anomalies[0].kind == "too_few_rows"


def test_every_option_and_param_key_is_documented() -> None:
    from dataclasses import fields

    from mlpages.cli import cli
    from mlpages.ct.drift import DriftSettings
    from mlpages.ct.gate_rules import GateSettings

    docs = (Path(__file__).parents[1] / "docs" / "validation.md").read_text()
    commands = [cli.get_command(None, "validate"), cli.get_command(None, "gate")]
    commands.append(cli.get_command(None, "schema").get_command(None, "infer"))
    for command in commands:
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in docs, f"{command.name} {opt} is not in docs/validation.md"
    for section, cls in (("validate", ValidateSettings), ("gate", GateSettings)):
        for f in fields(cls):
            assert f"{section}.{f.name}" in docs, f"{section}.{f.name} is not documented"
    for f in fields(DriftSettings):
        assert f"validate.drift.{f.name}" in docs or f".{f.name}`" in docs, f.name
