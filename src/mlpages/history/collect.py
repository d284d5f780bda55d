"""Every commit's pipeline facts: :func:`collect` (whole history) and :func:`snapshot_of` (one rev).

Contract (docs/internals.md, "History engine"): ``collect(repo, config, progress=None)`` returns
a :class:`RepoHistory`; snapshots are cached on disk by commit sha + schema version, so a rebuild
after one new commit computes one snapshot.
"""

from __future__ import annotations

import sqlite3
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlpages.config import Config
from mlpages.errors import NotADvcRepository, UnknownRevision
from mlpages.gitread.reader import GitReader, RepoLocation, locate_repo
from mlpages.history.build import SnapshotBuilder
from mlpages.history.cache import SnapshotCache, StageTable, decode_doc
from mlpages.history.codec import snapshot_doc
from mlpages.history.parallel import BLOCK, build_in_workers, can_fork
from mlpages.history.views import GitView, TreeIndex, WorkTreeView
from mlpages.history.walk import build_each
from mlpages.models import Commit, Problem, Ref, Snapshot
from mlpages.objects.dvcconfig import cache_dir_of
from mlpages.objects.local import subproject_cache_dirs
from mlpages.objects.store import DvcObjects, ObjectSource, default_sources, source_problems

Progress = Callable[[str, int, int], None]  # (phase "history", done, total)
REMOTE_PASSES = 3  # snapshot passes that fetch missing DVC objects from the remotes
SHALLOW_MESSAGE = (
    "this is a shallow clone: history is truncated, so older commits are missing. "
    "In GitHub Actions use actions/checkout with `fetch-depth: 0`; elsewhere run "
    "`git fetch --unshallow`."
)


class Snapshots(Mapping[str, Snapshot]):
    """Snapshots by sha; cached ones are decoded on first access (a dict for every reader)."""

    def __init__(self, stages: StageTable) -> None:
        self._objects: dict[str, Snapshot] = {}
        self._docs: dict[str, bytes] = {}  # zlib-compressed documents
        self._order: dict[str, None] = {}
        self._stage_ids: dict[str, tuple[str, ...]] = {}
        self.stages = stages

    def add(
        self,
        sha: str,
        snapshot: Snapshot | None = None,
        doc: bytes | None = None,
        stage_ids: tuple[str, ...] | None = None,
    ) -> None:
        """Register a snapshot object and/or its compressed document."""
        self._order[sha] = None
        self._objects.pop(sha, None)  # a snapshot computed again replaces the first one
        self._docs.pop(sha, None)
        if snapshot is not None:
            self._objects[sha] = snapshot
        if doc is not None and stage_ids is not None:
            self._docs[sha] = doc
            self._stage_ids[sha] = stage_ids

    def set_order(self, order: Sequence[str]) -> None:
        """Iterate in this order (newest first)."""
        self._order = dict.fromkeys(order)

    def __getitem__(self, sha: str) -> Snapshot:
        found = self._objects.get(sha)
        if found is None:
            found = decode_doc(self._docs[sha], self.stages)  # KeyError when unknown
            self._objects[sha] = found
        return found

    def has_problems(self, sha: str) -> bool:
        """Whether the snapshot lists problems, without decoding a cached one."""
        zdoc = self._docs.get(sha) if sha not in self._objects else None
        if zdoc is None:
            return bool(self[sha].problems)
        doc = zlib.decompress(zdoc)
        # The top-level "problems" is the last key but schema_version (a string value cannot
        # hold the raw bytes: its quotes are escaped).
        at = doc.rfind(b',"problems":')
        if at < 0:
            return bool(self[sha].problems)
        return doc[at + 12 : at + 14] != b"[]"

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, sha: object) -> bool:
        return sha in self._order

    def doc(self, sha: str) -> tuple[bytes, tuple[str, ...]]:
        """The snapshot's documented JSON with stages as ids, and those ids (see ``stages``)."""
        zdoc = self._docs.get(sha)
        if zdoc is None:
            snapshot = self[sha]
            ids = tuple(self.stages.id_of(st) for st in snapshot.stages)
            doc = snapshot_doc(snapshot, list(ids))
            self._docs[sha], self._stage_ids[sha] = zlib.compress(doc, 1), ids
            return doc, ids
        return zlib.decompress(zdoc), self._stage_ids[sha]


