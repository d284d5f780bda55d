"""Pure parsers for a pipeline's data files: params, metrics and plot data (bytes in, values out).

Every parser returns its result together with a tuple of :class:`Problem`; none of them raises on
bad input (random bytes included). Decoding and loading: :mod:`mlpages.dvcfiles.structured`.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from typing import Any

from mlpages.dvcfiles.structured import decode_text, flatten, load_structured, one_line, scalar_of
from mlpages.models import PlotData, Problem, Value
from mlpages.safe_yaml import MAX_YAML_NODES

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg")
TABLE_EXTENSIONS = (".csv", ".tsv", ".json", ".yaml", ".yml")
METRIC_EXTENSIONS = (".json", ".yaml", ".yml", ".toml")


def parse_params(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES
) -> tuple[dict[str, Value], tuple[Problem, ...]]:
    """A params file flattened to ``{"train.lr": 0.1}``; lists become compact JSON strings."""
    return _flat_values(data, path, max_nodes, metrics=False)


def parse_metrics(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES
) -> tuple[dict[str, Value], tuple[Problem, ...]]:
    """A metrics file flattened to ``{"test.acc": 0.9}``: numbers, strings, booleans; NaN kept."""
    return _flat_values(data, path, max_nodes, metrics=True)


def _flat_values(
    data: bytes, path: str, max_nodes: int, *, metrics: bool
) -> tuple[dict[str, Value], tuple[Problem, ...]]:
    """A mapping file flattened; metrics drop lists and may be a bare number (old DVC)."""
    raw, problems = load_structured(data, path, max_nodes)
    if problems or raw is None:
        return {}, problems
    if metrics and isinstance(raw, bool | int | float):
        return {"": raw}, ()
    if not isinstance(raw, dict):
        return {}, (Problem("bad-type", path, f"expected a mapping, got {type(raw).__name__}"),)
    return flatten(raw, keep_lists=not metrics), ()


# --- plots ------------------------------------------------------------------------------------


def _convert_column(values: list[str]) -> list[Value]:
    try:
        return list(map(int, values))
    except ValueError:
        pass
    try:
        return list(map(float, values))
    except ValueError:
        pass
    out: list[Value] = []
    for v in values:
        try:
            out.append(int(v))
        except ValueError:
            try:
                out.append(float(v))
            except ValueError:
                out.append(v)
    return out


def downsample(rows: list[tuple[Value, ...]], max_rows: int) -> tuple[list, bool]:
    """Evenly spaced rows (first and last kept) when there are more than ``max_rows``."""
    n = len(rows)
    if max_rows <= 0 or n <= max_rows:
        return rows, False
    if max_rows == 1:
        return [rows[-1]], True
    step = (n - 1) / (max_rows - 1)
    return [rows[round(i * step)] for i in range(max_rows)], True


def _table(path: str, columns: list[str], rows: list[tuple[Value, ...]], max_rows: int) -> PlotData:
    kept, truncated = downsample(rows, max_rows)
    return PlotData(
        path=path, kind="table", columns=tuple(columns), rows=tuple(kept), truncated=truncated
    )


def _parse_delimited(text: str, path: str, sep: str, header: bool, max_rows: int) -> PlotData:
    if '"' in text or "\r" in text:
        records = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]
    else:  # no quoting: a plain split is the same, and much faster
        records = [line.split(sep) for line in text.split("\n") if line]
    if not records:
        return PlotData(path=path, kind="table")
    if header:
        columns, body = records[0], records[1:]
    else:
        columns, body = [str(i) for i in range(len(records[0]))], records
    width = len(columns)
    body = [r if len(r) == width else (r + [""] * width)[:width] for r in body]
    converted = [_convert_column(list(col)) for col in zip(*body, strict=True)] if body else []
    rows = list(zip(*converted, strict=True)) if converted else []
    return _table(path, columns, rows, max_rows)


def _first_records(obj: Any, depth: int = 0) -> list | None:
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) for r in obj):
            return obj
        return None
    if isinstance(obj, dict) and depth < 8:
        for value in obj.values():
            found = _first_records(value, depth + 1)
            if found is not None:
                return found
    return None


def _cell(value: Any) -> Value:
    scalar = scalar_of(value)
    if scalar is ...:
        return json.dumps(value, default=str)
    return scalar


def _records_table(records: list[dict], path: str, max_rows: int) -> PlotData:
    columns: dict[str, None] = {}
    for record in records:
        for key in record:
            columns.setdefault(str(key), None)
    names = list(columns)
    rows = [tuple(_cell(r.get(k, r.get(_maybe_int(k)))) for k in names) for r in records]
    return _table(path, names, rows, max_rows)


def _maybe_int(key: str) -> Any:
    return int(key) if key.lstrip("-").isdigit() else key


def parse_plot_table(
    data: bytes,
    path: str,
    *,
    header: bool = True,
    max_rows: int = 5000,
    max_nodes: int = MAX_YAML_NODES,
) -> tuple[PlotData, tuple[Problem, ...]]:
    """Plot data of a .csv/.tsv/.json/.yaml file as columns and rows (down-sampled)."""
    ext = posixpath.splitext(path)[1].lower()
    missing = PlotData(path=path, kind="missing")
    if ext in (".csv", ".tsv"):
        text = decode_text(data)
        if text is None:
            return missing, (Problem("binary", path, "not a text file"),)
        try:
            return _parse_delimited(
                text, path, "\t" if ext == ".tsv" else ",", header, max_rows
            ), ()
        except (ValueError, csv.Error) as exc:
            return missing, (Problem("bad-type", path, one_line(exc)),)
    raw, problems = load_structured(data, path, max_nodes)
    if problems:
        return missing, problems
    records = _first_records(raw)
    if records is None:
        return missing, (Problem("bad-type", path, "no list of records found"),)
    return _records_table(records, path, max_rows), ()


def plot_kind(path: str) -> str:
    """``image`` | ``table`` | ``unsupported`` by file extension."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in TABLE_EXTENSIONS:
        return "table"
    return "unsupported"
