"""dvc.lock (DVC 1.x, 2.x and 3.x): parse each stage section once, merge entries into stages.

Big lock files (150+ stages, over 1 MB) change in a few stages per commit. They are split into
per-stage sections; each distinct section is parsed once per collect (a fast line parser for the
layout DVC writes, falling back to YAML for anything else). Pure functions; nothing raises.
"""

from __future__ import annotations

import functools
import itertools
import json
import posixpath
import re
from dataclasses import dataclass, field, replace
from typing import Any

from mlpages.dvcfiles.data import _one_line, decode_text, flatten, is_binary
from mlpages.models import HashInfo, Problem, Stage, Value
from mlpages.safe_yaml import (
    MAX_STAGES,
    MAX_YAML_NODES,
    TooLargeError,
    load_yaml,
    load_yaml_sized,
)

HASH_KEYS = ("md5", "etag", "checksum", "version_id")


_SIMPLE_PATH = re.compile(r"[^/.][^/]*(/[^/.][^/]*)*\Z")


def join(base: str, *parts: str) -> str:
    """Join POSIX paths relative to the repository root and normalise (``.`` for the root)."""
    if len(parts) == 1 and (base == "." or not base) and _SIMPLE_PATH.match(parts[0]):
        return parts[0]  # the common case, without normpath
    path = posixpath.normpath(posixpath.join(base or ".", *[p for p in parts if p]))
    return "." if path in ("", ".") else path.removeprefix("./")


def dirname(path: str) -> str:
    """Folder of a repo-relative file (``.`` for the root)."""
    return posixpath.dirname(path) or "."


# --- dvc.lock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockEntry:
    """One stage of a dvc.lock, paths still relative to the stage's wdir."""

    cmd: str
    deps: tuple[HashInfo, ...] = ()
    outs: tuple[HashInfo, ...] = ()
    params: tuple[tuple[str, str, Value], ...] = ()  # (file, key, value)


@dataclass(frozen=True)
class LockFile:
    stages: dict[str, LockEntry] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    schema: str | None = None


def _cmd_text(cmd: Any) -> str:
    if isinstance(cmd, list):
        return " && ".join(str(c) for c in cmd)
    return "" if cmd is None else str(cmd)


def parse_hash_entry(raw: Any, base: str = ".") -> HashInfo | None:
    """A deps/outs item of dvc.lock or a .dvc file; ``base`` is joined to its path."""
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str | int | float):
        return None
    md5 = raw.get("md5")
    other = next((str(raw[k]) for k in HASH_KEYS[1:] if raw.get(k) is not None), None)
    size, nfiles = raw.get("size"), raw.get("nfiles")
    hash_name = raw.get("hash")
    return HashInfo(
        path=join(base, str(raw["path"])),
        md5=str(md5) if md5 is not None else None,
        hash_name=str(hash_name) if isinstance(hash_name, str) else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        nfiles=nfiles if isinstance(nfiles, int) and not isinstance(nfiles, bool) else None,
        other=other,
    )


def _hash_list(raw: Any) -> tuple[HashInfo, ...]:
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
        cmd=_cmd_text(raw.get("cmd")),
        deps=_hash_list(raw.get("deps")),
        outs=_hash_list(raw.get("outs")),
        params=tuple(params),
    )


_TOP_LEVEL_LINE = re.compile(rb"\n[^ \n#]")
_ODD_SECTION = re.compile(rb"\n  [{\[&*?!|>]")
_SECTION_START = re.compile(rb"\n  [^ \n#-]")


def split_lock_sections(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """Split a block-style dvc.lock into (header, [one YAML text per stage]).

    Returns None when the layout is not the one DVC writes; callers then parse the whole file.
    Identical sections across versions of a big lock file are then parsed only once.
    """
    if b"\t" in data or b"\r" in data:
        return None
    data = b"\n" + data
    at = data.find(b"\nstages:\n")
    if at < 0:
        return None
    header, body = data[1:at], data[at + 8 :]  # body starts with the "\n" ending "stages:"
    if not (header.startswith(b"schema:") or b"\nschema:" in header):
        return None
    if _TOP_LEVEL_LINE.search(body) or _ODD_SECTION.search(body):
        return None
    starts = [m.start() + 1 for m in _SECTION_START.finditer(body)]
    if not starts:
        return (header, []) if not body.strip() else None
    if body[: starts[0]].strip():
        return None
    starts.append(len(body))
    return header, [body[a:b] for a, b in itertools.pairwise(starts)]


# --- the fast section parser -------------------------------------------------------------------

_FALLBACK = object()
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?\Z")
_INT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+\Z")
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@=+,()-]*( [A-Za-z0-9_./@=+,()-]+)*\Z")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./@=+-]*\Z")
_YAML_WORDS = frozenset(("yes", "no", "true", "false", "on", "off", "null"))


