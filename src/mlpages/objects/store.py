"""Read DVC-tracked outputs (files not committed to git) by their hash, without the dvc CLI.

Objects come from a list of :class:`ObjectSource` tried in order: :func:`default_sources` gives
the local cache (:mod:`mlpages.objects.local`), those of sub-folder projects, then the DVC
remotes of the project and its sub-folder projects when ``remote_fetch`` is on (a folder read in
place, any other type through DVC's filesystems: :mod:`mlpages.objects.remote`);
``collect(..., sources=[...])`` takes any other list. Every object handed out is first checked
against its md5 (:mod:`mlpages.objects.objectid`): a copy that does not match is skipped and
remembered, so the caller reports ``md5-mismatch`` instead of ``not-in-cache``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from mlpages.config import Config
from mlpages.errors import RemoteError
from mlpages.models import HashInfo, Problem
from mlpages.objects.dvcconfig import cache_dir_of, load_dvc_config, remote_of
from mlpages.objects.local import LocalCache, subproject_roots
from mlpages.objects.objectid import contained, is_md5, verified
from mlpages.objects.output_remotes import output_remote_names
from mlpages.objects.remote import DvcRemote


@runtime_checkable
class ObjectSource(Protocol):
    """Where DVC objects can be read from. ``legacy`` = DVC 2 layout (no ``files/md5/``)."""

    name: str  # "cache" | "remote" (copied into PlotData.source)

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        """Object content, None when absent (or larger than ``max_bytes``)."""
        ...

    def has(self, md5: str, legacy: bool) -> bool:
        """Cheap existence test (used to revalidate cached "not in cache" problems)."""
        ...


class ConfigNote:
    """A source that holds no object, only why the DVC configuration was refused."""

    name = "config"

    def __init__(self, unavailable: str) -> None:
        self.unavailable = unavailable

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        return None

    def has(self, md5: str, legacy: bool) -> bool:
        return False


def remote_source(root: Path, fetch_cache: Path, name: str | None = None) -> ObjectSource | None:
    """The project's DVC remote (default: ``core.remote``) as an object source; None without one.

    A folder remote has the cache's layout and is read in place; any other type is read through
    DVC's filesystem for it. A configuration DVC refuses is a :class:`ConfigNote`.
    """
    config = load_dvc_config(root)
    try:
        remote = remote_of(config, name, root)
    except RemoteError as exc:
        return ConfigNote(str(exc))
    if remote is None:  # nothing to read: what DVC refused in the configuration is its business
        return None
    if remote.scheme == "local":
        # DVC made a relative folder absolute (relative to the config file naming it).
        folder = Path(os.path.expanduser(remote.url.removeprefix("file://")))
        return LocalCache((root / ".dvc" / folder).resolve(), name="remote")
    if contained(root, os.path.relpath(fetch_cache, root)) is None:
        # A branch can commit .dvc/tmp as a symlink: never read or write a folder outside.
        source = DvcRemote(remote, None)
        source.unavailable = f"{source.label}: its fetch cache {fetch_cache} leads out of {root}"
        return source
    return DvcRemote(remote, fetch_cache)


def default_sources(root: Path, config: Config) -> list[ObjectSource]:
    """The local cache, those of sub-folder projects, then the DVC remotes (``remote_fetch``)."""
    sources: list[ObjectSource] = [LocalCache(cache_dir_of(root))]
    sub_roots = subproject_roots(root)
    sources += [LocalCache(cache_dir_of(sub)) for sub in sub_roots]
    if config.remote_fetch:
        seen: set[str] = set()
        for project in (root, *sub_roots):
            # The default remote, then those outputs name for themselves (`remote:`).
            for name in (None, *output_remote_names(project)):
                fetch_cache = project / ".dvc" / "tmp" / "mlpages-remote"
                remote = remote_source(project, fetch_cache, name)
                key = getattr(getattr(remote, "remote", None), "url", None) or str(
                    getattr(remote, "unavailable", project)
                )
                if remote is not None and key not in seen:
                    seen.add(key)
                    sources.append(remote)
    return sources


def source_problems(sources: Sequence[ObjectSource]) -> list[Problem]:
    """One ``remote-error`` problem per source that gave up (its ``unavailable`` reason)."""
    reasons = [getattr(source, "unavailable", None) for source in sources]
    return [Problem("remote-error", ".", f"{r}: outputs not available") for r in reasons if r]


def _plain_relpath(value: object) -> bool:
    """A path DVC writes in a ``.dir`` listing: relative, no ``.``/``..``/empty segment."""
    if not isinstance(value, str) or value.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in value.split("/"))


@dataclass(frozen=True)
class ObjectRead:
    """Result of reading an output: verified content (None if absent) and the source name.

    ``mismatch`` names the source whose copy did not hash to the md5 (when no source had a good
    one); ``too_large``: a source has it, over the size limit.
    """

    data: bytes | None
    source: str | None
    too_large: bool = False
    mismatch: str | None = None


class DvcObjects:
    """Read outputs by :class:`HashInfo`, including files inside directory outputs."""

    def __init__(self, sources: Sequence[ObjectSource], max_bytes: int | None = None) -> None:
        self.sources = list(sources)
        self.max_bytes = max_bytes
        self._dirs: dict[tuple[str, bool], dict[str, str] | None] = {}
        self.mismatched: dict[str, str] = {}  # md5 -> source whose copy failed verification

    def read_object(self, md5: str, legacy: bool, max_bytes: int | None = None) -> ObjectRead:
        """One verified object, from the first source with a good copy; both layouts tried."""
        if not is_md5(md5):
            return ObjectRead(None, None)
        limit = self.max_bytes if max_bytes is None else max_bytes
        mismatch: str | None = None
        for source in self.sources:
            for layout in (legacy, not legacy):
                data = source.read(md5, layout, limit)
                if data is not None:
                    if verified(md5, data, layout):
                        return ObjectRead(data, source.name)
                    mismatch = mismatch or source.name
                elif limit is not None and source.has(md5, layout):
                    return ObjectRead(None, source.name, too_large=True)
        if mismatch is not None:
            self.mismatched[md5] = mismatch
        return ObjectRead(None, None, mismatch=mismatch)

    def _remotes(self) -> list[DvcRemote]:
        return [s for s in self.sources if isinstance(s, DvcRemote)]

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Remotes record the objects asked for instead of fetching them one by one."""
        remotes = self._remotes()
        for remote in remotes:
            remote.deferring = True
        try:
            yield
        finally:
            for remote in remotes:
                remote.deferring = False

    def want(self, objects: Iterable[tuple[str, bool]]) -> None:
        """Record objects for the next :meth:`fetch_wanted` (those a forked worker missed)."""
        pairs = list(objects)
        for remote in self._remotes():
            for md5, legacy in pairs:
                remote.wanted.setdefault(md5, legacy)

    def fetch_wanted(self) -> bool:
        """Fetch what the remotes recorded while deferring, in parallel; True if any arrived."""
        arrived = []
        found: set[str] = set()
        for remote in self._remotes():  # in order: a later remote is asked only what earlier lacked
            remote.wanted = {m: lay for m, lay in remote.wanted.items() if m not in found}
            arrived.append(remote.fetch_wanted())
            found |= remote.found()
        self._dirs = {k: v for k, v in self._dirs.items() if v is not None}
        return any(arrived)

    def prefetch(self, objects: Iterable[tuple[str, bool]]) -> None:
        """Fetch these objects from the remotes in parallel (those the local caches lack)."""
        pairs = list(objects)
        for source in self.sources:
            if isinstance(source, DvcRemote):
                source.prefetch(pairs)
            else:
                pairs = [p for p in pairs if not source.has(*p) and not source.has(p[0], not p[1])]

    def has(self, md5: str, legacy: bool) -> bool:
        """True when some source has the object (either layout); its content is not checked."""
        return is_md5(md5) and any(
            s.has(md5, lay) for s in self.sources for lay in (legacy, not legacy)
        )

    def dir_listing(self, md5: str, legacy: bool) -> dict[str, str] | None:
        """``relpath -> md5`` of a ``.dir`` object, None when absent or unreadable."""
        key = (md5, legacy)
        if key not in self._dirs:
            found = self.read_object(md5, legacy, max_bytes=256_000_000)
            listing = None
            if found.data is not None:
                try:
                    raw = json.loads(found.data)
                    listing = {
                        str(item["relpath"]): str(item["md5"])
                        for item in raw
                        if isinstance(item, dict)
                        and "md5" in item
                        and _plain_relpath(item.get("relpath"))
                    }
                except (ValueError, TypeError):
                    listing = None
            self._dirs[key] = listing
        return self._dirs[key]

    def locate(self, out: HashInfo, path: str) -> tuple[str, bool] | None:
        """(md5, legacy) of repo-relative ``path`` inside output ``out`` (file or directory)."""
        if not out.md5:
            return None
        legacy = out.hash_name != "md5"
        if path == out.path:
            return (out.md5, legacy) if not out.is_dir else None
        if not out.is_dir or not path.startswith(out.path.rstrip("/") + "/"):
            return None
        listing = self.dir_listing(out.md5, legacy)
        if listing is None:
            return None
        rel = path[len(out.path.rstrip("/")) + 1 :]
        md5 = listing.get(rel)
        return (md5, legacy) if md5 else None

    def files_in_dir(self, out: HashInfo) -> dict[str, str] | None:
        """``repo path -> md5`` of every file of a directory output, None when not available."""
        if not out.md5 or not out.is_dir:
            return None
        listing = self.dir_listing(out.md5, out.hash_name != "md5")
        if listing is None:
            return None
        base = out.path.rstrip("/")
        return {f"{base}/{rel}": md5 for rel, md5 in listing.items()}
