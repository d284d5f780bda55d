"""Our registry reader agrees with the reference reader, the real `gto` CLI, on a realistic repo.

The repository carries everything real registries carry: version tags with and without a counter,
unassign tags, a deregistration, a deprecation, a rollback, an assignment of an unregistered
commit, two assignments in the same second (GTO's tie-break), sub-folder artifacts, a legacy
artifacts.yaml, remote (s3://) artifact paths, lightweight tags and non-registry tags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.git import git

from mlpages.commands.registry import registry_group

GTO = Path(sys.executable).parent / "gto"
T0 = 1_700_100_000  # after the commits (clock 1_700_003_600 + 3600 per commit), as in real life

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    outs: [models/model.pkl]
artifacts:
  churn:
    path: models/model.pkl
    type: model
  remote-model:
    path: s3://bucket/models/remote.pkl
    type: model
  never-tagged:
    path: models/other.pkl
"""
CV_DVC_YAML = """\
artifacts:
  pool-seg:
    path: seg/model.pt
    type: model
"""
ARTIFACTS_YAML = """\
legacy-model:
  type: model
  path: s3://bucket/legacy.pkl
  virtual: true
"""


def tag(repo: Path, name: str, sha: str, at: int, message: str = "") -> None:
    """An annotated tag with a fixed tagger date."""
    git(
        repo,
        "tag",
        "-a",
        name,
        sha,
        "-m",
        message or f"tag {name}",
        env={"GIT_COMMITTER_DATE": f"{T0 + at} +0000"},
    )


@pytest.fixture(scope="module")
def registry_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    from helpers.git import RepoBuilder

    builder = RepoBuilder(tmp_path_factory.mktemp("gto") / "repo")
    c = {}
    c["c1"] = builder.commit(
        "first model",
        {
            "dvc.yaml": DVC_YAML,
            "models/model.pkl": "model 1",
            "cv/dvc.yaml": CV_DVC_YAML,
            "cv/seg/model.pt": "seg 1",
            "artifacts.yaml": ARTIFACTS_YAML,
            ".gto": "stages: [dev, staging, prod]\n",
        },
    )
    c["c2"] = builder.commit(
        "second model", {"models/model.pkl": "model 2", "cv/seg/model.pt": "2"}
    )
    c["c3"] = builder.commit("third model", {"models/model.pkl": "model 3"})
    c["c4"] = builder.commit("fourth model", {"models/model.pkl": "model 4"})
    c["c5"] = builder.commit("experiment", {"models/model.pkl": "model 5"})
    r = builder.path
    # churn: counter-less and counter version tags, stages, unassign, rollback, deregistration
    tag(r, "churn@v1.0.0", c["c1"], 10, "Registering artifact churn version v1.0.0")
    tag(r, "churn#dev#1", c["c1"], 20)
    tag(r, "churn#prod#2", c["c1"], 30)
    tag(r, "churn@v1.1.0#3", c["c2"], 40)
    tag(r, "churn#dev#4", c["c2"], 50)
    tag(r, "churn#prod#5", c["c2"], 60)
    tag(r, "churn#dev!#6", c["c2"], 70)  # dev falls back to v1.0.0
    tag(r, "churn@v1.2.0", c["c3"], 80)
    tag(r, "churn#staging#7", c["c3"], 80)  # same second as its registration
    tag(r, "churn#prod#8", c["c3"], 90)
    tag(r, "churn#prod#9", c["c2"], 100, "Rollback: assigning stage prod to artifact churn")
    tag(r, "churn@v1.3.0", c["c4"], 110)
    tag(r, "churn#staging#10", c["c4"], 120)
    tag(r, "churn@v1.3.0!", c["c4"], 130)  # deregistered: staging falls back to v1.2.0
    tag(r, "churn#dev#11", c["c5"], 140)  # an unregistered commit: an implicit version
    # a sub-folder artifact; two prod assignments in the same second (GTO's tie-break)
    tag(r, "cv=pool-seg@v0.0.1", c["c1"], 15)
    tag(r, "cv=pool-seg@v0.0.2", c["c2"], 45)
    tag(r, "cv=pool-seg#prod#1", c["c1"], 150)
    tag(r, "cv=pool-seg#prod#2", c["c2"], 150)  # not the later tag: the earlier version wins
    # remote storage path; a legacy artifacts.yaml artifact that gets deprecated
    tag(r, "remote-model@v2.0.0", c["c4"], 160)
    tag(r, "remote-model#prod#1", c["c4"], 170)
    tag(r, "legacy-model@v0.1.0", c["c1"], 25)
    tag(r, "legacy-model#staging#1", c["c1"], 35)
    tag(r, "legacy-model@deprecated", c["c1"], 180)
    # noise: lightweight tags (ignored by GTO) and non-registry tags
    git(r, "tag", "churn@v9.9.9", c["c5"])
    git(r, "tag", "churn#prod#99", c["c5"])
    tag(r, "v1.0", c["c2"], 190)
    tag(r, "baseline-experiment", c["c3"], 200)
    tag(r, "churn@v1.0", c["c3"], 210)  # not SemVer: not a registry tag
    return r, c


