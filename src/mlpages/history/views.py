"""Views of one revision's files: a commit through the shared git reader, or the work tree.

The snapshot builder only asks a :class:`FileView` "what is at this path" and "give me this blob";
:class:`TreeIndex` finds the DVC files of a commit, walking each distinct tree once.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlpages.gitread.objects import TreeEntry
from mlpages.gitread.reader import GitReader
from mlpages.worktree import Refused, TooLarge, WorkTree, leaves_repository

__all__ = ["Entry", "FileView", "GitView", "Refused", "TooLarge", "TreeIndex", "WorkTreeView"]

DVC_FILE_NAMES = ("dvc.yaml", "dvc.lock", "artifacts.yaml")
SYMLINK_MODE = b"120000"
SKIP_DIRS = ("node_modules", "__pycache__")  # and every hidden folder (.git, .dvc, .venv…)


def skip_dir(name: str) -> bool:
    """Folders never searched for DVC files."""
    return name.startswith(".") or name in SKIP_DIRS


def is_dvc_file(name: str) -> bool:
    """Names the history engine indexes in every tree."""
    return name in DVC_FILE_NAMES or (name.endswith(".dvc") and len(name) > 4)


@dataclass(frozen=True)
class Entry:
    kind: str  # blob | tree | outside (the path, or a link on it, leads out of the repository)
    id: str  # blob/tree id ("<sha>" in git, "wt:<path>" in the work tree)


OUTSIDE_ENTRY = Entry("outside", "")


class FileView(Protocol):
    """One revision's files."""

    def dvc_files(self) -> dict[str, str]:
        """Repo path -> blob id of every dvc.yaml, dvc.lock, *.dvc and artifacts.yaml."""

    def has_dvc_dir(self) -> bool:
        """True when the revision has a ``.dvc/`` folder."""

    def root_missing(self) -> bool:
        """True when the revision's root folder cannot be read (a treeless partial clone)."""

    def entry(self, path: str) -> Entry | None:
        """What is at ``path``."""

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | Refused | None:
        """Content of a blob (None: missing from the object store)."""

    def files_below(self, tree_id: str, prefix: str) -> Iterator[tuple[str, str]]:
        """(repo path, blob id) of every file below a folder."""


class TreeIndex:
    """DVC files below each tree, memoised by tree sha (unchanged folders are never re-read)."""

    def __init__(self, reader: GitReader) -> None:
        self.reader = reader
        self._memo: dict[str, tuple[tuple[str, str], ...]] = {}

    def prefetch(self, roots: Sequence[str]) -> None:
        """Read every tree the index will need below ``roots``, level by level, in bulk."""
        pending = [r for r in dict.fromkeys(roots) if r not in self._memo]
        seen: set[str] = set(pending)
        while pending:
            self.reader.prefetch_trees(pending)
            below: list[str] = []
            for sha in pending:
                for entry in (self.reader.tree(sha) or {}).values():
                    new = entry.sha not in self._memo and entry.sha not in seen
                    if new and entry.is_tree and not skip_dir(entry.name):
                        seen.add(entry.sha)
                        below.append(entry.sha)
            pending = below

    def dvc_files(self, tree_sha: str) -> tuple[tuple[str, str], ...]:
        """(relative path, blob sha) of every DVC file below a tree."""
        memo = self._memo.get(tree_sha)
        if memo is not None:
            return memo
        entries = self.reader.tree(tree_sha)
        found: list[tuple[str, str]] = []
        for entry in (entries or {}).values():
            if entry.is_tree:
                if not skip_dir(entry.name):
                    found.extend((f"{entry.name}/{p}", s) for p, s in self.dvc_files(entry.sha))
            elif entry.is_blob and is_dvc_file(entry.name):
                found.append((entry.name, entry.sha))
        result = tuple(found)
        self._memo[tree_sha] = result
        return result


