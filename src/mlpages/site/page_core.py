"""The shared vocabulary of the site: the data every page builder reads and the pages it returns.

A page family is a module of ``site/pages/`` with ``pages(site: SiteData) -> Iterable[Page |
Asset]``; ``build.PAGE_FAMILIES`` lists them. The build renders each page's template with its
context and writes the files. Families are pure: they read ``SiteData`` and never touch the disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from mlpages.compare.stages import StageChange, compare_stages
from mlpages.config import Config
from mlpages.history.experiments import ExperimentIndex, experiments_of, parse_exp_ref
from mlpages.models import Commit, Ref, Snapshot
from mlpages.registry.state import Registry
from mlpages.site.urls import commit_path


class HistoryLike(Protocol):
    """What the site reads from ``mlpages.history.collect.RepoHistory`` (see docs/internals.md)."""

    root: Path
    commits: dict[str, Commit]
    order: tuple[str, ...]
    refs: tuple[Ref, ...]
    default_branch: str | None
    mainline: tuple[str, ...]
    snapshots: dict[str, Snapshot]
    shallow: bool
    problems: tuple

    def read_image(self, image_sha: str) -> bytes | None: ...

    def has_image(self, image_sha: str) -> bool: ...


@dataclass(frozen=True)
class Page:
    """One output file: ``path`` (site-relative, POSIX) rendered from ``template`` with ``context``.

    ``context`` may be a zero-argument callable so that expensive contexts (figures, SVG) are only
    computed when the page must be rendered. ``key`` fingerprints everything the page depends on
    besides the site-wide inputs (templates, title, navigation): when it equals the key recorded by
    the previous build, the page is neither rendered nor rewritten. ``None`` = always render.
    """

    path: str
    template: str
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]]
    key: str | None = None
    title: str = ""
    nav: str = ""  # the navigation entry highlighted on this page ("runs", "models", ...)

    def resolve_context(self) -> Mapping[str, Any]:
        return self.context() if callable(self.context) else self.context


@dataclass(frozen=True)
class Asset:
    """A non-HTML file of the site (data scripts, images), written as bytes.

    ``data`` may be a zero-argument callable for a file named by its content (an image named
    by its blob id): it is then read only when written, one at a time, and not at all when the
    previous build has that file already. A callable that returns None writes nothing.
    """

    path: str
    data: bytes | Callable[[], bytes | None]


# What the writer gets per site path: the file's bytes, None for "reuse the previous build's
# page", or an Asset's loader (read only when written).
FileData = bytes | Callable[[], bytes | None] | None


@dataclass(frozen=True)
class SiteData:
    """Everything gathered before rendering: history, registry, configuration, site options."""

    history: HistoryLike
    config: Config
    registry: Registry | None = None  # None: a site built from history alone (tests)
    title: str = "mlpages"
    base_url: str = ""
    generated: int = 0  # epoch seconds (SOURCE_DATE_EPOCH or the newest commit)
    extra: dict[str, Any] = field(default_factory=dict)

    # --- graph helpers ----------------------------------------------------------------------

    @cached_property
    def refs_by_sha(self) -> dict[str, tuple[Ref, ...]]:
        """Refs per commit, without GTO stage-assignment tags (``model#prod#3``): they stay on
        the commit after the stage moved on, so as badges they would mislead; the registry
        pages show stages as they are. Nor DVC's bookkeeping under ``refs/exps/`` (the
        ``refs/exps/exec/EXEC_HEAD`` a workspace ``dvc exp run`` leaves on its baseline)."""
        out: dict[str, list[Ref]] = {}
        for ref in self.history.refs:
            if ref.kind == "tag" and "#" in ref.short:
                continue
            if ref.kind == "exp" and parse_exp_ref(ref.name) is None:
                continue
            out.setdefault(ref.sha, []).append(ref)
        return {sha: tuple(sorted(refs, key=_ref_order)) for sha, refs in out.items()}

    def refs_at(self, sha: str) -> tuple[Ref, ...]:
        return self.refs_by_sha.get(sha, ())

    @cached_property
    def experiments(self) -> ExperimentIndex:
        """The DVC experiments (``refs/exps/…``) of the history, by tip and by baseline."""
        return experiments_of(self.history.refs, self.history.commits)

    def commit(self, sha: str) -> Commit:
        return self.history.commits[sha]

    def commit_info(self, sha: str) -> dict[str, Any]:
        """The sha, subject and commit time of a commit, as the report pages list it."""
        commit = self.history.commits[sha]
        return {"sha": sha, "subject": commit.subject, "time": commit.commit_time}

    def snapshot(self, sha: str | None) -> Snapshot | None:
        return self.history.snapshots.get(sha) if sha else None

    def parent(self, sha: str) -> str | None:
        """The first parent of ``sha`` when it is part of the history."""
        parents = self.history.commits[sha].parents
        return parents[0] if parents and parents[0] in self.history.commits else None

    @cached_property
    def head(self) -> str | None:
        """The newest commit of the default branch (or the newest commit at all)."""
        if self.history.mainline:
            return self.history.mainline[0]
        return self.history.order[0] if self.history.order else None

    @cached_property
    def branches(self) -> tuple[Ref, ...]:
        """Local branches (remote ones when the clone has no local branch of that name)."""
        local = [r for r in self.history.refs if r.kind == "branch"]
        names = {r.short for r in local}
        remote = [
            r
            for r in self.history.refs
            if r.kind == "remote"
            and not r.short.endswith("/HEAD")
            and r.short.split("/", 1)[-1] not in names
        ]
        return tuple(sorted(local + remote, key=lambda r: r.short))

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it within the history."""
        seen: set[str] = set()
        stack = [sha]
        commits = self.history.commits
        while stack:
            current = stack.pop()
            if current in seen or current not in commits:
                continue
            seen.add(current)
            stack.extend(commits[current].parents)
        return seen

    @cached_property
    def mainline_set(self) -> frozenset[str]:
        return frozenset(self.history.mainline)

    @cached_property
    def default_ancestors(self) -> frozenset[str]:
        """Every commit the default branch contains."""
        return (
            frozenset(self.ancestors(self.history.mainline[0]))
            if self.history.mainline
            else frozenset()
        )

    def merge_base(self, sha: str) -> str | None:
        """The best common ancestor of ``sha`` and the default branch's head (like
        ``git merge-base``): ``sha`` itself once the branch is merged."""
        if not self.history.mainline:
            return None
        if sha in self.default_ancestors:
            return sha
        reachable = self.ancestors(sha)
        # history.order is topological, newest first: the first common commit has no common
        # descendant, which is what makes a merge-base "best".
        return next(
            (c for c in self.history.order if c in reachable and c in self.default_ancestors),
            None,
        )

    def commit_url(self, sha: str) -> str:
        return commit_path(sha)

    def stage_changes(self, base_sha: str, head_sha: str) -> tuple[StageChange, ...]:
        """``compare.stages.compare_stages`` of two commits, memoised (commit and lineage pages).

        Only stages whose lock entry differs are handed to the comparison: on a large pipeline
        most stages are equal objects, and equal stages can never be reported as changed.
        """
        memo = self.extra.setdefault("stage_changes", {})
        key = (base_sha, head_sha)
        if key not in memo:
            base, head = self.snapshot(base_sha), self.snapshot(head_sha)
            if base is None or head is None:
                return ()
            old = {s.key: s for s in base.stages}
            new_keys = {s.key for s in head.stages}
            differ = [s for s in head.stages if old.get(s.key) is not s and old.get(s.key) != s]
            keep = {s.key for s in differ}
            gone = [s for s in base.stages if s.key in keep or s.key not in new_keys]
            memo[key] = compare_stages(
                Snapshot(sha=base.sha, has_dvc=base.has_dvc, stages=tuple(gone)),
                Snapshot(sha=head.sha, has_dvc=head.has_dvc, stages=tuple(differ)),
            )
        return memo[key]

    def snapshot_key(self, sha: str | None) -> str:
        """A fingerprint of a commit's snapshot, "" when there is none.

        Snapshots are immutable but for one thing: a DVC object missing when the commit was
        first read may arrive later (``dvc pull``), and the snapshot is then recomputed. A
        page showing a snapshot (or a delta against it) puts this in its key.
        """
        if not sha or sha not in self.history.snapshots:
            return ""
        memo: dict[str, str] = self.extra.setdefault("snapshot_keys", {})
        if sha not in memo:
            doc = getattr(self.history.snapshots, "doc", None)  # RepoHistory's stored JSON
            raw = doc(sha)[0] if doc is not None else repr(self.history.snapshots[sha]).encode()
            memo[sha] = hashlib.sha256(raw).hexdigest()[:24]
        return memo[sha]

    def mainline_reports(self, name: str) -> list[tuple[str, Any]]:
        """(sha, report) for each default-branch commit where report ``name`` changed, oldest
        first (a report carried unchanged by later commits is listed once)."""
        out: list[tuple[str, Any]] = []
        previous = None
        for sha in reversed(self.history.mainline):
            snap = self.snapshot(sha)
            report = snap.reports.get(name) if snap else None
            if report is None:
                continue
            # == compares plain JSON deeply and fast; NaN != NaN, so confirm a difference by text.
            if report != previous and _report_text(report) != _report_text(previous):
                out.append((sha, report))
            previous = report
        return out

    def reports_key(self, *names: str) -> str:
        """A page key for pages built from reports ``names`` along the default branch."""
        parts = []
        for sha in self.history.mainline:
            snap = self.snapshot(sha)
            if snap is not None and any(n in snap.reports for n in names):
                parts.append((sha, self.snapshot_key(sha)))
        return fingerprint(names, parts, self.head, self.snapshot_key(self.head))

    @cached_property
    def stamp(self) -> str:
        """A fingerprint of the site-wide inputs every page depends on (the base template
        names the default branch)."""
        return fingerprint(
            self.title,
            self.base_url,
            sorted(vars_of(self.config).items()),
            self.history.default_branch,
        )


def _report_text(report: Any) -> str:
    return json.dumps(report, sort_keys=True, default=str)


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: repr(v) for k, v in vars(obj).items()}


def _ref_order(ref: Ref) -> tuple[int, str]:
    return ({"branch": 0, "tag": 1, "remote": 2}.get(ref.kind, 3), ref.short)


def fingerprint(*parts: Any) -> str:
    """A short stable hash of ``parts`` (JSON-encoded, repr for anything else)."""
    raw = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:24]
