"""Which workflows GitHub starts for an event: the trigger filters nektos/act does not evaluate.

act runs any workflow that lists the event, whatever its ``branches``, ``tags``, ``paths``,
``paths-ignore`` or pull-request ``types`` say, and it knows nothing of ``[skip ci]``; the harness
decides here which files to hand it. The filter globs are GitHub's: ``*`` stops at ``/``, ``**``
does not, ``?`` is one character, a leading ``!`` excludes again what an earlier pattern matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

# GitHub's default activity types of pull_request (and pull_request_target).
PULL_REQUEST_TYPES = ("opened", "synchronize", "reopened")
# A head commit whose message says one of these starts no push or pull_request workflow.
SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]")
# Pattern characters GitHub gives a meaning that this module does not implement.
UNSUPPORTED = re.compile(r"[\[\]+]")


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A GitHub filter glob as a regular expression over the whole path or ref name."""
    if UNSUPPORTED.search(pattern):
        raise ValueError(f"filter pattern {pattern!r}: '[', ']' and '+' are not implemented")
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts) + r"\Z")


def matches(patterns: Iterable[str], value: str) -> bool:
    """Whether ``value`` is selected by the patterns, read in order (``!`` excludes again)."""
    selected = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if glob_regex(pattern[1:] if negated else pattern).match(value):
            selected = not negated
    return selected


def on_section(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The workflow's ``on:`` as {event: filters}; PyYAML reads the key ``on`` as True."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return {name: spec or {} for name, spec in (on or {}).items()}


def _name_allowed(filters: Mapping[str, Any], kind: str, name: str) -> bool:
    include, exclude = filters.get(kind), filters.get(f"{kind}-ignore")
    if include is not None:
        return matches(include, name)
    if exclude is not None:
        return not matches(exclude, name)
    return True


def _paths_allowed(filters: Mapping[str, Any], changed: Iterable[str]) -> bool:
    changed = list(changed)
    if "paths" in filters and not any(matches(filters["paths"], p) for p in changed):
        return False
    # Ignored only when every changed file is ignored.
    return not (
        "paths-ignore" in filters and all(matches(filters["paths-ignore"], p) for p in changed)
    )


def starts(
    workflow: Mapping[str, Any],
    event: str,
    payload: Mapping[str, Any],
    changed: Iterable[str] = (),
    head_message: str = "",
) -> bool:
    """Whether GitHub starts ``workflow`` (parsed YAML) for this event.

    ``changed``: the paths a push changes (before..after) or a pull request (base...head);
    ``head_message``: the message of the pushed or pull-request head commit.
    """
    filters = on_section(workflow).get(event)
    if filters is None:
        return False
    if event in ("push", "pull_request", "pull_request_target") and any(
        marker in head_message for marker in SKIP_MARKERS
    ):
        return False
    if event == "push":
        ref = str(payload.get("ref", ""))
        if ref.startswith("refs/tags/"):
            branch_only = {"branches", "branches-ignore"} & set(filters) and not (
                {"tags", "tags-ignore"} & set(filters)
            )
            if branch_only or not _name_allowed(filters, "tags", ref.removeprefix("refs/tags/")):
                return False
        else:
            tag_only = {"tags", "tags-ignore"} & set(filters) and not (
                {"branches", "branches-ignore"} & set(filters)
            )
            if tag_only or not _name_allowed(filters, "branches", ref.removeprefix("refs/heads/")):
                return False
        return _paths_allowed(filters, changed)
    if event in ("pull_request", "pull_request_target"):
        if payload.get("action") not in filters.get("types", PULL_REQUEST_TYPES):
            return False
        if not _name_allowed(filters, "branches", payload["pull_request"]["base"]["ref"]):
            return False
        return _paths_allowed(filters, changed)
    return True
