"""Build the site: gather everything, collect every page family, render, then write atomically.

Incremental: a page whose ``key`` matches the previous build's manifest is not rendered
(:mod:`~mlpages.site.render`), and a file whose bytes did not change is carried over instead of
rewritten (:mod:`~mlpages.site.write`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mlpages.config import Config, load_config
from mlpages.errors import MlpagesError, SiteError
from mlpages.history.collect import collect
from mlpages.registry.gitio import read_registry
from mlpages.site.page_core import Asset, Page, SiteData
from mlpages.site.pages import (
    commit,
    compare,
    lineage,
    models,
    monitoring,
    overview,
    runs,
    validation,
)
from mlpages.site.render import Progress, code_stamp, plotly_asset, render_pages, static_files
from mlpages.site.unchanged import manifest_entries, site_key, unchanged
from mlpages.site.write import check_out, clear_stale_folders, previous_manifest, write_site

# Every page family, in build order; each module's pages(site) -> Iterable[Page | Asset].
PAGE_FAMILIES = (
    overview.pages,
    runs.pages,
    commit.pages,
    compare.pages,
    lineage.pages,
    models.pages,
    monitoring.pages,
    validation.pages,
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


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the benchmark."""

    out: Path
    pages: int = 0
    rendered: int = 0
    rendered_paths: list[str] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0
    commits: int = 0
    problem_commits: list[str] = field(default_factory=list)
    repo_problems: int = 0
    repo_problem_messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


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
    jobs: int = 1,
) -> SiteData:
    """Read the repository's history and registry into a :class:`SiteData` (no writing)."""
    history = collect(repo, config, progress=progress, jobs=jobs)
    newest = max((c.commit_time for c in history.commits.values()), default=0)
    return SiteData(
        history=history,
        config=config,
        registry=read_registry(repo),
        title=title or config.title or Path(history.root).resolve().name,
        base_url=base_url,
        generated=source_date(newest),
    )


def collect_pages(site: SiteData) -> list[Page | Asset]:
    """Every item of every family of :data:`PAGE_FAMILIES`, in order."""
    unique: list[Page | Asset] = []
    # Assets are named by content, so the same path twice is the same file: keep one.
    seen_assets: set[str] = set()
    for family in PAGE_FAMILIES:
        for item in family(site):
            if isinstance(item, Asset):
                if item.path in seen_assets:
                    continue
                seen_assets.add(item.path)
            unique.append(item)
    counts = Counter(item.path for item in unique)
    duplicates = sorted(path for path, n in counts.items() if n > 1)
    if duplicates:
        raise SiteError(f"two page builders produce the same file: {', '.join(duplicates[:5])}")
    return unique


def _timed(stream: Iterator[tuple[str, bytes]], report: BuildReport) -> Iterator[tuple[str, bytes]]:
    """The pages of ``stream``; ``report.seconds["render"]``: from the start to the last one."""
    started = time.perf_counter()
    report.seconds["render"] = 0.0
    yield from stream
    report.seconds["render"] = time.perf_counter() - started


def build_site(
    repo: Path,
    out: Path,
    config: Config | None = None,
    *,
    title: str = "",
    base_url: str = "",
    progress: Progress | None = None,
    site: SiteData | None = None,
    jobs: int = 1,
) -> BuildReport:
    """Build the static site of ``repo`` into ``out``; see docs/site.md.

    ``jobs`` processes read a long history (the site is the same bytes for any number).
    """
    repo = Path(repo)
    out = Path(out)
    check_out(out, repo)
    report = BuildReport(out=out)
    started = time.perf_counter()
    if site is None:
        config = config if config is not None else load_config(repo)
        site = gather(repo, config, title=title, base_url=base_url, progress=progress, jobs=jobs)
    report.seconds["gather"] = time.perf_counter() - started
    report.commits = len(site.history.commits)
    snapshots = site.history.snapshots
    report.problem_commits = sorted(sha for sha in snapshots if snapshots.has_problems(sha))
    report.repo_problems = len(site.history.problems)
    report.repo_problem_messages = [f"{p.kind}: {p.message}" for p in site.history.problems]
    mark = time.perf_counter()
    previous = previous_manifest(out)
    key = site_key(site, code_stamp(), plotly_asset()[0])
    same = unchanged(out, previous, site, key)
    if same is not None:  # nothing to render, link or swap: the site is as a clean build has it
        clear_stale_folders(out)  # what builds killed earlier left next to it
        report.pages, report.unchanged = same
        report.seconds["model"] = report.seconds["render"] = report.seconds["write"] = 0.0
        report.seconds["total"] = time.perf_counter() - started
        return report
    items = collect_pages(site)
    report.seconds["model"] = time.perf_counter() - mark
    mark = time.perf_counter()
    files, manifest, stream, report.rendered_paths = render_pages(
        site, items, previous, NAV, progress, jobs
    )
    report.pages = sum(1 for i in items if isinstance(i, Page))
    static = static_files()
    paths = [*(i.path for i in items), *static]
    manifest.update(manifest_entries(site, key, report.pages, paths))
    # Pages are written as they are rendered ("render" is both; "write" the rest and the swap).
    written = write_site(out, files, static, manifest, stream=_timed(stream, report))
    report.rendered = len(report.rendered_paths)
    report.written, report.unchanged = written.written, written.unchanged
    report.seconds["write"] = time.perf_counter() - mark - report.seconds["render"]
    report.seconds["total"] = time.perf_counter() - started
    return report