@dataclass
class RepoHistory:
    """All commits, refs and snapshots of a repository (see docs/internals.md)."""

    root: Path
    commits: dict[str, Commit]
    order: tuple[str, ...]
    refs: tuple[Ref, ...]
    default_branch: str | None
    mainline: tuple[str, ...]
    snapshots: Snapshots  # a read-only Mapping[str, Snapshot]
    shallow: bool = False
    problems: tuple[Problem, ...] = ()
    git_dir: Path | None = None
    computed: int = 0  # snapshots computed by this collect (the others came from the cache)
    _objects: DvcObjects | None = field(default=None, repr=False)
    _reader: GitReader | None = field(default=None, repr=False)
    _refs_by_sha: dict[str, tuple[Ref, ...]] | None = field(default=None, repr=False)

    def refs_at(self, sha: str) -> tuple[Ref, ...]:
        """Refs pointing at a commit (branches, remotes, tags, exps, pulls)."""
        if self._refs_by_sha is None:
            by_sha: dict[str, list[Ref]] = {}
            for ref in self.refs:
                by_sha.setdefault(ref.sha, []).append(ref)
            self._refs_by_sha = {k: tuple(v) for k, v in by_sha.items()}
        return self._refs_by_sha.get(sha, ())

    def read_image(self, image_sha: str) -> bytes | None:
        """Bytes of a plot image: a git blob sha, or ``md5:<hash>`` for a DVC-cached image.

        None when absent or over ``max_file_bytes`` (the snapshot reported that already).
        """
        if image_sha.startswith("md5:"):
            if self._objects is None:
                return None
            return self._objects.read_object(image_sha[4:], legacy=False).data
        if self._reader is None:
            self._reader = GitReader(self.root)
            weakref.finalize(self, self._reader.close)
        limit = self._objects.max_bytes if self._objects is not None else None
        got = self._reader.read_blob(image_sha, limit)
        return got[1] if got is not None else None

    def has_image(self, image_sha: str) -> bool:
        """Cheap check that :meth:`read_image` will find it (a DVC object may be gc'ed since
        its commit was snapshotted; git blobs were checked when the snapshot was made)."""
        if image_sha.startswith("md5:"):
            return self._objects is not None and self._objects.has(image_sha[4:], legacy=False)
        return True

    def close(self) -> None:
        """Stop the git process opened by :meth:`read_image` (if any)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _open_cache(
    folder: Path, config: Config, stages: StageTable, problems: list[Problem]
) -> SnapshotCache | None:
    try:
        return SnapshotCache(folder, config, stages)
    except (OSError, sqlite3.Error) as exc:  # read-only checkout, full disk: work without it
        problems.append(Problem("unsupported", str(folder), f"snapshot cache disabled: {exc}"))
        return None


def default_cache_dir(location: RepoLocation, config: Config) -> Path:
    """Config.cache_dir (relative to the work tree) or ``<git-dir>/mlpages-cache``."""
    if config.cache_dir:
        path = Path(config.cache_dir).expanduser()
        return path if path.is_absolute() else location.root / path
    return location.git_dir / "mlpages-cache"


def resolve_default_branch(
    refs: Sequence[Ref], symrefs: dict[str, str], head_branch: str | None, config: Config
) -> Ref | None:
    """config.default_branch, then origin/HEAD, main, master, then the current branch."""
    branches = {r.short: r for r in refs if r.kind == "branch"}
    remotes = {r.short: r for r in refs if r.kind == "remote"}

    def find(name: str) -> Ref | None:
        if name in branches:
            return branches[name]
        if f"origin/{name}" in remotes:
            return remotes[f"origin/{name}"]
        for short, ref in sorted(remotes.items()):
            if short.split("/", 1)[-1] == name:
                return ref
        return next((r for r in refs if r.name == name), None)

    candidates: list[str] = []
    if config.default_branch:
        candidates.append(config.default_branch)
    origin_head = symrefs.get("refs/remotes/origin/HEAD", "")
    if origin_head.startswith("refs/remotes/origin/"):
        candidates.append(origin_head[len("refs/remotes/origin/") :])
    candidates += ["main", "master"]
    if head_branch and head_branch.startswith("refs/heads/"):
        candidates.append(head_branch[len("refs/heads/") :])
    for name in candidates:
        ref = find(name)
        if ref is not None:
            return ref
    return None


def first_parent_chain(commits: dict[str, Commit], tip: str | None) -> tuple[str, ...]:
    """The first-parent chain from ``tip``, newest first (stops at commits not read)."""
    chain: list[str] = []
    seen: set[str] = set()
    sha = tip
    while sha and sha in commits and sha not in seen:
        chain.append(sha)
        seen.add(sha)
        parents = commits[sha].parents
        sha = parents[0] if parents else None
    return tuple(chain)


@dataclass(frozen=True)
class _Graph:
    """The commit graph of every ref: commits newest first, the default branch, its mainline."""

    refs: tuple[Ref, ...]
    commits: dict[str, Commit]
    order: list[str]
    default_branch: str | None
    mainline: tuple[str, ...]
    problems: tuple[Problem, ...]


def _read_graph(reader: GitReader, config: Config) -> _Graph:
    refs = reader.refs()
    head_sha, head_branch = reader.head()
    tips = [r.sha for r in refs] + ([head_sha] if head_sha else [])
    order = reader.rev_list(tips)
    commits = reader.read_commits(order)
    unreadable = [sha for sha in order if sha not in commits]
    problems = (
        (Problem("missing-blob", ".", f"{len(unreadable)} commit objects unreadable"),)
        if unreadable
        else ()
    )
    default = resolve_default_branch(refs, reader.symrefs, head_branch, config)
    default_name = (
        default.short.split("/", 1)[-1]
        if default and default.kind == "remote"
        else (default.short if default else None)
    )
    return _Graph(
        refs=refs,
        commits=commits,
        order=[sha for sha in order if sha in commits],
        default_branch=default_name,
        mainline=first_parent_chain(commits, default.sha if default else head_sha),
        problems=problems,
    )


def _objects_of(root: Path, config: Config, sources: Sequence[ObjectSource] | None) -> DvcObjects:
    """The DVC objects reader: ``sources``, else the repository's :func:`default_sources`."""
    chosen = sources if sources is not None else default_sources(root, config)
    return DvcObjects(chosen, config.max_file_bytes)


