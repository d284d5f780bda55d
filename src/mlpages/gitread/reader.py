"""The git reader: commits, refs, trees and blobs through ONE long-lived ``git cat-file --batch``.

Besides it, git is started a few times per history read (``for-each-ref``, ``rev-list``,
``symbolic-ref``, ``rev-parse``); nothing is spawned per commit. Objects missing from the object
store (partial clones, broken repositories) come back as ``None``: the caller records a problem.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlpages.errors import NotAGitRepository
from mlpages.models import Commit, Person, Ref

# Refs that are not history: notes and the stash would add foreign commits to every page.
EXCLUDED_REF_PREFIXES = ("refs/notes/", "refs/stash", "refs/original/", "refs/prefetch/")
TREE_MODE = b"40000"
SUBMODULE_MODE = b"160000"


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: bytes
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE

    @property
    def is_blob(self) -> bool:
        return self.mode not in (TREE_MODE, SUBMODULE_MODE)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never prompt, never fetch missing objects of a partial clone behind the user's back.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_NO_LAZY_FETCH"] = "1"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def run_git(cwd: Path, *args: str, check: bool = True) -> bytes:
    """Run one git command and return its stdout (bytes)."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=_git_env(), capture_output=True, check=False)
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise subprocess.CalledProcessError(proc.returncode, ["git", *args], "\n".join(message))
    return proc.stdout


@dataclass(frozen=True)
class RepoLocation:
    root: Path  # work tree root (the git dir itself for bare repositories)
    git_dir: Path
    shallow: bool
    bare: bool


def locate_repo(path: Path) -> RepoLocation:
    """Find the git repository containing ``path``; raise NotAGitRepository otherwise."""
    path = Path(path).resolve()
    if not path.exists():
        raise NotAGitRepository(f"{path}: no such directory")
    try:
        proc = subprocess.run(
            [
                "git",
                "rev-parse",
                "--is-bare-repository",
                "--absolute-git-dir",
                "--is-shallow-repository",
                "--show-toplevel",
            ],
            cwd=path,
            env=_git_env(),
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise NotAGitRepository("git is not installed (or not on PATH)") from None
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0 and len(lines) < 3:
        raise NotAGitRepository(f"{path} is not inside a git repository")
    bare = lines[0] == "true"
    git_dir = Path(lines[1])
    shallow = lines[2] == "true"
    root = Path(lines[3]) if len(lines) > 3 and not bare else git_dir
    return RepoLocation(root=root, git_dir=git_dir, shallow=shallow, bare=bare)


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
            env=_git_env(),
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

    def _read_reply(self, max_bytes: int | None) -> tuple[str, int, bytes | None] | None:
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

    def read(self, name: str, max_bytes: int | None = None) -> tuple[str, int, bytes | None] | None:
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
    ) -> list[tuple[str, tuple[str, int, bytes | None] | None]]:
        """Read many objects, pipelined (a writer thread feeds git while we read)."""
        valid = [n for n in names if n and "\n" not in n]
        payload = b"".join(n.encode("utf-8", "surrogateescape") + b"\n" for n in valid)

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                self._in.write(payload)
                self._in.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        replies: dict[str, tuple[str, int, bytes | None] | None] = {}
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


def parse_person(raw: bytes) -> tuple[Person, int, str]:
    """Parse ``Name <email> 1700000000 +0200`` into (person, time, tz)."""
    text = raw.decode("utf-8", "replace")
    lt, gt = text.find("<"), text.rfind(">")
    if lt < 0 or gt < lt:
        return Person(text.strip(), ""), 0, "+0000"
    name, email = text[:lt].strip(), text[lt + 1 : gt]
    rest = text[gt + 1 :].split()
    try:
        when = int(rest[0]) if rest else 0
    except ValueError:
        when = 0
    tz = rest[1] if len(rest) > 1 else "+0000"
    return Person(name, email), when, tz


