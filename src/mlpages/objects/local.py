"""DVC objects in a local folder of DVC's cache layout: the project's cache, or a folder remote."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlpages.gitread.process import run_git
from mlpages.objects.dvcconfig import cache_dir_of
from mlpages.objects.objectid import object_file


def read_capped(path: Path | None, max_bytes: int | None) -> bytes | None:
    """The bytes of a file; None when there is none, or it is over ``max_bytes``, or unreadable."""
    if path is None:
        return None
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()
    except OSError:
        return None


def read_object_file(folder: Path, md5: str, legacy: bool, max_bytes: int | None) -> bytes | None:
    """The bytes of ``md5`` below a cache-layout folder; None when absent, too large or outside."""
    return read_capped(object_file(folder, md5, legacy), max_bytes)


@dataclass
class LocalCache:
    """A folder in DVC's cache layout (both layouts): the local cache, or a folder remote."""

    path: Path
    name: str = "cache"

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        if not self.path.is_dir():  # a fresh clone has no cache: one stat, not a path walk
            return None
        return read_object_file(self.path, md5, legacy, max_bytes)

    def has(self, md5: str, legacy: bool) -> bool:
        if not self.path.is_dir():
            return False
        target = object_file(self.path, md5, legacy)
        return target is not None and target.is_file()


def subproject_roots(root: Path) -> list[Path]:
    """DVC projects in sub-folders (``dvc init --subdir``) of the work tree, from git's index."""
    listed = run_git(root, "ls-files", "-z", "--", "*/.dvc/config", check=False)
    folders = {Path(os.fsdecode(p)).parent.parent for p in listed.split(b"\0") if p}
    return [root / folder for folder in sorted(folders)]


def subproject_cache_dirs(root: Path) -> list[Path]:
    """Cache folders of DVC projects in sub-folders (``dvc init --subdir``)."""
    return [cache_dir_of(sub) for sub in subproject_roots(root)]
