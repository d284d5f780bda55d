"""Stage ``split``: time-based split; the last ``split.test_weeks`` batches are the test set."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from mlpages.errors import DataError
from mlpages.pipeline.common import (
    BATCH_COLUMN,
    TEST,
    TRAIN,
    WINDOW,
    read_csv,
    read_params,
    write_csv,
)

if TYPE_CHECKING:
    import pandas as pd


def split_by_time(window: pd.DataFrame, test_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): batches in ingest order; the newest ``test_weeks`` are the test set."""
    if BATCH_COLUMN not in window.columns:
        raise DataError(f"the window has no {BATCH_COLUMN!r} column (written by ingest)")
    batches = list(dict.fromkeys(window[BATCH_COLUMN]))
    if test_weeks < 1 or test_weeks >= len(batches):
        raise DataError(
            f"split.test_weeks={test_weeks} needs at least {test_weeks + 1} batches in the window, "
            f"got {len(batches)} (raise ingest.window_weeks or add data)"
        )
    test_batches = set(batches[-test_weeks:])
    is_test = window[BATCH_COLUMN].isin(test_batches)
    return window[~is_test].reset_index(drop=True), window[is_test].reset_index(drop=True)


def main() -> None:
    """Read params (split), write data/processed/train.csv and test.csv."""
    params = read_params("split")
    train, test = split_by_time(read_csv(WINDOW), int(params["test_weeks"]))
    write_csv(train, TRAIN)
    write_csv(test, TEST)
    print(f"split: {len(train)} train rows, {len(test)} test rows", file=sys.stderr)


if __name__ == "__main__":
    from mlpages.pipeline.cli import run

    run(main)
