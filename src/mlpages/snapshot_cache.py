"""The on-disk snapshot cache: one SQLite file, rows keyed by commit sha + settings fingerprint.

Stages are stored once by content (a 150-stage pipeline that changes two stages per commit would
otherwise be written 150 times per commit), snapshot bodies are zlib-compressed JSON.
A commit's snapshot never changes, except that an output missing from the DVC cache may appear
later (``dvc pull``): rows remember the objects they missed and are recomputed once one appears.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlpages.config import Config
from mlpages.models import (
    SNAPSHOT_SCHEMA_VERSION,
    Artifact,
    HashInfo,
    OutDecl,
    PlotData,
    PlotDef,
    Problem,
    Snapshot,
    Stage,
    Value,
    decode_value,
)

# Bump when parsing changes what a snapshot contains without a models.py schema change.
PARSER_VERSION = 1


def fingerprint(config: Config) -> str:
    """The settings a snapshot depends on, with the schema and parser versions."""
    raw = json.dumps(
        [
            SNAPSHOT_SCHEMA_VERSION,
            PARSER_VERSION,
            config.max_file_bytes,
            config.max_plot_rows,
            sorted(config.reports.items()),
        ],
        sort_keys=True,
    )
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def _stage_id(raw: dict[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


class SnapshotCache:
    """Read and write cached snapshots of one repository."""

    def __init__(self, folder: Path, config: Config) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"snapshots-v{SNAPSHOT_SCHEMA_VERSION}.sqlite"
        self.fp = fingerprint(config)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS snapshots (sha TEXT, fp TEXT, body BLOB, missing TEXT,"
            " PRIMARY KEY (sha, fp))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS stages (id TEXT PRIMARY KEY, body BLOB)")
        self._stages: dict[str, Stage] = {}
        self._stage_ids: dict[int, tuple[Stage, str]] = {}
        self._pending: list[tuple[str, bytes, str]] = []
        self._pending_stages: dict[str, bytes] = {}

    def close(self) -> None:
        self.flush()
        self._db.close()

    # --- reading -------------------------------------------------------------------------------

    def load(self, shas: Iterable[str]) -> dict[str, tuple[Snapshot, list[tuple[str, bool]]]]:
        """Cached snapshots of ``shas`` (those present) with the objects they missed."""
        wanted = set(shas)
        rows = self._db.execute(
            "SELECT sha, body, missing FROM snapshots WHERE fp = ?", (self.fp,)
        ).fetchall()
        rows = [r for r in rows if r[0] in wanted]
        needed: set[str] = set()
        decoded = []
        for sha, body, missing in rows:
            try:
                raw = json.loads(zlib.decompress(body))
            except (zlib.error, ValueError):
                continue
            needed.update(raw.get("stages", ()))
            decoded.append((sha, raw, missing))
        self._load_stages(needed - set(self._stages))
        out: dict[str, tuple[Snapshot, list[tuple[str, bool]]]] = {}
        for sha, raw, missing in decoded:
            ids = raw.pop("stages", [])
            if any(i not in self._stages for i in ids):
                continue
            snapshot = snapshot_from_json(raw, tuple(self._stages[i] for i in ids))
            out[sha] = (snapshot, [tuple(m) for m in json.loads(missing or "[]")])
        return out

    def _load_stages(self, ids: set[str]) -> None:
        if not ids:
            return
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, body FROM stages WHERE id IN ({marks})"
            for stage_id, body in self._db.execute(query, chunk):
                try:
                    raw = json.loads(zlib.decompress(body))
                except (zlib.error, ValueError):
                    continue
                stage = stage_from_json(raw)
                self._stages[stage_id] = stage
                self._stage_ids[id(stage)] = (stage, stage_id)

    # --- writing -------------------------------------------------------------------------------

    def _stage_key(self, stage: Stage) -> str:
        known = self._stage_ids.get(id(stage))
        if known is not None and known[0] is stage:
            return known[1]
        raw = Snapshot(sha="", has_dvc=True, stages=(stage,)).to_json()["stages"][0]
        stage_id = _stage_id(raw)
        if stage_id not in self._stages:
            self._stages[stage_id] = stage
            self._pending_stages[stage_id] = zlib.compress(
                json.dumps(raw, separators=(",", ":")).encode(), 1
            )
        self._stage_ids[id(stage)] = (stage, stage_id)
        return stage_id

    def store(self, snapshot: Snapshot, missing: Iterable[tuple[str, bool]]) -> None:
        """Queue a snapshot for writing (written by :meth:`flush`)."""
        ids = [self._stage_key(s) for s in snapshot.stages]
        raw = _with_stages(snapshot, ()).to_json()
        raw["stages"] = ids
        body = zlib.compress(json.dumps(raw, separators=(",", ":")).encode(), 1)
        self._pending.append((snapshot.sha, body, json.dumps([list(m) for m in missing])))
        if len(self._pending) >= 500:
            self.flush()

    def flush(self) -> None:
        """Write queued rows in one transaction."""
        if not self._pending and not self._pending_stages:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO stages (id, body) VALUES (?, ?)",
                list(self._pending_stages.items()),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO snapshots (sha, fp, body, missing) VALUES (?, ?, ?, ?)",
                [(sha, self.fp, body, missing) for sha, body, missing in self._pending],
            )
        self._pending.clear()
        self._pending_stages.clear()


def _hash(raw: dict[str, Any]) -> HashInfo:
    return HashInfo(**raw)


def stage_from_json(raw: dict[str, Any]) -> Stage:
    """Inverse of ``Stage`` JSON (``asdict`` + tagged floats)."""
    return Stage(
        name=raw["name"],
        dvcfile=raw["dvcfile"],
        wdir=raw["wdir"],
        cmd=raw["cmd"],
        deps=tuple(raw.get("deps", ())),
        outs=tuple(OutDecl(**o) for o in raw.get("outs", ())),
        params=tuple(raw.get("params", ())),
        frozen=raw.get("frozen", False),
        always_changed=raw.get("always_changed", False),
        desc=raw.get("desc", ""),
        locked=raw.get("locked", False),
        lock_cmd=raw.get("lock_cmd"),
        lock_deps=tuple(_hash(h) for h in raw.get("lock_deps", ())),
        lock_outs=tuple(_hash(h) for h in raw.get("lock_outs", ())),
        lock_params=tuple((k, decode_value(v)) for k, v in raw.get("lock_params", ())),
    )


def _values(raw: dict[str, dict[str, Any]]) -> dict[str, dict[str, Value]]:
    return {
        file: {k: decode_value(v) if isinstance(v, dict) else v for k, v in values.items()}
        for file, values in raw.items()
    }


def _cell(value: Any) -> Value:
    return decode_value(value) if isinstance(value, dict) else value


def _plot_data(raw: dict[str, Any]) -> PlotData:
    return PlotData(
        path=raw["path"],
        kind=raw["kind"],
        columns=tuple(raw.get("columns", ())),
        rows=tuple(tuple(_cell(c) for c in row) for row in raw.get("rows", ())),
        image_sha=raw.get("image_sha"),
        image_ext=raw.get("image_ext"),
        source=raw.get("source", "git"),
        truncated=raw.get("truncated", False),
    )


def _plot_def(raw: dict[str, Any]) -> PlotDef:
    fields = dict(raw)
    fields["files"] = tuple(raw.get("files", ()))
    fields["y"] = tuple(tuple(pair) for pair in raw.get("y", ()))
    return PlotDef(**fields)


def _artifact(raw: dict[str, Any]) -> Artifact:
    return Artifact(**{**raw, "labels": tuple(raw.get("labels", ()))})


def snapshot_from_json(raw: dict[str, Any], stages: tuple[Stage, ...] | None = None) -> Snapshot:
    """Inverse of :meth:`Snapshot.to_json` (``stages`` given separately when deduplicated)."""
    if stages is None:
        stages = tuple(stage_from_json(s) for s in raw.get("stages", ()))
    return Snapshot(
        sha=raw["sha"],
        has_dvc=raw["has_dvc"],
        stages=stages,
        params=_values(raw.get("params", {})),
        metrics=_values(raw.get("metrics", {})),
        plots=tuple(_plot_def(p) for p in raw.get("plots", ())),
        plot_data={k: _plot_data(v) for k, v in raw.get("plot_data", {}).items()},
        artifacts=tuple(_artifact(a) for a in raw.get("artifacts", ())),
        tracked=tuple(_hash(h) for h in raw.get("tracked", ())),
        reports=_decode_reports(raw.get("reports", {})),
        problems=tuple(Problem(**p) for p in raw.get("problems", ())),
        schema_version=raw.get("schema_version", SNAPSHOT_SCHEMA_VERSION),
    )


def _decode_reports(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1 and "$float" in obj:
            return decode_value(obj)
        return {k: _decode_reports(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode_reports(v) for v in obj]
    return obj


def _with_stages(snapshot: Snapshot, stages: tuple[Stage, ...]) -> Snapshot:
    from dataclasses import replace

    return replace(snapshot, stages=stages)
