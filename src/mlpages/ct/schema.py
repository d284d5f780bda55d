"""The data schema: inferred once from reference data into a human-editable ``schema.yaml``.

``schema.yaml`` (every key but ``columns`` is optional)::

    version: 1
    rows: {min: 500, max: 20000}        # per batch file
    allow_extra_columns: false
    columns:
      income:
        type: float                     # int | float | bool | category | string | datetime
        required: true
        min: 0.0                        # numeric range (inference widens it by a margin)
        max: 250000.0
        max_null_fraction: 0.0
      region:
        type: category
        values: [north, south, east, west]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.errors import ConfigError
from mlpages.settings import read_yaml_file

if TYPE_CHECKING:
    import pandas as pd

TYPES = ("int", "float", "bool", "category", "string", "datetime")
NUMERIC_TYPES = ("int", "float")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ColumnSchema:
    """What one column may contain."""

    name: str
    type: str
    required: bool = True
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None  # categorical domain (strings)
    max_null_fraction: float = 0.0

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Schema:
    """All columns plus the row-count bounds of one batch."""

    columns: tuple[ColumnSchema, ...]
    min_rows: int | None = None
    max_rows: int | None = None
    allow_extra_columns: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, kept on save

    def column(self, name: str) -> ColumnSchema | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


# --- inference -----------------------------------------------------------------------------------


def infer_column_type(series: pd.Series, max_categories: int = 50) -> str:
    """The schema type of a column read from CSV."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        non_null = series.dropna()
        finite = non_null[non_null.abs() != math.inf]
        if len(finite) and (finite == finite.round()).all() and series.isna().any():
            return "int"  # an integer column with gaps is read as float
        return "float"
    non_null = series.dropna().astype(str)
    if len(non_null) == 0:
        return "string"
    lowered = set(non_null.str.lower().unique())
    if lowered <= {"true", "false"}:
        return "bool"
    if _mostly_dates(non_null):
        return "datetime"
    distinct = non_null.nunique()
    if distinct <= max_categories and distinct <= max(2, len(non_null) // 2):
        return "category"
    return "string"


def _mostly_dates(values: pd.Series) -> bool:
    import pandas as pd

    sample = values.head(200)
    # Only strings that look like ISO dates: a bare "12" must not count as a date.
    if not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="ISO8601")
    return bool(parsed.notna().all())


def _widen(low: float, high: float, margin: float, integer: bool) -> tuple[float, float]:
    span = high - low
    pad = margin * span if span > 0 else margin * max(abs(low), 1.0)
    new_low, new_high = low - pad, high + pad
    if low >= 0 > new_low:  # a non-negative quantity stays non-negative
        new_low = 0.0
    if integer:
        return float(math.floor(new_low)), float(math.ceil(new_high))
    return _round_sig(new_low, math.floor), _round_sig(new_high, math.ceil)


