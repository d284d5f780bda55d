"""Write the site: every file into a temp folder next to the output, then swap it into place.

A file whose bytes did not change since the previous build is carried over (hard link) instead
of rewritten. An operating-system failure (read-only or full disk, a file where a folder should
be) is one :class:`~mlpages.errors.SiteError` line and leaves the previous site untouched; the
temp and backup folders of builds that died are cleaned up by the next one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the PID and age checks remain
    fcntl = None  # type: ignore[assignment]

from mlpages.errors import SiteError
from mlpages.site.page_core import FileData

MANIFEST = ".mlpages-build.json"
STALE_AFTER = 60  # seconds an unlocked temp folder of a live PID is left alone (see below)


@dataclass(frozen=True)
class WriteResult:
    """How many files a write put down afresh and how many it carried over unchanged."""

    written: int = 0
    unchanged: int = 0


@contextlib.contextmanager
def _os_errors(out: Path) -> Iterator[None]:
    """The one place an operating-system failure (read-only or full disk, a file where a
    folder should be) becomes an expected error: one line, the previous site untouched."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""
        raise SiteError(f"cannot write the site to {out}: {reason}{where}") from exc


def check_out(out: Path, repo: Path) -> None:
    """Refuse an output folder that is the repository, not a folder, or not an earlier site."""
    with _os_errors(out):
        resolved = out.resolve()
        if resolved == repo.resolve() or resolved in repo.resolve().parents:
            raise SiteError(f"refusing to write the site over the repository itself: {out}")
        if out.exists():
            if not out.is_dir():
                raise SiteError(f"{out} exists and is not a folder")
            if any(out.iterdir()) and not (out / MANIFEST).exists():
                raise SiteError(
                    f"refusing to replace {out}: it is not empty and was not built by mlpages"
                )


def previous_manifest(out: Path) -> dict[str, Any]:
    """The manifest of the site already at ``out`` (its page keys only for pages still there)."""
    try:
        data = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    # A reused page must still exist in the old site.
    keys = {p: k for p, k in data.get("keys", {}).items() if (out / p).is_file()}
    return {**data, "keys": keys}


def _lock_folder(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on folder ``path``, None if another holds it.

    A build locks the temp and backup folders it owns; the kernel releases the lock when the
    process ends, however it ends, so an unlocked folder is one no build is working in.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
    return fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, OSError):  # not a PID this system can have
        return False
    return True


def clear_stale_folders(out: Path) -> None:
    """Remove the temp and backup folders (``.site.tmp-PID``, ``.site.old-PID``) of dead builds.

    Stale: no process holds the folder's lock, and its PID is gone or has been reused (alive,
    but the folder untouched for :data:`STALE_AFTER` seconds: a live build locks its folder
    right after making it). A build killed between its two renames left the previous site
    only as its backup: that is put back in place rather than deleted.
    """
    prefix = f".{out.name}."
    try:
        entries = sorted(out.parent.iterdir())
    except OSError:
        return
    for path in entries:
        kind, _, pid_text = path.name.removeprefix(prefix).partition("-")
        if not path.name.startswith(prefix) or kind not in ("tmp", "old"):
            continue
        if not (pid_text.isascii() and pid_text.isdigit()) or int(pid_text) == os.getpid():
            continue
        if path.is_symlink() or not path.is_dir():
            continue
        fd = _lock_folder(path)
        if fd is None:  # a live build is writing there
            continue
        try:
            young = time.time() - path.stat().st_mtime < STALE_AFTER
            if _pid_alive(int(pid_text)) and young:
                continue
            if kind == "old" and not out.exists():
                os.rename(path, out)
            else:
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_site(
    out: Path,
    files: dict[str, FileData],
    static: dict[str, Path],
    manifest: dict[str, Any],
    stream: Iterable[tuple[str, bytes]] = (),
) -> WriteResult:
    """Write everything to a temp folder next to ``out``, then swap it in.

    ``stream`` pairs (pages rendered as they are taken) are written one by one after ``files``:
    no page stays in memory once written.
    """
    with _os_errors(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        clear_stale_folders(out)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
        backup = out.parent / f".{out.name}.old-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)  # this PID's own, left by an earlier process
        tmp.mkdir()
        with contextlib.ExitStack() as held:  # folder locks, released once the site is in place
            _hold_lock(held, tmp)
            try:
                result = _write_files(out, tmp, files, static, stream)
                (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
                (tmp / ".nojekyll").write_bytes(b"")
                if out.exists():
                    _hold_lock(held, out)  # the previous site is this build's backup now
                    os.rename(out, backup)
                os.rename(tmp, out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                if backup.exists() and not out.exists():
                    os.rename(backup, out)
                raise
            shutil.rmtree(backup, ignore_errors=True)
    return result


def _hold_lock(held: contextlib.ExitStack, folder: Path) -> None:
    fd = _lock_folder(folder)
    if fd is not None:
        held.callback(os.close, fd)


def _same_file(old: Path, size: int, data: Callable[[], bytes]) -> bool:
    """Whether the previous build's ``old`` holds these bytes (sizes first: no read when not)."""
    return old.is_file() and old.stat().st_size == size and old.read_bytes() == data()


def _write_files(
    out: Path,
    tmp: Path,
    files: dict[str, FileData],
    static: dict[str, Path],
    stream: Iterable[tuple[str, bytes]] = (),
) -> WriteResult:
    """Every file into ``tmp``; one unchanged since the previous build is hard-linked."""
    written = unchanged = 0
    made_dirs: set[Path] = set()
    entries: Iterable[tuple[str, FileData, Path | None]] = itertools.chain(
        ((p, d, None) for p, d in files.items()),
        ((p, None, s) for p, s in static.items()),
        ((p, d, None) for p, d in stream),
    )
    for rel, data, source in entries:
        target = tmp / rel
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        old = out / rel
        if data is None and source is None:  # page reused from the previous build
            _link_or_copy(old, target)
            unchanged += 1
        elif callable(data):  # named by its content: the previous build's file is the same
            if old.is_file():
                _link_or_copy(old, target)
                unchanged += 1
            else:
                raw = data()
                if raw is None:
                    continue
                target.write_bytes(raw)
                written += 1
        elif source is not None:
            if _same_file(old, source.stat().st_size, source.read_bytes):
                _link_or_copy(old, target)
                unchanged += 1
            else:
                shutil.copyfile(source, target)
                written += 1
        elif _same_file(old, len(data), lambda data=data: data):
            _link_or_copy(old, target)
            unchanged += 1
        else:
            target.write_bytes(data)
            written += 1
    return WriteResult(written, unchanged)
