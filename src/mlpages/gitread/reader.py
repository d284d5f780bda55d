"""The git reader: commits, refs, trees and blobs through ONE long-lived ``git cat-file --batch``.

Besides it, git is started a few times per history read (``for-each-ref``, ``rev-list``,
``symbolic-ref``, ``rev-parse``); nothing is spawned per commit. Objects missing from the object
store (partial clones, broken repositories) come back as ``None``: the caller records a problem.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlpages.errors import NotAGitRepository
from mlpages.gitread.objects import (
    EXCLUDED_REF_PREFIXES,
    TREE_MODE,
    TreeEntry,
    classify_ref,
    parse_commit,
    parse_tree,
)
from mlpages.gitread.process import CatFile, ObjectReply, git_process, run_git
from mlpages.models import Commit, Person, Ref


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
        proc = git_process(
            path,
            "rev-parse",
            "--is-bare-repository",
            "--absolute-git-dir",
            "--is-shallow-repository",
            "--show-toplevel",
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
        listed = run_git(
            self.root,
            "rev-list",
            "--date-order",
            "--ignore-missing",
            "--stdin",
            input=("\n".join(tips) + "\n").encode(),
            check=False,
        )
        return listed.decode().split()

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

    def _remember_tree(self, sha: str, obj: ObjectReply | None) -> None:
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

    def read_files(
        self, specs: Iterable[str], max_bytes: int | None = None
    ) -> dict[str, bytes | None]:
        """``rev:path`` -> file bytes (None: missing, not a file, over ``max_bytes``), pipelined."""
        wanted = list(dict.fromkeys(specs))
        return {
            spec: reply[2] if reply is not None and reply[0] == "blob" else None
            for spec, reply in self._cat.read_many(wanted, max_bytes)
        }

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
