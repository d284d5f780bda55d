"""Markdown of a :class:`~mlpages.compare.diff.SnapshotDiff` for a pull-request comment.

The metrics table starts with the columns of ``dvc metrics diff --md`` (Path, Metric, old, new,
Change; values rounded like DVC, ``-`` for missing) and adds the relative change and whether the
move is better or worse for that metric. The params table matches ``dvc params diff --md``.
Everything a repository controls is escaped, and the comment never exceeds GitHub's limit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mlpages.compare.data import DataChange
from mlpages.compare.diff import MetricDelta, ParamChange, SnapshotDiff
from mlpages.compare.experiments import ExperimentTable
from mlpages.compare.stages import StageChange
from mlpages.models import Value
from mlpages.text import human_size, utf8_text

MARKER = "<!-- mlpages-report -->"
GITHUB_COMMENT_LIMIT = 65_536
PRECISION = 5  # decimals, as `dvc metrics diff` rounds
MAX_CELL = 200  # characters of one untrusted value shown in a cell
_ISSUE_REF = re.compile(r"(?<!&)#(?=\d)")  # not our own entities: "&" itself is escaped
_BLOCK_START = re.compile(r"[#>+*=-]|\d+[.)]")

STATUS_LABELS = {
    "better": "🟢 better",
    "worse": "🔴 worse",
    "changed": "⚪ changed",
    "added": "🆕 new",
    "removed": "⛔ removed",
    "base-unreadable": "⚠️ unreadable at base",
    "head-unreadable": "⚠️ unreadable at head",
    "same": "",
}


def format_value(value: Value) -> str:
    """A metric value as DVC prints it: 5 decimals, ``-`` when missing, nan/inf spelled out."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        rounded = round(value, PRECISION)
        # DVC would print 0.0 for 1.2e-07; five significant digits keep tiny values visible.
        if rounded == 0 and value != 0:
            return f"{value:.{PRECISION}g}"
        return str(rounded)
    return str(value)


def format_param(value: Value) -> str:
    """A param value as ``dvc params diff`` prints it: unrounded, ``-`` when missing or null."""
    return "-" if value is None else str(value)


def format_relative(relative: float | None) -> str:
    """Relative change as a signed percentage (more digits for tiny moves)."""
    if relative is None or not math.isfinite(relative):
        return "-"
    if relative != 0 and abs(relative) < 0.001:
        return f"{relative * 100:+.2g}%"
    return f"{relative:+.1%}"


def escape_cell(text: str) -> str:
    """Make untrusted text inert in a table cell or list item (no HTML, links, mentions, pipes)."""
    text = " ".join(text.split())
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    text = (
        text.replace("\\", "\\\\")  # else "a\\|b" ends the cell at the pipe
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("`", "&#96;")
        .replace("[", "\\[")  # no [links](…) or ![tracking images](…)
        .replace("]", "\\]")
    )
    # GitHub decodes entities, then links @user and #123 in text: a zero-width space breaks them.
    return _ISSUE_REF.sub("#&#8203;", text.replace("@", "@&#8203;"))


def _list_item(text: str) -> str:
    """Untrusted text starting a list item: no heading, quote or nested list either."""
    text = escape_cell(text)
    return "\\" + text if _BLOCK_START.match(text) else text


def code(text: str) -> str:
    """Untrusted text as an inline code span (inert already; only backticks could end it)."""
    text = " ".join(text.split()).replace("`", "'").replace("<!--", "<!-\u200b-")  # one MARKER
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return f"`{text}`"


def github_length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units), so emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(headers), _row(["---"] * len(headers)), *(_row(r) for r in rows)]


@dataclass(frozen=True)
class _Section:
    title: str
    headers: list[str] | None  # None: a bullet list
    rows: list[list[str]]


def _metric_row(delta: MetricDelta) -> list[str]:
    change = "-" if delta.change is None else escape_cell(format_value(delta.change))
    return [
        escape_cell(delta.path),
        escape_cell(delta.key),
        escape_cell(format_value(delta.old)),
        escape_cell(format_value(delta.new)),
        change,
        format_relative(delta.relative),
        STATUS_LABELS.get(delta.status, delta.status),
    ]


