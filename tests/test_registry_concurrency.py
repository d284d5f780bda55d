"""Registry writes racing each other: several real `mlpages registry` processes at once.

Each writer is the real command in its own process. It imports everything first, then waits at
a barrier (a file the test creates once every writer is ready), so the writers read the
registry and write their tags as close together as the machine allows. Afterwards the real
`gto show` must accept the repository: one version per commit, one tag per counter.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers.git import IDENTITY, RepoBuilder, git

from mlpages.errors import RegistryError
from mlpages.registry.lock import registry_lock, registry_lock_path
from mlpages.registry.write import register

GTO = Path(sys.executable).parent / "gto"
WRITERS = 6
STAGES = [f"stage{i}" for i in range(WRITERS)]

DVC_YAML = """\
artifacts:
  churn:
    path: models/model.pkl
    type: model
"""

# The writer: import the command line (and the registry code it runs), report ready, wait for
# the start signal, then run `mlpages <args>` exactly as the console script does.
WRITER = """\
import sys, time
from pathlib import Path

from mlpages.cli import main
import mlpages.commands.registry, mlpages.registry.write

ready, start = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not start.exists():
    time.sleep(0.002)
sys.argv = ["mlpages", *sys.argv[3:]]
main()
"""


def _env() -> dict[str, str]:
    # Real tag times (no fixed GIT_COMMITTER_DATE): the registry orders its own tags by them.
    return {**os.environ, **IDENTITY, "PYTHONWARNINGS": "ignore"}


def race(repo: Path, commands: Sequence[Sequence[str]], tmp: Path) -> list[tuple[int, str]]:
    """Start one writer per command, release them together; (exit code, stderr) of each."""
    tmp.mkdir(parents=True, exist_ok=True)
    start = tmp / "start"
    writers = []
    for i, args in enumerate(commands):
        ready = tmp / f"ready-{i}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ready), str(start), *args],
            cwd=repo,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        writers.append((proc, ready))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for _, ready in writers):
        assert time.monotonic() < deadline, "the writers did not start"
        assert all(proc.poll() is None for proc, _ in writers), [
            proc.communicate() for proc, _ in writers if proc.poll() is not None
        ]
        time.sleep(0.01)
    start.touch()
    results = []
    for proc, _ in writers:
        _, err = proc.communicate(timeout=180)
        results.append((proc.returncode, err))
    return results


def gto_show(repo: Path, *args: str) -> object:
    proc = subprocess.run(
        [str(GTO), "show", *args, "-r", str(repo), "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 0, f"gto refuses the repository:\n{proc.stdout}{proc.stderr}"
    return json.loads(proc.stdout)


def tag_names(repo: Path) -> list[str]:
    return git(repo, "tag", "-l").split()


@pytest.fixture
def repo(make_repo) -> RepoBuilder:
    builder = make_repo()
    builder.commit("model 1", {"dvc.yaml": DVC_YAML, "models/model.pkl": "one"})
    builder.commit("model 2", {"models/model.pkl": "two"})
    stages = ", ".join(["prod", *STAGES])
    builder.commit("model 3", {"models/model.pkl": "three", ".gto": f"stages: [{stages}]\n"})
    return builder


def test_racing_registrations_of_one_commit_make_one_version(repo, tmp_path):
    # Distinct explicit versions: git's own "tag exists" check cannot save the second writer.
    versions = [f"v1.{i}.0" for i in range(WRITERS)]
    commands = [["registry", "register", "churn", "--version", v] for v in versions]
    results = race(repo.path, commands, tmp_path / "explicit")
    assert [code for code, _ in results].count(0) == 1, results
    head = git(repo.path, "rev-parse", "--short=7", "HEAD").strip()
    for code, err in results:
        if code:
            assert re.fullmatch(
                rf"mlpages: error: commit {head} is already registered as churn v1\.\d\.0\n", err
            ), err
    # Bumps pick different names too (v0.0.1 from patch, v0.1.0 from minor, v1.0.0 from major).
    bumps = ["patch", "minor", "major"] * (WRITERS // 3)
    commands = [["registry", "register", "churn", "HEAD~1", "--bump", b] for b in bumps]
    results = race(repo.path, commands, tmp_path / "bumps")
    assert [code for code, _ in results].count(0) == 1, results
    versions = gto_show(repo.path, "churn")
    registered = [v for v in versions if v["registrations"]]
    commits = [v["commit_hexsha"] for v in registered]
    assert len(registered) == 2 and len(set(commits)) == 2, registered


def test_racing_assignments_get_distinct_counters(repo, tmp_path):
    git(repo.path, "tag", "-a", "churn@v1.0.0", "-m", "Registering", "HEAD~2")
    git(repo.path, "tag", "-a", "churn@v2.0.0", "-m", "Registering", "HEAD~1")
    git(repo.path, "tag", "-a", "churn@v3.0.0", "-m", "Registering", "HEAD")
    # Different stages: different tag names, so only the counter can collide.
    commands = [["registry", "assign", "churn", s, "--version", "v1.0.0"] for s in STAGES]
    results = race(repo.path, commands, tmp_path / "stages")
    assert all(code == 0 for code, _ in results), results
    # One stage, three versions: the same name unless every writer sees the one before it.
    versions = ("v1.0.0", "v2.0.0", "v3.0.0")
    commands = [["registry", "assign", "churn", "prod", "--version", v] for v in versions]
    results = race(repo.path, commands, tmp_path / "prod")
    assert all(code == 0 for code, _ in results), results
    counters = [int(t.rsplit("#", 1)[1]) for t in tag_names(repo.path) if "#" in t]
    assert sorted(counters) == list(range(1, WRITERS + 4)), tag_names(repo.path)
    stages = gto_show(repo.path)["churn"]["stage"]
    assert {s: stages[s] for s in STAGES} == {s: "v1.0.0" for s in STAGES}
    assert stages["prod"] in versions


# --- the lock itself ------------------------------------------------------------------------

HOLDER = """\
import sys, time
from pathlib import Path