def _decode_message(raw: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return raw.decode(encoding, "replace")
        except LookupError:
            pass
    return raw.decode("utf-8", "replace")


def parse_commit(sha: str, data: bytes) -> Commit:
    """Parse a raw commit object (as printed by cat-file)."""
    head, _, message = data.partition(b"\n\n")
    tree, parents, encoding = "", [], None
    author = committer = b""
    for line in head.split(b"\n"):
        if line.startswith(b" "):  # continuation of gpgsig / mergetag
            continue
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode()
        elif key == b"parent":
            parents.append(value.decode())
        elif key == b"author":
            author = value
        elif key == b"committer":
            committer = value
        elif key == b"encoding":
            encoding = value.decode("ascii", "replace").strip()
    author_p, author_time, author_tz = parse_person(author)
    committer_p, commit_time, _ = parse_person(committer)
    text = _decode_message(message, encoding).replace("\r\n", "\n")
    paragraphs = text.strip("\n").split("\n\n", 1)
    subject = " ".join(line.strip() for line in paragraphs[0].split("\n")).strip()
    body = paragraphs[1].strip("\n") if len(paragraphs) > 1 else ""
    return Commit(
        sha=sha,
        tree=tree,
        parents=tuple(parents),
        author=author_p,
        author_time=author_time,
        author_tz=author_tz,
        committer=committer_p,
        commit_time=commit_time,
        subject=subject,
        body=body,
    )


def parse_tree(data: bytes) -> tuple[TreeEntry, ...]:
    """Parse a raw (binary) tree object."""
    entries = []
    pos, end = 0, len(data)
    while pos < end:
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0 or nul + 21 > end:
            break  # truncated or not a tree: keep what was read
        mode = data[pos:space]
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        sha = data[nul + 1 : nul + 21].hex()
        entries.append(TreeEntry(name, mode, sha))
        pos = nul + 21
    return tuple(entries)


def classify_ref(name: str) -> tuple[str, str]:
    """Return (kind, short name) of a full ref name."""
    if name.startswith("refs/heads/"):
        return "branch", name[len("refs/heads/") :]
    if name.startswith("refs/remotes/"):
        return "remote", name[len("refs/remotes/") :]
    if name.startswith("refs/tags/"):
        return "tag", name[len("refs/tags/") :]
    if name.startswith("refs/exps/"):
        # DVC 2/3: refs/exps/<sha[:2]>/<sha[2:]>/<name>; temporary ones: refs/exps/exec/...
        return "exp", name.rsplit("/", 1)[-1]
    if name.startswith("refs/pull/"):
        return "pull", name[len("refs/") :]
    if name.startswith("refs/stash"):
        return "stash", "stash"
    return "other", name[len("refs/") :] if name.startswith("refs/") else name


_REF_FORMAT = "%00".join(
    [
        "%(refname)",
        "%(objecttype)",
        "%(objectname)",
        "%(*objecttype)",
        "%(*objectname)",
        "%(symref)",
        "%(taggername)",
        "%(taggeremail)",
        "%(taggerdate:unix)",
        "%(contents:subject)",
        "%(contents:body)",
    ]
)


class GitReader:
    """Read a repository: refs, commits, trees (cached by sha) and blobs."""

    def __init__(self, path: Path, tree_cache_size: int = 4096) -> None:
        self.location = locate_repo(path)
        self.root = self.location.root
        self._cat = CatFile(self.root if not self.location.bare else self.location.git_dir)
        self._trees: OrderedDict[str, dict[str, TreeEntry] | None] = OrderedDict()
        self._tree_cache_size = tree_cache_size
        self.symrefs: dict[str, str] = {}
        # Blobs read ahead by prefetch_blobs; the caller clears it between batches.
        self.blob_memo: dict[str, tuple[int, bytes | None]] = {}

    def __enter__(self) -> GitReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._cat.close()

    # --- refs and commits ----------------------------------------------------------------------

    def refs(self) -> tuple[Ref, ...]:
        """All refs pointing (after peeling tags) at commits; symbolic refs are kept aside."""
        out = run_git(self.root, "for-each-ref", f"--format={_REF_FORMAT}%00", check=False).decode(
            "utf-8", "replace"
        )
        refs: list[Ref] = []
        self.symrefs = {}
        for record in out.split("\0\n"):
            fields = record.split("\0")
            if len(fields) < 11:
                continue
            name, otype, osha, ptype, psha, symref = fields[:6]
            if symref:
                self.symrefs[name] = symref
                continue
            if name.startswith(EXCLUDED_REF_PREFIXES):
                continue
            kind, short = classify_ref(name)
            annotated = otype == "tag"
            sha = osha
            if annotated:
                if ptype == "commit":
                    sha = psha
                else:  # a tag of a tag (or of a tree/blob): peel all the way
                    peeled = self.resolve(osha)
                    if peeled is None:
                        continue
                    sha = peeled
            elif otype != "commit":
                continue
            tagger = None
            tag_time = None
            message = ""
            if annotated:
                email = fields[7].strip("<>")
                tagger = Person(fields[6], email)
                tag_time = int(fields[8]) if fields[8].isdigit() else None
                message = (fields[9] + ("\n\n" + fields[10] if fields[10] else "")).strip()
            refs.append(
                Ref(
                    name=name,
                    short=short,
                    kind=kind,
                    sha=sha,
                    annotated=annotated,
                    tag_message=message,
                    tagger=tagger,
                    tag_time=tag_time,
                )
            )
        return tuple(refs)

    def head(self) -> tuple[str | None, str | None]:
        """Return (commit sha of HEAD or None, branch ref name or None when detached)."""
        branch = None
        try:  # the HEAD file itself: no process (symbolic-ref would say the same)
            text = (self.location.git_dir / "HEAD").read_text(errors="replace").strip()
        except OSError:
            text = ""
        if text.startswith("ref: "):
            branch = text[5:].strip()
        elif not text:
            out = run_git(self.root, "symbolic-ref", "-q", "HEAD", check=False)
            branch = out.decode().strip() or None
        return self.resolve("HEAD"), branch

    def rev_list(self, tips: Iterable[str]) -> list[str]:
        """Commits reachable from ``tips``, newest first (topological, then commit date)."""
        tips = sorted(set(tips))
        if not tips:
            return []
        proc = subprocess.run(
            ["git", "rev-list", "--date-order", "--ignore-missing", "--stdin"],
            cwd=self.root,
            env=_git_env(),
            input=("\n".join(tips) + "\n").encode(),
            capture_output=True,
            check=False,
        )
        return proc.stdout.decode().split()

    def read_commits(self, shas: list[str]) -> dict[str, Commit]:
        """Parse many commit objects in one pipelined pass."""
        commits: dict[str, Commit] = {}
        for sha, reply in self._cat.read_many(shas):
            if reply is not None and reply[0] == "commit" and reply[2] is not None:
                commits[sha] = parse_commit(sha, reply[2])
        return commits

    def resolve(self, rev: str) -> str | None:
        """Resolve a revision expression to a commit sha."""
        obj = self._cat.read(f"{rev}^{{commit}}", 0)
        return self._cat.last_oid if obj is not None and obj[0] == "commit" else None

    # --- trees and blobs -----------------------------------------------------------------------

    def _remember_tree(self, sha: str, obj: tuple[str, int, bytes | None] | None) -> None:
        entries = None
        if obj is not None and obj[0] == "tree" and obj[2] is not None:
            entries = {e.name: e for e in parse_tree(obj[2])}
        self._trees[sha] = entries
        if len(self._trees) > self._tree_cache_size:
            self._trees.popitem(last=False)

    def prefetch_trees(self, shas: Iterable[str]) -> None:
        """Read the trees not cached yet in one pipelined pass."""
        wanted = list(dict.fromkeys(s for s in shas if s not in self._trees))
        for sha, obj in self._cat.read_many(wanted):
            self._remember_tree(sha, obj)

    def prefetch_blobs(self, shas: Iterable[str], max_bytes: int | None) -> None:
        """Read blobs in one pipelined pass into :attr:`blob_memo` (served by read_blob)."""
        wanted = list(dict.fromkeys(s for s in shas if s not in self.blob_memo))
        for sha, obj in self._cat.read_many(wanted, max_bytes):
            if obj is not None and obj[0] == "blob":
                self.blob_memo[sha] = (obj[1], obj[2])

    def tree(self, sha: str) -> dict[str, TreeEntry] | None:
        """Entries of a tree object by name (LRU-cached); None when the tree is missing."""
        cached = self._trees.get(sha)
        if cached is not None or sha in self._trees:
            self._trees.move_to_end(sha)
            return cached
        self._remember_tree(sha, self._cat.read(sha))
        return self._trees.get(sha)

    def lookup(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The entry at ``path`` (POSIX, relative) below a root tree, None when absent."""
        parts = [p for p in path.split("/") if p and p != "."]
        if not parts:
            return TreeEntry("", TREE_MODE, tree_sha)
        current = tree_sha
        entry: TreeEntry | None = None
        for i, part in enumerate(parts):
            entries = self.tree(current)
            if entries is None:
                return None
            entry = entries.get(part)
            if entry is None:
                return None
            if i < len(parts) - 1:
                if not entry.is_tree:
                    return None
                current = entry.sha
        return entry

    def read_blob(self, sha: str, max_bytes: int | None = None) -> tuple[int, bytes | None] | None:
        """(size, content) of a blob; content None if larger than ``max_bytes``; None if missing."""
        memo = self.blob_memo.get(sha)
        if memo is not None and (memo[1] is not None or max_bytes is not None):
            return memo
        obj = self._cat.read(sha, max_bytes)
        if obj is None or obj[0] != "blob":
            return None
        return obj[1], obj[2]

    def walk_blobs(self, tree_sha: str, prefix: str = "") -> Iterator[tuple[str, str]]:
        """Yield (path, blob sha) of every file below a tree, depth first."""
        entries = self.tree(tree_sha)
        if entries is None:
            return
        for entry in entries.values():
            path = f"{prefix}{entry.name}"
            if entry.is_tree:
                yield from self.walk_blobs(entry.sha, path + "/")
            elif entry.is_blob:
                yield path, entry.sha
