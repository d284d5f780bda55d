"""git for tests: the one fixed identity, the environment tools run in, a repository builder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Every commit of every test repository: a fixed person, and no user or system git config
# (a developer's hooks, signing or templates must not change what a test sees).
IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
# This interpreter's bin folder: `dvc`, `gto`, and the `python` of DVC stage commands.
BIN = Path(sys.executable).parent


def tool_env(**extra: str) -> dict[str, str]:
    """os.environ + IDENTITY, this venv's bin first on PATH, DVC analytics off, then ``extra``."""
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, **IDENTITY, "PATH": path, "DVC_NO_ANALYTICS": "1", **extra}


def run(
    args: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a tool in ``cwd`` with :func:`tool_env` (+ ``env``); ``check``: fail with its output."""
    args = [str(a) for a in args]
    done = subprocess.run(
        args, cwd=cwd, env=tool_env(**(env or {})), capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``repo`` with the fixed identity; stdout (CalledProcessError on failure)."""
    full_env = {**os.environ, **IDENTITY, **(env or {})}
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=full_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class RepoBuilder:
    """Build a real git repository commit by commit with deterministic dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q")

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str, files: Mapping[str, str | bytes | None] | None = None) -> str:
        """Write ``files`` (None deletes), commit everything, return the new sha."""
        self.write(files or {})
        self.clock += 3600
        date = f"{self.clock} +0000"
        git(self.path, "add", "-A")
        git(
            self.path,
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        return git(self.path, *args)
