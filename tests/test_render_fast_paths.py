"""The fast paths of figure rounding and script JSON give exactly what the plain ones give."""

from __future__ import annotations

import json
import math
import random

from mlpages.site.charts.base import num, nums
from mlpages.site.values import json_for_script, json_safe

SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e6, 999999.5, 1e-7, 9.9999995e-5, 123456.7]


def _values(rng: random.Random, n: int) -> list:
    out: list = []
    for _ in range(n):
        kind = rng.randrange(8)
        if kind == 0:
            out.append(rng.choice(SPECIAL))
        elif kind == 1:
            out.append(rng.randint(-(10**20), 10**20))
        elif kind == 2:
            out.append(rng.choice([True, False, None, "", " 2.5 ", "x", "1e3"]))
        else:
            out.append(rng.uniform(-1, 1) * 10 ** rng.randint(-12, 12))
    return out


def test_nums_is_num_of_each():
    rng = random.Random(18)
    values = _values(rng, 20_000)
    expected = [num(v) for v in values]
    got = nums(values)
    assert [repr(v) for v in got] == [repr(v) for v in expected]


def _reference(value) -> str:
    text = json.dumps(json_safe(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.translate({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def test_script_json_is_the_json_safe_text():
    rng = random.Random(7)
    cases = [
        {"data": [{"x": list(range(50)), "y": nums(_values(rng, 50))}], "layout": {"t": "<a&b>"}},
        {"x": [1.0, math.nan, 2.0], "y": (1, 2)},  # NaN: the slow path
        {True: 1, None: 2, 3: "three", 2.5: [math.inf]},  # keys json.dumps would spell otherwise
        [("a", (1, [2, {"b": -math.inf}])), "\u2028</script>"],
        {"nested": {"k": [[1, 2], [3.5, None]], "s": "é"}},
    ]
    for value in cases:
        assert json_for_script(value) == _reference(value)
