"""Build the site: gather everything, render every page, write to a temp dir, swap it in atomically.

Incremental: a page whose ``key`` matches the previous build's manifest is not rendered, and a file
whose bytes did not change is carried over (hard link) instead of rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the PID and age checks remain
    fcntl = None  # type: ignore[assignment]

from mlpages import __version__
from mlpages.config import Config, load_config
from mlpages.errors import MlpagesError, SiteError
from mlpages.site.page_core import Asset, Page, SiteData, fingerprint
from mlpages.text import utf8_text

# Modules exposing ``pages(site: SiteData) -> Iterable[Page | Asset]``. A module that does not
# exist yet is skipped, so page families can land independently.
PAGE_MODULES: tuple[str, ...] = (
    "mlpages.site.pages.overview",
    "mlpages.site.pages.models",
    "mlpages.site.pages.monitoring",
)

# Navigation: (nav id, label, site path). An entry appears only when its page was built.
NAV: tuple[tuple[str, str, str], ...] = (
    ("overview", "Overview", "index.html"),
    ("runs", "Runs", "runs.html"),
    ("compare", "Compare", "compare.html"),
    ("lineage", "Lineage", "lineage.html"),
    ("models", "Models", "models.html"),
    ("validation", "Validation", "validation.html"),
    ("monitoring", "Monitoring", "monitoring.html"),
)

MANIFEST = ".mlpages-build.json"
STALE_AFTER = 60  # seconds an unlocked temp folder of a live PID is left alone (see below)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

Progress = Callable[[str, int, int], None]
# A file's bytes, None for "reuse the previous build's page", or a loader (see Asset).
FileData = bytes | Callable[[], bytes | None] | None


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the benchmark."""

    out: Path
    pages: int = 0
    rendered: int = 0
    rendered_paths: list[str] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0
    bytes_total: int = 0
    commits: int = 0
    problem_commits: list[str] = field(default_factory=list)
    repo_problems: int = 0
    repo_problem_messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def plotly_asset() -> tuple[str, Path]:
    """Site path and source file of the plotly.js bundle shipped with the installed plotly."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return f"assets/plotly-{get_plotlyjs_version()}.min.js", source


def source_date(default: int) -> int:
    """``SOURCE_DATE_EPOCH`` when set (reproducible builds), else ``default``."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            return int(raw)
        except ValueError:
            raise MlpagesError(f"SOURCE_DATE_EPOCH must be an integer, got {raw!r}") from None
    return default


def gather(
    repo: Path,
    config: Config,
    *,
    title: str = "",
    base_url: str = "",
    progress: Progress | None = None,
) -> SiteData:
    """Read the repository's history and registry into a :class:`SiteData` (no writing)."""
    from mlpages.history.collect import collect

    history = collect(repo, config, progress=progress)
    registry = None
    try:
        from mlpages.registry.gitio import read_registry
    except ModuleNotFoundError as exc:
        if exc.name != "mlpages.registry.gitio":
            raise
    else:
        registry = read_registry(repo)
    newest = max((c.commit_time for c in history.commits.values()), default=0)
    return SiteData(
        history=history,
        config=config,
        registry=registry,
        title=title or config.title or Path(history.root).resolve().name,
        base_url=base_url,
        generated=source_date(newest),
    )


def collect_pages(site: SiteData) -> list[Page | Asset]:
    """Call every page builder of :data:`PAGE_MODULES` in order."""
    items: list[Page | Asset] = []
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        items.extend(module.pages(site))
    # Assets are named by content, so the same path twice is the same file: keep one.
    seen_assets: set[str] = set()
    unique: list[Page | Asset] = []
    for item in items:
        if isinstance(item, Asset):
            if item.path in seen_assets:
                continue
            seen_assets.add(item.path)
        unique.append(item)
    counts = Counter(item.path for item in unique)
    duplicates = sorted(path for path, n in counts.items() if n > 1)
    if duplicates:
        raise SiteError(f"two page builders produce the same file: {', '.join(duplicates[:5])}")
    items = unique
    return items


def make_environment() -> Any:
    """The Jinja2 environment: autoescape on, site filters registered."""
    from mlpages.site import render as render_helpers

    return render_helpers.environment(TEMPLATES)


def _code_stamp() -> str:
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


