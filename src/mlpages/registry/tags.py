"""GTO's tag names and SemVer (pure): what a registry tag says, and the next name to write.

``churn@v1.2.0`` registers a version, ``churn#prod#3`` assigns a stage (the ``#3`` a counter that
keeps every tag name new), ``churn@v1.2.0!`` / ``churn#prod!#4`` cancel them, ``churn@deprecated``
deprecates the artifact; an artifact of ``cv/dvc.yaml`` is written ``cv=name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
SEMVER_RE = re.compile(f"^v{SEMVER}$")
NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
NAME_RE = re.compile(f"^{NAME}$")
# An artifact in a sub-folder's dvc.yaml is "folder:name"; in a tag the ":" is written "=".
FULLNAME_RE = re.compile(f"^(?:[a-zA-Z0-9-_./]+:)?{NAME}$")
_TAG_RE = re.compile(
    rf"^(?P<artifact>(?:[a-zA-Z0-9-_./]+=)?{NAME})"
    rf"(?:(?:#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))"
    r"(?P<cancel>!?)|@(?P<deprecated>deprecated)|@(?P<created>created))"
    r"(?:#(?P<counter>[0-9]+))?$"
)

REGISTER, DEREGISTER, ASSIGN, UNASSIGN, DEPRECATE = (
    "register",
    "deregister",
    "assign",
    "unassign",
    "deprecate",
)
# GTO's event priorities: the order of events with the same time in `gto history`.
PRIORITY = {DEPRECATE: 2, REGISTER: 3, DEREGISTER: 4, ASSIGN: 5, UNASSIGN: 6}
ROLLBACK_PREFIX = "Rollback:"


# --- SemVer ------------------------------------------------------------------------------------


def is_semver(version: str) -> bool:
    """True for ``v1.2.3``, ``v1.2.3-rc.1``, ``v1.2.3+build`` (GTO requires the ``v``)."""
    return bool(SEMVER_RE.match(version))


def semver_key(version: str) -> tuple:
    """Sort key implementing SemVer 2.0 precedence (build metadata ignored)."""
    match = SEMVER_RE.match(version)
    if not match:
        raise ValueError(f"not a SemVer version: {version!r}")
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())  # a release follows its pre-releases
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, ids)


def bump_version(version: str | None, part: str) -> str:
    """The next version after ``version`` (None = no version yet) bumping major|minor|patch."""
    if version is None:
        major = minor = patch = 0
    else:
        match = SEMVER_RE.match(version)
        if not match:
            raise ValueError(f"not a SemVer version: {version!r}")
        major, minor, patch = (int(g) for g in match.groups()[:3])
    if part == "major":
        return f"v{major + 1}.0.0"
    if part == "minor":
        return f"v{major}.{minor + 1}.0"
    if part == "patch":
        return f"v{major}.{minor}.{patch + 1}"
    raise ValueError(f"unknown version part {part!r} (major, minor or patch)")


# --- tag names ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagName:
    """What a GTO tag name says: ``churn@v1.0.0``, ``churn#prod#3``, ``cv=seg@deprecated``..."""

    artifact: str  # "cv:pool-seg" (the "=" of the tag turned back into ":")
    kind: str  # register | deregister | assign | unassign | deprecate
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(name: str) -> TagName | None:
    """Parse a tag name in GTO's format; None for any other tag (``v1.0``, ``baseline``)."""
    match = _TAG_RE.match(name)
    if not match or match["created"]:
        return None
    artifact = match["artifact"].replace("=", ":")
    counter = int(match["counter"]) if match["counter"] else None
    if match["deprecated"]:
        return TagName(artifact, DEPRECATE, counter=counter)
    cancel = match["cancel"] == "!"
    if match["version"]:
        kind = DEREGISTER if cancel else REGISTER
        return TagName(artifact, kind, version=match["version"], counter=counter)
    kind = UNASSIGN if cancel else ASSIGN
    return TagName(artifact, kind, stage=match["stage"], counter=counter)


def format_tag_name(
    kind: str,
    artifact: str,
    version: str | None = None,
    stage: str | None = None,
    counter: int | None = None,
) -> str:
    """Inverse of :func:`parse_tag_name` (GTO's templates)."""
    base = artifact.replace(":", "=")
    body = {
        REGISTER: f"{base}@{version}",
        DEREGISTER: f"{base}@{version}!",
        ASSIGN: f"{base}#{stage}",
        UNASSIGN: f"{base}#{stage}!",
        DEPRECATE: f"{base}@deprecated",
    }[kind]
    return body if counter is None else f"{body}#{counter}"


def next_counter(artifact: str, tag_names: Iterable[str]) -> int:
    """One more than the highest ``#N`` counter of the artifact's tags (GTO counts every tag)."""
    highest = 0
    for name in tag_names:
        parsed = parse_tag_name(name)
        if parsed and parsed.artifact == artifact and parsed.counter is not None:
            highest = max(highest, parsed.counter)
    return highest + 1


@dataclass(frozen=True)
class TagRecord:
    """One annotated tag as read from git: name, peeled commit, tagger and message."""

    name: str
    sha: str
    time: int  # tagger date, seconds since the epoch
    author: str
    author_email: str
    message: str


def group_tags(tags: Iterable[TagRecord]) -> dict[str, list[TagRecord]]:
    """Registry tags by artifact name (other tags dropped), in (time, name) order."""
    grouped: dict[str, list[TagRecord]] = {}
    for tag in sorted(tags, key=lambda t: (t.time, t.name)):
        parsed = parse_tag_name(tag.name)
        if parsed is not None:
            grouped.setdefault(parsed.artifact, []).append(tag)
    return grouped
