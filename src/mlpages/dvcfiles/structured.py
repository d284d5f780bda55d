"""Bytes of a repository file -> text -> values (YAML, JSON, TOML, a params.py), or the
:class:`Problem` that stopped it. The one place the parsers decode and load; nothing raises.
"""

from __future__ import annotations

import ast
import json
import posixpath
import tomllib
from collections.abc import Iterable
from typing import Any

from mlpages.models import Problem, Value
from mlpages.safe_yaml import MAX_YAML_NODES, TooLargeError, load_yaml


def is_binary(data: bytes) -> bool:
    """Heuristic used by git: a NUL byte in the first 8 kB."""
    return b"\0" in data[:8000]


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM) text, or None for bytes that are not text."""
    if is_binary(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 300 characters (for a Problem's message)."""
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def scalar_of(value: Any) -> Value | type[Ellipsis]:
    """The value when it is a scalar (None, bool, int, float, str), else Ellipsis."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return ...


def flatten(obj: Any, *, keep_lists: bool, prefix: str = "") -> dict[str, Value]:
    """Flatten nested mappings with dots. Lists: compact JSON strings or dropped; see callers."""
    out: dict[str, Value] = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, keep_lists=keep_lists, prefix=name + "."))
        elif isinstance(value, list | tuple):
            if keep_lists:
                out[name] = json.dumps(value, default=str, separators=(", ", ": "))
        else:
            scalar = scalar_of(value)
            if scalar is ...:
                out[name] = str(value)  # dates and other YAML types: keep their text
            elif scalar is not None or keep_lists:
                out[name] = scalar
    return out


def load_yaml_text(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES, binary: str = "not a text file"
) -> tuple[Any, tuple[Problem, ...]]:
    """The YAML of a repository file, or the Problem that stopped it (binary, too big or deep,
    syntax); ``binary`` is the message when the bytes are not UTF-8 text."""
    text = decode_text(data)
    if text is None:
        return None, (Problem("binary", path, binary),)
    try:
        return load_yaml(text, max_nodes), ()
    except TooLargeError as exc:
        return None, (Problem("too-large", path, str(exc)),)
    except RecursionError:
        return None, (Problem("unsupported", path, "nested too deeply"),)
    except Exception as exc:  # yaml.YAMLError, and ValueError of a timestamp such as 2001-13-45
        return None, (Problem("yaml-error", path, one_line(exc)),)


def load_structured(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES
) -> tuple[Any, tuple[Problem, ...]]:
    """Load a params/metrics file by extension: .json, .toml, .py, everything else YAML."""
    ext = posixpath.splitext(path)[1].lower()
    if ext not in (".json", ".toml", ".py"):
        return load_yaml_text(data, path, max_nodes)
    text = decode_text(data)
    if text is None:
        return None, (Problem("binary", path, "not a text file"),)
    try:
        if ext == ".json":
            return json.loads(text), ()
        if ext == ".toml":
            return tomllib.loads(text), ()
        return parse_python_params(text), ()
    except RecursionError:
        return None, (Problem("unsupported", path, "nested too deeply"),)
    except (ValueError, SyntaxError, tomllib.TOMLDecodeError) as exc:
        kind = {".json": "json-error", ".toml": "yaml-error", ".py": "unsupported"}[ext]
        return None, (Problem(kind, path, one_line(exc)),)
    except Exception as exc:
        return None, (Problem("yaml-error", path, one_line(exc)),)


def parse_python_params(text: str) -> dict[str, Any]:
    """Module-level (and class-level) constants of a params.py, via ``ast.literal_eval``."""
    tree = ast.parse(text)
    out: dict[str, Any] = {}

    def assignments(body: Iterable[ast.stmt], target: dict[str, Any]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                inner: dict[str, Any] = {}
                assignments(node.body, inner)
                if inner:
                    target[node.name] = inner
                continue
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                value_node = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is None:
                    continue
                names, value_node = [node.target.id], node.value
            else:
                continue
            try:
                value = ast.literal_eval(value_node)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            for name in names:
                target[name] = value

    assignments(tree.body, out)
    return out
