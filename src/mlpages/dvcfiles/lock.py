"""dvc.lock (DVC 1.x, 2.x and 3.x): parse each stage section once, merge entries into stages.

Big lock files (150+ stages, over 1 MB) change in a few stages per commit. They are split into
per-stage sections; each distinct section is parsed once per collect (a fast line parser for the
layout DVC writes, falling back to YAML for anything else). Pure functions; nothing raises.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from mlpages.dvcfiles.lock_fast import parse_lock_section_fast
from mlpages.dvcfiles.lockentry import LockEntry, LockFile, parse_lock_entry
from mlpages.dvcfiles.structured import is_binary, load_yaml_text
from mlpages.models import Problem
from mlpages.safe_yaml import MAX_STAGES, MAX_YAML_NODES, TooLargeError, load_yaml_sized

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


SectionCache = dict[bytes, Any]


def yaml_section(
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
                parsed = (*fast, 0) if fast is not None else yaml_section(part, max_nodes - spent)
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
    raw, problems = load_yaml_text(data, path, max_nodes, binary="dvc.lock is not UTF-8 text")
    if problems:
        return LockFile(problems=problems)
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
