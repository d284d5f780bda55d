"""The on-disk snapshot cache: one SQLite file, rows keyed by commit sha + settings fingerprint.

Rows hold the documented snapshot JSON (``mlpages history --json``) with stages replaced by ids;
stages are stored once by content (a 150-stage pipeline that changes two stages per commit would
otherwise be written 150 times per commit). Snapshot bodies are zlib-compressed; stage bodies,
small and numerous, are not.
A commit's snapshot never changes, except that an output missing from the DVC cache may appear
later (``dvc pull``): rows remember the objects they missed and are recomputed once one appears.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpages.config import Config
from mlpages.history.codec import snapshot_doc, snapshot_from_doc, stage_doc, stage_from_doc
from mlpages.models import SNAPSHOT_SCHEMA_VERSION, Snapshot, Stage

# Bump when parsing changes what a snapshot contains without a models.py schema change
# (7: md5s checked and objects verified; snapshots of earlier builds may hold leaked bytes;
# 8: work-tree confinement, YAML node and stage budgets; 9: images over max_file_bytes are
# too-large problems; 10: one YAML loader for every file, so a YAML plot file with a bad value
# is a yaml-error, not bad-type, and a too deep .dvc / artifacts.yaml / dvc.lock unsupported;
# 11: stage documents written by orjson, UTF-8 instead of \u escapes, so their ids changed).
PARSER_VERSION = 11
# Bump when the tables change (it names the file, so old files are simply ignored).
CACHE_FORMAT = 4
# A snapshot row or stage body larger than this is not cached (SQLite refuses blobs over 1 GB;
# a real row is tens of kB): that snapshot is computed again next time, nothing fails.
MAX_ROW_BYTES = 64_000_000


class BoundedDict(dict):
    """A dict that forgets its oldest entries past ``limit`` (parse caches of long histories)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.limit:
            del self[next(iter(self))]


def fingerprint(config: Config) -> str:
    """The settings a snapshot depends on, with the schema and parser versions."""
    raw = json.dumps(
        [
            SNAPSHOT_SCHEMA_VERSION,
            PARSER_VERSION,
            config.max_file_bytes,
            config.max_yaml_nodes,
            config.max_stages,
            config.max_plot_rows,
            sorted(config.reports.items()),
        ],
        sort_keys=True,
    )
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


class StageTable:
    """Stages by content id: JSON documents and decoded objects (each decoded once)."""

    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {}
        # Decoded/known objects of recent stages only: a long history has ~10 new stages per
        # commit, and every one can be decoded again from ``docs``.
        self._objects: dict[str, Stage] = BoundedDict(30_000)
        self._ids: dict[int, tuple[Stage, str]] = BoundedDict(30_000)
        self.tuples: dict[tuple[str, ...], tuple[Stage, ...]] = BoundedDict(64)

    def id_of(self, stage: Stage) -> str:
        """The id of a stage object, registering it when new."""
        known = self._ids.get(id(stage))
        if known is not None and known[0] is stage:
            return known[1]
        stage_id, body = stage_doc(stage)
        self.docs.setdefault(stage_id, body)
        self._objects.setdefault(stage_id, stage)
        self._ids[id(stage)] = (stage, stage_id)
        return stage_id

    def get(self, stage_id: str) -> Stage:
        """The stage object of an id (KeyError when unknown)."""
        stage = self._objects.get(stage_id)
        if stage is None:
            stage = stage_from_doc(self.docs[stage_id])
            self._objects[stage_id] = stage
            self._ids[id(stage)] = (stage, stage_id)
        return stage


class _StageView(Mapping[str, Stage]):
    def __init__(self, table: StageTable) -> None:
        self.table = table

    def __getitem__(self, key: str) -> Stage:
        return self.table.get(key)

    def tuple_of(self, ids: list[str]) -> tuple[Stage, ...]:
        """The stages of a snapshot; most commits leave dvc.lock as it was: remembered."""
        key = tuple(ids)
        memo = self.table.tuples
        found = memo.get(key)
        if found is None:
            get = self.table.get
            found = memo[key] = tuple(get(i) for i in key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.docs)

    def __len__(self) -> int:
        return len(self.table.docs)


def decode_doc(zdoc: bytes, stages: StageTable) -> Snapshot:
    """A snapshot from its compressed cached document."""
    return snapshot_from_doc(zlib.decompress(zdoc), _StageView(stages))  # type: ignore[arg-type]


@dataclass(frozen=True)
class CachedRow:
    zdoc: bytes  # zlib-compressed document
    missing: list[tuple[str, bool]]
    stage_ids: tuple[str, ...]