def _param_row(change: ParamChange) -> list[str]:
    return [
        escape_cell(change.path),
        escape_cell(change.key),
        escape_cell(format_param(change.old)),
        escape_cell(format_param(change.new)),
    ]


def _stage_item(change: StageChange) -> list[str]:
    if change.status == "added":
        text = f"{code(change.key)} — new stage"
    elif change.status == "removed":
        text = f"{code(change.key)} — removed"
    else:
        text = f"{code(change.key)} — " + ", ".join(escape_cell(r) for r in change.reasons)
    return [text]


def _size(size: int | None, nfiles: int | None) -> str:
    if size is None:
        return "-"
    text = human_size(size)
    return f"{text}, {nfiles} files" if nfiles is not None else text


def _short_hash(value: str | None) -> str:
    return "-" if not value else escape_cell(value.removesuffix(".dir")[:8])


def _data_row(change: DataChange) -> list[str]:
    return [
        escape_cell(change.path),
        "`.dvc` file" if change.source == "tracked" else "stage dep",
        change.status,
        _short_hash(change.old_hash),
        _short_hash(change.new_hash),
        _size(change.old_size, change.old_nfiles),
        _size(change.new_size, change.new_nfiles),
    ]


def _gate_lines(diff: SnapshotDiff) -> list[str]:
    gate = diff.gate
    if gate is None:
        return ["**Gate:** no gate report at the head revision."]
    icon = {"blessed": "✅", "rejected": "❌"}.get(gate.verdict, "❔")
    parts = [f"**Gate:** {icon} {gate.verdict}"]
    if gate.rubber_stamp:
        parts.append("rubber stamp (no champion yet: absolute floors only)")
    elif gate.champion:
        parts.append(f"against champion {code(gate.champion)}")
    if gate.verdict == "rejected":
        parts.append("this model will not be promoted")
    return [" · ".join(parts)]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _summary_line(diff: SnapshotDiff) -> str:
    changed = diff.changed_metrics
    better = sum(1 for m in changed if m.status == "better")
    worse = sum(1 for m in changed if m.status == "worse")
    unreadable = sum(1 for m in changed if m.unreadable)
    counts = f"{better} better, {worse} worse"
    if unreadable:
        counts += f", {unreadable} unreadable at one side"
    parts = [
        f"{_count(len(changed), 'metric')} changed ({counts})",
        f"{_count(len(diff.params), 'param')} changed",
        f"{_count(len(diff.stages), 'stage')} changed",
        f"data changed ({_count(len(diff.data), 'input')})" if diff.data else "data unchanged",
    ]
    return "**Summary:** " + " · ".join(parts)


def _experiments_section(table: ExperimentTable) -> _Section:
    """The experiments pushed on the head commit: name, short sha, key metrics (Δ vs the head)."""
    headers = ["Experiment", "Commit"] + [escape_cell(key) for _, key in table.metrics]
    rows = []
    for row in table.rows:
        cells = [escape_cell(f"[{row.name}]"), code(row.sha[:7])]
        for cell in row.cells:
            text = escape_cell(format_value(cell.value))
            if cell.change is not None and cell.status != "same":
                mark = "🟢" if cell.status == "better" else "🔴"
                sign = "+" if cell.change > 0 else ""
                text += f" ({sign}{escape_cell(format_value(cell.change))} {mark})"
            cells.append(text)
        rows.append(cells)
    title = "Experiments on the head commit"
    if table.total > len(rows):
        title += f" ({table.total} pushed, the {len(rows)} newest listed)"
    return _Section(title, headers, rows)