class GitView:
    """The files of one commit, read through the shared :class:`GitReader`."""

    def __init__(self, reader: GitReader, index: TreeIndex, tree: str) -> None:
        self.reader = reader
        self.index = index
        self.tree = tree
        self.paths_read: set[str] = set()  # blob paths looked up: read ahead for later commits

    def dvc_files(self) -> dict[str, str]:
        return dict(self.index.dvc_files(self.tree))

    def root_missing(self) -> bool:
        return self.reader.tree(self.tree) is None

    def has_dvc_dir(self) -> bool:
        root = self.reader.tree(self.tree) or {}
        entry = root.get(".dvc")
        return entry is not None and entry.is_tree

    def entry(self, path: str, hops: int = 0) -> Entry | None:
        if ".." in path:  # "a/../../x" climbs out as surely as "../x"
            path = posixpath.normpath(path)
        if leaves_repository(path):
            return OUTSIDE_ENTRY
        found: TreeEntry | None = self.reader.lookup(self.tree, path)
        if found is None:
            return self._through_link(path, hops)
        if found.is_tree:
            return Entry("tree", found.sha)
        if found.mode == SYMLINK_MODE:
            return self._follow(path, found.sha, "", hops)
        if found.is_blob:
            self.paths_read.add(path)
            return Entry("blob", found.sha)
        return None

    def _follow(self, link: str, sha: str, rest: str, hops: int) -> Entry | None:
        """Follow the symlink blob at ``link`` (then ``rest`` below it), as the work tree would;
        a target outside the repository is an ``outside`` entry, never followed."""
        target = self.read(sha, 4096) if hops < 8 else None
        if not isinstance(target, bytes):
            return None
        joined = posixpath.join(posixpath.dirname(link), os.fsdecode(target), rest)
        return self.entry(posixpath.normpath(joined), hops + 1)

    def _through_link(self, path: str, hops: int) -> Entry | None:
        """A path that git cannot find may run through a symlinked folder (``data -> ../x``)."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            found = self.reader.lookup(self.tree, prefix)
            if found is None or (found.is_blob and found.mode != SYMLINK_MODE):
                return None
            if found.mode == SYMLINK_MODE:
                return self._follow(prefix, found.sha, "/".join(parts[depth:]), hops)
        return None

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | Refused | None:
        got = self.reader.read_blob(blob_id, max_bytes)
        if got is None:
            return None
        size, data = got
        return TooLarge(size) if data is None else data

    def files_below(self, tree_id: str, prefix: str) -> Iterator[tuple[str, str]]:
        yield from self.reader.walk_blobs(tree_id, prefix.rstrip("/") + "/")


class WorkTreeView:
    """The files of the work tree (for ``snapshot_of(repo, None)``), never outside it.

    Paths are resolved by :class:`~mlpages.worktree.WorkTree`: a link or path leading out of the
    repository (or into ``.git/``, ``.dvc/``) is an ``outside`` entry, a FIFO or device is never
    opened; links into the DVC cache folders ``cache_dirs`` (``cache.type: symlink``) are read.
    """

    def __init__(self, root: Path, cache_dirs: Sequence[Path] = ()) -> None:
        self.root = root
        self.files = WorkTree(root, cache_dirs)

    def dvc_files(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            dirnames[:] = [d for d in dirnames if not skip_dir(d)]
            for name in filenames:
                if is_dvc_file(name):
                    rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                    found[rel] = f"wt:{rel}"
        return found

    def root_missing(self) -> bool:
        return False

    def has_dvc_dir(self) -> bool:
        return (self.root / ".dvc").is_dir()

    def entry(self, path: str) -> Entry | None:
        kind = self.files.kind(path)
        if isinstance(kind, Refused):
            return OUTSIDE_ENTRY
        return None if kind is None else Entry(kind, f"wt:{path}")

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | Refused | None:
        return self.files.read(blob_id.removeprefix("wt:"), max_bytes)

    def files_below(self, tree_id: str, prefix: str) -> Iterator[tuple[str, str]]:
        # Listed only: every file is resolved again when it is read.
        base = self.root / tree_id.removeprefix("wt:")
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not skip_dir(d)]
            for name in filenames:
                rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                yield rel, f"wt:{rel}"
