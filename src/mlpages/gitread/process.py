"""The one way mlpages runs git: a sanitised environment, one-shot commands and ``cat-file``.

Every git command of mlpages (the history reader, the registry, ``mlpages diff``, the DVC cache
lookup) goes through :func:`git_process`: the user's environment without ``GIT_DIR`` /
``GIT_WORK_TREE`` (the folder given is the repository), never a lazy fetch of a partial clone's
missing objects, and no credential prompt unless the command is one the user asked to push.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from pathlib import Path

ObjectReply = tuple[str, int, bytes | None]  # (type, size, content or None when skipped)


def git_env(prompt: bool = False) -> dict[str, str]:
    """The environment of every git process; ``prompt=True`` lets git ask for credentials."""
    env = dict(os.environ)
    if not prompt:
        env["GIT_TERMINAL_PROMPT"] = "0"
    # Never fetch missing objects of a partial clone behind the user's back.
    env["GIT_NO_LAZY_FETCH"] = "1"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


class GitFailed(Exception):
    """A git command exited non-zero; ``message`` is the last line git printed on stderr."""

    def __init__(self, command: tuple[str, ...], returncode: int, stderr: bytes) -> None:
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        self.command = command
        self.returncode = returncode
        self.message = lines[-1] if lines else ""
        super().__init__(f"git {' '.join(command)}: exit {returncode}: {self.message}")


def git_process(
    cwd: Path, *args: str, input: bytes | None = None, prompt: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command to completion (FileNotFoundError: no git, or no folder ``cwd``)."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_env(prompt),
        input=input,
        capture_output=True,
        check=False,
    )


def run_git(
    cwd: Path, *args: str, input: bytes | None = None, check: bool = True, prompt: bool = False
) -> bytes:
    """Run one git command and return its stdout; :class:`GitFailed` on a non-zero exit."""
    proc = git_process(cwd, *args, input=input, prompt=prompt)
    if check and proc.returncode != 0:
        raise GitFailed(args, proc.returncode, proc.stderr)
    return proc.stdout


def try_git(cwd: Path, *args: str) -> str | None:
    """Stdout of a git command, stripped; None when it exits non-zero.

    Decoded with ``surrogateescape``: a ref name that is not UTF-8 survives the round trip back
    into git as an argument.
    """
    proc = git_process(cwd, *args)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


class CatFileDied(RuntimeError):
    """git cat-file stopped (e.g. a partial clone could not fetch a missing object)."""


class CatFile:
    """One ``git cat-file --batch`` process: read objects by id or ``rev:path``.

    In a partial clone git exits when it cannot fetch a missing object (lazy fetching is
    disabled): the object is reported missing and a new process is started.
    """

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self.restarts = 0
        self.last_oid = ""
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self._cwd,
            env=git_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in = self._proc.stdin
        self._out = self._proc.stdout

    def _restart(self) -> None:
        self.close()
        self.restarts += 1
        self._start()

    def _read_reply(self, max_bytes: int | None) -> ObjectReply | None:
        header = self._out.readline()
        if not header:
            raise CatFileDied("git cat-file exited unexpectedly")
        parts = header.split()
        if len(parts) != 3:  # "<name> missing" / "<name> ambiguous"
            return None
        self.last_oid = parts[0].decode()
        kind, size = parts[1].decode(), int(parts[2])
        if max_bytes is not None and size > max_bytes:
            remaining = size + 1
            while remaining:
                chunk = self._out.read(min(remaining, 1 << 20))
                if not chunk:
                    raise CatFileDied("git cat-file exited unexpectedly")
                remaining -= len(chunk)
            return kind, size, None
        data = self._out.read(size + 1)
        if len(data) != size + 1:
            raise CatFileDied("git cat-file exited unexpectedly")
        return kind, size, data[:-1]

    def read(self, name: str, max_bytes: int | None = None) -> ObjectReply | None:
        """Return (type, size, content) of one object, None when missing.

        Content is None when the object is larger than ``max_bytes`` (it is skipped unread);
        ``last_oid`` then holds the object id git resolved ``name`` to.
        """
        if "\n" in name or not name:
            return None
        try:
            self._in.write(name.encode("utf-8", "surrogateescape") + b"\n")
            self._in.flush()
            return self._read_reply(max_bytes)
        except (CatFileDied, BrokenPipeError):
            self._restart()
            return None

    def read_many(
        self, names: list[str], max_bytes: int | None = None
    ) -> list[tuple[str, ObjectReply | None]]:
        """Read many objects, pipelined (a writer thread feeds git while we read)."""
        valid = [n for n in names if n and "\n" not in n]
        payload = b"".join(n.encode("utf-8", "surrogateescape") + b"\n" for n in valid)

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                self._in.write(payload)
                self._in.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        replies: dict[str, ObjectReply | None] = {}
        died_at, done = None, 0
        try:
            for name in valid:  # read every reply to stay in sync
                replies[name] = self._read_reply(max_bytes)
                done += 1
        except CatFileDied:
            died_at = done
        if died_at is not None:
            self._proc.kill()
            writer.join()
            self._restart()
            replies[valid[died_at]] = None  # the object git could not produce
            for name in valid[died_at + 1 :]:  # one by one: each may be missing too
                replies[name] = self.read(name, max_bytes)
        else:
            writer.join()
        return [(name, replies.get(name)) for name in names]

    def close(self) -> None:
        """Stop git (it exits when its input closes)."""
        with contextlib.suppress(OSError, ValueError):
            self._in.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._out.close()
