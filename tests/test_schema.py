"""Schema inference and the schema.yaml round trip (ct/schema.py, `mlpages schema infer`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.cli import mlpages
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpages.ct.schema import (
    ColumnSchema,
    Schema,
    infer_column_type,
    infer_schema,
    load_schema,
    save_schema,
    schema_from_dict,
)
from mlpages.errors import ConfigError


def _frame(rows: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=rows, freq="h").strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "income": rng.uniform(1000, 5000, rows).round(2),
            "age": rng.integers(20, 60, rows),
            "region": rng.choice(["north", "south", "east"], rows),
            "note": [f"free text {i}" for i in range(rows)],
            "flag": rng.choice([True, False], rows),
            "label": rng.integers(0, 2, rows),
        }
    )


def test_column_types_are_inferred_from_csv_values(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[3, "age"] = None  # an int column with a gap is read back as float
    path = tmp_path / "b.csv"
    frame.to_csv(path, index=False)
    back = pd.read_csv(path)
    kinds = {name: infer_column_type(back[name]) for name in back.columns}
    assert kinds == {
        "when": "datetime",
        "income": "float",
        "age": "int",
        "region": "category",
        "note": "string",
        "flag": "bool",
        "label": "int",
    }


def test_infer_widens_ranges_by_the_margin_and_keeps_nonnegative_columns_nonnegative() -> None:
    frame = pd.DataFrame({"x": [10.0, 20.0, 30.0], "n": [0, 5, 10], "t": [-5.0, 0.0, 5.0]})
    schema = infer_schema([frame], margin=0.1)
    x, n, t = schema.column("x"), schema.column("n"), schema.column("t")
    assert (x.min, x.max) == (8.0, 32.0)
    assert (n.min, n.max) == (0.0, 11.0)  # 0 - 1 would go negative; ints round outward
    assert (t.min, t.max) == (-6.0, 6.0)


def test_a_binary_flag_keeps_its_exact_range() -> None:
    schema = infer_schema([pd.DataFrame({"label": [0, 1, 1, 0]})])
    assert (schema.column("label").min, schema.column("label").max) == (0.0, 1.0)


def test_categories_nulls_and_row_bounds() -> None:
    a = pd.DataFrame({"c": ["a", "b", None, "a"], "v": [1.0, None, 2.0, 3.0]})
    b = pd.DataFrame({"c": ["b", "a", "a", "b", "a", "b"], "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    schema = infer_schema([a, b], row_margin=0.5)
    assert schema.column("c").values == ("a", "b")
    assert schema.column("c").type == "category"
    assert schema.column("v").max_null_fraction == pytest.approx(2 * 0.1 + 0.01)
    assert schema.min_rows == 2  # half of the smallest batch (4 rows)
    assert schema.max_rows == 18  # largest batch (6) x 1.5 x 2


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    schema = infer_schema([_frame(), _frame(seed=1)])
    path = tmp_path / "schema.yaml"
    save_schema(schema, path)
    assert load_schema(path) == schema
    text = path.read_text()
    assert text.startswith("# Data schema")
    assert "region:" in text and "values: [east, north, south]" in text


def test_hand_edits_are_read_back_and_unknown_top_level_keys_kept(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(
        "owner: data-team\nrows: {min: 5}\ncolumns:\n"
        "  age: {type: int, min: 18, max: 100}\n"
        "  region: {type: category, values: [n, s], required: false, max_null_fraction: 0.2}\n"
    )
    schema = load_schema(path)
    assert schema.column("age") == ColumnSchema("age", "int", True, 18.0, 100.0)
    assert schema.column("region").values == ("n", "s")
    assert schema.column("region").required is False
    assert schema.min_rows == 5 and schema.max_rows is None
    save_schema(schema, path)
    assert "owner: data-team" in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b]\n", "expected a mapping"),
        ("columns:\n  a: {type: decimal}\n", "type must be one of"),
        ("columns:\n  a: {type: int, minimum: 3}\n", "unknown key(s) minimum"),
        ("columns:\n  a: {type: int, min: low}\n", "expected a number"),
        ("columns: {a: {type: int}\n", "not valid YAML"),
    ],
)
def test_bad_schema_files_are_clear_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_schema(path)


def test_missing_schema_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mlpages schema infer"):
        load_schema(tmp_path / "nope.yaml")


def test_schema_from_dict_defaults() -> None:
    schema = schema_from_dict({"columns": {"a": {"type": "float"}}})
    assert schema == Schema(columns=(ColumnSchema("a", "float"),))


def test_cli_infers_from_a_folder_and_refuses_to_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "raw"
    data.mkdir()
    _frame(seed=1).to_csv(data / "week_01.csv", index=False)
    _frame(seed=2).to_csv(data / "week_02.csv", index=False)
    done = mlpages("schema", "infer", "raw", "-o", "schema.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "7 columns from 2 file(s)" in done.stderr
    assert load_schema(tmp_path / "schema.yaml").column("region").values == (
        "east",
        "north",
        "south",
    )
    again = mlpages("schema", "infer", "raw", "-o", "schema.yaml", cwd=tmp_path)
    assert again.returncode == 1
    assert "use --force" in again.stderr and "Traceback" not in again.stderr


CELL = st.one_of(
    st.none(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=5),
    st.sampled_from(["yes", "null", "1", "", "~", "a: b", "2024-01-01"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({}, optional={name: CELL for name in ("a", "b", "c")}),
        min_size=1,
        max_size=8,
    )
)
def test_any_inferred_schema_survives_the_yaml_round_trip(rows: list[dict]) -> None:
    import tempfile

    frame = pd.DataFrame(rows)
    if frame.columns.empty:
        frame["a"] = 1
    schema = infer_schema([frame])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.yaml"
        save_schema(schema, path)
        assert load_schema(path) == schema
