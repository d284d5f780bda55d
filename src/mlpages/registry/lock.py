"""One registry writer at a time: an advisory lock in the repository's git directory.

A registry command reads the registry, decides its tag (the next version, the next ``#N``
counter, whether the commit is registered already) and then writes it. Two commands doing that
at once register one commit twice or reuse a counter, and GTO then refuses the repository.
Every writing command holds this lock from its read to its write (and its push).

The lock is an ``flock`` on ``<git-common-dir>/mlpages-registry.lock``: one file for every
worktree of the repository, and the kernel releases the lock when its holder exits or is
killed, so a crashed writer never leaves a stale lock behind (the empty file stays, unlocked).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlpages.errors import RegistryError
from mlpages.registry.gitio import git

LOCK_NAME = "mlpages-registry.lock"
LOCK_TIMEOUT = 60.0  # a writer may wait for several others, each up to a second (tag times)


def registry_lock_path(repo: Path) -> Path:
    """The registry lock file of ``repo``, in the git directory all its worktrees share."""
    common = git(repo, "rev-parse", "--git-common-dir").decode().strip()
    return (Path(repo) / common).resolve() / LOCK_NAME  # git prints it relative to ``repo``


@contextmanager
def registry_lock(repo: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[Path]:
    """Hold the registry lock of ``repo``; RegistryError after ``timeout`` seconds of waiting."""
    import fcntl

    path = registry_lock_path(repo)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RegistryError(f"cannot open the registry lock {path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RegistryError(
                        f"another registry command is writing tags in this repository: it has "
                        f"held {path} for more than {timeout:g} s; try again when it is done"
                    ) from None
                time.sleep(0.02)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