def render_site(
    site: SiteData,
    items: Iterable[Page | Asset],
    previous: dict[str, Any],
    progress: Progress | None = None,
) -> tuple[dict[str, FileData], dict[str, Any], list[str]]:
    """Render pages: path -> :data:`FileData`. Returns the manifest and the rendered paths."""
    env = make_environment()
    items = list(items)
    built = {item.path for item in items}
    nav = [(nav_id, label, path) for nav_id, label, path in NAV if path in built]
    plotly_path, _ = plotly_asset()
    stamp = fingerprint(site.stamp, _code_stamp(), nav, plotly_path)
    same_stamp = previous.get("stamp") == stamp
    old_keys: dict[str, str] = previous.get("keys", {}) if same_stamp else {}
    files: dict[str, FileData] = {}
    keys: dict[str, str] = {}
    rendered: list[str] = []
    pages = [i for i in items if isinstance(i, Page)]
    for index, item in enumerate(items):
        if isinstance(item, Asset):
            files[item.path] = item.data
            continue
        if item.key is not None:
            keys[item.path] = item.key
            if old_keys.get(item.path) == item.key:
                files[item.path] = None
                continue
        template = env.get_template(item.template)
        context = {
            **item.resolve_context(),
            "page_path": item.path,
            "page_title": item.title,
            "page_nav": item.nav,
            "nav": nav,
            "site": site,
            "site_title": site.title,
            "plotly_js": plotly_path,
            "generated": site.generated,
        }
        files[item.path] = utf8_text(template.render(context)).encode("utf-8")
        rendered.append(item.path)
        if progress and (len(rendered) % 25 == 0 or index == len(items) - 1):
            progress("render", len(rendered), len(pages))
    manifest = {"mlpages": __version__, "stamp": stamp, "keys": keys}
    return files, manifest, rendered


def _static_files() -> dict[str, Path]:
    out = {
        f"assets/{p.relative_to(STATIC).as_posix()}": p for p in STATIC.rglob("*") if p.is_file()
    }
    plotly_path, plotly_source = plotly_asset()
    out[plotly_path] = plotly_source
    return out


def _check_out(out: Path, repo: Path) -> None:
    resolved = out.resolve()
    if resolved == repo.resolve() or resolved in repo.resolve().parents:
        raise SiteError(f"refusing to write the site over the repository itself: {out}")
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MANIFEST).exists():
            raise SiteError(
                f"refusing to replace {out}: it is not empty and was not built by mlpages"
            )


def _lock_folder(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on folder ``path``, None if another holds it.

    A build locks the temp and backup folders it owns; the kernel releases the lock when the
    process ends, however it ends, so an unlocked folder is one no build is working in.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
    return fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, OSError):  # not a PID this system can have
        return False
    return True


