"""The fast parser of one dvc.lock stage section in the exact layout DVC writes.

A line parser, an order of magnitude faster than YAML on the big lock files of long histories;
anything it is not sure about returns None and the section is parsed as YAML instead
(:mod:`mlpages.dvcfiles.lock`). It must read every section it accepts exactly as YAML would.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from mlpages.dvcfiles.lockentry import LockEntry, cmd_text, hash_list
from mlpages.models import Value
from mlpages.safe_yaml import load_yaml

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
        cmd=cmd_text(cmd),
        deps=hash_list(items["deps"]),
        outs=hash_list(items["outs"]),
        params=tuple(params),
    )
