"""The registry state of an artifact resolved from its tags, as ``gto show`` / ``gto history`` do.

Nothing here touches git. ``mlpages.registry.gitio`` reads the tags (one ``git for-each-ref``) and
the artifact declarations, then resolves each artifact here (:func:`resolve_artifact`) with the
default semantics of ``gto show`` / ``gto history`` (GTO 1.x), checked against the real ``gto``:

* tags are processed in tagger-time order, ties broken by tag name;
* an assignment at a commit belongs to the version registered at that commit (a commit with no
  registered version becomes an implicit version named by its sha);
* a version is active while its latest register/deregister tag is a registration (a tie: the
  deregistration wins); a (version, stage) pair is assigned while its latest assign/unassign
  tag is an assignment (a tie: the unassignment wins);
* a stage holds ONE version: among active versions whose pair is assigned, the latest assignment
  wins; on equal times, the version registered first wins. So unassigning or deregistering the
  current holder hands the stage back to the previous holder still assigned;
* an artifact is deprecated while its latest event is a deprecation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from mlpages.registry.tags import (
    ASSIGN,
    DEPRECATE,
    DEREGISTER,
    PRIORITY,
    REGISTER,
    ROLLBACK_PREFIX,
    UNASSIGN,
    TagRecord,
    group_tags,
    is_semver,
    parse_tag_name,
    semver_key,
)

# --- domain ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """An artifact declared in dvc.yaml ``artifacts:`` or a legacy artifacts.yaml."""

    name: str  # "cv:pool-seg" for cv/dvc.yaml
    path: str  # repo-relative, or a remote URL (s3://...) kept as written
    type: str | None = None
    desc: str = ""
    source: str = "dvc.yaml"  # the file that declares it


@dataclass(frozen=True)
class RegistryEvent:
    """One registry tag, interpreted."""

    artifact: str
    kind: str  # register | deregister | assign | unassign | deprecate
    version: str | None
    stage: str | None
    sha: str
    tag: str
    time: int
    author: str
    message: str
    rollback: bool = False
    author_email: str = ""


@dataclass(frozen=True)
class ModelVersion:
    """A version of an artifact: a registered SemVer, or a commit assigned without registering."""

    artifact: str
    version: str  # "v1.2.0", or the commit sha for an implicit (unregistered) version
    sha: str
    created_at: int
    deregistered: bool
    stages: tuple[str, ...]  # the stages it holds now
    registered: bool = True
    tag: str = ""  # the registration tag
    author: str = ""
    message: str = ""
    path: str | None = None  # the artifact's declared path at this version's commit


@dataclass(frozen=True)
class StageSpan:
    """A version holding a stage from ``start`` until ``end`` (None: still holds it)."""

    artifact: str
    stage: str
    version: str
    sha: str
    start: int
    end: int | None
    tag: str  # the tag whose event started the span
    rollback: bool  # the version held this stage before (a return to an earlier version)


@dataclass(frozen=True)
class ArtifactState:
    """Everything the registry knows about one artifact."""

    name: str
    path: str | None
    type: str | None
    versions: tuple[ModelVersion, ...]  # SemVer order (implicit versions last)
    stages: dict[str, str | None]  # stage -> the version holding it now
    deprecated: bool
    events: tuple[RegistryEvent, ...]  # time order
    timeline: tuple[StageSpan, ...] = ()  # per stage, time order
    registered: bool = True  # False: declared at HEAD but never tagged
    latest: str | None = None  # highest active registered version

    def version(self, version: str) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    def holder(self, stage: str) -> ModelVersion | None:
        """The version holding ``stage`` now."""
        name = self.stages.get(stage)
        return self.version(name) if name else None


@dataclass(frozen=True)
class Registry:
    """The registry of a repository: artifacts and all events."""

    artifacts: dict[str, ArtifactState]
    events: tuple[RegistryEvent, ...]
    allowed_stages: tuple[str, ...] | None = None  # from .gto; None = any stage
    used_stages: tuple[str, ...] = ()  # stages held by some version now

    @property
    def stages(self) -> tuple[str, ...]:
        """The stage columns GTO shows: the allowed ones, else the ones in use."""
        return self.allowed_stages if self.allowed_stages is not None else self.used_stages


# --- resolution (GTO's default semantics) ------------------------------------------------------


@dataclass
class _Version:
    """A version while events are replayed: only the latest time of each kind matters."""

    name: str
    sha: str
    seen: int  # first-seen order, the last tie-break
    registered: bool = False
    last_reg: int | None = None
    last_dereg: int | None = None
    reg_event: RegistryEvent | None = None
    assigned: dict[str, int] = field(default_factory=dict)  # stage -> latest assignment
    unassigned: dict[str, int] = field(default_factory=dict)

    def add(self, event: RegistryEvent) -> None:
        t = event.time
        if event.kind == REGISTER:
            self.registered = True
            self.last_reg = t if self.last_reg is None else max(self.last_reg, t)
            if self.reg_event is None or event_order_key(event) > event_order_key(self.reg_event):
                self.reg_event = event
        elif event.kind == DEREGISTER:
            self.registered = True
            self.last_dereg = t if self.last_dereg is None else max(self.last_dereg, t)
        elif event.stage:
            times = self.assigned if event.kind == ASSIGN else self.unassigned
            times[event.stage] = max(times.get(event.stage, t), t)

    @property
    def active(self) -> bool:
        if not self.registered:
            return bool(self.assigned or self.unassigned)
        if self.last_reg is None:
            return False
        return self.last_dereg is None or self.last_reg > self.last_dereg

    @property
    def created_at(self) -> int:
        if self.last_reg is not None:
            return self.last_reg
        times = [*self.assigned.values(), *self.unassigned.values(), self.last_dereg or 0]
        return max(times)

    def assigned_at(self, stage: str) -> int | None:
        """Time of the latest assignment if the pair (self, stage) is assigned now."""
        assigned, unassigned = self.assigned.get(stage), self.unassigned.get(stage)
        if assigned is None or (unassigned is not None and unassigned >= assigned):
            return None
        return assigned


def event_order_key(event: RegistryEvent) -> tuple:
    """Time order; equal times by GTO's event priority, then tag name."""
    return (event.time, PRIORITY[event.kind], event.tag)


