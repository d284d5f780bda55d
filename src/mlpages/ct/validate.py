"""Check data batches against ``schema.yaml``; report every anomaly with its kind, column and count.

The core (:func:`check_frame`) is a pure function of a DataFrame and a :class:`Schema`.
:func:`run_validation` is the edge: it picks the batch and its reference, checks the schema,
measures drift, writes ``reports/validation.json`` and ``reports/drift.json`` and raises
:class:`~mlpages.errors.ValidationFailed` (exit code 4) on any schema anomaly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.ct.batches import (
    BATCH_SUFFIXES,
    BatchSelection,
    expand_inputs,
    read_batch,
    select_batch,
)
from mlpages.ct.drift import DriftReport, DriftSettings, detect_drift
from mlpages.ct.schema import ColumnSchema, Schema, load_schema
from mlpages.errors import DataError, ValidationFailed
from mlpages.settings import load_section, setting

if TYPE_CHECKING:
    import pandas as pd

KINDS = (
    "missing_column",
    "unexpected_column",
    "type_change",
    "out_of_range",
    "unknown_category",
    "too_many_nulls",
    "nan_or_inf",
    "too_few_rows",
    "too_many_rows",
)


@dataclass(frozen=True)
class Anomaly:
    """One schema violation in a batch."""

    kind: str
    column: str | None
    count: int
    detail: str


@dataclass(frozen=True)
class ValidationReport:
    """The content of ``reports/validation.json``."""

    status: str  # pass | fail
    batch: str
    rows: int
    schema: str
    anomalies: tuple[Anomaly, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "anomalies": [asdict(a) for a in self.anomalies]}


@dataclass(frozen=True)
class ValidateSettings:
    """The ``validate`` section of params.yaml."""

    schema: str = setting("schema.yaml", help="The schema batches are checked against.")
    data_dir: str = setting("data/raw", help="Folder of the batches (checked without BATCHES).")
    batch: str = setting(
        "latest", help="The batch to check in data_dir: latest (by file name) or a file name."
    )
    window: int = setting(
        4, minimum=0, help="Drift reference: this many batches before the checked one."
    )
    report: str = setting("reports/validation.json", help="Where the validation report goes.")
    drift_report: str = setting("reports/drift.json", help="Where the drift report goes.")
    drift: DriftSettings = setting(
        factory=DriftSettings, help="Drift methods and thresholds (validate.drift)."
    )


def _sample(values: Any, limit: int = 5) -> str:
    items = [str(v) for v in list(values)[:limit]]
    return ", ".join(items) + (", …" if len(values) > limit else "")


def _check_numeric(col: ColumnSchema, series: pd.Series) -> list[Anomaly]:
    import pandas as pd

    out: list[Anomaly] = []
    present = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return [Anomaly("type_change", col.name, len(present), f"expected {col.type}, got bool")]
    numbers = pd.to_numeric(present, errors="coerce")
    not_numbers = present[numbers.isna()]
    if len(not_numbers):
        out.append(
            Anomaly(
                "type_change",
                col.name,
                len(not_numbers),
                f"expected {col.type}, found text such as {_sample(not_numbers.unique(), 3)}",
            )
        )
    numbers = numbers.dropna().astype(float)
    infinite = numbers[numbers.abs() == math.inf]
    if len(infinite):
        out.append(Anomaly("nan_or_inf", col.name, len(infinite), "infinite values"))
    finite = numbers[numbers.abs() != math.inf]
    if col.type == "int":
        fractional = finite[finite != finite.round()]
        if len(fractional):
            out.append(
                Anomaly(
                    "type_change",
                    col.name,
                    len(fractional),
                    f"expected int, found fractions such as {_sample(fractional.unique(), 3)}",
                )
            )
    below = finite[finite < col.min] if col.min is not None else finite.iloc[:0]
    above = finite[finite > col.max] if col.max is not None else finite.iloc[:0]
    if len(below) or len(above):
        parts = []
        if len(below):
            parts.append(f"{len(below)} below min {col.min:g} (lowest {below.min():g})")
        if len(above):
            parts.append(f"{len(above)} above max {col.max:g} (highest {above.max():g})")
        out.append(Anomaly("out_of_range", col.name, len(below) + len(above), "; ".join(parts)))
    return out


def _check_column(col: ColumnSchema, series: pd.Series) -> list[Anomaly]:
    import pandas as pd

    out: list[Anomaly] = []
    rows = len(series)
    nulls = int(series.isna().sum())
    if rows and nulls / rows > col.max_null_fraction:
        out.append(
            Anomaly(
                "too_many_nulls",
                col.name,
                nulls,
                f"{nulls / rows:.1%} null, allowed {col.max_null_fraction:.1%}",
            )
        )
    present = series.dropna()
    if col.is_numeric:
        out.extend(_check_numeric(col, series))
    elif col.type == "bool":
        text = present.astype(str).str.lower()
        bad = present[~text.isin(["true", "false", "1", "0", "1.0", "0.0"])]
        if len(bad):
            out.append(
                Anomaly("type_change", col.name, len(bad), f"expected bool, found {_sample(bad)}")
            )
    elif col.type == "datetime":
        parsed = pd.to_datetime(present.astype(str), errors="coerce", format="ISO8601")
        bad = present[parsed.isna()]
        if len(bad):
            out.append(
                Anomaly(
                    "type_change",
                    col.name,
                    len(bad),
                    f"expected datetime, found {_sample(bad.unique(), 3)}",
                )
            )
    elif col.type == "category" and col.values is not None:
        whole = pd.api.types.is_float_dtype(present) and (present == present.round()).all()
        if whole and present.abs().lt(math.inf).all():  # inf == round(inf), but has no int64
            present = present.astype("int64")  # "1" in the schema, 1.0 after a gap in the CSV
        text = present.astype(str)
        unknown = text[~text.isin(col.values)]
        if len(unknown):
            out.append(
                Anomaly(
                    "unknown_category",
                    col.name,
                    len(unknown),
                    f"values not in the domain: {_sample(sorted(unknown.unique()))}",
                )
            )
    return out


def check_frame(frame: pd.DataFrame, schema: Schema) -> tuple[Anomaly, ...]:
    """Every anomaly of one batch against the schema (pure)."""
    out: list[Anomaly] = []
    rows = len(frame)
    if schema.min_rows is not None and rows < schema.min_rows:
        out.append(
            Anomaly("too_few_rows", None, rows, f"{rows} rows, expected ≥ {schema.min_rows}")
        )
    if schema.max_rows is not None and rows > schema.max_rows:
        out.append(
            Anomaly("too_many_rows", None, rows, f"{rows} rows, expected ≤ {schema.max_rows}")
        )
    present = {str(c) for c in frame.columns}
    for col in schema.columns:
        if col.name not in present:
            if col.required:
                out.append(Anomaly("missing_column", col.name, rows, "required column is absent"))
            continue
        out.extend(_check_column(col, frame[col.name]))
    if not schema.allow_extra_columns:
        for name in frame.columns:
            if schema.column(str(name)) is None:
                out.append(
                    Anomaly("unexpected_column", str(name), rows, "column not in the schema")
                )
    return tuple(out)


def validate_batches(
    frames: Sequence[tuple[str, pd.DataFrame]], schema: Schema, schema_name: str
) -> ValidationReport:
    """Check each named batch; anomalies of several batches carry the batch name in the detail."""
    anomalies: list[Anomaly] = []
    for name, frame in frames:
        for anomaly in check_frame(frame, schema):
            if len(frames) > 1:
                anomaly = Anomaly(
                    anomaly.kind, anomaly.column, anomaly.count, f"{name}: {anomaly.detail}"
                )
            anomalies.append(anomaly)
    return ValidationReport(
        status="fail" if anomalies else "pass",
        batch=",".join(name for name, _ in frames),
        rows=sum(len(f) for _, f in frames),
        schema=schema_name,
        anomalies=tuple(anomalies),
    )


def summary_text(report: ValidationReport) -> str:
    """The human summary printed on stderr."""
    if report.status == "pass":
        return f"validation passed: {report.batch} ({report.rows} rows) matches {report.schema}"
    lines = [
        f"validation FAILED: {report.batch} ({report.rows} rows) breaks {report.schema} "
        f"with {len(report.anomalies)} anomal{'y' if len(report.anomalies) == 1 else 'ies'}:"
    ]
    for a in report.anomalies:
        where = f"[{a.column}] " if a.column else ""
        lines.append(f"  - {a.kind:<17} {where}count={a.count}: {a.detail}")
    return "\n".join(lines)


# --- settings and the run (I/O edge) -------------------------------------------------------------


def validate_settings(raw: Any, source: str = "params.yaml") -> ValidateSettings:
    """Build :class:`ValidateSettings` from the ``validate`` params section."""
    return load_section(ValidateSettings, raw, source, "validate")


@dataclass(frozen=True)
class ValidationOutcome:
    """What :func:`run_validation` produced."""

    report: ValidationReport
    drift: DriftReport
    selection: BatchSelection
    written: tuple[Path, ...] = field(default=())


def select_inputs(
    batches: Sequence[Path],
    reference: Sequence[Path],
    settings: ValidateSettings,
    root: Path,
) -> BatchSelection:
    """Resolve the batch(es) to check and the reference: explicit paths win over params."""
    if not batches:
        batches = [root / settings.data_dir]
    for path in batches:
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
    if len(batches) == 1 and batches[0].is_dir():
        chosen = select_batch(batches[0], settings.batch, settings.window)
    elif len(batches) == 1 and batches[0].suffix.lower() in BATCH_SUFFIXES and not reference:
        # One batch file among its siblings: the window before it in its folder is the reference.
        chosen = select_batch(batches[0].parent, batches[0].name, settings.window)
    else:
        chosen = BatchSelection(batch=expand_inputs(batches), reference=())
    if reference:
        chosen = BatchSelection(batch=chosen.batch, reference=expand_inputs(reference))
    return chosen


def _write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    tmp.replace(path)
    return path


def run_validation(
    batches: Sequence[Path] = (),
    *,
    schema_path: Path | None = None,
    reference: Sequence[Path] = (),
    report_path: Path | None = None,
    drift_report_path: Path | None = None,
    settings: ValidateSettings | None = None,
    root: Path = Path("."),
    raise_on_fail: bool = True,
) -> ValidationOutcome:
    """Validate, measure drift, write both reports; raise ValidationFailed on schema anomalies."""
    import pandas as pd

    settings = settings or ValidateSettings()
    schema_file = schema_path or root / settings.schema
    schema = load_schema(schema_file)
    selection = select_inputs(batches, reference, settings, root)
    frames = [(p.name, read_batch(p)) for p in selection.batch]
    report = validate_batches(frames, schema, schema_file.name)
    written = [_write_json(report_path or root / settings.report, report.to_json())]
    current = pd.concat([f for _, f in frames], ignore_index=True, sort=False)
    # Without a reference (the very first batch) the drift report is written empty, so a DVC
    # stage that declares it always finds its output.
    ref_frame = (
        pd.concat([read_batch(p) for p in selection.reference], ignore_index=True, sort=False)
        if selection.reference
        else None
    )
    drift = detect_drift(
        ref_frame,
        current,
        schema,
        settings.drift,
        batch=selection.batch_name,
        reference_name=selection.reference_name,
    )
    drift_file = drift_report_path or root / settings.drift_report
    written.append(_write_json(drift_file, drift.to_json()))
    outcome = ValidationOutcome(report, drift, selection, tuple(written))
    if raise_on_fail and report.status == "fail":
        raise ValidationFailed(failure_line(report, written[0]))
    return outcome


def failure_line(report: ValidationReport, report_path: Path) -> str:
    """The one-line error for a failed validation."""
    kinds = sorted({a.kind for a in report.anomalies})
    return (
        f"{report.batch}: {len(report.anomalies)} schema anomal"
        f"{'y' if len(report.anomalies) == 1 else 'ies'} ({', '.join(kinds)}); "
        f"see {report_path}"
    )