def _sections(diff: SnapshotDiff, base_label: str, head_label: str) -> list[_Section]:
    base_col, head_col = escape_cell(base_label), escape_cell(head_label)
    sections: list[_Section] = []
    changed = diff.changed_metrics
    if changed:
        headers = ["Path", "Metric", base_col, head_col, "Change", "Relative", "Effect"]
        sections.append(_Section("Metrics", headers, [_metric_row(m) for m in changed]))
    if diff.params:
        headers = ["Path", "Param", base_col, head_col]
        sections.append(_Section("Params", headers, [_param_row(p) for p in diff.params]))
    if diff.renames:
        rows = [[f"{code(r.path)}: {code(r.old_key)} → {code(r.new_key)}"] for r in diff.renames]
        sections.append(_Section("Params that look renamed (same value)", None, rows))
    if diff.stages:
        rows = [_stage_item(s) for s in diff.stages]
        sections.append(_Section("Pipeline stages changed", None, rows))
    if diff.data:
        headers = ["Path", "Tracked by", "Status", "Old hash", "New hash", "Old size", "New size"]
        sections.append(_Section("Data changed", headers, [_data_row(d) for d in diff.data]))
    gate = diff.gate
    if gate is not None:
        reasons = gate.reasons or gate.failed_rules
        if reasons:
            rows = [[_list_item(r)] for r in reasons]
            sections.append(_Section("Gate reasons", None, rows))
    return sections


def _render(
    diff: SnapshotDiff,
    sections: list[_Section],
    shown: list[int],
    base_label: str,
    head_label: str,
    site_url: str | None,
    truncated: bool,
    note: str | None = None,
) -> str:
    lines = [
        MARKER,
        f"### mlpages: {code(base_label)} → {code(head_label)}",
        "",
        *_gate_lines(diff),
        "",
        _summary_line(diff),
    ]
    if diff.head_problems or diff.base_problems:
        lines += [
            "",
            f"⚠️ Files that could not be read: {diff.base_problems} at the base, "
            f"{diff.head_problems} at the head (see the site's commit pages).",
        ]
    if note:
        lines += ["", f"⚠️ {escape_cell(note)}"]
    if truncated:
        lines += [
            "",
            f"⚠️ Truncated to fit GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit; "
            "the full diff is on the site and in `mlpages diff --format json`.",
        ]
    if diff.is_empty:
        lines += ["", "No metric, param, stage or data changes."]
    for section, count in zip(sections, shown, strict=True):
        lines += ["", f"#### {section.title}", ""]
        rows = section.rows[:count]
        if section.headers is None:
            lines += [f"- {r[0]}" for r in rows]
        else:
            lines += _table(section.headers, rows)
        hidden = len(section.rows) - count
        if hidden:
            lines += ["", f"_… {hidden} more not shown._"]
    if site_url:
        lines += ["", f"[Open the full comparison on the site]({site_url})"]
    lines += ["", "<sub>Generated by <code>mlpages diff</code>.</sub>", ""]
    return utf8_text("\n".join(lines))


def render_markdown(
    diff: SnapshotDiff,
    *,
    base_label: str | None = None,
    head_label: str | None = None,
    site_url: str | None = None,
    note: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
    experiments: ExperimentTable | None = None,
) -> str:
    """The PR comment for ``diff``: sticky marker first, never longer than ``limit``.

    ``note`` is one line shown under the summary (e.g. why the pipeline did not run);
    ``experiments``: the DVC experiments pushed on the head commit, listed last.
    """
    base_label = base_label or diff.base[:7]
    head_label = head_label or diff.head[:7]
    sections = _sections(diff, base_label, head_label)
    if experiments is not None and experiments.rows:
        sections.append(_experiments_section(experiments))
    shown = [len(s.rows) for s in sections]
    text = _render(diff, sections, shown, base_label, head_label, site_url, False, note)
    length = github_length(text)
    while length > limit and any(shown):
        biggest = max(range(len(shown)), key=lambda i: shown[i])
        # Shrink in proportion to the excess (rows are of similar length), at least by one row.
        scaled = int(shown[biggest] * limit / length * 0.97)
        shown[biggest] = max(0, min(shown[biggest] - 1, scaled))
        text = _render(diff, sections, shown, base_label, head_label, site_url, True, note)
        length = github_length(text)
    if length > limit:
        # Only an absurd label or URL can get here: cut at a line boundary.
        cut = text[: limit // 2]
        text = cut[: cut.rfind("\n") + 1] + "\n_… truncated._\n"
    return text