def _add_event(
    versions: dict[str, _Version], event: RegistryEvent, order: Mapping[str, int]
) -> None:
    if event.version is None:
        return
    version = versions.get(event.version)
    if version is None:
        seen = order.get(event.version, len(order) + len(versions))
        version = versions[event.version] = _Version(event.version, event.sha, seen)
    version.add(event)


def _insertion_order(events: list[RegistryEvent]) -> dict[str, int]:
    """GTO creates versions from version tags first (in time order), then from stage tags."""
    order: dict[str, int] = {}
    by_time_and_name = sorted(events, key=lambda e: (e.time, e.tag))
    for pass_kinds in ((REGISTER, DEREGISTER), (ASSIGN, UNASSIGN)):
        for event in by_time_and_name:
            if event.kind in pass_kinds and event.version and event.version not in order:
                order[event.version] = len(order)
    return order


def _holders(versions: Mapping[str, _Version]) -> dict[str, str]:
    """stage -> version holding it: the latest assignment among active versions.

    Equal times: the version registered first wins, then the one seen first (as in GTO).
    """
    best: dict[str, tuple] = {}
    for v in versions.values():
        if not v.active:
            continue
        for stage in v.assigned:
            assigned = v.assigned_at(stage)
            if assigned is None:
                continue
            key = (assigned, -v.created_at, v.registered, -v.seen)
            if stage not in best or key > best[stage][0]:
                best[stage] = (key, v.name)
    return {stage: name for stage, (_key, name) in best.items()}


def version_at_commit(events: Iterable[RegistryEvent], sha: str) -> str | None:
    """The version an assignment at commit ``sha`` belongs to (highest registered there)."""
    names = {e.version for e in events if e.kind in (REGISTER, DEREGISTER) and e.sha == sha}
    names.discard(None)
    semvers = sorted((n for n in names if n and is_semver(n)), key=semver_key)
    return semvers[-1] if semvers else None


def _interpret(artifact: str, tags: list[TagRecord]) -> list[RegistryEvent]:
    """Turn one artifact's tags into events; assignments get the version at their commit."""
    parsed = [(t, parse_tag_name(t.name)) for t in tags]
    base = [
        RegistryEvent(
            artifact=artifact,
            kind=p.kind,
            version=p.version,
            stage=p.stage,
            sha=t.sha,
            tag=t.name,
            time=t.time,
            author=t.author,
            message=t.message,
            rollback=p.kind == ASSIGN and t.message.startswith(ROLLBACK_PREFIX),
            author_email=t.author_email,
        )
        for t, p in parsed
        if p is not None
    ]
    out = []
    for event in base:
        if event.kind in (ASSIGN, UNASSIGN):
            version = version_at_commit(base, event.sha) or event.sha
            event = replace(event, version=version)
        out.append(event)
    return sorted(out, key=event_order_key)


