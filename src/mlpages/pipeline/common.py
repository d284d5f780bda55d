"""Paths, the column specification and params reading shared by the reference pipeline's stages.

Every path is relative to the repository root (DVC runs stages there).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpages.errors import ConfigError, DataError

PARAMS = Path("params.yaml")
RAW_DIR = Path("data/raw")
WINDOW = Path("data/interim/window.csv")
TRAIN = Path("data/processed/train.csv")
TEST = Path("data/processed/test.csv")
MODEL = Path("models/model.pkl")
METRICS = Path("reports/metrics.json")
SLICES = Path("reports/slices.json")
PLOTS_DIR = Path("reports/plots")
ROC = PLOTS_DIR / "roc.csv"
PRC = PLOTS_DIR / "prc.csv"
CONFUSION = PLOTS_DIR / "confusion.csv"
IMPORTANCE = PLOTS_DIR / "importance.csv"

BATCH_COLUMN = "batch"  # added by ingest: the file name each row came from


@dataclass(frozen=True)
class DataSpec:
    """Which columns are the label, the timestamp and the numeric/categorical features."""

    target: str
    timestamp: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    @property
    def required(self) -> tuple[str, ...]:
        return (self.timestamp, *self.features, self.target)

    @classmethod
    def from_params(cls, section: dict[str, Any]) -> DataSpec:
        """Build from the ``data`` section of params.yaml."""
        try:
            return cls(
                target=str(section["target"]),
                timestamp=str(section["timestamp"]),
                numeric=tuple(section.get("numeric") or ()),
                categorical=tuple(section.get("categorical") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"params.yaml: section 'data' lacks {exc}") from None


def read_params(section: str, path: Path = PARAMS) -> dict[str, Any]:
    """One top-level section of params.yaml (a clear error when it is missing)."""
    from mlpages.safe_yaml import TooLargeError, load_yaml

    if not path.exists():
        raise ConfigError(f"{path} not found (run the stage from the repository root)")
    try:
        params = load_yaml(path.read_text()) or {}
    except TooLargeError as exc:
        raise ConfigError(f"{path}: too large: {exc}") from None
    if not isinstance(params.get(section), dict):
        raise ConfigError(f"{path}: missing section {section!r}")
    return params[section]


def read_csv(path: Path) -> Any:
    """Read a CSV written by a previous stage, with a clear error when it is missing or empty."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"{path} not found (run the previous stage first)")
    try:
        return pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read CSV: {exc}") from None


def write_csv(frame: Any, path: Path) -> None:
    """Write a DataFrame as CSV with fixed formatting (same bytes for the same data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: Any, path: Path) -> None:
    """Write JSON with sorted keys; NaN/Inf become null so every reader can parse it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite_or_none(data), indent=2, sort_keys=True) + "\n")