def _scalar(raw: str) -> Any:
    """A YAML plain/single-quoted scalar as PyYAML's safe loader reads it, or _FALLBACK."""
    if _MD5.match(raw):
        return raw
    if _INT.match(raw) and len(raw) <= 4300:  # longer: int() refuses it (CVE-2020-10735)
        return int(raw)
    if _FLOAT.match(raw):
        return float(raw)
    if _PLAIN.match(raw) and raw.lower() not in _YAML_WORDS:
        return raw
    if len(raw) >= 2 and raw[0] == raw[-1] == "'" and "'" not in raw[1:-1]:
        return raw[1:-1]
    try:
        value = load_yaml(raw)
    except Exception:
        return _FALLBACK
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return _FALLBACK


@functools.lru_cache(maxsize=65536)
def _key_value(body: str) -> tuple[str, Any] | None:
    """``key: value`` (value _FALLBACK when unsure) or ``key:`` (value None -> nested block)."""
    if body.endswith(":"):
        key, value = body[:-1], None
    else:
        key, sep, raw = body.partition(": ")
        if not sep or " #" in raw:
            return None
        value = _scalar(raw.strip())
    if not _PLAIN_KEY.match(key):
        return None
    return key, value


def parse_lock_section_fast(part: bytes) -> tuple[str, LockEntry] | None:
    """Parse one stage section in the exact layout DVC writes; None means "use YAML"."""
    try:
        text = part.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    first = lines[0]
    if not (first.startswith("  ") and first.endswith(":")):
        return None
    name = first[2:-1]
    if not _PLAIN_KEY.match(name):
        return None
    cmd: Any = None
    cmd_list: list[Any] | None = None
    items: dict[str, list[dict[str, Any]]] = {"deps": [], "outs": []}
    params: list[tuple[str, str, Value]] = []
    section: str | None = None
    current: dict[str, Any] | None = None
    param_file: str | None = None
    pending: tuple[str, str, list[Any]] | None = None  # a params value that is a list

    def finish_pending() -> None:
        nonlocal pending
        if pending is not None:
            file, key, values = pending
            text = json.dumps(values, separators=(", ", ": ")) if values else None
            params.append((file, key, text))
            pending = None

    for line in lines[1:]:
        body = line.lstrip(" ")
        if not body:
            continue
        indent = len(line) - len(body)
        if indent == 8 and body.startswith("- ") and pending is not None:
            value = _scalar(body[2:].strip())
            if value is _FALLBACK:
                return None
            pending[2].append(value)
            continue
        finish_pending()
        if indent == 4 and body.startswith("- "):
            if section in items:
                current = {}
                items[section].append(current)
                kv = _key_value(body[2:])
                if kv is None or kv[1] is None or kv[1] is _FALLBACK:
                    return None
                current[kv[0]] = kv[1]
            elif section == "cmd" and cmd_list is not None:
                value = _scalar(body[2:].strip())
                if value is _FALLBACK:
                    return None
                cmd_list.append(value)
            else:
                return None
            continue
        kv = _key_value(body)
        if kv is None or kv[1] is _FALLBACK:
            return None
        key, value = kv
        if indent == 4:
            current, param_file = None, None
            if key == "cmd":
                if value is None:
                    section, cmd_list = "cmd", []
                else:
                    section, cmd = None, value
            elif key in ("deps", "outs", "params"):
                if value is not None:
                    return None
                section = key
            elif value is None:
                return None  # an unknown nested block
            else:
                section = None
        elif indent == 6 and section in items and current is not None:
            if value is None:
                return None
            current[key] = value
        elif indent == 6 and section == "params" and value is None:
            param_file = key
        elif indent == 8 and section == "params" and param_file is not None:
            if value is None:
                pending = (param_file, key, [])
            else:
                params.append((param_file, key, value))
        else:
            return None
    finish_pending()
    if cmd_list is not None:
        cmd = cmd_list
    return name, LockEntry(
        cmd=_cmd_text(cmd),
        deps=_hash_list(items["deps"]),
        outs=_hash_list(items["outs"]),
        params=tuple(params),
    )


