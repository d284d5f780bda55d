"""A big dvc.yaml read stage by stage: each distinct stage section is parsed (and built) once.

An 8,000-line dvc.yaml changes in a stage or two between versions; parsing the whole file for
every version dominated. :func:`load_split` splits a file without templating (no ``${``, ``vars``,
``foreach``, ``matrix``) into the part outside ``stages:`` and one text per stage, parses each
through the same YAML loader and returns the mapping the whole file gives. Anything unusual
(document markers, flow style, a ``*`` anywhere (aliases), a file over half the node budget, a
syntax error) returns None and the caller parses the whole file as before, with its messages.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from mlpages.safe_yaml import load_yaml_sized

_TOP_LEVEL_LINE = re.compile(rb"\n[^ \n#]")
_ODD_SECTION = re.compile(rb"\n( [^ \n]|  [-{\[&*?!|>'\"])")
_SECTION_START = re.compile(rb"\n  [^ \n#-]")
_MARKERS = re.compile(rb"^(---|\.\.\.|%)", re.MULTILINE)
_TEMPLATING = (b"${", b"$\\", b"vars", b"foreach", b"matrix")
# An escaped "$" could make "${" after parsing: with none of these, no string holds "${".
_ESCAPED_DOLLAR = re.compile(rb"\\(x24|u0024|U00000024)", re.IGNORECASE)

SectionCache = dict[Any, Any]


def _split(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(the file without the stage bodies, [one text per stage]) or None."""
    if b"\t" in data or b"\r" in data or _MARKERS.search(data):
        return None
    if any(word in data for word in _TEMPLATING) or _ESCAPED_DOLLAR.search(data):
        return None
    data = b"\n" + data
    at = data.find(b"\nstages:\n")
    if at < 0 or data.find(b"\nstages:", at + 1) >= 0:
        return None
    start = at + 8  # the "\n" ending "stages:"
    top = _TOP_LEVEL_LINE.search(data, start)
    end = top.start() if top else len(data)
    body = data[start:end]
    if _ODD_SECTION.search(body):
        return None
    starts = [m.start() + 1 for m in _SECTION_START.finditer(body)]
    if not starts or body[: starts[0]].strip():
        return None
    starts.append(len(body))
    rest = data[1:start] + b"\n" + data[end + 1 :] if top else data[1:start] + b"\n"
    return rest, [body[a:b] for a, b in itertools.pairwise(starts)]


def _section(part: bytes, max_nodes: int, cache: SectionCache) -> tuple[Any, Any, int] | None:
    found = cache.get(part)
    if found is None:
        try:
            raw, size = load_yaml_sized(part, max_nodes)
        except Exception:  # syntax, an alias defined elsewhere, the budget: parse the file
            return None
        if not isinstance(raw, dict) or len(raw) != 1:
            return None
        name, spec = next(iter(raw.items()))
        found = cache[part] = (name, spec, size)
    return found


def load_split(data: bytes, max_nodes: int, cache: SectionCache) -> dict[str, Any] | None:
    """The mapping of a dvc.yaml, from cached stage sections; None: parse the whole file.

    A mapping returned holds no ``${`` anywhere (no templating to look for).
    """
    if b"*" in data or 2 * len(data) > max_nodes or data.startswith(b"\xef\xbb\xbf"):
        return None  # aliases or a budget the text may exceed: only the whole file can tell
    split = _split(data)
    if split is None:
        return None
    rest, parts = split
    try:
        raw, spent = load_yaml_sized(rest, max_nodes)
    except Exception:
        return None
    if not isinstance(raw, dict) or "stages" not in raw or raw["stages"] is not None:
        return None
    stages: dict[Any, Any] = {}
    for part in parts:
        found = _section(part, max_nodes, cache)
        if found is None:
            return None
        name, spec, size = found
        spent += size
        if spent > max_nodes:
            return None
        stages[name] = spec  # as YAML: a repeated name keeps its place, the last value wins
    raw["stages"] = stages
    return raw
