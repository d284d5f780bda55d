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

from mlpages.history import GitReader, TreeEntry

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
    kind: str  # blob | tree
    id: str  # blob/tree id ("<sha>" in git, "wt:<path>" in the work tree)


class TooLarge:
    """Marker returned by :meth:`FileView.read` for blobs over the size cap."""

    def __init__(self, size: int) -> None:
        self.size = size


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

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | None:
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
        if path == ".." or path.startswith(("../", "/")):
            return None
        found: TreeEntry | None = self.reader.lookup(self.tree, path)
        if found is None:
            return None
        if found.is_tree:
            return Entry("tree", found.sha)
        if found.mode == SYMLINK_MODE:
            # Follow a link inside the repository, as the work tree (and DVC) would.
            target = self.read(found.sha, 4096) if hops < 8 else None
            if not isinstance(target, bytes):
                return None
            link = posixpath.join(posixpath.dirname(path), os.fsdecode(target))
            return self.entry(posixpath.normpath(link), hops + 1)
        if found.is_blob:
            self.paths_read.add(path)
            return Entry("blob", found.sha)
        return None

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | None:
        got = self.reader.read_blob(blob_id, max_bytes)
        if got is None:
            return None
        size, data = got
        return TooLarge(size) if data is None else data

    def files_below(self, tree_id: str, prefix: str) -> Iterator[tuple[str, str]]:
        yield from self.reader.walk_blobs(tree_id, prefix.rstrip("/") + "/")


class WorkTreeView:
    """The files of the work tree (for ``snapshot_of(repo, None)``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> Path:
        return self.root / rel

    def dvc_files(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for dirpath, dirnames, filenames in _walk(self.root):
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
        if path.startswith("../") or path == "..":
            return None
        target = self._path(path)
        if target.is_dir():
            return Entry("tree", f"wt:{path}")
        if target.is_file():
            return Entry("blob", f"wt:{path}")
        return None

    def read(self, blob_id: str, max_bytes: int) -> bytes | TooLarge | None:
        target = self._path(blob_id.removeprefix("wt:"))
        try:
            size = target.stat().st_size
            if size > max_bytes:
                return TooLarge(size)
            return target.read_bytes()
        except OSError:
            return None

    def files_below(self, tree_id: str, prefix: str) -> Iterator[tuple[str, str]]:
        base = self._path(tree_id.removeprefix("wt:"))
        for dirpath, dirnames, filenames in _walk(base):
            dirnames[:] = [d for d in dirnames if not skip_dir(d)]
            for name in filenames:
                rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                yield rel, f"wt:{rel}"


def _walk(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    yield from os.walk(root)
