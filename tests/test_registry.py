"""The registry: tag names, SemVer, GTO semantics, the write commands and every refusal."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.git import IDENTITY, RepoBuilder, git

from mlpages.commands.registry import registry_group
from mlpages.errors import RegistryError
from mlpages.registry.gitio import model_hash_at, production_version, read_registry, read_tags
from mlpages.registry.state import resolve_artifact
from mlpages.registry.tags import (
    TagName,
    TagRecord,
    bump_version,
    format_tag_name,
    is_semver,
    next_counter,
    parse_tag_name,
    semver_key,
)
from mlpages.registry.write import assign, deprecate, register, rollback, unassign

DVC_YAML = """\
artifacts:
  churn:
    path: models/model.pkl
    type: model
  remote:
    path: s3://bucket/remote.pkl
"""

# --- pure core ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("churn@v1.2.0", TagName("churn", "register", version="v1.2.0")),
        ("churn@v1.2.0#5", TagName("churn", "register", version="v1.2.0", counter=5)),
        ("churn@v1.2.0!", TagName("churn", "deregister", version="v1.2.0")),
        ("churn#prod#3", TagName("churn", "assign", stage="prod", counter=3)),
        ("churn#dev!#3", TagName("churn", "unassign", stage="dev", counter=3)),
        ("churn#prod", TagName("churn", "assign", stage="prod")),
        ("churn@deprecated", TagName("churn", "deprecate")),
        ("cv=pool-seg@v0.0.1", TagName("cv:pool-seg", "register", version="v0.0.1")),
        ("a/b@v1.0.0-rc.1+build.5", TagName("a/b", "register", version="v1.0.0-rc.1+build.5")),
        ("v1.0", None),
        ("baseline-experiment", None),
        ("churn@v1.0", None),
        ("churn@1.0.0", None),
        ("churn@created", None),
        ("-churn@v1.0.0", None),
        ("churn#prod#x", None),
    ],
)
def test_parse_tag_name(name, expected):
    assert parse_tag_name(name) == expected
    if expected is not None:
        rebuilt = format_tag_name(
            expected.kind, expected.artifact, expected.version, expected.stage, expected.counter
        )
        assert rebuilt == name


def test_semver_order_and_validation():
    versions = ["v1.0.0", "v1.0.0-rc.1", "v1.0.0-alpha", "v1.0.0-alpha.1", "v0.9.9", "v10.0.0"]
    versions += ["v1.0.0-beta.11", "v1.0.0-beta.2", "v1.0.0-alpha.beta"]
    assert sorted(versions, key=semver_key) == [
        "v0.9.9",
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v10.0.0",
    ]
    assert semver_key("v1.0.0+build.1") == semver_key("v1.0.0")
    for bad in ("1.0.0", "v1.0", "v01.0.0", "v1.0.0-", "latest", "V1.0.0"):
        assert not is_semver(bad), bad


def test_bump_version():
    assert bump_version(None, "patch") == "v0.0.1"
    assert bump_version(None, "major") == "v1.0.0"
    assert bump_version("v1.2.3", "minor") == "v1.3.0"
    assert bump_version("v1.2.3-rc.1", "patch") == "v1.2.4"
    with pytest.raises(ValueError):
        bump_version("v1.2.3", "micro")


def test_next_counter_counts_every_tag_of_the_artifact():
    names = ["churn#prod#3", "churn@v1.0.0#7", "other#prod#40", "churn@v2.0.0", "v1.0"]
    assert next_counter("churn", names) == 8
    assert next_counter("new", names) == 1


def _tag(name: str, sha: str, time: int, message: str = "") -> TagRecord:
    return TagRecord(name, sha, time, "Ada", "ada@example.com", message)


def test_semantics_unassign_and_deregister_hand_the_stage_back():
    tags = [
        _tag("m@v1.0.0", "a" * 40, 1),
        _tag("m@v2.0.0", "b" * 40, 2),
        _tag("m#prod#1", "a" * 40, 3),
        _tag("m#prod#2", "b" * 40, 4),
    ]
    assert resolve_artifact("m", tags).stages == {"prod": "v2.0.0"}
    unassigned = resolve_artifact("m", [*tags, _tag("m#prod!#3", "b" * 40, 5)])
    assert unassigned.stages == {"prod": "v1.0.0"}
    assert [(s.version, s.start, s.end, s.rollback) for s in unassigned.timeline] == [
        ("v1.0.0", 3, 4, False),
        ("v2.0.0", 4, 5, False),
        ("v1.0.0", 5, None, True),
    ]
    deregistered = resolve_artifact("m", [*tags, _tag("m@v2.0.0!", "b" * 40, 5)])
    assert deregistered.stages == {"prod": "v1.0.0"}
    assert deregistered.version("v2.0.0").deregistered
    assert deregistered.latest == "v1.0.0"


def test_semantics_ties_and_deprecation():
    a, b = "a" * 40, "b" * 40
    base = [_tag("m@v1.0.0", a, 1), _tag("m@v2.0.0", b, 2)]
    # same second: the version registered first wins, whatever the tag names
    tie = resolve_artifact("m", [*base, _tag("m#prod#1", b, 5), _tag("m#prod#2", a, 5)])
    assert tie.stages["prod"] == "v1.0.0"
    # assign and unassign of one pair in the same second: the unassignment wins
    same = resolve_artifact("m", [*base, _tag("m#dev#1", a, 5), _tag("m#dev!#2", a, 5)])
    assert same.stages["dev"] is None
    # deprecated while the deprecation is the latest event; a later registration revives it
    dep = [*base, _tag("m@deprecated", b, 9)]
    assert resolve_artifact("m", dep).deprecated
    assert not resolve_artifact("m", [*dep, _tag("m@v3.0.0", b, 10)]).deprecated
    assert not resolve_artifact("m", [*base, _tag("m@deprecated", b, 2)]).deprecated


def test_assignment_of_an_unregistered_commit_is_an_implicit_version():
    state = resolve_artifact("m", [_tag("m@v1.0.0", "a" * 40, 1), _tag("m#dev#1", "c" * 40, 2)])
    implicit = state.version("c" * 40)
    assert implicit is not None and not implicit.registered and implicit.stages == ("dev",)
    assert state.latest == "v1.0.0"


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        (["1", "2", "3"], "2"),
        (["1", "2", "3", "2"], "1"),  # after one rollback, the next goes further back
        (["1", "2", "3", "2", "1"], None),
        (["1", "2", "1", "3"], "1"),  # a manual return also pops
        (["1", "2", "3", "1", "2"], "1"),
        (["1"], None),
    ],
)
def test_rollback_target_treats_holders_as_a_stack(holders, expected):
    from mlpages.registry.write import previous_holder

    shas = {n: n * 40 for n in "123"}
    tags = [_tag(f"m@v{n}.0.0", shas[n], int(n)) for n in "123"]
    tags += [_tag(f"m#prod#{i}", shas[n], 10 + i) for i, n in enumerate(holders)]
    found = previous_holder(resolve_artifact("m", tags), "prod")
    assert (found.version if found else None) == (f"v{expected}.0.0" if expected else None)


# --- writing on real repositories --------------------------------------------------------------


@pytest.fixture
def tagging(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """A fixed git identity and a tag clock that moves one minute per tick()."""
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    clock = [1_800_000_000]

    def tick() -> None:
        clock[0] += 60
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{clock[0]} +0000")

    tick()
    yield tick


@pytest.fixture
def repo(make_repo: Callable[..., RepoBuilder]) -> RepoBuilder:
    builder = make_repo()
    builder.commit("init", {"README.md": "hello"})
    builder.commit("no model yet", {"dvc.yaml": DVC_YAML, ".gto": "stages: [dev, staging, prod]\n"})
    builder.commit("model 1", {"models/model.pkl": "one"})
    builder.commit("model 2", {"models/model.pkl": "two"})
    builder.commit("model 3", {"models/model.pkl": "three"})
    return builder


def _tag_message(repo: Path, name: str) -> str:
    assert git(repo, "cat-file", "-t", name).strip() == "tag"  # annotated
    return git(repo, "tag", "-l", "--format=%(contents)", name).strip()


def test_register_versions_and_bumps(repo, tagging):
    first = register(repo.path, "churn", rev="HEAD~2")
    assert (first.tag, first.version) == ("churn@v0.0.1", "v0.0.1")
    assert _tag_message(repo.path, first.tag) == "Registering artifact churn version v0.0.1"
    tagging()
    assert register(repo.path, "churn", bump="minor", rev="HEAD~1").tag == "churn@v0.1.0"
    tagging()
    assert register(repo.path, "churn", version="v2.0.0-rc.1").tag == "churn@v2.0.0-rc.1"
    state = read_registry(repo.path).artifacts["churn"]
    assert [v.version for v in state.versions] == ["v0.0.1", "v0.1.0", "v2.0.0-rc.1"]
    assert state.path == "models/model.pkl" and state.type == "model"
    assert state.versions[0].path == "models/model.pkl"
    assert state.versions[-1].sha == repo.head()


def test_assign_unassign_rollback_and_deprecate(repo, tagging):
    for rev, version in (("HEAD~2", "v1.0.0"), ("HEAD~1", "v1.1.0"), ("HEAD", "v1.2.0")):
        register(repo.path, "churn", version=version, rev=rev)
        tagging()
    git(repo.path, "tag", "churn#prod#41", "HEAD")  # lightweight: ignored, but GTO counts it
    written = assign(repo.path, "churn", "prod", version="v1.0.0")
    assert written.tag == "churn#prod#42"
    assert _tag_message(repo.path, written.tag) == (
        "Assigning stage prod to artifact churn version v1.0.0"
    )
    tagging()
    assert assign(repo.path, "churn", "prod", rev="HEAD~1").tag == "churn#prod#43"
    tagging()
    assign(repo.path, "churn", "prod")  # HEAD: v1.2.0
    tagging()
    assert production_version(repo.path, "churn").version == "v1.2.0"

    back = rollback(repo.path, "churn", "prod")
    assert back.version == "v1.1.0" and back.tag == "churn#prod#45"
    assert _tag_message(repo.path, back.tag).startswith("Rollback: assigning stage prod")
    tagging()
    state = read_registry(repo.path).artifacts["churn"]
    assert state.stages["prod"] == "v1.1.0"
    assert [(s.version, s.rollback) for s in state.timeline] == [
        ("v1.0.0", False),
        ("v1.1.0", False),
        ("v1.2.0", False),
        ("v1.1.0", True),
    ]
    assert [e.tag for e in state.events if e.rollback] == ["churn#prod#45"]
    # a second rollback walks further back (never forward to the rolled-back v1.2.0)
    assert rollback(repo.path, "churn", "prod").version == "v1.0.0"
    tagging()
    with pytest.raises(RegistryError, match="no earlier"):
        rollback(repo.path, "churn", "prod")

    gone = unassign(repo.path, "churn", "prod")
    assert gone.tag == "churn#prod!#47" and gone.version == "v1.0.0"
    assert _tag_message(repo.path, gone.tag) == (
        "Unassigning stage 'prod' to artifact 'churn' version 'v1.0.0'"
    )
    tagging()
    assert production_version(repo.path, "churn").version == "v1.1.0"  # GTO: previous holder

    assert deprecate(repo.path, "churn").tag == "churn@deprecated"
    tagging()
    assert read_registry(repo.path).artifacts["churn"].deprecated
    assert production_version(repo.path, "churn") is None
    repo.commit("model 4", {"models/model.pkl": "four"})
    register(repo.path, "churn", version="v1.3.0", message="revived")
    tagging()
    assert not read_registry(repo.path).artifacts["churn"].deprecated
    assert deprecate(repo.path, "churn").tag == "churn@deprecated#48"


def test_artifacts_in_sub_folders_legacy_files_and_remote_storage(make_repo, tagging):
    builder = make_repo()
    builder.commit(
        "three kinds of declaration",
        {
            "dvc.yaml": DVC_YAML,
            "cv/dvc.yaml": "artifacts:\n  pool-seg:\n    path: seg.pt\n",
            "cv/seg.pt": "weights",
            "artifacts.yaml": "old-model:\n  path: old.pkl\n  type: model\nvirtual:\n  type: doc\n",
            "old.pkl": "old",
        },
    )
    assert register(builder.path, "cv:pool-seg").tag == "cv=pool-seg@v0.0.1"
    assert register(builder.path, "old-model", version="v3.0.0").tag == "old-model@v3.0.0"
    assert register(builder.path, "remote").tag == "remote@v0.0.1"  # s3:// path: not checked
    assert register(builder.path, "virtual").tag == "virtual@v0.0.1"  # no path: nothing to check
    registry = read_registry(builder.path)
    assert registry.artifacts["cv:pool-seg"].path == "cv/seg.pt"
    assert registry.artifacts["old-model"].type == "model"
    assert registry.artifacts["remote"].path == "s3://bucket/remote.pkl"
    assert registry.artifacts["churn"].registered is False  # declared, never tagged


def test_reading_ignores_lightweight_and_foreign_tags(repo, tagging):
    register(repo.path, "churn", version="v1.0.0", rev="HEAD~1")
    git(repo.path, "tag", "churn@v9.0.0", "HEAD")  # lightweight
    git(repo.path, "tag", "-a", "v1.0", "-m", "release", "HEAD")
    git(repo.path, "tag", "-a", "baseline-experiment", "-m", "exp", "HEAD")
    tree = git(repo.path, "rev-parse", "HEAD^{tree}").strip()
    git(repo.path, "tag", "-a", "churn@v5.0.0", "-m", "a tree, not a commit", tree)
    assert {t.name for t in read_tags(repo.path)} == {"churn@v1.0.0", "v1.0", "baseline-experiment"}
    assert [v.version for v in read_registry(repo.path).artifacts["churn"].versions] == ["v1.0.0"]


def test_a_partial_clone_is_read_without_fetching_what_it_lacks(make_repo, tagging, tmp_path):
    origin = make_repo(name="origin")
    origin.commit("one", {"dvc.yaml": DVC_YAML, "models/model.pkl": "one"})
    register(origin.path, "churn", version="v1.0.0")
    origin.commit("moved", {"dvc.yaml": DVC_YAML.replace("models/model.pkl", "models/new.pkl")})
    origin.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{origin.path}", str(clone))
    shutil.rmtree(origin.path)  # the promisor is gone: a lazy fetch would fail the read
    state = read_registry(clone).artifacts["churn"]
    assert [v.version for v in state.versions] == ["v1.0.0"]
    assert state.versions[0].path is None  # its dvc.yaml is not in this clone
    assert state.path == "models/new.pkl"  # HEAD's was checked out


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen to sign")
def test_signed_tags_are_read_without_their_signature(repo, tagging, tmp_path):
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(
        repo.path,
        *("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"),
        *("tag", "-s", "churn@v1.0.0", "-m", "Registering artifact churn version v1.0.0", "HEAD"),
    )
    assert "SSH SIGNATURE" in git(repo.path, "cat-file", "-p", "churn@v1.0.0")
    (event,) = read_registry(repo.path).events
    assert event.message == "Registering artifact churn version v1.0.0"


def test_push_sends_the_tag_to_the_remote(repo, tagging, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo.path, "remote", "add", "origin", str(remote))
    written = register(repo.path, "churn", push="origin")
    assert written.pushed_to == "origin"
    assert "churn@v0.0.1" in git(remote, "tag", "-l")
    with pytest.raises(RegistryError, match="created tag 'churn@v0\\.0\\.2' but could not push"):
        register(repo.path, "churn", rev="HEAD~1", push="no-such-remote")
    assert "churn@v0.0.2" in git(repo.path, "tag", "-l")  # kept locally, the error says so


REFUSALS = [
    ("unknown artifact", lambda r: register(r, "nope"), "unknown artifact 'nope'"),
    ("not declared yet", lambda r: register(r, "churn", rev="HEAD~4"), "not declared"),
    ("model missing", lambda r: register(r, "churn", rev="HEAD~3"), "does not exist at"),
    ("not SemVer", lambda r: register(r, "churn", version="1.0.0"), "not a SemVer"),
    ("not SemVer 2", lambda r: register(r, "churn", version="v1.0"), "not a SemVer"),
    ("existing", lambda r: register(r, "churn", version="v1.0.0"), "already exists"),
    ("same commit", lambda r: register(r, "churn", rev="HEAD~2"), "already registered as"),
    ("both", lambda r: register(r, "churn", version="v2.0.0", bump="major"), "not both"),
    ("bad name", lambda r: register(r, "bad name!"), "invalid artifact name"),
    ("bad rev", lambda r: register(r, "churn", rev="no-such-branch"), "is not a commit"),
    ("stage", lambda r: assign(r, "churn", "qa", version="v1.0.0"), "not allowed"),
    ("version and rev", lambda r: assign(r, "churn", "dev", "v1.0.0", "HEAD"), "not both"),
    ("stage name", lambda r: assign(r, "churn", "pr#od", version="v1.0.0"), "invalid stage"),
    ("unregistered", lambda r: assign(r, "churn", "dev", version="v7.0.0"), "not registered"),
    ("no version at rev", lambda r: assign(r, "churn", "dev"), "no registered version"),
    ("holder", lambda r: assign(r, "churn", "prod", version="v1.0.0"), "already holds"),
    ("unknown in assign", lambda r: assign(r, "nope", "prod"), "unknown artifact 'nope'"),
    ("unassign free", lambda r: unassign(r, "churn", "dev"), "no version"),
    ("unassign other", lambda r: unassign(r, "churn", "prod", version="v0.9.0"), "not assigned"),
    ("rollback alone", lambda r: rollback(r, "churn", "prod"), "no earlier"),
    ("rollback free", lambda r: rollback(r, "churn", "staging"), "nothing to roll back"),
]


@pytest.mark.parametrize(("case", "call", "message"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals(repo, tagging, case, call, message):
    register(repo.path, "churn", version="v0.9.0", rev="HEAD~1")
    tagging()
    register(repo.path, "churn", version="v1.0.0", rev="HEAD~2")
    tagging()
    assign(repo.path, "churn", "prod", version="v1.0.0")
    tagging()
    before = git(repo.path, "tag", "-l")
    with pytest.raises(RegistryError, match=message):
        call(repo.path)
    assert git(repo.path, "tag", "-l") == before  # nothing written


def test_deprecate_twice_and_deregistered_versions_are_refused(repo, tagging):
    register(repo.path, "churn", version="v1.0.0", rev="HEAD~1")
    tagging()
    git(repo.path, "tag", "-a", "churn@v1.0.0!", "-m", "bad model", "HEAD~1")
    tagging()
    with pytest.raises(RegistryError, match="was deregistered"):
        assign(repo.path, "churn", "prod", version="v1.0.0")
    deprecate(repo.path, "churn")
    tagging()
    with pytest.raises(RegistryError, match="already deprecated"):
        deprecate(repo.path, "churn")


def test_cli_refusal_is_one_clear_line(repo, tagging):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlpages", "registry", "register", "churn", "--version", "1.0"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "mlpages: error: '1.0' is not a SemVer version: expected vMAJOR.MINOR.PATCH, e.g. v1.2.0"
    ]


def test_cli_commands_and_tables(repo, tagging):
    runner = CliRunner()
    r = ["--repo", str(repo.path)]
    result = runner.invoke(registry_group, ["register", "churn", "HEAD~1", *r])
    assert result.exit_code == 0, result.output
    assert "Created tag churn@v0.0.1" in result.output
    tagging()
    assert (
        runner.invoke(registry_group, ["register", "churn", "--bump", "major", *r]).exit_code == 0
    )
    tagging()
    result = runner.invoke(registry_group, ["assign", "churn", "prod", "--version", "v0.0.1", *r])
    assert "churn#prod#1" in result.output, result.output
    tagging()
    assert runner.invoke(registry_group, ["assign", "churn", "prod", *r]).exit_code == 0
    tagging()
    assert runner.invoke(registry_group, ["rollback", "churn", "prod", *r]).exit_code == 0
    table = runner.invoke(registry_group, ["show", *r]).output.splitlines()
    assert table[0].split() == ["name", "latest", "#dev", "#staging", "#prod"]
    assert table[1].split() == ["churn", "v1.0.0", "-", "-", "v0.0.1"]
    assert table[2].split() == ["*remote", "-", "-", "-", "-"]
    history = runner.invoke(registry_group, ["history", "churn", *r]).output.splitlines()
    assert "assignment (rollback)" in history[1] and "churn#prod#3" in history[1]
    assert len(history) == 1 + 5


@pytest.mark.slow
def test_champion_hash_from_a_real_dvc_pipeline(make_repo, tagging):
    builder = make_repo()
    builder.write(
        {
            "train.py": "import os\nos.makedirs('models', exist_ok=True)\n"
            "open('models/model.pkl', 'w').write('weights')\n",
            "dvc.yaml": f"stages:\n  train:\n    cmd: {sys.executable} train.py\n"
            "    deps: [train.py]\n"
            "    outs: [models/model.pkl]\nartifacts:\n  churn:\n    path: models/model.pkl\n",
            "data/raw/a.csv": "x\n1\n",
        }
    )
    dvc = [str(Path(sys.executable).parent / "dvc")]
    for args in (["init", "-q"], ["config", "core.analytics", "false"], ["add", "-q", "data/raw"]):
        subprocess.run([*dvc, *args], cwd=builder.path, check=True, capture_output=True)
    subprocess.run([*dvc, "repro", "-q"], cwd=builder.path, check=True, capture_output=True)
    sha = builder.commit("trained")
    register(builder.path, "churn", version="v1.0.0")
    tagging()
    assign(builder.path, "churn", "prod")
    champion = production_version(builder.path, "churn")
    assert champion is not None and champion.sha == sha and champion.path == "models/model.pkl"
    found = model_hash_at(builder.path, champion.sha, champion.path)
    assert found is not None and found.path == "models/model.pkl"
    assert found.md5 == hashlib.md5(b"weights").hexdigest() and found.hash_name == "md5"
    cached = builder.path / ".dvc/cache/files/md5" / found.md5[:2] / found.md5[2:]
    assert cached.read_bytes() == b"weights"
    inside = model_hash_at(builder.path, sha, "data/raw/a.csv")
    assert inside is not None and inside.path == "data/raw" and inside.is_dir
    assert model_hash_at(builder.path, sha, "nothing/here.pkl") is None
