"""The fast parser of one dvc.lock stage section in the exact layout DVC writes.

A line parser, an order of magnitude faster than YAML on the big lock files of long histories;
anything it is not sure about returns None and the section is parsed as YAML instead
(:mod:`mlpages.dvcfiles.lock`). It must read every section it accepts exactly as YAML would.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlpages.dvcfiles.lockentry import LockEntry, cmd_text, hash_list
from mlpages.models import Value
from mlpages.safe_yaml import load_yaml

_FALLBACK = object()
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?\Z")
_INT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+\Z")
# Plain text YAML reads as a string; a leading dot is fine unless a float follows (.5, .inf).
_PLAIN = re.compile(
    r"([A-Za-z_/]|\.(?![0-9_]|inf\Z|nan\Z|Inf\Z|NaN\Z|INF\Z|NAN\Z))"
    r"[A-Za-z0-9_./@=+,()-]*( [A-Za-z0-9_./@=+,()-]+)*\Z"
)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./@=+-]*\Z")
_YAML_WORDS = frozenset(("yes", "no", "true", "false", "on", "off", "null"))


def _folded(raw: str) -> Any:
    """A scalar DVC's dumper folded over several lines (``raw`` holds the line breaks)."""
    if raw[0] in "'\"":  # quoted: YAML folds it (escapes, doubled quotes); one small call
        try:
            value = load_yaml(raw)
        except Exception:
            return _FALLBACK
        return value if isinstance(value, str) else _FALLBACK
    pieces = [piece.strip() for piece in raw.split("\n")]
    if any(not piece or piece[0] == "#" for piece in pieces[1:]):
        return _FALLBACK
    joined = " ".join(pieces)  # a plain scalar folds each line break into one space
    if ": " in joined or " #" in joined or joined.endswith(":"):
        return _FALLBACK
    value = _scalar(joined)
    return value if isinstance(value, str) else _FALLBACK


def _scalar(raw: str) -> Any:
    """A YAML plain/single-quoted scalar as PyYAML's safe loader reads it, or _FALLBACK."""
    if "\n" in raw:
        return _folded(raw)
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


@dataclass
class _Section:
    """What the fast parser has read of one stage section so far."""

    cmd: Any = None
    cmd_list: list[Any] | None = None  # a cmd given as a list
    items: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"deps": [], "outs": []})
    params: list[tuple[str, str, Value]] = field(default_factory=list)
    key: str | None = None  # the stage key being read: cmd, deps, outs, params
    current: dict[str, Any] | None = None  # the deps/outs item being read
    param_file: str | None = None
    pending: tuple[str, str, list[Any]] | None = None  # a params value that is a list

    def finish_pending(self) -> None:
        """Store the list-valued param being read (as compact JSON, as flatten keeps lists)."""
        if self.pending is not None:
            file, key, values = self.pending
            text = json.dumps(values, separators=(", ", ": ")) if values else None
            self.params.append((file, key, text))
            self.pending = None

    def entry(self) -> LockEntry:
        """The lock entry read."""
        return LockEntry(
            cmd=cmd_text(self.cmd_list if self.cmd_list is not None else self.cmd),
            deps=hash_list(self.items["deps"]),
            outs=hash_list(self.items["outs"]),
            params=tuple(self.params),
        )


def _list_item(state: _Section, item: str) -> bool:
    """A ``- `` line at indent 4: the first key of a deps/outs item, or one command of cmd."""
    if state.key in state.items:
        kv = _key_value(item)
        if kv is None or kv[1] is None or kv[1] is _FALLBACK:
            return False
        state.current = {kv[0]: kv[1]}
        state.items[state.key].append(state.current)
        return True
    if state.key == "cmd" and state.cmd_list is not None:
        value = _scalar(item.strip())
        state.cmd_list.append(value)
        return value is not _FALLBACK
    return False


def _stage_key(state: _Section, key: str, value: Any) -> bool:
    """A ``key:`` line at indent 4: cmd, deps, outs, params or a scalar field DVC may add."""
    state.current, state.param_file = None, None
    if key == "cmd":
        if value is None:
            state.key, state.cmd_list = "cmd", []
        else:
            state.key, state.cmd = None, value
    elif key in ("deps", "outs", "params"):
        if value is not None:
            return False
        state.key = key
    elif value is None:
        return False  # an unknown nested block
    else:
        state.key = None
    return True


def _key_line(state: _Section, key: str, value: Any, indent: int) -> bool:
    """A ``key: value`` (or ``key:``) line; False when the layout is not DVC's."""
    if indent == 4:
        return _stage_key(state, key, value)
    if indent == 6 and state.key in state.items and state.current is not None:
        state.current[key] = value
        return value is not None
    if indent == 6 and state.key == "params" and value is None:
        state.param_file = key
        return True
    if indent == 8 and state.key == "params" and state.param_file is not None:
        if value is None:
            state.pending = (state.param_file, key, [])
        else:
            state.params.append((state.param_file, key, value))
        return True
    return False


def _read_line(state: _Section, line: str) -> bool:
    """Take one line of a section into ``state``; False means "use YAML"."""
    body = line.lstrip(" ")
    if not body:
        return True
    indent = len(line) - len(body)
    if indent == 8 and body.startswith("- ") and state.pending is not None:
        value = _scalar(body[2:].strip())
        state.pending[2].append(value)
        return value is not _FALLBACK
    state.finish_pending()
    if indent == 4 and body.startswith("- "):
        return _list_item(state, body[2:])
    kv = _key_value(body)
    if kv is None or kv[1] is _FALLBACK:
        return False
    return _key_line(state, kv[0], kv[1], indent)


def _scalar_column(body: str, indent: int) -> int | None:
    """The column a continuation of this line's scalar must be indented past (None: no scalar)."""
    if body.startswith("- "):
        item = body[2:]
        if ": " in item:
            return indent + 2 if not item.endswith(":") else None
        return indent if item.strip() else None
    if body.endswith(":") or ": " not in body:
        return None
    return indent


def _logical_lines(lines: list[str]) -> list[str] | None:
    """Lines with the continuation lines of folded scalars joined to theirs (by "\\n").

    None when a blank line is followed by more text (a scalar with a line break): use YAML.
    """
    out: list[str] = []
    column: int | None = None
    blank = False
    for line in lines:
        body = line.lstrip(" ")
        if not body:
            blank = True
            continue
        if blank:
            return None
        indent = len(line) - len(body)
        if column is not None and indent > column:
            out[-1] += "\n" + line
            continue
        out.append(line)
        column = _scalar_column(body, indent)
    return out


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
    logical = _logical_lines(lines[1:])
    if logical is None:
        return None
    state = _Section()
    for line in logical:
        if not _read_line(state, line):
            return None
    state.finish_pending()
    return name, state.entry()