def _compute(
    reader: GitReader,
    builder: SnapshotBuilder,
    commits: dict[str, Commit],
    todo: list[str],
    cache: SnapshotCache | None,
    snapshots: Snapshots,
    progress: Progress | None,
    total: int,
    jobs: int = 1,
) -> list[str]:
    """Build the snapshots of ``todo`` (newest first), in this process or in ``jobs`` workers.

    Returns the commits whose snapshot missed some DVC object.
    """
    incomplete: list[str] = []
    if cache is not None and jobs > 1 and len(todo) >= 2 * BLOCK and can_fork():
        rows = build_in_workers(reader.root, builder, commits, todo, cache, jobs)
        for sha, zdoc, ids, missing in rows:
            if missing:  # a worker's wishes die with it: the remotes are told here
                incomplete.append(sha)
                builder.loader.objects.want(missing)
            snapshots.add(sha, None, zdoc, ids)
            if progress is not None and len(snapshots) % 100 == 0:
                progress("history", len(snapshots), total)
        return incomplete
    for sha, snapshot, missing in build_each(reader, builder, commits, todo):
        if missing:
            incomplete.append(sha)
        stored = cache.store(snapshot, missing) if cache is not None else None
        if stored is not None:  # keep the compact document; decode on access
            snapshots.add(sha, None, *stored)
        else:
            snapshots.add(sha, snapshot)
        if progress is not None and len(snapshots) % 100 == 0:
            progress("history", len(snapshots), total)
    return incomplete


