"""Fast JSON conversions of snapshots.

* :func:`snapshot_to_json` / :func:`snapshot_from_json`: the documented JSON form, that of
  ``dataclasses.asdict`` with NaN/Inf tagged as ``{"$float": "nan"}``, built field by field
  (``asdict``, a deep copy, dominated the cost of ``mlpages history --json`` on big histories).
* :func:`snapshot_doc` / :func:`snapshot_from_doc`: the same JSON with stages replaced by ids, as
  stored in the snapshot cache and streamed as-is by ``mlpages history --json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from typing import Any

try:  # installed with dvc-data; the standard library's json when it is not there
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

from mlpages.dvcfiles.lockentry import intern_hash
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
    decode_value,
    encode_value,
)

# --- the documented JSON form -------------------------------------------------------------------


def _enc(value: Any) -> Any:
    if value.__class__ is float and not math.isfinite(value):
        return encode_value(value)
    return value


def _enc_deep(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _enc_deep(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_enc_deep(v) for v in obj]
    return _enc(obj)


def _hash_json(h: HashInfo) -> dict[str, Any]:
    return {
        "path": h.path,
        "md5": h.md5,
        "hash_name": h.hash_name,
        "size": h.size,
        "nfiles": h.nfiles,
        "other": h.other,
    }


def stage_to_json(s: Stage) -> dict[str, Any]:
    """``asdict(stage)`` with tagged floats."""
    return {
        "name": s.name,
        "dvcfile": s.dvcfile,
        "wdir": s.wdir,
        "cmd": s.cmd,
        "deps": list(s.deps),
        "outs": [
            {"path": o.path, "section": o.section, "cache": o.cache, "persist": o.persist}
            for o in s.outs
        ],
        "params": list(s.params),
        "frozen": s.frozen,
        "always_changed": s.always_changed,
        "desc": s.desc,
        "locked": s.locked,
        "lock_cmd": s.lock_cmd,
        "lock_deps": [_hash_json(h) for h in s.lock_deps],
        "lock_outs": [_hash_json(h) for h in s.lock_outs],
        "lock_params": [[k, _enc(v)] for k, v in s.lock_params],
    }


def _plot_def_json(p: PlotDef) -> dict[str, Any]:
    return {
        "id": p.id,
        "files": list(p.files),
        "template": p.template,
        "x": p.x,
        "y": [list(pair) for pair in p.y],
        "x_label": p.x_label,
        "y_label": p.y_label,
        "title": p.title,
        "header": p.header,
        "x_files": [list(pair) for pair in p.x_files],
    }


def _same(value: Any) -> Any:
    return value


def _plot_data_json(d: PlotData, tag_floats: bool = True) -> dict[str, Any]:
    return {
        "path": d.path,
        "kind": d.kind,
        "columns": list(d.columns),
        "rows": [[_enc(c) for c in row] for row in d.rows] if tag_floats else d.rows,
        "image_sha": d.image_sha,
        "image_ext": d.image_ext,
        "source": d.source,
        "truncated": d.truncated,
    }


def snapshot_to_json(
    s: Snapshot, stages: list[Any] | None = None, *, tag_floats: bool = True
) -> dict[str, Any]:
    """The documented JSON form of ``s``; ``stages`` replaces the stage list when given.

    ``tag_floats=False`` skips tagging NaN/Inf in params, metrics and plot rows (the caller checks
    the serialised text for them instead, which is much cheaper for big plot tables).
    """
    enc = _enc if tag_floats else _same
    return {
        "sha": s.sha,
        "has_dvc": s.has_dvc,
        "stages": [stage_to_json(st) for st in s.stages] if stages is None else stages,
        "params": {f: {k: enc(v) for k, v in vals.items()} for f, vals in s.params.items()},
        "metrics": {f: {k: enc(v) for k, v in vals.items()} for f, vals in s.metrics.items()},
        "plots": [_plot_def_json(p) for p in s.plots],
        "plot_data": {k: _plot_data_json(v, tag_floats) for k, v in s.plot_data.items()},
        "artifacts": [
            {
                "name": a.name,
                "path": a.path,
                "type": a.type,
                "desc": a.desc,
                "labels": list(a.labels),
            }
            for a in s.artifacts
        ],
        "tracked": [_hash_json(h) for h in s.tracked],
        "reports": _enc_deep(s.reports),
        "problems": [{"kind": p.kind, "path": p.path, "message": p.message} for p in s.problems],
        "schema_version": s.schema_version,
    }


def _dec(value: Any) -> Any:
    return decode_value(value) if isinstance(value, dict) else value


def _dec_deep(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1 and "$float" in obj:
            return decode_value(obj)
        return {k: _dec_deep(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_dec_deep(v) for v in obj]
    return obj


def stage_from_json(raw: dict[str, Any]) -> Stage:
    """Inverse of :func:`stage_to_json`."""
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
        lock_deps=tuple(intern_hash(HashInfo(**h)) for h in raw.get("lock_deps", ())),
        lock_outs=tuple(intern_hash(HashInfo(**h)) for h in raw.get("lock_outs", ())),
        lock_params=tuple((k, _dec(v)) for k, v in raw.get("lock_params", ())),
    )


def snapshot_from_json(raw: dict[str, Any]) -> Snapshot:
    """Inverse of :func:`snapshot_to_json`."""
    decoded = _dec_deep(raw)
    stages = tuple(stage_from_json(st) for st in decoded.get("stages", ()))
    return _build(decoded, stages)


def _float_tag_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$float" in obj:
        return decode_value(obj)
    return obj


def _build(raw: dict[str, Any], stages: tuple[Stage, ...]) -> Snapshot:
    """A snapshot from its JSON with tagged floats already decoded."""
    return Snapshot(
        sha=raw["sha"],
        has_dvc=raw["has_dvc"],
        stages=stages,
        params=raw.get("params", {}),
        metrics=raw.get("metrics", {}),
        plots=tuple(
            PlotDef(
                **{
                    **p,
                    "files": tuple(p["files"]),
                    "y": tuple(map(tuple, p["y"])),
                    "x_files": tuple(map(tuple, p.get("x_files", ()))),
                }
            )
            for p in raw.get("plots", ())
        ),
        plot_data={
            k: PlotData(
                **{**v, "columns": tuple(v["columns"]), "rows": tuple(map(tuple, v["rows"]))}
            )
            for k, v in raw.get("plot_data", {}).items()
        },
        artifacts=tuple(
            Artifact(**{**a, "labels": tuple(a["labels"])}) for a in raw.get("artifacts", ())
        ),
        tracked=tuple(HashInfo(**h) for h in raw.get("tracked", ())),
        reports=raw.get("reports", {}),
        problems=tuple(Problem(**p) for p in raw.get("problems", ())),
        schema_version=raw.get("schema_version", SNAPSHOT_SCHEMA_VERSION),
    )


# --- the cached form: the documented JSON with stages by id ------------------------------------


def _dumps_tagged(raw: Any) -> bytes:
    """Compact JSON of a document whose non-finite floats are tagged already.

    orjson when it can (it would write NaN as null: callers tag them first); json for what
    orjson refuses (integers over 64 bits).
    """
    if orjson is not None:
        try:
            return orjson.dumps(raw)
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(raw, separators=(",", ":"), allow_nan=False).encode()


# orjson reads an integer over 64 bits as a float: such documents go to json.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _loads(data: bytes) -> Any:
    """JSON with tagged floats decoded (orjson when there is no tag to decode)."""
    if orjson is not None and b'"$float"' not in data and not _LONG_NUMBER.search(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:  # e.g. integers over 64 bits, lone surrogates
            pass
    return json.loads(data, object_hook=_float_tag_hook)


def stage_doc(stage: Stage) -> tuple[str, bytes]:
    """(id, JSON bytes) of a stage; the id is derived from the content.

    ``stage_to_json`` tags every non-finite float (they can only be in ``lock_params``).
    """
    body = _dumps_tagged(stage_to_json(stage))
    return hashlib.sha1(body).hexdigest()[:20], body


def snapshot_doc(snapshot: Snapshot, stage_ids: list[str]) -> bytes:
    """The documented JSON of a snapshot, its ``stages`` replaced by stage ids."""
    if orjson is not None and _all_finite(snapshot):  # nothing to tag: orjson as it is
        try:
            return orjson.dumps(snapshot_to_json(snapshot, stages=stage_ids, tag_floats=False))
        except (TypeError, orjson.JSONEncodeError):  # e.g. an integer over 64 bits
            pass
    quick = json.dumps(
        snapshot_to_json(snapshot, stages=stage_ids, tag_floats=False), separators=(",", ":")
    )
    if "NaN" not in quick and "Infinity" not in quick:
        return quick.encode()  # no non-finite number anywhere: nothing to tag
    raw = snapshot_to_json(snapshot, stages=stage_ids)
    return json.dumps(raw, separators=(",", ":"), allow_nan=False).encode()


def _finite(value: Any) -> bool:
    return value.__class__ is not float or math.isfinite(value)


def _all_finite(s: Snapshot) -> bool:
    """No NaN/Inf in the values ``tag_floats=False`` leaves untagged (orjson writes them null)."""
    for group in (s.params, s.metrics):
        for values in group.values():
            if not all(map(_finite, values.values())):
                return False
    return all(_rows_finite(data.rows) for data in s.plot_data.values())


def _rows_finite(rows: Any) -> bool:
    """No NaN/Inf in a table: one C-level fsum when the cells are all numbers."""
    try:
        return math.isfinite(math.fsum(itertools.chain.from_iterable(rows)))
    except TypeError:  # text or empty cells: look at each
        return all(all(map(_finite, row)) for row in rows)
    except (ValueError, OverflowError):  # inf - inf, or a sum past the float range
        return False


def snapshot_from_doc(data: bytes, stages: dict[str, Stage]) -> Snapshot:
    """Inverse of :func:`snapshot_doc`; raises KeyError for an unknown stage id."""
    raw = _loads(data)
    tuple_of = getattr(stages, "tuple_of", None)  # a memo of whole stage lists, when offered
    found = tuple_of(raw["stages"]) if tuple_of else tuple(stages[i] for i in raw["stages"])
    return _build(raw, found)


def stage_from_doc(data: bytes) -> Stage:
    """Inverse of :func:`stage_doc`."""
    return stage_from_json(_loads(data))
