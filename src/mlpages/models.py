"""The domain model shared by the history engine, the registry, compare, the PR diff and the site.

Everything here is a frozen dataclass that round-trips through plain JSON
(:mod:`mlpages.history.codec`), because snapshots are cached on disk and embedded into pages.
Values read from a repository are untrusted: they are kept as data, never as markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# A metric or param value after flattening: numbers, strings and booleans. NaN and +/-Inf are kept
# as floats in memory; ``encode_value`` turns them into tagged strings for JSON.
Value = float | int | str | bool | None

SNAPSHOT_SCHEMA_VERSION = 1


def encode_value(value: Value) -> Any:
    """Make a value JSON-safe: NaN/Inf become ``{"$float": "nan" | "inf" | "-inf"}``."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    return value


def decode_value(raw: Any) -> Value:
    """Inverse of :func:`encode_value`."""
    if isinstance(raw, dict) and "$float" in raw:
        return float(raw["$float"])
    return raw


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Commit:
    """One git commit, as read from ``git cat-file --batch`` (message decoded with replacement)."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    author_time: int  # seconds since the epoch
    author_tz: str  # "+0200"
    committer: Person
    commit_time: int
    subject: str
    body: str


@dataclass(frozen=True)
class Ref:
    """A ref pointing at a commit. ``kind``: branch | remote | tag | exp | pull | stash | other."""

    name: str  # full ref name, e.g. refs/heads/main
    short: str  # e.g. main, origin/main, v1.0
    kind: str
    sha: str  # the commit it points at (tags peeled)
    annotated: bool = False
    tag_message: str = ""
    tagger: Person | None = None
    tag_time: int | None = None


@dataclass(frozen=True)
class Problem:
    """Something that could not be read at a commit. Shown on the commit page, never fatal."""

    kind: str  # yaml-error | json-error | bad-type | missing-file | not-in-cache | too-large |
    # binary | missing-blob | unsupported | remote-error | outside-repo | bad-md5 | md5-mismatch
    path: str
    message: str


@dataclass(frozen=True)
class HashInfo:
    """A dependency or output as recorded in dvc.lock or a .dvc file."""

    path: str  # repo-relative, POSIX
    md5: str | None = None  # may end with ".dir"
    hash_name: str | None = None  # "md5" for DVC 3 hashes; None for legacy (DVC 2) md5
    size: int | None = None
    nfiles: int | None = None
    other: str | None = None  # etag/checksum/version_id when there is no md5

    @property
    def is_dir(self) -> bool:
        return bool(self.md5 and self.md5.endswith(".dir"))

    @property
    def fingerprint(self) -> str | None:
        return self.md5 or self.other


@dataclass(frozen=True)
class OutDecl:
    """An output declared in dvc.yaml (outs, metrics or plots section of a stage)."""

    path: str  # repo-relative
    section: str  # outs | metrics | plots
    cache: bool = True
    persist: bool = False


@dataclass(frozen=True)
class Stage:
    """One (expanded) stage of a dvc.yaml, with its lock entry when there is one."""

    name: str  # expanded name as in dvc.lock: "train", "train@cnn"
    dvcfile: str  # repo-relative path of the dvc.yaml ("dvc.yaml", "sub/dvc.yaml")
    wdir: str  # repo-relative working directory ("." for the root)
    cmd: str
    deps: tuple[str, ...] = ()  # repo-relative paths
    outs: tuple[OutDecl, ...] = ()
    params: tuple[str, ...] = ()  # "params.yaml:train.lr"
    frozen: bool = False
    always_changed: bool = False
    desc: str = ""
    # From dvc.lock (None when the stage has no lock entry):
    locked: bool = False
    lock_cmd: str | None = None
    lock_deps: tuple[HashInfo, ...] = ()
    lock_outs: tuple[HashInfo, ...] = ()
    lock_params: tuple[tuple[str, Value], ...] = ()  # ("params.yaml:train.lr", 0.1)

    @property
    def key(self) -> str:
        """Unique id across dvc.yaml files: ``sub/dvc.yaml:train`` or ``train`` at the root."""
        return self.name if self.dvcfile == "dvc.yaml" else f"{self.dvcfile}:{self.name}"


@dataclass(frozen=True)
class PlotDef:
    """A plot definition (stage plots or top-level plots), resolved to repo-relative files."""

    id: str
    files: tuple[str, ...]
    template: str = "linear"
    x: str | None = None  # field name; None -> "step" index
    y: tuple[tuple[str, str], ...] = ()  # (file, field) pairs; empty -> last column of each file
    x_label: str | None = None
    y_label: str | None = None
    title: str | None = None
    header: bool = True
    x_files: tuple[tuple[str, str], ...] = ()  # (file, x field) when x is given per file


@dataclass(frozen=True)
class PlotData:
    """The data of one plot file at a commit: records for tables, a blob id for images."""

    path: str
    kind: str  # table | image | missing
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Value, ...], ...] = ()
    image_sha: str | None = None  # git blob sha or "md5:<hash>" for DVC-cached images
    image_ext: str | None = None
    source: str = "git"  # git | cache | remote
    truncated: bool = False


@dataclass(frozen=True)
class Artifact:
    """An artifact declared in dvc.yaml ``artifacts:`` (or a legacy artifacts.yaml)."""

    name: str  # registry name, "sub/dir:name" for artifacts in a sub-folder's dvc.yaml
    path: str
    type: str | None = None
    desc: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """All pipeline facts of ONE commit. Immutable; cached on disk by sha + schema version."""

    sha: str
    has_dvc: bool
    stages: tuple[Stage, ...] = ()
    # file -> flattened key -> value
    params: dict[str, dict[str, Value]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Value]] = field(default_factory=dict)
    plots: tuple[PlotDef, ...] = ()
    plot_data: dict[str, PlotData] = field(default_factory=dict)  # by file path
    artifacts: tuple[Artifact, ...] = ()
    tracked: tuple[HashInfo, ...] = ()  # outputs of .dvc files (dvc add): the data
    # Reports of the continuous-training stages when the repository has them (parsed JSON):
    # "validation", "drift", "gate", "monitoring", "trigger" -> the report object.
    reports: dict[str, Any] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    schema_version: int = SNAPSHOT_SCHEMA_VERSION

    def metric(self, name: str) -> Value:
        """Look a metric up as ``file:key`` or by bare key (first file that has it)."""
        if ":" in name:
            file, key = name.split(":", 1)
            return self.metrics.get(file, {}).get(key)
        for values in self.metrics.values():
            if name in values:
                return values[name]
        return None

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)
