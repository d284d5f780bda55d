"""The model of a dvc.lock entry, and how an entry joins its declared stage (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mlpages.dvcfiles.paths import dirname, join
from mlpages.dvcfiles.structured import flatten
from mlpages.models import HashInfo, Problem, Stage, Value

HASH_KEYS = ("md5", "etag", "checksum", "version_id")


@dataclass(frozen=True)
class LockEntry:
    """One stage of a dvc.lock, paths still relative to the stage's wdir."""

    cmd: str
    deps: tuple[HashInfo, ...] = ()
    outs: tuple[HashInfo, ...] = ()
    params: tuple[tuple[str, str, Value], ...] = ()  # (file, key, value)


@dataclass(frozen=True)
class LockFile:
    """A parsed dvc.lock: entries by stage name, the problems met and the schema it declares."""

    stages: dict[str, LockEntry] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    schema: str | None = None


def cmd_text(cmd: Any) -> str:
    """A stage's ``cmd`` (a string or a list of commands) as one line of text."""
    if isinstance(cmd, list):
        return " && ".join(str(c) for c in cmd)
    return "" if cmd is None else str(cmd)


_HASHES: dict[HashInfo, HashInfo] = {}
_HASHES_LIMIT = 500_000


def intern_hash(info: HashInfo) -> HashInfo:
    """One shared object per distinct value (a long history repeats each entry many times)."""
    found = _HASHES.get(info)
    if found is None:
        if len(_HASHES) >= _HASHES_LIMIT:
            _HASHES.clear()
        _HASHES[info] = found = info
    return found


def parse_hash_entry(raw: Any, base: str = ".") -> HashInfo | None:
    """A deps/outs item of dvc.lock or a .dvc file; ``base`` is joined to its path."""
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str | int | float):
        return None
    md5 = raw.get("md5")
    other = next((str(raw[k]) for k in HASH_KEYS[1:] if raw.get(k) is not None), None)
    size, nfiles = raw.get("size"), raw.get("nfiles")
    hash_name = raw.get("hash")
    return intern_hash(
        HashInfo(
            path=join(base, str(raw["path"])),
            md5=str(md5) if md5 is not None else None,
            hash_name=str(hash_name) if isinstance(hash_name, str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            nfiles=nfiles if isinstance(nfiles, int) and not isinstance(nfiles, bool) else None,
            other=other,
        )
    )


def hash_list(raw: Any) -> tuple[HashInfo, ...]:
    """The deps/outs list of a lock entry (items that are not one are skipped)."""
    if not isinstance(raw, list):
        return ()
    return tuple(h for h in (parse_hash_entry(item) for item in raw) if h is not None)


def parse_lock_entry(raw: Any) -> LockEntry | None:
    """One stage mapping of a dvc.lock (any schema)."""
    if not isinstance(raw, dict):
        return None
    params: list[tuple[str, str, Value]] = []
    raw_params = raw.get("params")
    if isinstance(raw_params, dict):
        for file, values in raw_params.items():
            if isinstance(values, dict):
                for key, value in flatten(values, keep_lists=True).items():
                    params.append((str(file), key, value))
    return LockEntry(
        cmd=cmd_text(raw.get("cmd")),
        deps=hash_list(raw.get("deps")),
        outs=hash_list(raw.get("outs")),
        params=tuple(params),
    )


def merge_lock(stage: Stage, entry: LockEntry | None) -> Stage:
    """The declared stage with its dvc.lock entry (paths made repo-relative through wdir)."""
    if entry is None:
        return stage
    wdir = stage.wdir

    def rebase(items: tuple[HashInfo, ...]) -> tuple[HashInfo, ...]:
        if wdir == ".":
            return items  # lock paths are already repo-relative
        return tuple(
            HashInfo(join(wdir, h.path), h.md5, h.hash_name, h.size, h.nfiles, h.other)
            for h in items
        )

    # replace() keeps every declared field, including ones added to Stage later.
    return replace(
        stage,
        locked=True,
        lock_cmd=entry.cmd,
        lock_deps=rebase(entry.deps),
        lock_outs=rebase(entry.outs),
        lock_params=tuple((f"{join(wdir, f)}:{k}", v) for f, k, v in entry.params),
    )


def lock_only_stage(name: str, entry: LockEntry, dvcfile: str) -> Stage:
    """A stage known only from dvc.lock (its dvc.yaml is missing or unreadable)."""
    folder = dirname(dvcfile)
    stage = Stage(name=name, dvcfile=dvcfile, wdir=folder, cmd=entry.cmd)
    return merge_lock(stage, entry)