class SnapshotCache:
    """Read and write cached snapshots of one repository."""

    def __init__(
        self,
        folder: Path,
        config: Config,
        stages: StageTable,
        max_row_bytes: int = MAX_ROW_BYTES,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.max_row_bytes = max_row_bytes
        self.path = folder / f"snapshots-v{SNAPSHOT_SCHEMA_VERSION}-f{CACHE_FORMAT}.sqlite"
        self.fp = fingerprint(config)
        self.stages = stages
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:  # damaged file: start again
            self.path.unlink(missing_ok=True)
            self._db = self._open()
        self._stored_stages: set[str] = set()
        self._pending: list[tuple[str, bytes, str, str]] = []
        self.failed = ""  # why writing stopped (a full disk): the build goes on without it

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS snapshots (sha TEXT, fp TEXT, body BLOB, missing TEXT,"
                " stage_ids TEXT, PRIMARY KEY (sha, fp))"
            )
            db.execute("CREATE TABLE IF NOT EXISTS stages (id TEXT PRIMARY KEY, body BLOB)")
            db.execute("SELECT sha, body, missing, stage_ids FROM snapshots LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self.flush()
        try:
            self._db.close()
        except sqlite3.Error as exc:
            self.failed = self.failed or str(exc)

    def load(self, shas: Iterable[str]) -> dict[str, CachedRow]:
        """Cached documents of ``shas`` (those present) with the DVC objects they missed."""
        wanted = set(shas)
        rows = self._db.execute(
            "SELECT sha, body, missing, stage_ids FROM snapshots WHERE fp = ?", (self.fp,)
        ).fetchall()
        if not rows:
            return {}
        for stage_id, body in self._db.execute("SELECT id, body FROM stages"):
            self._stored_stages.add(stage_id)
            if stage_id not in self.stages.docs:
                self.stages.docs[stage_id] = bytes(body)
        out: dict[str, CachedRow] = {}
        for sha, body, missing, stage_ids in rows:
            if sha not in wanted:
                continue
            try:
                missed = [(str(m[0]), bool(m[1])) for m in json.loads(missing or "[]")]
                ids = tuple(str(i) for i in json.loads(stage_ids or "[]"))
            except (zlib.error, ValueError, TypeError, IndexError):
                continue  # a damaged row is recomputed
            if self.stages.docs.keys() >= set(ids):
                out[sha] = CachedRow(body, missed, ids)
        return out

    def store(
        self, snapshot: Snapshot, missing: Iterable[tuple[str, bool]]
    ) -> tuple[bytes, tuple[str, ...]] | None:
        """Queue a snapshot for writing (flushed every 500 rows); return its compressed document.

        None when the row or one of its stages is over ``max_row_bytes``: it is not cached.
        """
        ids = tuple(self.stages.id_of(s) for s in snapshot.stages)
        zdoc = zlib.compress(snapshot_doc(snapshot, list(ids)), 1)
        return (zdoc, ids) if self.store_doc(snapshot.sha, zdoc, ids, missing) else None

    def store_doc(
        self, sha: str, zdoc: bytes, ids: tuple[str, ...], missing: Iterable[tuple[str, bool]]
    ) -> bool:
        """Queue a compressed document whose stages are in ``stages``; False: too big to cache."""
        if len(zdoc) > self.max_row_bytes:
            return False
        if any(len(self.stages.docs[i]) > self.max_row_bytes for i in ids):
            return False
        self._pending.append(
            (
                sha,
                zdoc,
                json.dumps([list(m) for m in missing]),
                json.dumps(list(dict.fromkeys(ids))),
            )
        )
        if len(self._pending) >= 500:
            self.flush()
        return True

    def flush(self) -> None:
        """Write queued rows (and stages not stored yet) in one transaction.

        A write that fails (a full disk, an I/O error) stops the cache, not the build: the
        snapshots are in memory already, and ``failed`` says why none was stored.
        """
        if not self._pending or self.failed:
            self._pending.clear()
            return
        new_stages = [
            (i, body)
            for i, body in self.stages.docs.items()
            if i not in self._stored_stages and len(body) <= self.max_row_bytes
        ]
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR IGNORE INTO stages (id, body) VALUES (?, ?)", new_stages
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO snapshots (sha, fp, body, missing, stage_ids)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(sha, self.fp, b, missing, ids) for sha, b, missing, ids in self._pending],
                )
        except (sqlite3.Error, OSError) as exc:
            self.failed = str(exc)
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
        else:
            self._stored_stages.update(i for i, _ in new_stages)
        self._pending.clear()