def _snapshots(
    reader: GitReader,
    graph: _Graph,
    objects: DvcObjects,
    cache: SnapshotCache | None,
    progress: Progress | None,
    config: Config,
    jobs: int = 1,
) -> tuple[Snapshots, int]:
    """Every commit's snapshot, cached ones as they are; and how many were computed."""
    builder = SnapshotBuilder(config, objects)
    cached = cache.load(graph.order) if cache is not None else {}
    # A cached snapshot that missed a DVC object is computed again once the object is there.
    objects.prefetch(pair for entry in cached.values() for pair in entry.missing)
    todo = [
        sha
        for sha in graph.order
        if sha not in cached or any(objects.has(md5, legacy) for md5, legacy in cached[sha].missing)
    ]
    snapshots = Snapshots(cache.stages if cache is not None else StageTable())
    total = len(graph.order)
    with objects.deferring():  # the remotes' objects are fetched together, between passes
        retry = _compute(
            reader, builder, graph.commits, todo, cache, snapshots, progress, total, jobs
        )
        for _ in range(REMOTE_PASSES):  # files, then those inside directories fetched in pass 1
            if not retry or not objects.fetch_wanted():
                break
            retry = _compute(reader, builder, graph.commits, retry, cache, snapshots, None, total)
    recomputed = set(todo)
    for sha in graph.order:
        if sha not in recomputed:
            snapshots.add(sha, doc=cached[sha].zdoc, stage_ids=cached[sha].stage_ids)
    snapshots.set_order(graph.order)
    if progress is not None:
        progress("history", total, total)
    return snapshots, len(todo)


def _close_cache(cache: SnapshotCache, folder: Path, problems: list[Problem]) -> None:
    cache.close()
    if cache.failed:  # e.g. a full disk: this build computed without storing
        problems.append(
            Problem("unsupported", str(folder), f"snapshot cache disabled: {cache.failed}")
        )


def _require_dvc(location: RepoLocation, snapshots: Snapshots) -> None:
    """NotADvcRepository unless the work tree or some commit has DVC files."""
    if not (location.root / ".dvc").is_dir() and not any(s.has_dvc for s in snapshots.values()):
        raise NotADvcRepository(
            f"{location.root}: no DVC files (dvc.yaml, dvc.lock, *.dvc, .dvc/) in any commit"
            " — run `dvc init` first"
        )


def collect(
    repo: Path,
    config: Config,
    progress: Progress | None = None,
    *,
    sources: Sequence[ObjectSource] | None = None,
    use_cache: bool = True,
    jobs: int = 1,
) -> RepoHistory:
    """Read every commit reachable from any ref and build (or load) its snapshot.

    ``jobs`` > 1 builds long histories in that many forked processes (same result).
    """
    location = locate_repo(Path(repo))
    objects = _objects_of(location.root, config, sources)
    problems: list[Problem] = []
    if location.shallow:
        problems.append(Problem("shallow-clone", ".", SHALLOW_MESSAGE))
    with GitReader(location.root) as reader:
        graph = _read_graph(reader, config)
        problems.extend(graph.problems)
        cache_dir = default_cache_dir(location, config)
        cache = _open_cache(cache_dir, config, StageTable(), problems) if use_cache else None
        try:
            snapshots, computed = _snapshots(reader, graph, objects, cache, progress, config, jobs)
        finally:
            if cache is not None:
                _close_cache(cache, cache_dir, problems)
    problems += source_problems(objects.sources)
    _require_dvc(location, snapshots)
    return RepoHistory(
        root=location.root,
        commits=graph.commits,
        order=tuple(graph.order),
        refs=graph.refs,
        default_branch=graph.default_branch,
        mainline=graph.mainline,
        snapshots=snapshots,
        shallow=location.shallow,
        problems=tuple(problems),
        git_dir=location.git_dir,
        computed=computed,
        _objects=objects,
    )


def snapshot_of(
    repo: Path,
    rev: str | None,
    config: Config,
    *,
    sources: Sequence[ObjectSource] | None = None,
) -> Snapshot:
    """The snapshot of one revision (``None``: the work tree, uncommitted changes included)."""
    location = locate_repo(Path(repo))
    builder = SnapshotBuilder(config, _objects_of(location.root, config, sources))
    if rev is None:
        # Links into the DVC cache folders are outputs of `cache.type: symlink`: readable.
        caches = [cache_dir_of(location.root), *subproject_cache_dirs(location.root)]
        snapshot, _ = builder.build("", WorkTreeView(location.root, caches))
        return snapshot
    with GitReader(location.root) as reader:
        sha = reader.resolve(rev)
        if sha is None:
            raise UnknownRevision(f"unknown revision {rev!r}")
        commit = reader.read_commits([sha])[sha]
        snapshot, _ = builder.build(sha, GitView(reader, TreeIndex(reader), commit.tree))
        return snapshot