def _timeline(
    artifact: str, events: list[RegistryEvent]
) -> tuple[list[StageSpan], set[str], dict[str, str], dict[str, _Version]]:
    """Replay events (grouped by time) and record who held each stage when.

    Returns the spans, the tags of the events that returned a stage to an earlier holder,
    the final holders and the final versions.
    """
    versions: dict[str, _Version] = {}
    order = _insertion_order(events)
    spans: list[StageSpan] = []
    open_spans: dict[str, StageSpan] = {}
    held_before: dict[str, set[str]] = {}
    rollback_tags: set[str] = set()
    holders: dict[str, str] = {}
    index = 0
    while index < len(events):
        time = events[index].time
        group_end = index
        while group_end < len(events) and events[group_end].time == time:
            group_end += 1
        group = events[index:group_end]
        for event in group:
            _add_event(versions, event, order)
        holders = _holders(versions)
        for stage in sorted(set(open_spans) | set(holders)):
            new = holders.get(stage)
            current = open_spans.get(stage)
            if current is not None and current.version == new:
                continue
            if current is not None:
                spans.append(replace(current, end=time))
                del open_spans[stage]
            if new is None:
                continue
            cause = _cause(group, new, stage)
            seen = held_before.setdefault(stage, set())
            is_return = new in seen
            seen.add(new)
            if is_return and cause is not None:
                rollback_tags.add(cause.tag)
            open_spans[stage] = StageSpan(
                artifact=artifact,
                stage=stage,
                version=new,
                sha=versions[new].sha,
                start=time,
                end=None,
                tag=cause.tag if cause else group[-1].tag,
                rollback=is_return or bool(cause and cause.rollback),
            )
        index = group_end
    spans.extend(open_spans.values())
    spans.sort(key=lambda s: (s.stage, s.start))
    return spans, rollback_tags, holders, versions


def _cause(group: list[RegistryEvent], version: str, stage: str) -> RegistryEvent | None:
    """The event of a same-time group that made ``version`` the holder of ``stage``."""
    for event in reversed(group):
        if event.kind == ASSIGN and event.version == version and event.stage == stage:
            return event
    for event in reversed(group):
        if event.stage in (stage, None):
            return event
    return group[-1] if group else None


def resolve_artifact(
    name: str,
    tags: list[TagRecord],
    declaration: Declaration | None = None,
    paths: Mapping[str, str | None] | None = None,
) -> ArtifactState:
    """The state of one artifact from its tags (any order). ``paths``: sha -> declared path."""
    events = _interpret(name, tags)
    spans, rollback_tags, holders, versions = _timeline(name, events)
    events = [
        replace(e, rollback=True) if e.tag in rollback_tags and not e.rollback else e
        for e in events
    ]
    held: dict[str, list[str]] = {}
    for stage, version in holders.items():
        held.setdefault(version, []).append(stage)
    model_versions = []
    for v in versions.values():
        reg = v.reg_event
        model_versions.append(
            ModelVersion(
                artifact=name,
                version=v.name,
                sha=v.sha,
                created_at=v.created_at,
                deregistered=not v.active,
                stages=tuple(sorted(held.get(v.name, []))),
                registered=v.registered,
                tag=reg.tag if reg else "",
                author=reg.author if reg else "",
                message=reg.message if reg else "",
                path=(paths or {}).get(v.sha),
            )
        )
    model_versions.sort(key=_version_sort_key)
    other_times = [e.time for e in events if e.kind != DEPRECATE]
    deprecations = [e.time for e in events if e.kind == DEPRECATE]
    deprecated = bool(deprecations) and max(deprecations) > max(other_times, default=-1)
    active = [v for v in model_versions if v.registered and not v.deregistered]
    stages = {
        stage: holders.get(stage)
        for stage in sorted({s for v in versions.values() for s in (*v.assigned, *v.unassigned)})
    }
    latest_version = model_versions[-1] if model_versions else None
    return ArtifactState(
        name=name,
        path=declaration.path if declaration else (latest_version.path if latest_version else None),
        type=declaration.type if declaration else None,
        versions=tuple(model_versions),
        stages=stages,
        deprecated=deprecated,
        events=tuple(events),
        timeline=tuple(spans),
        registered=bool(events),
        latest=active[-1].version if active else None,
    )


def _version_sort_key(v: ModelVersion) -> tuple:
    if is_semver(v.version):
        return (0, semver_key(v.version), "")
    return (1, (), v.version)


def resolve_registry(
    tags: Iterable[TagRecord],
    declarations: Mapping[str, Declaration] | None = None,
    paths: Mapping[str, Mapping[str, str | None]] | None = None,
    allowed_stages: tuple[str, ...] | None = None,
) -> Registry:
    """The whole registry: tagged artifacts plus artifacts declared (at HEAD) but never tagged."""
    declarations = declarations or {}
    artifacts: dict[str, ArtifactState] = {}
    for name, artifact_tags in group_tags(tags).items():
        artifacts[name] = resolve_artifact(
            name, artifact_tags, declarations.get(name), (paths or {}).get(name)
        )
    for name, declaration in declarations.items():
        if name not in artifacts:
            artifacts[name] = ArtifactState(
                name=name,
                path=declaration.path,
                type=declaration.type,
                versions=(),
                stages={},
                deprecated=False,
                events=(),
                registered=False,
            )
    events = sorted(
        (e for a in artifacts.values() for e in a.events),
        key=event_order_key,
    )
    used = sorted({s for a in artifacts.values() for s, v in a.stages.items() if v is not None})
    return Registry(
        artifacts=dict(sorted(artifacts.items())),
        events=tuple(events),
        allowed_stages=allowed_stages,
        used_stages=tuple(used),
    )
