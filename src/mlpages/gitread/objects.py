"""Git's object formats, parsed: commits, trees, people and ref names (pure, bytes in)."""

from __future__ import annotations

from dataclasses import dataclass

from mlpages.models import Commit, Person

# Refs that are not history: notes and the stash would add foreign commits to every page.
EXCLUDED_REF_PREFIXES = ("refs/notes/", "refs/stash", "refs/original/", "refs/prefetch/")
TREE_MODE = b"40000"
SUBMODULE_MODE = b"160000"


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree object: a file, a folder (tree) or a submodule (commit)."""

    name: str
    mode: bytes
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE

    @property
    def is_blob(self) -> bool:
        return self.mode not in (TREE_MODE, SUBMODULE_MODE)


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
