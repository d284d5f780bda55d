"""Registry commands: write annotated tags in GTO's format, refusing bad input with RegistryError.

Tag names and messages are the ones ``gto`` itself writes (``churn@v1.0.0`` "Registering artifact
churn version v1.0.0"; ``churn#prod#3`` "Assigning stage prod to artifact churn version v1.0.0"),
so ``gto show`` reads our registry and we read GTO's. History is never rewritten: a rollback is a
new assignment tag whose message starts with ``Rollback:``.

Every command holds the repository's registry lock (:mod:`mlpages.registry.lock`) from reading
the registry to writing (and pushing) its tag, so concurrent commands behave as if they ran one
after the other. ``git tag`` itself creates the ref only if it still does not exist (its ref
update carries the old value it checked), so a writer that ignores the lock cannot overwrite a
tag either.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec

from mlpages.errors import RegistryError
from mlpages.gitread.process import git_process
from mlpages.registry.gitio import (
    allowed_stages,
    artifact_present_at,
    declarations_at,
    git,
    read_registry,
    resolve_commit,
)
from mlpages.registry.lock import registry_lock
from mlpages.registry.state import ArtifactState, ModelVersion, Registry
from mlpages.registry.tags import (
    ASSIGN,
    DEPRECATE,
    FULLNAME_RE,
    NAME_RE,
    REGISTER,
    ROLLBACK_PREFIX,
    UNASSIGN,
    bump_version,
    format_tag_name,
    is_semver,
    next_counter,
    semver_key,
)

BUMPS = ("major", "minor", "patch")
P = ParamSpec("P")


@dataclass(frozen=True)
class TagWritten:
    """What a command wrote: the tag, the commit it points at and what it means."""

    tag: str
    sha: str
    kind: str
    artifact: str
    version: str | None
    stage: str | None
    message: str
    pushed_to: str | None = None


def _one_writer(
    command: Callable[Concatenate[Path, P], TagWritten],
) -> Callable[Concatenate[Path, P], TagWritten]:
    """Run a registry command under the registry lock: its read, decision and write are one."""

    @functools.wraps(command)
    def locked(repo: Path, *args: P.args, **kwargs: P.kwargs) -> TagWritten:
        with registry_lock(Path(repo)):
            return command(repo, *args, **kwargs)

    return locked


def _short(sha: str) -> str:
    return sha[:7]


def _check_name(artifact: str) -> None:
    if not FULLNAME_RE.match(artifact):
        raise RegistryError(
            f"invalid artifact name {artifact!r}: letters, digits, '-', '_' and '/', starting and "
            "ending with a letter or digit (a sub-folder artifact is written 'folder:name')"
        )


def _check_stage(repo: Path, stage: str) -> None:
    if not NAME_RE.match(stage):
        raise RegistryError(
            f"invalid stage name {stage!r}: letters, digits, '-', '_' and '/', starting and ending "
            "with a letter or digit"
        )
    allowed = allowed_stages(repo)
    if allowed is not None and stage not in allowed:
        raise RegistryError(
            f"stage {stage!r} is not allowed in this repository "
            f"(.gto stages: {', '.join(allowed) or 'none'})"
        )


def _check_version(version: str) -> None:
    if not is_semver(version):
        raise RegistryError(
            f"{version!r} is not a SemVer version: expected vMAJOR.MINOR.PATCH, e.g. v1.2.0"
        )


def _state(registry: Registry, artifact: str) -> ArtifactState:
    state = registry.artifacts.get(artifact)
    if state is None:
        known = ", ".join(registry.artifacts) or "none"
        raise RegistryError(f"unknown artifact {artifact!r} (known: {known})")
    return state


def _checked_state(repo: Path, artifact: str, stage: str | None = None) -> ArtifactState:
    """The state of ``artifact`` once its name (and ``stage``) are checked; RegistryError else."""
    _check_name(artifact)
    if stage is not None:
        _check_stage(repo, stage)
    return _state(read_registry(repo), artifact)


def _all_tag_names(repo: Path) -> list[str]:
    raw = git(repo, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags")
    return raw.decode("utf-8", "replace").splitlines()


def _wait_past(moment: int | None) -> None:
    """Make the new tag strictly later than ``moment`` so GTO's order is unambiguous.

    Tag times have one-second resolution and equal times are resolved by tie-break rules; a
    fixed GIT_COMMITTER_DATE (tests, reproducible builds) is respected as it is.
    """
    if moment is None or "GIT_COMMITTER_DATE" in os.environ:
        return
    delay = moment + 1 - time.time()
    if 0 < delay <= 2:
        time.sleep(delay)


def _write_tag(
    repo: Path,
    name: str,
    sha: str,
    message: str,
    *,
    kind: str,
    artifact: str,
    version: str | None = None,
    stage: str | None = None,
    push: str | None = None,
) -> TagWritten:
    existing = git(repo, "tag", "--list", name).decode().strip()
    if existing:
        raise RegistryError(f"tag {name!r} already exists")
    git(repo, "tag", "-a", "-m", message, name, sha)
    if push:
        _push_tag(repo, push, name)
    return TagWritten(name, sha, kind, artifact, version, stage, message, push)


def _push_tag(repo: Path, remote: str, name: str) -> None:
    """Push the new tag; if the remote has that tag already, delete ours (it lost the race)."""
    ref = f"refs/tags/{name}"
    # The one registry command that may ask for credentials: a push the user asked for.
    proc = git_process(repo, "push", "--porcelain", remote, ref, prompt=True)
    if proc.returncode == 0:
        return
    stdout = proc.stdout.decode("utf-8", "replace")
    refused = [line for line in stdout.splitlines() if line.startswith(f"!\t{ref}:")]
    if refused and "(already exists)" in refused[0]:
        # Tags are never force-pushed: the remote's tag is the registry's truth, ours is stale.
        git(repo, "tag", "-d", name)
        raise RegistryError(
            f"{remote} already has a tag {name!r} (written by another clone since this one last "
            f"fetched): the local tag was deleted; fetch the registry (git fetch --tags {remote}) "
            "and run the command again"
        )
    if refused:
        reason = refused[0].split("\t")[-1]
    else:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["git push failed"]
        reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1])
    raise RegistryError(
        f"created tag {name!r} but could not push it to {remote} ({reason}); the tag is kept "
        f"here: push it later with git push {remote} {name}"
    )


@_one_writer
def register(
    repo: Path,
    artifact: str,
    version: str | None = None,
    bump: str | None = None,
    rev: str = "HEAD",
    message: str | None = None,
    push: str | None = None,
) -> TagWritten:
    """Register a version of ``artifact`` at ``rev`` (next patch version unless told otherwise)."""
    repo = Path(repo)
    _check_name(artifact)
    if version and bump:
        raise RegistryError("give either --version or --bump, not both")
    if bump and bump not in BUMPS:
        raise RegistryError(f"--bump must be one of {', '.join(BUMPS)}, not {bump!r}")
    if version:
        _check_version(version)
    sha = resolve_commit(repo, rev)
    declared = declarations_at(repo, sha, [artifact]).get(artifact)
    if declared is None:
        known = ", ".join(sorted(declarations_at(repo, sha))) or "none"
        raise RegistryError(
            f"unknown artifact {artifact!r} at {_short(sha)}: not declared in dvc.yaml "
            f"'artifacts:' (or artifacts.yaml) at that commit (declared there: {known})"
        )
    if not artifact_present_at(repo, sha, declared.path):
        raise RegistryError(
            f"artifact {artifact!r} does not exist at {_short(sha)}: "
            f"{declared.path or '(no path)'} is neither in git nor a DVC output recorded in "
            "dvc.lock/.dvc files there"
        )
    state = read_registry(repo).artifacts.get(artifact)
    versions = state.versions if state else ()
    registered = [v for v in versions if v.registered]
    if version and any(v.version == version for v in registered):
        existing = next(v for v in registered if v.version == version)
        raise RegistryError(
            f"version {version} of {artifact!r} already exists "
            f"(tag {existing.tag or version} at {_short(existing.sha)})"
        )
    at_commit = [v for v in registered if v.sha == sha and not v.deregistered]
    if at_commit:
        raise RegistryError(
            f"commit {_short(sha)} is already registered as {artifact} {at_commit[0].version}"
        )
    if not version:
        highest = max((v.version for v in registered), key=semver_key, default=None)
        version = bump_version(highest, bump or "patch") if highest or bump else "v0.0.1"
    tag = format_tag_name(REGISTER, artifact, version=version)
    text = message or f"Registering artifact {artifact} version {version}"
    return _write_tag(
        repo, tag, sha, text, kind=REGISTER, artifact=artifact, version=version, push=push
    )


def _target_version(
    repo: Path, state: ArtifactState, version: str | None, rev: str | None
) -> ModelVersion:
    if version and rev:
        raise RegistryError("give either --version or a revision, not both")
    if version:
        _check_version(version)
        found = state.version(version)
        if found is None or not found.registered:
            raise RegistryError(f"version {version} of {state.name!r} is not registered")
        if found.deregistered:
            raise RegistryError(f"version {version} of {state.name!r} was deregistered")
        return found
    sha = resolve_commit(repo, rev or "HEAD")
    candidates = [v for v in state.versions if v.registered and v.sha == sha and not v.deregistered]
    if not candidates:
        raise RegistryError(
            f"no registered version of {state.name!r} at {_short(sha)}: "
            f"run `mlpages registry register {state.name} {rev or 'HEAD'}` first"
        )
    return candidates[-1]


def _last_stage_time(state: ArtifactState, stage: str) -> int | None:
    times = [e.time for e in state.events if e.stage == stage]
    return max(times, default=None)


@_one_writer
def assign(
    repo: Path,
    artifact: str,
    stage: str,
    version: str | None = None,
    rev: str | None = None,
    message: str | None = None,
    push: str | None = None,
) -> TagWritten:
    """Assign ``stage`` to a registered version (by ``version`` or at ``rev``, default HEAD)."""
    repo = Path(repo)
    state = _checked_state(repo, artifact, stage)
    target = _target_version(repo, state, version, rev)
    if state.stages.get(stage) == target.version:
        raise RegistryError(f"{artifact} {target.version} already holds stage {stage!r}")
    return _assign_tag(repo, state, target, stage, message, push)


def _assign_tag(
    repo: Path,
    state: ArtifactState,
    target: ModelVersion,
    stage: str,
    message: str | None,
    push: str | None,
) -> TagWritten:
    text = message or (f"Assigning stage {stage} to artifact {state.name} version {target.version}")
    return _stage_tag(repo, ASSIGN, state, target, stage, text, push)


def _stage_tag(
    repo: Path,
    kind: str,
    state: ArtifactState,
    target: ModelVersion,
    stage: str,
    text: str,
    push: str | None,
) -> TagWritten:
    """Write an assign/unassign tag with the artifact's next counter, after the stage's last."""
    counter = next_counter(state.name, _all_tag_names(repo))
    tag = format_tag_name(kind, state.name, stage=stage, counter=counter)
    _wait_past(_last_stage_time(state, stage))
    return _write_tag(
        repo,
        tag,
        target.sha,
        text,
        kind=kind,
        artifact=state.name,
        version=target.version,
        stage=stage,
        push=push,
    )


@_one_writer
def unassign(
    repo: Path,
    artifact: str,
    stage: str,
    version: str | None = None,
    message: str | None = None,
    push: str | None = None,
) -> TagWritten:
    """Unassign ``stage`` from the version holding it (or from ``version``)."""
    repo = Path(repo)
    state = _checked_state(repo, artifact, stage)
    name = version or state.stages.get(stage)
    if name is None:
        raise RegistryError(f"no version of {artifact!r} holds stage {stage!r}")
    target = state.version(name)
    if target is None or not _pair_assigned(state, name, stage):
        raise RegistryError(f"stage {stage!r} is not assigned to {artifact} {name}")
    text = message or (
        f"Unassigning stage '{stage}' to artifact '{artifact}' version '{target.version}'"
    )
    return _stage_tag(repo, UNASSIGN, state, target, stage, text, push)


def _pair_assigned(state: ArtifactState, version: str, stage: str) -> bool:
    """True when the latest assign/unassign of (version, stage) is an assignment."""
    pair = [e for e in state.events if e.version == version and e.stage == stage]
    return bool(pair) and pair[-1].kind == ASSIGN


@_one_writer
def deprecate(
    repo: Path, artifact: str, message: str | None = None, push: str | None = None
) -> TagWritten:
    """Deprecate ``artifact`` (a ``name@deprecated`` tag at its latest event's commit)."""
    repo = Path(repo)
    state = _checked_state(repo, artifact)
    if state.deprecated:
        raise RegistryError(f"artifact {artifact!r} is already deprecated")
    sha = state.events[-1].sha if state.events else resolve_commit(repo, "HEAD")
    tag = format_tag_name(DEPRECATE, artifact)
    names = _all_tag_names(repo)
    if tag in names:  # deprecated before, then revived: the next deprecation needs a counter
        tag = format_tag_name(DEPRECATE, artifact, counter=next_counter(artifact, names))
    _wait_past(state.events[-1].time if state.events else None)
    text = message or f"Deprecating artifact '{artifact}'"
    return _write_tag(repo, tag, sha, text, kind=DEPRECATE, artifact=artifact, push=push)


def previous_holder(state: ArtifactState, stage: str) -> ModelVersion | None:
    """The version a rollback of ``stage`` returns to (None: there is none).

    The stage's holders form a stack: a new holder is pushed, a return to an earlier holder
    (a rollback, or an unassignment handing the stage back) pops down to it. So successive
    rollbacks walk further back and never return to a version that was rolled back from.
    Deregistered versions are skipped.
    """
    stack: list[str] = []
    for span in (s for s in state.timeline if s.stage == stage):
        if span.rollback and span.version in stack:
            del stack[stack.index(span.version) + 1 :]
        elif not stack or stack[-1] != span.version:
            stack.append(span.version)
    if not stack or state.stages.get(stage) != stack[-1]:
        return None
    for name in reversed(stack[:-1]):
        version = state.version(name)
        if version is not None and not version.deregistered and name != stack[-1]:
            return version
    return None


@_one_writer
def rollback(
    repo: Path, artifact: str, stage: str, message: str | None = None, push: str | None = None
) -> TagWritten:
    """Re-assign ``stage`` to its previous holder with a new, ``Rollback:``-marked assignment."""
    repo = Path(repo)
    state = _checked_state(repo, artifact, stage)
    current = state.stages.get(stage)
    if current is None:
        raise RegistryError(
            f"no version of {artifact!r} holds stage {stage!r}: nothing to roll back"
        )
    previous = previous_holder(state, stage)
    if previous is None:
        raise RegistryError(
            f"stage {stage!r} of {artifact!r} has no earlier (still registered) version than "
            f"{current} to roll back to"
        )
    text = f"{ROLLBACK_PREFIX} assigning stage {stage} to artifact {artifact} version " + (
        f"{previous.version} (replacing {current})" + (f"\n\n{message}" if message else "")
    )
    return _assign_tag(repo, state, previous, stage, text, push)
