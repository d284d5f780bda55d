"""Typed views of the continuous-training reports a snapshot carries (``gate.json``,
``validation.json``), and the coercers every reader of report JSON uses.

Reports are untrusted JSON from any branch: their structure is checked here, once, in Python.
The PR markdown, the compare pages and the site's templates read these views, never the raw
report. Each ``*_text`` field is exactly what a page prints for it (``None``: nothing shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpages.models import Value

MAX_GATE_RULES = 60  # rule rows a page shows
MAX_ANOMALIES = 50  # anomaly rows a commit page shows


def as_str(raw: Any, default: str = "") -> str:
    """A string as it is; ``default`` for null; any other JSON value as its text."""
    return raw if isinstance(raw, str) else (default if raw is None else str(raw))


def as_float(raw: Any) -> float | None:
    """A JSON number as a float (not a boolean, not an integer beyond the float range)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return float(raw)
    except OverflowError:
        return None


def as_int(raw: Any) -> int | None:
    """A JSON integer (not a boolean), else None."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def as_list(raw: Any) -> list:
    """A JSON array, else empty (a number where an array belongs must not stop the build)."""
    return raw if isinstance(raw, list) else []


def as_numbers(raw: Any) -> dict[str, float]:
    """The numeric entries of a JSON object, keys as text."""
    if not isinstance(raw, dict):
        return {}
    pairs = ((str(k), as_float(v)) for k, v in raw.items())
    return {k: v for k, v in pairs if v is not None}


def as_value(raw: Any) -> Value:
    """A scalar as it is (a param or metric value); an array or object as its text."""
    return raw if isinstance(raw, int | float | str | bool) or raw is None else str(raw)


def _shown(raw: Any) -> str | None:
    """What a page prints for a field it shows only when set: its text, None when falsy."""
    return as_str(raw) if raw else None


# --- gate.json ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSummary:
    """The head side's gate report, reduced to what a reviewer needs."""

    verdict: str  # blessed | rejected | unknown
    rubber_stamp: bool
    champion: str | None  # version or short sha of the champion
    reasons: tuple[str, ...]
    failed_rules: tuple[str, ...]


@dataclass(frozen=True)
class GateRule:
    """One rule row of a gate report, as its table shows it."""

    passed: bool
    rule: str
    metric: str
    slice: str | None
    candidate: Value
    champion: Value
    threshold: Value
    reason: str


@dataclass(frozen=True)
class GateView:
    """A gate report for the pages: the summary and the rows of its rule table."""

    summary: GateSummary
    verdict_text: str | None  # the verdict as written in the report (the summary normalises it)
    champion_text: str | None  # version, else the sha's first 8 characters; None: no champion
    rules: tuple[GateRule, ...]  # the object rows among the first MAX_GATE_RULES entries
    rules_listed: bool  # the report has a non-empty rules array (the table is shown)
    reasons_text: str  # every reason, joined by "; "


def gate_summary(report: Any) -> GateSummary | None:
    """Read a gate report (untrusted JSON) into a summary; None when there is no report."""
    if not isinstance(report, dict):
        return None
    verdict = report.get("verdict")
    verdict = verdict if verdict in ("blessed", "rejected") else "unknown"
    raw_reasons = report.get("reasons") if isinstance(report.get("reasons"), list) else []
    reasons = tuple(str(r) for r in raw_reasons if isinstance(r, str | int | float))
    rules = report.get("rules") if isinstance(report.get("rules"), list) else []
    failed = tuple(
        str(rule.get("reason") or rule.get("rule") or "rule failed")
        for rule in rules
        if isinstance(rule, dict) and rule.get("passed") is False
    )
    champion = report.get("champion")
    label = None
    if isinstance(champion, dict):
        version, sha = champion.get("version"), champion.get("sha")
        label = str(version) if version else (str(sha)[:7] if sha else None)
    return GateSummary(
        verdict=verdict,
        rubber_stamp=bool(report.get("rubber_stamp")),
        champion=label,
        reasons=reasons,
        failed_rules=failed,
    )


def _champion_text(champion: Any) -> str | None:
    if not isinstance(champion, dict):
        return None
    if champion.get("version"):
        return as_str(champion["version"])
    sha = champion.get("sha") or ""
    # A string (or an array: its first items) is cut as it is; any other value as its text.
    return as_str(sha[:8] if isinstance(sha, str | list) else str(sha)[:8])


def _gate_rule(rule: dict[str, Any]) -> GateRule:
    return GateRule(
        passed=bool(rule.get("passed")),
        rule=str(rule.get("rule")),
        metric=as_str(rule.get("metric") or ""),
        slice=_shown(rule.get("slice")),
        candidate=as_value(rule.get("candidate")),
        champion=as_value(rule.get("champion")),
        threshold=as_value(rule.get("threshold")),
        reason=as_str(rule.get("reason", ""), "None"),
    )


def gate_view(report: Any) -> GateView | None:
    """A gate report (untrusted JSON) for the pages; None when it is not a JSON object."""
    summary = gate_summary(report)
    if summary is None:
        return None
    rules = as_list(report.get("rules"))
    return GateView(
        summary=summary,
        verdict_text=_shown(report.get("verdict")),
        champion_text=_champion_text(report.get("champion")),
        rules=tuple(_gate_rule(r) for r in rules[:MAX_GATE_RULES] if isinstance(r, dict)),
        rules_listed=bool(rules),
        reasons_text="; ".join(map(str, as_list(report.get("reasons")))),
    )


# --- validation.json ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnomalyRow:
    """One anomaly of a validation report, as its table shows it."""

    kind: str
    column: str
    count: str
    detail: str


@dataclass(frozen=True)
class ValidationView:
    """A validation report for the pages."""

    status_text: str | None  # the status as written in the report ("pass", "fail", ...)
    batch_text: str
    rows_text: str | None
    schema_text: str | None
    anomalies: tuple[AnomalyRow, ...]  # the object rows among the first MAX_ANOMALIES entries
    listed: int  # entries of the anomalies array (objects or not)

    @property
    def failed(self) -> bool:
        return self.status_text == "fail"

    @property
    def more(self) -> int:
        """Anomalies beyond the rows shown."""
        return max(self.listed - MAX_ANOMALIES, 0)


def _anomaly_row(anomaly: dict[str, Any]) -> AnomalyRow:
    return AnomalyRow(
        kind=str(anomaly.get("kind")),
        column=as_str(anomaly.get("column") or ""),
        count=as_str(anomaly.get("count", ""), "None"),
        detail=as_str(anomaly.get("detail", ""), "None"),
    )


def validation_view(report: Any) -> ValidationView | None:
    """A validation report (untrusted JSON) for the pages; None when it is not a JSON object."""
    if not isinstance(report, dict):
        return None
    anomalies = as_list(report.get("anomalies"))
    rows = report.get("rows")
    return ValidationView(
        status_text=_shown(report.get("status")),
        batch_text=as_str(report.get("batch", "?"), "None"),
        rows_text=None if rows is None else as_str(rows),
        schema_text=_shown(report.get("schema")),
        anomalies=tuple(_anomaly_row(a) for a in anomalies[:MAX_ANOMALIES] if isinstance(a, dict)),
        listed=len(anomalies),
    )