from mlpages.registry.lock import registry_lock

with registry_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold_lock(repo: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_a_held_lock_makes_writers_wait_then_refuse_in_one_line(repo):
    holder = _hold_lock(repo.path)
    try:
        started = time.monotonic()
        with pytest.raises(RegistryError) as refused, registry_lock(repo.path, timeout=0.5):
            pass
        assert time.monotonic() - started >= 0.5
        message = str(refused.value)
        assert "\n" not in message
        assert str(registry_lock_path(repo.path)) in message and "another registry" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_stale_lock(repo, monkeypatch):
    holder = _hold_lock(repo.path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert registry_lock_path(repo.path).exists()  # the file stays; the lock died with its owner
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    written = register(repo.path, "churn")
    assert time.monotonic() - started < 5
    assert written.tag in tag_names(repo.path)


def test_worktrees_share_one_lock(repo, tmp_path):
    linked = tmp_path / "linked"
    git(repo.path, "worktree", "add", "-q", "--detach", str(linked))
    lock = registry_lock_path(repo.path)
    assert registry_lock_path(linked) == lock
    assert lock.parent == (repo.path / ".git").resolve()


# --- a writer in another clone ----------------------------------------------------------------


def test_a_tag_another_clone_pushed_first_is_refused_and_removed_locally(repo, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo.path, "remote", "add", "origin", str(origin))
    git(repo.path, "push", "-q", "origin", "HEAD:refs/heads/main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    env = _env()

    def mlpages(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlpages", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )

    # The other clone registers the previous model while this one registers the newest.
    first = mlpages(other, "registry", "register", "churn", "HEAD~1", "--push", "origin")
    assert first.returncode == 0, first.stderr
    second = mlpages(repo.path, "registry", "register", "churn", "--push", "origin")
    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        "mlpages: error: origin already has a tag 'churn@v0.0.1' (written by another clone "
        "since this one last fetched): the local tag was deleted; fetch the registry "
        "(git fetch --tags origin) and run the command again"
    ]
    assert "churn@v0.0.1" not in tag_names(repo.path)
    git(repo.path, "fetch", "-q", "--tags", "origin")
    again = mlpages(repo.path, "registry", "register", "churn", "--push", "origin")
    assert again.returncode == 0, again.stderr
    remote_tags = git(tmp_path, "ls-remote", "--tags", str(origin)).split()
    assert {"refs/tags/churn@v0.0.1", "refs/tags/churn@v0.0.2"} <= set(remote_tags)
    versions = {v["version"]: v["commit_hexsha"] for v in gto_show(repo.path, "churn")}
    assert versions["v0.0.2"] == git(repo.path, "rev-parse", "HEAD").strip()
