"""The Jinja2 environment of the site: autoescape always on, filters for URLs, values and JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlpages import text
from mlpages.site.page_core import format_delta, format_value, json_for_script
from mlpages.site.urls import commit_path, relative_url


def environment(templates: Path) -> Any:
    """A Jinja2 environment over ``templates`` with the site's filters."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,  # every template, whatever its extension: repository content is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    @jinja2.pass_context
    def url(ctx: Any, target: str) -> str:
        return relative_url(ctx["page_path"], target)

    @jinja2.pass_context
    def commit_url(ctx: Any, sha: str) -> str:
        return relative_url(ctx["page_path"], commit_path(sha))

    env.filters.update(
        url=url,
        commit_url=commit_url,
        json_script=lambda value: Markup(json_for_script(value)),
        fmt=format_value,
        delta=format_delta,
        date=format_date,
        day=lambda ts: format_date(ts, "%Y-%m-%d"),
        short=lambda sha: (sha or "")[:8],
        plural=plural,
        size=human_size,
    )
    return env


def human_size(size: int | None) -> str:
    """``1834929`` -> ``1.7 MB`` (powers of 1024); empty when unknown."""
    return "" if size is None else text.human_size(size)


def plural(count: int, word: str) -> str:
    """``1 commit``, ``2 commits``, ``3 branches``."""
    if count == 1:
        return f"{count} {word}"
    suffix = "es" if word.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{count} {word}{suffix}"


def format_date(timestamp: int | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """UTC date of an epoch timestamp ("" for None)."""
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC).strftime(pattern)