def gto(repo: Path, *args: str) -> object:
    out = subprocess.run(
        [str(GTO), *args, "-r", str(repo), "--json"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def ours(repo: Path, *args: str) -> object:
    result = CliRunner().invoke(registry_group, [*args, "--repo", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def when(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.parametrize("flags", [(), ("--deprecated",)])
def test_show_registry_agrees_with_gto(registry_repo, flags):
    repo, c = registry_repo
    theirs, mine = gto(repo, "show", *flags), ours(repo, "show", *flags)
    assert set(theirs) <= set(mine)
    for name, item in theirs.items():
        for key in ("version", "stage", "registered", "active"):
            assert mine[name][key] == item[key], (name, key)
    # what we add: artifacts declared in dvc.yaml (GTO reads only artifacts.yaml) never tagged
    assert {n for n in mine if n not in theirs} == {"never-tagged"}
    assert mine["never-tagged"]["registered"] is False
    # the facts this repository was built to exercise
    # dev: the unregistered commit c5 (implicit version); staging: v1.3.0 deregistered -> v1.2.0;
    # prod: rolled back to v1.1.0
    assert mine["churn"]["stage"] == {"dev": c["c5"], "staging": "v1.2.0", "prod": "v1.1.0"}
    assert mine["cv:pool-seg"]["stage"]["prod"] == "v0.0.1"  # same-second tie: first registered
    assert mine["remote-model"]["version"] == "v2.0.0"
    assert ("legacy-model" in mine) == bool(flags)


@pytest.mark.parametrize("artifact", ["churn", "cv:pool-seg", "remote-model", "legacy-model"])
def test_show_artifact_agrees_with_gto(registry_repo, artifact):
    repo, _ = registry_repo

    def key(v: dict) -> tuple:
        stages = sorted(s["stage"] for s in v["stages"])
        created = when(v["created_at"]) if v["version"].startswith("v") else None
        return (v["version"], v["commit_hexsha"], v["is_active"], created, stages)

    for flags in ((), ("--deprecated",)):
        theirs = gto(repo, "show", artifact, *flags)
        # GTO also lists the HEAD commit of an artifacts.yaml artifact as a pseudo-version, and
        # lists an unregistered assigned commit twice (created at the tag, and at the commit)
        theirs = [v for v in theirs if not (v["discovered"] and not v["stages"])]
        unique: dict[str, dict] = {}
        for v in theirs:
            unique.setdefault(v["version"], v)
        theirs = list(unique.values())
        mine = ours(repo, "show", artifact, *flags)
        assert sorted(map(key, mine)) == sorted(map(key, theirs)), flags
        assert [v["ref"] for v in mine if v["registered"]] == [
            v["ref"] for v in theirs if v["registrations"]
        ]


def test_history_agrees_with_gto(registry_repo):
    repo, c = registry_repo
    fields = ("artifact", "event", "priority", "version", "stage", "commit", "ref", "message")

    def key(e: dict) -> tuple:
        return (when(e["timestamp"]), *(e[f] for f in fields), e["author"], e["author_email"])

    theirs, mine = gto(repo, "history"), ours(repo, "history")
    assert len(mine) == len(theirs) == 24
    assert sorted(map(key, mine)) == sorted(map(key, theirs))
    # both newest first; equal times ordered by GTO's event priority
    order = [(when(e["timestamp"]), e["priority"]) for e in mine]
    assert order == sorted(order, reverse=True)
    assert order == [(when(e["timestamp"]), e["priority"]) for e in theirs]
    implicit = next(e for e in mine if e["ref"] == "churn#dev#11")
    assert implicit["version"] == c["c5"]
    assert next(e for e in mine if e["ref"] == "churn#prod#9")["rollback"] is True


def test_history_of_one_artifact_agrees_with_gto(registry_repo):
    repo, _ = registry_repo
    theirs = gto(repo, "history", "cv:pool-seg")
    mine = ours(repo, "history", "cv:pool-seg")
    assert sorted(e["ref"] for e in mine) == sorted(e["ref"] for e in theirs)
    assert len(mine) == 4


def test_gto_reads_the_tags_we_write(make_repo, monkeypatch):
    from helpers.git import IDENTITY

    from mlpages.registry.write import assign, deprecate, register, rollback, unassign

    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    builder = make_repo()
    for n in range(3):
        builder.commit(f"model {n}", {"dvc.yaml": DVC_YAML, "models/model.pkl": str(n)})
    steps = [
        lambda r: register(r, "churn", rev="HEAD~2"),
        lambda r: register(r, "churn", rev="HEAD~1", bump="minor"),
        lambda r: register(r, "churn", rev="HEAD", bump="major"),
        lambda r: assign(r, "churn", "prod", version="v0.0.1"),
        lambda r: assign(r, "churn", "prod", version="v1.0.0"),
        lambda r: assign(r, "churn", "dev", version="v0.1.0"),
        lambda r: rollback(r, "churn", "prod"),
        lambda r: unassign(r, "churn", "dev"),
        lambda r: register(r, "remote-model"),
        lambda r: deprecate(r, "remote-model"),
    ]
    for minute, step in enumerate(steps):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{T0 + 60 * minute} +0000")
        step(builder.path)
    for flags in ((), ("--deprecated",)):
        theirs, mine = gto(builder.path, "show", *flags), ours(builder.path, "show", *flags)
        for name, item in theirs.items():
            assert {k: mine[name][k] for k in item} == item
    assert mine["churn"]["stage"] == {"prod": "v0.0.1"}  # no .gto: only the stages in use
    history = gto(builder.path, "history")
    assert [e["event"] for e in history][:2] == ["deprecation", "registration"]
    assert len(history) == len(ours(builder.path, "history")) == len(steps)


# --- property: GTO's own state machine, fed the same tags, agrees on random histories ----------

SHAS = ["a" * 40, "b" * 40, "c" * 40]


def _gto_state(records):
    """Index tags exactly as GTO's TagManagers do and read what `gto show` reads."""
    from gto.base import BaseRegistryState
    from gto.constants import ACTION, Action, VersionSort
    from gto.tag import index_tag, parse_name
    from scmrepo.git import GitTag

    tags = [
        GitTag(r.name, r.name, r.sha, r.author, r.author_email, r.time, 0, r.message)
        for r in records
    ]
    ordered = sorted(sorted(tags, key=lambda t: t.name), key=lambda t: t.tag_time)
    state = BaseRegistryState()
    groups = (
        {Action.DEPRECATE},
        {Action.REGISTER, Action.DEREGISTER},
        {Action.ASSIGN, Action.UNASSIGN},
    )
    for actions in groups:
        for t in ordered:
            if parse_name(t.name)[ACTION] in actions:
                state.update_artifact(index_tag(state.find_artifact("m", create_new=True), t))
    artifact = state.artifacts["m"]
    stages = artifact.get_vstages(sort=VersionSort.Timestamp)
    latest = artifact.get_latest_version(registered_only=True)
    return (
        {stage: held[0].version for stage, held in stages.items() if held},
        artifact.is_active,
        latest.version if latest else None,
    )


def test_random_histories_resolve_as_gto_resolves_them():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlpages.registry.state import resolve_artifact
    from mlpages.registry.tags import TagRecord

    step = st.tuples(
        st.sampled_from(["deregister", "assign", "assign", "unassign", "deprecate"]),
        st.integers(0, 2),  # commit i, where version v1.<i>.0 is registered
        st.sampled_from(["dev", "prod"]),
        st.integers(0, 3),  # small time range: many same-second ties
    )

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(st.integers(0, 3), min_size=3, max_size=3), st.lists(step, max_size=12))
    def check(registered_at, steps):
        records = [
            TagRecord(f"m@v1.{i}.0", SHAS[i], 100 + t, "Ada", "a@x", "")
            for i, t in enumerate(registered_at)
        ]
        for counter, (kind, commit, stage, time) in enumerate(steps, start=1):
            if kind == "deregister":
                name = f"m@v1.{commit}.0!"
                if name in {r.name for r in records}:
                    continue
            elif kind == "deprecate":
                name = f"m@deprecated#{counter}"
            else:
                name = f"m#{stage}{'!' if kind == 'unassign' else ''}#{counter}"
            records.append(TagRecord(name, SHAS[commit], 100 + time, "Ada", "a@x", kind))
        ours = resolve_artifact("m", records)
        held = {s: v for s, v in ours.stages.items() if v is not None}
        assert (held, not ours.deprecated, ours.latest) == _gto_state(records)

    check()
