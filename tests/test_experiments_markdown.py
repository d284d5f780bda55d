"""The PR comment's experiments table: values, deltas by direction, escaping, the limit."""

from __future__ import annotations

import re

from mlpages.compare.diff import compare_snapshots
from mlpages.compare.experiments import experiment_table
from mlpages.compare.markdown import render_markdown
from mlpages.config import Config
from mlpages.models import Snapshot

HOSTILE = "x<img src=x onerror=alert(1)>|@here [a](javascript:1) #12"


def _snap(sha: str, acc: float, loss: float) -> Snapshot:
    return Snapshot(sha, True, metrics={"m.json": {"acc": acc, "loss": loss, "note": "text"}})


def test_experiments_section_escapes_names_and_judges_by_direction():
    base = _snap("a" * 40, 0.8, 0.5)
    exps = [(HOSTILE, _snap("b" * 40, 0.9, 0.6)), ("same", _snap("c" * 40, 0.8, float("nan")))]
    table = experiment_table(Config(), base, exps)
    assert [k for _, k in table.metrics] == ["acc", "loss"]
    text = render_markdown(compare_snapshots(base, base, Config()), experiments=table)
    section = text[text.index("#### Experiments on the head commit") :]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| Experiment | Commit | acc | loss |"
    hostile_row = rows[1]
    assert "<img" not in hostile_row and "&lt;img" in hostile_row
    assert len(re.split(r"(?<!\\)\|", hostile_row)) == 6  # the name's pipe is escaped: 4 cells
    assert "@&#8203;here" in hostile_row and "\\[a\\](javascript" in hostile_row  # no mention, link
    assert "`bbbbbbb`" in hostile_row
    assert (
        "0.9 (+0.1 🟢)" in hostile_row and "0.6 (+0.1 🔴)" in hostile_row
    )  # loss: lower is better
    assert rows[2].endswith("| 0.8 | nan |")  # no change, and NaN is not judged


def test_no_experiments_no_section_and_the_limit_holds():
    base = _snap("a" * 40, 0.8, 0.5)
    diff = compare_snapshots(base, base, Config())
    assert "Experiments" not in render_markdown(
        diff, experiments=experiment_table(Config(), base, [])
    )
    many = [(f"exp-{n}-" + "y" * 150, _snap(f"{n:040x}", 0.1 * n, 0.5)) for n in range(20)]
    text = render_markdown(diff, experiments=experiment_table(Config(), base, many), limit=3000)
    assert len(text) <= 3000 and "more not shown" in text