SectionCache = dict[bytes, Any]


def _yaml_section(
    part: bytes, max_nodes: int = MAX_YAML_NODES
) -> tuple[str, LockEntry | None, int] | None:
    """(stage name, entry, expanded size) of one section through YAML; None: not one stage."""
    try:
        raw, size = load_yaml_sized(part, max_nodes)
    except TooLargeError:
        raise
    except Exception:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        return None
    name, value = next(iter(raw.items()))
    return str(name), parse_lock_entry(value), size


def _too_large(path: str, detail: str) -> LockFile:
    return LockFile(problems=(Problem("too-large", path, detail),))


def _parse_sections(
    parts: list[bytes], path: str, sections: SectionCache | None, max_nodes: int, max_stages: int
) -> LockFile | dict[str, LockEntry] | None:
    """The stages of split sections (None: a section is not one stage, parse the whole file).

    Sections are parsed apart, so their aliases share one budget: what each one's aliases
    expand to is summed (the fast parser's sections have none).
    """
    stages: dict[str, LockEntry] = {}
    spent = 0
    over_nodes = f"over max_yaml_nodes={max_nodes:,} once aliases are expanded"
    for part in parts:
        parsed = sections.get(part) if sections is not None else None
        if parsed is None:
            fast = parse_lock_section_fast(part)
            try:
                parsed = (*fast, 0) if fast is not None else _yaml_section(part, max_nodes - spent)
            except TooLargeError:
                return _too_large(path, over_nodes)
            if parsed is None:
                return None
            if sections is not None:
                sections[part] = parsed
        name, entry, size = parsed
        spent += size
        if spent > max_nodes:
            return _too_large(path, over_nodes)
        if entry is not None:
            stages[name] = entry
        if len(stages) > max_stages:
            return _too_large(path, f"more than max_stages={max_stages:,} stages")
    return stages


def parse_dvc_lock(
    data: bytes,
    path: str,
    sections: SectionCache | None = None,
    *,
    max_nodes: int = MAX_YAML_NODES,
    max_stages: int = MAX_STAGES,
) -> LockFile:
    """Parse a dvc.lock. ``sections`` caches parsed stage sections across versions of the file."""
    if is_binary(data):
        return LockFile(problems=(Problem("binary", path, "dvc.lock is not text"),))
    split = split_lock_sections(data)
    if split is not None:
        header_text, parts = split
        found = _parse_sections(parts, path, sections, max_nodes, max_stages)
        if isinstance(found, LockFile):
            return found
        if found is not None:
            schema = None
            for line in header_text.split(b"\n"):
                if line.startswith(b"schema:"):
                    schema = line[7:].decode("utf-8", "replace").strip().strip("'\"")
            return LockFile(stages=found, schema=schema)
    text = decode_text(data)
    if text is None:
        return LockFile(problems=(Problem("binary", path, "dvc.lock is not UTF-8 text"),))
    try:
        raw = load_yaml(text, max_nodes)
    except TooLargeError as exc:
        return _too_large(path, str(exc))
    except Exception as exc:
        return LockFile(problems=(Problem("yaml-error", path, _one_line(exc)),))
    if raw is None:
        return LockFile()
    if not isinstance(raw, dict):
        return LockFile(problems=(Problem("bad-type", path, "dvc.lock is not a mapping"),))
    if "schema" in raw or isinstance(raw.get("stages"), dict):
        body = raw.get("stages") if isinstance(raw.get("stages"), dict) else {}
        schema = str(raw.get("schema")) if raw.get("schema") is not None else None
    else:  # DVC 1.x: stage names at the top level
        body, schema = raw, None
    if len(body) > max_stages:
        return _too_large(path, f"more than max_stages={max_stages:,} stages")
    stages = {}
    for name, value in body.items():
        entry = parse_lock_entry(value)
        if entry is not None:
            stages[str(name)] = entry
    return LockFile(stages=stages, schema=schema)


# --- .dvc files and artifacts.yaml -------------------------------------------------------------


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