def _round_sig(value: float, rounder: Any, digits: int = 4) -> float:
    """Round outward to ``digits`` significant digits so the YAML stays readable."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(value))))
    return float(rounder(value * scale) / scale)


def infer_schema(
    frames: Sequence[pd.DataFrame],
    margin: float = 0.1,
    max_categories: int = 50,
    row_margin: float = 0.5,
) -> Schema:
    """Infer a schema from reference batches (one DataFrame per batch file)."""
    import pandas as pd

    if not frames:
        raise ConfigError("cannot infer a schema from no data")
    data = pd.concat(list(frames), ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    columns: list[ColumnSchema] = []
    for name in data.columns:
        series = data[name]
        kind = infer_column_type(series, max_categories)
        null_fraction = float(series.isna().mean()) if len(series) else 0.0
        # Allow twice the observed share of nulls (plus one point) so normal noise passes.
        allowed_nulls = 0.0 if null_fraction == 0 else min(1.0, round(2 * null_fraction + 0.01, 4))
        column = ColumnSchema(
            name=str(name),
            type=kind,
            required=null_fraction < 1.0,
            max_null_fraction=allowed_nulls,
        )
        if kind in NUMERIC_TYPES:
            numbers = pd.to_numeric(series, errors="coerce")
            finite = numbers[numbers.abs() != math.inf].dropna()
            if len(finite) and set(finite.unique()) <= {0.0, 1.0}:
                column = replace(column, min=0.0, max=1.0)  # a 0/1 flag is not a range
            elif len(finite):
                low, high = _widen(
                    float(finite.min()), float(finite.max()), margin, integer=kind == "int"
                )
                column = replace(column, min=low, max=high)
        elif kind == "category":
            domain = sorted(series.dropna().astype(str).unique())
            column = replace(column, values=tuple(domain))
        columns.append(column)
    sizes = [len(f) for f in frames]
    return Schema(
        columns=tuple(columns),
        min_rows=max(1, math.floor(min(sizes) * (1 - row_margin))),
        max_rows=math.ceil(max(sizes) * (1 + row_margin) * 2),
    )


# --- YAML round trip -----------------------------------------------------------------------------


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    """The plain mapping written to ``schema.yaml``."""
    columns: dict[str, Any] = {}
    for c in schema.columns:
        entry: dict[str, Any] = {"type": c.type, "required": c.required}
        if c.min is not None:
            entry["min"] = int(c.min) if c.type == "int" else c.min
        if c.max is not None:
            entry["max"] = int(c.max) if c.type == "int" else c.max
        if c.values is not None:
            entry["values"] = list(c.values)
        entry["max_null_fraction"] = c.max_null_fraction
        columns[c.name] = entry
    rows = {k: v for k, v in (("min", schema.min_rows), ("max", schema.max_rows)) if v is not None}
    out: dict[str, Any] = {"version": SCHEMA_VERSION}
    if rows:
        out["rows"] = rows
    out["allow_extra_columns"] = schema.allow_extra_columns
    out.update(schema.extra)
    out["columns"] = columns
    return out


def _number(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def schema_from_dict(raw: Any, source: str = "schema") -> Schema:
    """Validate a mapping read from YAML and build a :class:`Schema`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise ConfigError(f"{source}: expected a mapping with a 'columns' mapping")
    columns: list[ColumnSchema] = []
    for name, spec in raw["columns"].items():
        where = f"{source}: column {name!r}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(spec) - {"type", "required", "min", "max", "values", "max_null_fraction"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        kind = spec.get("type")
        if kind not in TYPES:
            raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
        values = spec.get("values")
        if values is not None and not isinstance(values, list):
            raise ConfigError(f"{where}: values must be a list")
        nulls = _number(spec.get("max_null_fraction", 0.0), f"{where} max_null_fraction")
        columns.append(
            ColumnSchema(
                name=str(name),
                type=kind,
                required=bool(spec.get("required", True)),
                min=_number(spec.get("min"), f"{where} min"),
                max=_number(spec.get("max"), f"{where} max"),
                values=None if values is None else tuple(str(v) for v in values),
                max_null_fraction=nulls or 0.0,
            )
        )
    rows = raw.get("rows") or {}
    if not isinstance(rows, dict):
        raise ConfigError(f"{source}: rows must be a mapping with min/max")
    known = {"version", "rows", "allow_extra_columns", "columns"}
    return Schema(
        columns=tuple(columns),
        min_rows=None if rows.get("min") is None else int(rows["min"]),
        max_rows=None if rows.get("max") is None else int(rows["max"]),
        allow_extra_columns=bool(raw.get("allow_extra_columns", False)),
        extra={k: v for k, v in raw.items() if k not in known},
    )


HEADER = (
    "# Data schema checked by `mlpages validate` (docs/validation.md).\n"
    "# Inferred by `mlpages schema infer`, then curated by hand: edit ranges, domains and\n"
    "# null allowances to state what the data MAY contain, not only what it did contain.\n"
)


def save_schema(schema: Schema, path: Path) -> None:
    """Write ``schema.yaml`` (keys in a stable, readable order)."""
    import yaml

    text = yaml.safe_dump(schema_to_dict(schema), sort_keys=False, default_flow_style=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + text)


def load_schema(path: Path) -> Schema:
    """Read and check ``schema.yaml``; problems raise ConfigError with the file name."""
    if not path.is_file():
        raise ConfigError(f"{path}: schema file not found (create it with `mlpages schema infer`)")
    return schema_from_dict(read_yaml_file(path), str(path))
