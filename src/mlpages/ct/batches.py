"""Data batches on disk: read one CSV with clear errors, list a folder's batches, pick one batch.

Batches are CSV files in one folder (``data/raw/week_01.csv`` …); their order is the order of their
file names, so zero-padded names (``week_07``) sort the way time runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlpages.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

BATCH_SUFFIXES = (".csv", ".tsv")


@dataclass(frozen=True)
class BatchSelection:
    """The batch to validate and the reference batches it is compared with (oldest first)."""

    batch: tuple[Path, ...]
    reference: tuple[Path, ...]

    @property
    def batch_name(self) -> str:
        return ",".join(p.name for p in self.batch)

    @property
    def reference_name(self) -> str:
        if not self.reference:
            return ""
        if len(self.reference) == 1:
            return self.reference[0].name
        return f"{self.reference[0].name}..{self.reference[-1].name}"


def read_batch(path: Path) -> pd.DataFrame:
    """Read one CSV/TSV batch; unreadable, empty or wrongly encoded files raise DataError."""
    import pandas as pd

    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV file")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no columns to read (empty or blank file)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: unreadable CSV: {first}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(frame.columns) == 0:
        raise DataError(f"{path}: no columns")
    return frame


def read_batches(paths: Sequence[Path]) -> pd.DataFrame:
    """Read and concatenate several batches (columns aligned by name)."""
    import pandas as pd

    frames = [read_batch(p) for p in paths]
    if not frames:
        raise DataError("no batch files to read")
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True, sort=False)


def batch_files(folder: Path) -> tuple[Path, ...]:
    """The CSV/TSV files of a folder in file-name order; a folder without any raises DataError."""
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BATCH_SUFFIXES),
        key=lambda p: p.name,
    )
    if not files:
        raise DataError(f"{folder}: no CSV files in this folder")
    return tuple(files)


def expand_inputs(paths: Sequence[Path]) -> tuple[Path, ...]:
    """Files stay files; folders become their batch files (in name order)."""
    out: list[Path] = []
    for path in paths:
        out.extend(batch_files(path) if path.is_dir() else (path,))
    return tuple(out)


def select_batch(folder: Path, batch: str = "latest", window: int = 4) -> BatchSelection:
    """Pick ``batch`` (a file name, or "latest" = the last by name) and the ``window`` before it."""
    files = batch_files(folder)
    names = [p.name for p in files]
    if batch in ("", "latest"):
        index = len(files) - 1
    elif batch in names:
        index = names.index(batch)
    else:
        raise DataError(f"{folder}: no batch named {batch!r} (have {names[0]} … {names[-1]})")
    start = max(0, index - max(window, 0))
    return BatchSelection(batch=(files[index],), reference=tuple(files[start:index]))
