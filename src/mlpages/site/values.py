"""How the site shows values: display text of params, metrics and deltas, and JSON for pages.

The filters of the templates (``fmt``, ``delta``, ``json_script``) and the page builders share
these, so a value reads the same on every page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from mlpages.compare.values import is_number
from mlpages.models import Value
from mlpages.text import general_number


def format_value(value: Value) -> str:
    """Display form of a param or metric: 5 significant digits for floats, like DVC."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return f"{value:.5g}"
    return str(value)


def format_delta(delta: float | int) -> str:
    if isinstance(delta, float) and not math.isfinite(delta):
        return format_value(delta)
    return ("+" if delta > 0 else "") + general_number(delta, 3)


def delta_of(new: Value, old: Value) -> float | None:
    """``new - old`` when both are finite numbers, else None."""
    if is_number(new) and is_number(old):
        try:
            diff = float(new) - float(old)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond the float range
            return None
        return diff if math.isfinite(diff) else None
    return None


def judge(delta: float | None, direction: int) -> str:
    """CSS class of a change: ``better``, ``worse`` or ``same`` given the metric direction."""
    if delta is None or delta == 0:
        return "same"
    return "better" if delta * direction > 0 else "worse"


def json_safe(value: Any) -> Any:
    """Replace NaN/Inf by strings and tuples by lists so ``JSON.parse`` accepts the result."""
    if isinstance(value, float) and not math.isfinite(value):
        return format_value(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _plain(value: Any) -> bool:
    """Whether ``json_safe`` could only turn tuples into lists here (which ``json.dumps`` does
    itself): every dict key a ``str``; floats are left to ``allow_nan=False`` to catch. Lists of
    scalars (a figure's points) are checked by their set of types, without a call per item."""
    if isinstance(value, dict):
        return all(type(k) is str for k in value) and all(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        kinds = set(map(type, value))
        return kinds <= _SCALARS or all(_plain(v) for v in value)
    return True


_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def json_for_script(value: Any) -> str:
    """Compact JSON that is safe inside ``<script type="application/json">`` (no break-out)."""
    text = None
    if _plain(value):  # the same text as through json_safe, unless a float is NaN or infinite
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except ValueError:
            text = None
    if text is None:
        text = json.dumps(
            json_safe(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    return text.translate(_SCRIPT_ESCAPES).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def flat_values(groups: Mapping[str, Mapping[str, Value]]) -> dict[str, Value]:
    """``{file: {key: v}}`` → ``{"file:key": v}``."""
    return {f"{file}:{key}": v for file, values in groups.items() for key, v in values.items()}
