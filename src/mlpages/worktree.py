"""Files of a work tree, read without ever leaving the repository.

A work tree is repository content, so hostile: a committed symlink or a path in ``dvc.yaml`` may
name anything on the build machine — ``/proc/self/environ``, ``~/.aws/credentials``, the token
``actions/checkout`` leaves in ``.git/config``. Every path is resolved (symlinks followed, ``..``
folded) and read only when it lands inside the work tree but outside ``.git/`` and ``.dvc/``
(tokens, remote credentials in ``config.local``), or on an object of a DVC cache folder
(``cache.type: symlink`` links outputs to ``<cache>/files/md5/ab/cdef…``, wherever ``cache.dir``
is — objects the cache reader would serve anyway). Only regular files are opened (a FIFO blocks
forever, a device never ends), and never read past the size cap.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PRIVATE_DIRS = frozenset({".git", ".dvc"})
_OBJECT = re.compile(r"(files/md5/)?[0-9a-f]{2}/[0-9a-f]{30}\Z")  # DVC 3 and legacy layouts


class TooLarge:
    """Marker for files over the size cap."""

    def __init__(self, size: int) -> None:
        self.size = size


@dataclass(frozen=True)
class Refused:
    """Why a path is not read: ``outside-repo`` or ``unsupported`` (not a regular file)."""

    kind: str
    message: str


OUTSIDE = Refused("outside-repo", "leads outside the repository; not read")
NOT_A_FILE = Refused("unsupported", "not a regular file (a FIFO, device or socket); not read")


def leaves_repository(path: str) -> bool:
    """True for a repo-relative POSIX path that is absolute or climbs above the root."""
    return path == ".." or path.startswith(("../", "/"))


class WorkTree:
    """Resolve and read repo-relative paths below ``root``; ``cache_dirs`` hold DVC objects."""

    def __init__(self, root: Path, cache_dirs: Sequence[Path] = ()) -> None:
        self.root = Path(os.path.realpath(root))
        self.cache_dirs = tuple(Path(os.path.realpath(d)) for d in cache_dirs)

    def resolve(self, rel: str) -> Path | Refused:
        """The real path of ``rel``, or why it may not be read."""
        if leaves_repository(rel) or "\0" in rel:
            return OUTSIDE
        real = Path(os.path.realpath(self.root / rel))
        for cache in self.cache_dirs:
            if real.is_relative_to(cache) and _OBJECT.match(real.relative_to(cache).as_posix()):
                return real
        if not real.is_relative_to(self.root):
            return OUTSIDE
        if PRIVATE_DIRS.intersection(real.relative_to(self.root).parts):
            return OUTSIDE
        return real

    def kind(self, rel: str) -> str | Refused | None:
        """``tree``, ``blob`` (anything else that exists), None when absent, or the refusal."""
        real = self.resolve(rel)
        if isinstance(real, Refused):
            return real
        try:
            mode = real.stat().st_mode
        except (OSError, ValueError):
            return None
        return "tree" if stat.S_ISDIR(mode) else "blob"

    def read(self, rel: str, max_bytes: int) -> bytes | TooLarge | Refused | None:
        """Content of a regular file (None when it cannot be read)."""
        real = self.resolve(rel)
        if isinstance(real, Refused):
            return real
        try:
            # O_NONBLOCK: opening a FIFO returns at once (and is then refused) instead of
            # waiting for a writer; O_NOFOLLOW: the resolved path must not turn into a link.
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (OSError, ValueError):
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return NOT_A_FILE
            if info.st_size > max_bytes:
                return TooLarge(info.st_size)
            chunks: list[bytes] = []
            total = 0
            while total <= max_bytes:  # st_size may be 0 for files that still have content
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            if total > max_bytes:
                return TooLarge(total)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)
