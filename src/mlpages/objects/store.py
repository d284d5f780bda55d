"""Read DVC-tracked outputs (files not committed to git) by their hash, without the dvc CLI.

Objects come from a list of :class:`ObjectSource` tried in order: the local cache first, then any
source added with :func:`register_source_factory` (e.g. an S3 remote reader). Every object handed
out is first checked against its md5 (:mod:`mlpages.objects.objectid`): a copy that does not match
is skipped and remembered, so the caller reports ``md5-mismatch`` instead of ``not-in-cache``.
"""

from __future__ import annotations

import configparser
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from mlpages.config import Config
from mlpages.models import HashInfo, Problem
from mlpages.objects.objectid import is_md5, object_file, object_relpath, verified


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


SourceFactory = Callable[[Path, Config], "ObjectSource | None"]
_FACTORIES: list[SourceFactory] = []


def register_source_factory(factory: SourceFactory) -> None:
    """Add a source tried after the local cache, e.g. an S3 remote; ``factory(root, config)``."""
    if factory not in _FACTORIES:
        _FACTORIES.append(factory)


def unregister_source_factory(factory: SourceFactory) -> None:
    """Undo :func:`register_source_factory`."""
    if factory in _FACTORIES:
        _FACTORIES.remove(factory)


def _config_value(path: Path, section: str, option: str) -> str | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return None
    if parser.has_option(section, option):
        return parser.get(section, option).strip().strip("'\"")
    return None


def cache_dir_of(root: Path) -> Path:
    """The DVC cache folder of a work tree: ``cache.dir`` of .dvc/config.local, .dvc/config,
    else ``.dvc/cache`` (relative values are relative to ``.dvc/``)."""
    dvc_dir = root / ".dvc"
    for name in ("config.local", "config"):
        value = _config_value(dvc_dir / name, "cache", "dir")
        if value:
            path = Path(os.path.expanduser(value))
            return path if path.is_absolute() else (dvc_dir / path).resolve()
    return dvc_dir / "cache"


def object_path(cache: Path, md5: str, legacy: bool) -> Path:
    """``files/md5/ab/cdef…`` (DVC 3) or ``ab/cdef…`` (legacy) below a cache folder."""
    return cache / object_relpath(md5, legacy)


def read_object_file(folder: Path, md5: str, legacy: bool, max_bytes: int | None) -> bytes | None:
    """The bytes of ``md5`` below a cache-layout folder; None when absent, too large or outside."""
    target = object_file(folder, md5, legacy)
    if target is None:
        return None
    try:
        if max_bytes is not None and target.stat().st_size > max_bytes:
            return None
        return target.read_bytes()
    except OSError:
        return None


@dataclass
class LocalCache:
    """A folder in DVC's cache layout (both layouts): the local cache, or a folder remote."""

    path: Path
    name: str = "cache"

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        return read_object_file(self.path, md5, legacy, max_bytes)

    def has(self, md5: str, legacy: bool) -> bool:
        target = object_file(self.path, md5, legacy)
        return target is not None and target.is_file()


def subproject_cache_dirs(root: Path) -> list[Path]:
    """Cache folders of DVC projects in sub-folders (``dvc init --subdir``), from git's index."""
    from mlpages.gitread.process import run_git

    listed = run_git(root, "ls-files", "-z", "--", "*/.dvc/config", check=False)
    folders = {Path(os.fsdecode(p)).parent.parent for p in listed.split(b"\0") if p}
    return [cache_dir_of(root / folder) for folder in sorted(folders)]


def default_sources(root: Path, config: Config) -> list[ObjectSource]:
    """The local cache (and those of sub-folder projects), then every registered factory's."""
    sources: list[ObjectSource] = [LocalCache(cache_dir_of(root))]
    sources += [LocalCache(path) for path in subproject_cache_dirs(root)]
    if config.remote_fetch:
        from mlpages.objects.s3 import remote_source

        remote = remote_source(root, root / ".dvc" / "tmp" / "mlpages-remote")
        if remote is not None:
            sources.append(remote)
    for factory in _FACTORIES:
        source = factory(root, config)
        if source is not None:
            sources.append(source)
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
