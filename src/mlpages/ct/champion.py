"""Find the champion (the production model) and load its bytes from the DVC cache at its revision.

Resolution order: an explicit revision (``--champion-rev``), then the registry's production stage
(:func:`mlpages.registry.gitio.read_registry`), then ``gate.champion_rev`` from params; none of
them means there is no champion (the gate's first run: a rubber stamp).

The model file is never checked out: its md5 comes from ``dvc.lock`` *at the champion's commit*,
and the bytes from the DVC cache (``<cache>/files/md5/ab/cdef…``, legacy ``<cache>/ab/cdef…``),
through the history engine's readers (:mod:`mlpages.registry.gitio`, :mod:`mlpages.objects.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpages.config import load_config
from mlpages.errors import DataError, ObjectMismatch
from mlpages.gitread.reader import GitReader
from mlpages.objects.objectid import is_md5, verified
from mlpages.objects.store import DvcObjects, default_sources, source_problems
from mlpages.registry.gitio import model_hash_at, read_registry


@dataclass(frozen=True)
class Champion:
    """The model the candidate is compared with."""

    sha: str
    source: str  # registry | revision
    version: str | None = None
    path: str = "models/model.pkl"  # repo-relative model path at that revision
    rev: str = ""  # what the user or registry named (tag, branch, sha)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "sha": self.sha, "source": self.source}

    @property
    def label(self) -> str:
        return self.version or self.rev or self.sha[:12]


def resolve_revision(repo: Path, rev: str) -> str:
    """The commit sha of ``rev``; an unknown revision is a clear error."""
    with GitReader(repo) as reader:
        sha = reader.resolve(rev)
    if sha is None:
        raise DataError(f"champion revision {rev!r} is not a commit of {repo}")
    return sha


def registry_champion(repo: Path, artifact: str, stage: str, default_path: str) -> Champion | None:
    """The version holding ``stage`` in the registry (GTO tags), or None."""
    registry = read_registry(repo)
    if not registry.artifacts:
        return None
    name = artifact or next(
        (n for n, a in registry.artifacts.items() if a.type == "model"),
        next(iter(registry.artifacts)),
    )
    state = registry.artifacts.get(name)
    if state is None or state.deprecated:
        return None
    match = state.holder(stage)
    if match is None:
        return None
    return Champion(
        sha=match.sha,
        source="registry",
        version=match.version,
        path=match.path or state.path or default_path,
        rev=f"{name}#{stage}",
    )


def resolve_champion(
    repo: Path,
    *,
    explicit_rev: str = "",
    params_rev: str = "",
    artifact: str = "",
    stage: str = "prod",
    model_path: str = "models/model.pkl",
) -> Champion | None:
    """Explicit revision, else registry production stage, else params revision, else None."""
    if explicit_rev:
        sha = resolve_revision(repo, explicit_rev)
        return Champion(sha=sha, source="revision", path=model_path, rev=explicit_rev)
    found = registry_champion(repo, artifact, stage, model_path)
    if found is not None:
        return found
    if params_rev:
        sha = resolve_revision(repo, params_rev)
        return Champion(sha=sha, source="revision", path=model_path, rev=params_rev)
    return None


def read_blob_at(repo: Path, sha: str, path: str) -> bytes | None:
    """The content of ``path`` in commit ``sha`` (None when the commit has no such file)."""
    with GitReader(repo) as reader:
        commit = reader.read_commits([sha]).get(sha)
        if commit is None:
            return None
        entry = reader.lookup(commit.tree, path)
        if entry is None or not entry.is_blob:
            return None
        blob = reader.read_blob(entry.sha)
    return None if blob is None else blob[1]


# --- the model bytes: dvc.lock at the champion's commit, then the DVC cache (or remote) ----


def champion_model_bytes(repo: Path, champion: Champion) -> bytes:
    """The champion's model file, by the hash its commit's dvc.lock records, from the DVC cache.

    The hash is found with :func:`mlpages.registry.gitio.model_hash_at` (dvc.lock and .dvc files,
    stage ``wdir``, a file inside a directory output) and the bytes with
    :mod:`mlpages.objects.store`: the local cache, then the DVC remote when the configuration
    allows fetching from it. The bytes are returned only when they hash to that md5: they are
    about to be unpickled, and a poisoned object in the cache or the bucket would otherwise run
    code in the job that loads it.
    """
    where = f"champion {champion.label} ({champion.sha[:12]})"
    out = model_hash_at(repo, champion.sha, champion.path)
    if out is None or not out.md5:
        raise DataError(f"{where}: {champion.path} is not a DVC output at that commit")
    if not is_md5(out.md5):
        raise DataError(f"{where}: {champion.path} has md5 {out.md5[:80]!r}: not a DVC md5")
    objects = DvcObjects(default_sources(repo, load_config(repo)))

    def absent(what: str) -> DataError:
        remotes = "".join(f" ({p.message})" for p in source_problems(objects.sources))
        return DataError(
            f"{where}: {champion.path} {what} is not in the DVC cache; "
            f"run `dvc fetch` for that revision (or `dvc pull`){remotes}"
        )

    def refuse(md5: str, source: str) -> ObjectMismatch:
        return ObjectMismatch(
            f"{where}: {champion.path} in the {source} does not hash to md5 {md5} from dvc.lock "
            "at that commit (tampered or corrupt): refusing to unpickle it"
        )

    located = objects.locate(out, champion.path)
    if located is None:
        if out.md5 in objects.mismatched:  # the directory's listing itself
            raise refuse(out.md5, objects.mismatched[out.md5])
        raise absent(f"(directory {out.path}, md5 {out.md5})")
    md5, legacy = located
    found = objects.read_object(md5, legacy)
    if found.mismatch is not None:
        raise refuse(md5, found.mismatch)
    if found.data is None:
        raise absent(f"(md5 {md5})")
    # DvcObjects hands out verified bytes only; checked once more where trusting them means
    # running them.
    if not verified(md5, found.data, legacy):
        raise refuse(md5, found.source or "cache")
    return found.data
