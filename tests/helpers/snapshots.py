"""Hand-built domain objects for unit tests of compare and the PR markdown."""

from __future__ import annotations

from mlpages.models import OutDecl, Snapshot, Stage


def snap(sha: str = "a" * 40, **kwargs) -> Snapshot:
    """A snapshot with DVC files and the given fields."""
    return Snapshot(sha=sha, has_dvc=True, **kwargs)


def locked(name: str, *, cmd="python -m train", deps=(), outs=(), params=(), **kw) -> Stage:
    """A stage of the root dvc.yaml whose lock entry records ``deps``/``outs``/``params``."""
    return Stage(
        name=name,
        dvcfile="dvc.yaml",
        wdir=".",
        cmd=cmd,
        deps=tuple(d.path for d in deps),
        outs=tuple(OutDecl(o.path, "outs") for o in outs),
        locked=True,
        lock_cmd=cmd,
        lock_deps=tuple(deps),
        lock_outs=tuple(outs),
        lock_params=tuple(params),
        **kw,
    )
