"""Repository paths as the DVC files write them: POSIX, relative to the root, ``.`` for the root."""

from __future__ import annotations

import posixpath
import re

_SIMPLE_PATH = re.compile(r"[^/.][^/]*(/[^/.][^/]*)*\Z")


def join(base: str, *parts: str) -> str:
    """Join POSIX paths relative to the repository root and normalise (``.`` for the root)."""
    if len(parts) == 1 and (base == "." or not base) and _SIMPLE_PATH.match(parts[0]):
        return parts[0]  # the common case, without normpath
    path = posixpath.normpath(posixpath.join(base or ".", *[p for p in parts if p]))
    return "." if path in ("", ".") else path.removeprefix("./")


def dirname(path: str) -> str:
    """Folder of a repo-relative file (``.`` for the root)."""
    return posixpath.dirname(path) or "."
