"""DVC's templating, as far as reports need it: ``vars``, ``${...}`` interpolation,
``foreach``/``do`` and ``matrix`` expansion (stage names ``name@key`` as in dvc.lock).
Pure functions, but for the :class:`Budget` they charge: what templating produces is counted like
YAML nodes (a string one per 16 characters) and expanded stages are counted, so a small file
cannot expand into millions of stages or gigabytes of ``${a}${a}…`` text.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from mlpages.safe_yaml import MAX_STAGES, MAX_YAML_NODES, TooLargeError, object_size, text_cost

# ${ a.b[0].c } ; a backslash escapes: \${not interpolated}
_TOKEN = re.compile(r"(?<!\\)\$\{\s*([^{}]*?)\s*\}")
_PART = re.compile(r"([^.\[\]]+)|\[\s*(-?\d+)\s*\]")


class TemplateError(ValueError):
    """An interpolation that cannot be resolved (unknown key, bad foreach data...)."""


class Budget:
    """What the templating of one dvc.yaml may still produce: nodes and expanded stages."""

    def __init__(self, nodes: int = MAX_YAML_NODES, stages: int = MAX_STAGES) -> None:
        self.max_nodes, self.max_stages = nodes, stages
        self.nodes, self.stages = nodes, stages
        # id -> (value, size) of context values already sized (the value is kept: ids stay unique)
        self._sizes: dict[int, tuple[Any, int]] = {}

    def spend(self, nodes: int) -> None:
        """Charge ``nodes``; TooLargeError once the budget is spent."""
        self.nodes -= nodes
        if self.nodes < 0:
            raise TooLargeError(f"templating makes over max_yaml_nodes={self.max_nodes:,}")

    def spend_value(self, value: Any) -> None:
        """Charge the expanded size of a value taken from the context."""
        if not isinstance(value, dict | list):
            self.spend(text_cost(value) if isinstance(value, str) else 1)
            return
        known = self._sizes.get(id(value))
        if known is None:
            try:
                known = (value, object_size(value, max(self.nodes, 0)))
            except TooLargeError:
                known = (value, self.nodes + 1)
            self._sizes[id(value)] = known
        self.spend(known[1])

    def spend_stages(self, count: int) -> None:
        """Charge ``count`` expanded stages."""
        self.stages -= count
        if self.stages < 0:
            raise TooLargeError(f"more than max_stages={self.max_stages:,} stages")


def has_template(obj: Any) -> bool:
    """True if any string inside ``obj`` contains ``${``."""
    seen: set[int] = set()  # aliases share containers: each is looked at once
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "${" in item:
                return True
        elif isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pending.extend(item.items() if isinstance(item, dict) else item)
        elif isinstance(item, tuple):  # a (key, value) pair
            pending.extend(item)
    return False


def lookup(context: Mapping[str, Any], expr: str) -> Any:
    """Resolve ``a.b[0].c`` in ``context``."""
    expr = expr.strip()
    if not expr:
        raise TemplateError("empty interpolation ${}")
    current: Any = context
    pos = 0
    for match in _PART.finditer(expr):
        if match.start() != pos and expr[pos : match.start()] not in (".", ""):
            raise TemplateError(f"cannot parse ${{{expr}}}")
        pos = match.end()
        key, index = match.group(1), match.group(2)
        if key is not None:
            key = key.strip()
            if isinstance(current, dict) and key in current:
                current = current[key]
            elif isinstance(current, list) and key.lstrip("-").isdigit():
                try:
                    current = current[int(key)]
                except IndexError:
                    raise TemplateError(f"index {key} out of range in ${{{expr}}}") from None
            else:
                raise TemplateError(f"could not find '{expr}'")
        else:
            if not isinstance(current, list):
                raise TemplateError(f"'{expr}' indexes a non-list")
            try:
                current = current[int(index)]
            except IndexError:
                raise TemplateError(f"index {index} out of range in ${{{expr}}}") from None
    if pos != len(expr):
        raise TemplateError(f"cannot parse ${{{expr}}}")
    return current


def to_str(value: Any) -> str:
    """How DVC writes a value into a string: booleans lower-case, lists and dicts as CLI args."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "None"
    if isinstance(value, dict):
        return " ".join(f"--{k} {to_str(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(to_str(v) for v in value)
    return str(value)


def interpolate_str(text: str, context: Mapping[str, Any], budget: Budget) -> Any:
    """Interpolate one string. A string that is exactly ``${x}`` keeps the value's type."""
    budget.spend(text_cost(text))
    if "${" not in text:
        return text
    whole = _TOKEN.fullmatch(text)
    if whole:
        value = lookup(context, whole.group(1))
        budget.spend_value(value)
        return value

    pieces: dict[str, str] = {}  # ${a}${a}…: each expression is turned into text once

    def piece(match: re.Match[str]) -> str:
        expr = match.group(1)
        value = lookup(context, expr)
        budget.spend_value(value)  # before to_str builds the text
        rendered = pieces.get(expr)
        if rendered is None:
            rendered = pieces[expr] = to_str(value)
        budget.spend(text_cost(rendered))
        return rendered

    return _TOKEN.sub(piece, text).replace("\\${", "${")


def _key(key: Any, context: Mapping[str, Any], budget: Budget) -> Any:
    """An interpolated mapping key; a key that became a list or mapping becomes its text."""
    if not isinstance(key, str):
        return key
    value = interpolate_str(key, context, budget)
    return to_str(value) if isinstance(value, dict | list) else value


def interpolate(obj: Any, context: Mapping[str, Any], budget: Budget) -> Any:
    """Interpolate every string (keys included) inside ``obj``."""
    if isinstance(obj, str):
        return interpolate_str(obj, context, budget)
    budget.spend(1)
    if isinstance(obj, dict):
        return {_key(k, context, budget): interpolate(v, context, budget) for k, v in obj.items()}
    if isinstance(obj, list):
        return [interpolate(v, context, budget) for v in obj]
    return obj


def merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Deep-merge ``new`` into ``into`` (mappings merged, everything else replaced)."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def _is_composite(value: Any) -> bool:
    return isinstance(value, dict | list)


def local_context(context: dict[str, Any], budget: Budget, **extra: Any) -> dict[str, Any]:
    """A copy of ``context`` for one stage (charged: a big context times many stages is work)."""
    budget.spend(len(context))
    return {**context, **extra}


def expand_foreach(
    name: str, definition: dict[str, Any], context: dict[str, Any], budget: Budget
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (expanded name, interpolated definition) for a ``foreach``/``do`` stage."""
    data = definition.get("foreach")
    if isinstance(data, str):
        data = interpolate_str(data, context, budget)
    template = definition.get("do")
    if not isinstance(template, dict):
        raise TemplateError(f"stage {name!r}: foreach without a 'do' mapping")
    if not isinstance(data, dict | list):
        raise TemplateError(f"stage {name!r}: foreach expects a list or a mapping")
    budget.spend_stages(len(data))
    if isinstance(data, dict):
        items = [(to_str(k), v, True) for k, v in data.items()]
    elif any(_is_composite(v) for v in data):
        items = [(str(i), v, False) for i, v in enumerate(data)]
    else:
        items = [(to_str(v), v, False) for v in data]
    for key, value, with_key in items:
        extra = {"item": value, "key": key} if with_key else {"item": value}
        local = local_context(context, budget, **extra)
        yield f"{name}@{key}", interpolate(template, local, budget)


def expand_matrix(
    name: str, definition: dict[str, Any], context: dict[str, Any], budget: Budget
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (expanded name, interpolated definition) for a ``matrix`` stage."""
    matrix = definition.get("matrix")
    if isinstance(matrix, str):
        matrix = interpolate_str(matrix, context, budget)
    if not isinstance(matrix, dict):
        raise TemplateError(f"stage {name!r}: matrix expects a mapping of lists")
    axes: dict[str, list] = {}
    for key, values in matrix.items():
        if isinstance(values, str):
            values = interpolate_str(values, context, budget)
        if not isinstance(values, list):
            raise TemplateError(f"stage {name!r}: matrix axis {key!r} is not a list")
        axes[str(key)] = values
    budget.spend_stages(math.prod(len(v) for v in axes.values()))
    template = {k: v for k, v in definition.items() if k != "matrix"}
    for combination in itertools.product(*(list(enumerate(v)) for v in axes.values())):
        item: dict[str, Any] = {}
        fragments = []
        for axis, (i, value) in zip(axes, combination, strict=True):
            item[axis] = value
            fragments.append(f"{axis}{i}" if _is_composite(value) else to_str(value))
        key = "-".join(fragments)
        local = local_context(context, budget, item=item, key=key)
        yield f"{name}@{key}", interpolate(template, local, budget)


def parse_vars_entry(entry: str) -> tuple[str, tuple[str, ...] | None]:
    """``"file.yaml:a,b"`` -> ("file.yaml", ("a", "b")); ``"file.yaml"`` -> ("file.yaml", None)."""
    path, sep, keys = entry.partition(":")
    if not sep:
        return path, None
    return path, tuple(k.strip() for k in keys.split(",") if k.strip())


def select_keys(data: Mapping[str, Any], keys: tuple[str, ...] | None) -> dict[str, Any]:
    """The whole mapping, or only ``keys`` (dotted keys allowed) nested as in the file."""
    if keys is None:
        return dict(data)
    out: dict[str, Any] = {}
    for key in keys:
        value = lookup(data, key)
        parts = key.split(".")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out