def clear_stale_folders(out: Path) -> None:
    """Remove the temp and backup folders (``.site.tmp-PID``, ``.site.old-PID``) of dead builds.

    Stale: no process holds the folder's lock, and its PID is gone or has been reused (alive,
    but the folder untouched for :data:`STALE_AFTER` seconds: a live build locks its folder
    right after making it). A build killed between its two renames left the previous site
    only as its backup: that is put back in place rather than deleted.
    """
    prefix = f".{out.name}."
    try:
        entries = sorted(out.parent.iterdir())
    except OSError:
        return
    for path in entries:
        kind, _, pid_text = path.name.removeprefix(prefix).partition("-")
        if not path.name.startswith(prefix) or kind not in ("tmp", "old"):
            continue
        if not (pid_text.isascii() and pid_text.isdigit()) or int(pid_text) == os.getpid():
            continue
        if path.is_symlink() or not path.is_dir():
            continue
        fd = _lock_folder(path)
        if fd is None:  # a live build is writing there
            continue
        try:
            young = time.time() - path.stat().st_mtime < STALE_AFTER
            if _pid_alive(int(pid_text)) and young:
                continue
            if kind == "old" and not out.exists():
                os.rename(path, out)
            else:
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_site(
    out: Path,
    files: dict[str, FileData],
    static: dict[str, Path],
    manifest: dict[str, Any],
    report: BuildReport,
) -> None:
    """Write everything to a temp folder next to ``out``, then swap it in."""
    out.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_folders(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    backup = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)  # this PID's own, left by an earlier process
    tmp.mkdir()
    with contextlib.ExitStack() as held:  # folder locks, released once the site is in place
        _hold_lock(held, tmp)
        try:
            _write_files(out, tmp, files, static, report)
            (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
            (tmp / ".nojekyll").write_bytes(b"")
            if out.exists():
                _hold_lock(held, out)  # the previous site is this build's backup now
                os.rename(out, backup)
            os.rename(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if backup.exists() and not out.exists():
                os.rename(backup, out)
            raise
        shutil.rmtree(backup, ignore_errors=True)


def _hold_lock(held: contextlib.ExitStack, folder: Path) -> None:
    fd = _lock_folder(folder)
    if fd is not None:
        held.callback(os.close, fd)


def _write_files(
    out: Path,
    tmp: Path,
    files: dict[str, FileData],
    static: dict[str, Path],
    report: BuildReport,
) -> None:
    """Every file into ``tmp``; one unchanged since the previous build is hard-linked."""
    made_dirs: set[Path] = set()
    entries: list[tuple[str, FileData, Path | None]] = [(p, d, None) for p, d in files.items()]
    entries += [(p, None, s) for p, s in static.items()]
    for rel, data, source in entries:
        target = tmp / rel
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        old = out / rel
        if data is None and source is None:  # page reused from the previous build
            _link_or_copy(old, target)
            report.unchanged += 1
        elif callable(data):  # named by its content: the previous build's file is the same
            if old.is_file():
                _link_or_copy(old, target)
                report.unchanged += 1
            else:
                raw = data()
                if raw is None:
                    continue
                target.write_bytes(raw)
                report.written += 1
        elif source is not None:
            if (
                old.is_file()
                and old.stat().st_size == source.stat().st_size
                and (old.read_bytes() == source.read_bytes())
            ):
                _link_or_copy(old, target)
                report.unchanged += 1
            else:
                shutil.copyfile(source, target)
                report.written += 1
        else:
            if old.is_file() and old.stat().st_size == len(data) and old.read_bytes() == data:
                _link_or_copy(old, target)
                report.unchanged += 1
            else:
                target.write_bytes(data)
                report.written += 1
        report.bytes_total += target.stat().st_size


@contextlib.contextmanager
def _site_os_errors(out: Path) -> Iterator[None]:
    """The one place an operating-system failure (read-only or full disk, a file where a
    folder should be) becomes an expected error: one line, the previous site untouched."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""
        raise SiteError(f"cannot write the site to {out}: {reason}{where}") from exc


def _previous_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    # A reused page must still exist in the old site.
    keys = {p: k for p, k in data.get("keys", {}).items() if (out / p).is_file()}
    return {**data, "keys": keys}


def build_site(
    repo: Path,
    out: Path,
    config: Config | None = None,
    *,
    title: str = "",
    base_url: str = "",
    progress: Progress | None = None,
    site: SiteData | None = None,
) -> BuildReport:
    """Build the static site of ``repo`` into ``out``; see docs/site.md."""
    repo = Path(repo)
    out = Path(out)
    with _site_os_errors(out):
        _check_out(out, repo)
    report = BuildReport(out=out)
    started = time.perf_counter()
    if site is None:
        config = config if config is not None else load_config(repo)
        site = gather(repo, config, title=title, base_url=base_url, progress=progress)
    report.seconds["gather"] = time.perf_counter() - started
    report.commits = len(site.history.commits)
    report.problem_commits = sorted(
        sha for sha, snap in site.history.snapshots.items() if snap.problems
    )
    report.repo_problems = len(site.history.problems)
    report.repo_problem_messages = [f"{p.kind}: {p.message}" for p in site.history.problems]
    mark = time.perf_counter()
    items = collect_pages(site)
    report.seconds["model"] = time.perf_counter() - mark
    mark = time.perf_counter()
    files, manifest, report.rendered_paths = render_site(
        site, items, _previous_manifest(out), progress
    )
    report.rendered = len(report.rendered_paths)
    report.pages = sum(1 for i in items if isinstance(i, Page))
    report.seconds["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with _site_os_errors(out):
        write_site(out, files, _static_files(), manifest, report)
    report.seconds["write"] = time.perf_counter() - mark
    report.seconds["total"] = time.perf_counter() - started
    return report
