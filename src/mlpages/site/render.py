"""Render pages: the Jinja2 environment (autoescape always on, the site's filters), the static
assets pages reference, and the code stamp that decides what an incremental build re-renders."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mlpages import __version__, text
from mlpages.site.page_core import Asset, FileData, Page, SiteData, fingerprint
from mlpages.site.render_pool import MIN_PAGES, can_fork, render_in_workers
from mlpages.site.urls import commit_path, relative_url
from mlpages.site.values import format_delta, format_value, json_for_script

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

Progress = Callable[[str, int, int], None]

# The Content-Security-Policy of every page: scripts only from the site itself, nothing fetched,
# no plugins, forms or base URL. Styles allow 'unsafe-inline': plotly.js injects a <style>.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'none'",
    )
)


def environment() -> Any:
    """The Jinja2 environment over :data:`TEMPLATES` with the site's filters."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its extension: repository content is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change during a build: no stat per page
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
    env.globals["dag_svg"] = _dag_drawer(env)
    # A constant, not repository text: Markup keeps its quotes as they are.
    env.globals["csp"] = Markup(CONTENT_SECURITY_POLICY)
    return env


def _dag_drawer(env: Any) -> Callable[[Any, str], Any]:
    """``dag_svg(layout, label)``: the SVG of a DAG layout, drawn once per (layout, label)."""
    from markupsafe import Markup

    drawn: dict[tuple[int, str], tuple[Any, Any]] = {}

    def dag_svg(layout: Any, label: str) -> Any:
        key = (id(layout), label)
        hit = drawn.get(key)
        if hit is not None and hit[0] is layout:
            return hit[1]
        # The template autoescapes every value: its output is safe markup. Its file ends in a
        # newline (end-of-file-fixer) that the page did not have where the SVG was inline.
        drawing = env.get_template("_partials/dag_svg.html").render(layout=layout, label=label)
        svg = Markup(drawing.removesuffix("\n"))
        if len(drawn) >= 512:
            del drawn[next(iter(drawn))]
        drawn[key] = (layout, svg)  # the layout is held: its id stays its own
        return svg

    return dag_svg


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


def plotly_asset() -> tuple[str, Path]:
    """Site path and source file of the plotly.js bundle shipped with the installed plotly."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return f"assets/plotly-{get_plotlyjs_version()}.min.js", source


def static_files() -> dict[str, Path]:
    """Site path -> source file of every static asset (``static/`` and the plotly bundle)."""
    out = {
        f"assets/{p.relative_to(STATIC).as_posix()}": p for p in STATIC.rglob("*") if p.is_file()
    }
    plotly_path, plotly_source = plotly_asset()
    out[plotly_path] = plotly_source
    return out


def code_stamp() -> str:
    """A hash of the whole mlpages package (code, templates, static files): a change re-renders all.

    The whole package, not ``site/``: pages depend on compare, text, models and config too, and
    page modules live in sub-packages (``site/pages``, ``site/charts``).
    """
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).parents[1]
    sources = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(sources):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _render_page(env: Any, item: Page, common: dict[str, Any]) -> bytes:
    template = env.get_template(item.template)
    context = {
        "plotly": False,  # a page drawing figures says so: plotly.js and plots.js load
        **item.resolve_context(),
        "page_path": item.path,
        "page_title": item.title,
        "page_nav": item.nav,
        **common,
    }
    return text.utf8_text(template.render(context)).encode("utf-8")


def render_pages(
    site: SiteData,
    items: Iterable[Page | Asset],
    previous: dict[str, Any],
    nav_entries: Sequence[tuple[str, str, str]],
    progress: Progress | None = None,
    jobs: int = 1,
) -> tuple[dict[str, FileData], dict[str, Any], Iterator[tuple[str, bytes]], list[str]]:
    """Files that need no rendering (assets, reused pages), the manifest, the pages to render as
    (path, bytes) pairs rendered as they are iterated, and the list of rendered paths (it fills
    up as the pairs are taken: a writer can put each page down and forget it).

    ``nav_entries`` are (nav id, label, site path); an entry appears only when its page is built.
    ``jobs`` > 1 renders in that many forked processes (the same bytes).
    """
    env = environment()
    items = list(items)
    built = {item.path for item in items}
    nav = [(nav_id, label, path) for nav_id, label, path in nav_entries if path in built]
    plotly_path, _ = plotly_asset()
    stamp = fingerprint(site.stamp, code_stamp(), nav, plotly_path)
    same_stamp = previous.get("stamp") == stamp
    old_keys: dict[str, str] = previous.get("keys", {}) if same_stamp else {}
    files: dict[str, FileData] = {}
    keys: dict[str, str] = {}
    rendered: list[str] = []
    todo: list[Page] = []
    for item in items:
        if isinstance(item, Asset):
            files[item.path] = item.data
            continue
        if item.key is not None:
            keys[item.path] = item.key
            if old_keys.get(item.path) == item.key:
                files[item.path] = None
                continue
        todo.append(item)
    common = {
        "nav": nav,
        "site": site,
        "site_title": site.title,
        "plotly_js": plotly_path,
        "generated": site.generated,
    }

    def render(page: Page) -> bytes:
        return _render_page(env, page, common)

    pages = sum(1 for i in items if isinstance(i, Page))
    if jobs > 1 and len(todo) >= MIN_PAGES and can_fork():
        done: Iterable[tuple[Page, bytes]] = render_in_workers(todo, render, jobs)
    else:
        done = ((page, render(page)) for page in todo)

    def stream() -> Iterator[tuple[str, bytes]]:
        for page, data in done:
            rendered.append(page.path)
            if progress and (len(rendered) % 25 == 0 or len(rendered) == len(todo)):
                progress("render", len(rendered), pages)
            yield page.path, data

    manifest = {"mlpages": __version__, "stamp": stamp, "keys": keys}
    return files, manifest, stream(), rendered


def render_site(
    site: SiteData,
    items: Iterable[Page | Asset],
    previous: dict[str, Any],
    nav_entries: Sequence[tuple[str, str, str]],
    progress: Progress | None = None,
    jobs: int = 1,
) -> tuple[dict[str, FileData], dict[str, Any], list[str]]:
    """Render pages: path -> :data:`FileData`. Returns the manifest and the rendered paths."""
    files, manifest, stream, rendered = render_pages(
        site, items, previous, nav_entries, progress, jobs
    )
    files.update(stream)
    return files, manifest, rendered
