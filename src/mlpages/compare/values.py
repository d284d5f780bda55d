"""What every comparison agrees on: which values are numbers, and when two values are the same."""

from __future__ import annotations

import math

from mlpages.models import Value


def is_number(value: object) -> bool:
    """Numbers that take part in arithmetic (booleans do not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def same_value(old: Value, new: Value) -> bool:
    """Equality where NaN equals NaN and 1 equals 1.0, but True does not equal 1."""
    if is_number(old) and is_number(new):
        both_nan = all(isinstance(v, float) and math.isnan(v) for v in (old, new))
        return both_nan or old == new
    return type(old) is type(new) and old == new
