"""Stage ``ingest``: the training window, i.e. the most recent N weekly batches of data/raw.

Every batch in the window must have every required column with the right kind of values; a batch
that does not is an error naming the file (nothing is skipped silently). Move a bad batch out of
data/raw (the demo quarantines it) to go on without it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlpages.errors import DataError
from mlpages.pipeline.common import BATCH_COLUMN, RAW_DIR, WINDOW, DataSpec, read_params, write_csv

if TYPE_CHECKING:
    import pandas as pd

BATCH_PATTERN = re.compile(r"^week_(\d+)\.csv$")


def list_batches(raw_dir: Path) -> list[str]:
    """The batch files of ``raw_dir`` in time order (``week_NN.csv``); other files are an error."""
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir} is not a folder of weekly batches")
    names = sorted(p.name for p in raw_dir.iterdir() if not p.name.startswith("."))
    strays = [n for n in names if not BATCH_PATTERN.match(n)]
    if strays:
        raise DataError(f"{raw_dir}: unexpected files {strays} (batches are named week_NN.csv)")
    return sorted(names, key=lambda n: int(BATCH_PATTERN.match(n).group(1)))  # type: ignore[union-attr]


def select_window(batches: list[str], window_weeks: int) -> list[str]:
    """The most recent ``window_weeks`` batches (all of them when there are fewer)."""
    if window_weeks < 1:
        raise DataError(f"ingest.window_weeks must be at least 1, got {window_weeks}")
    if not batches:
        raise DataError("no batches to ingest")
    return batches[-window_weeks:]


def check_batch(frame: pd.DataFrame, name: str, spec: DataSpec) -> pd.DataFrame:
    """Return the batch with the spec's columns, or raise naming what is wrong with it."""
    import pandas as pd

    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing columns {missing}")
    frame = frame[list(spec.required)].copy()
    for column in spec.numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = int((values.isna() & frame[column].notna()).sum())
        if bad:
            raise DataError(f"{name}: {bad} non-numeric values in numeric column {column!r}")
        frame[column] = values
    labels = pd.to_numeric(frame[spec.target], errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise DataError(f"{name}: label {spec.target!r} must be 0 or 1 on every row")
    frame[spec.target] = labels.astype(int)
    return frame


def ingest(raw_dir: Path, window_weeks: int, spec: DataSpec) -> pd.DataFrame:
    """Concatenate the window's batches, with a ``batch`` column naming each row's file."""
    import pandas as pd

    frames = []
    for name in select_window(list_batches(raw_dir), window_weeks):
        try:
            raw = pd.read_csv(raw_dir / name)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"{name}: cannot read CSV: {exc}") from None
        frame = check_batch(raw, name, spec)
        frame.insert(0, BATCH_COLUMN, name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    """Read params (ingest, data), write data/interim/window.csv."""
    params = read_params("ingest")
    spec = DataSpec.from_params(read_params("data"))
    window = ingest(RAW_DIR, int(params["window_weeks"]), spec)
    write_csv(window, WINDOW)
    batches = list(dict.fromkeys(window[BATCH_COLUMN]))
    print(f"ingest: {len(window)} rows from {len(batches)} batches {batches}", file=sys.stderr)


if __name__ == "__main__":
    from mlpages.pipeline.cli import run

    run(main)
