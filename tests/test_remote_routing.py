"""Which remote an object is read from: an output's own ``remote:``, a sub-folder project's
remote, both object layouts, and the one-line reasons for remotes that cannot be read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers.dvc import dvc
from helpers.servers import start_http_server

from mlpages.config import Config
from mlpages.history.collect import collect
from mlpages.objects.dvcconfig import RemoteConfig
from mlpages.objects.objectid import object_relpath
from mlpages.objects.remote import DvcRemote
from mlpages.objects.remote_errors import describe_failure
from mlpages.objects.store import default_sources, source_problems

pytestmark = pytest.mark.slow  # runs the real dvc init


def _put(folder: Path, data: bytes, legacy: bool = False) -> str:
    md5 = hashlib.md5(data).hexdigest()
    target = folder / object_relpath(md5, legacy)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def _lock(outs: dict[str, tuple[str, bool]]) -> str:
    lines = ["schema: '2.0'", "stages:", "  t:", "    cmd: 'true'", "    outs:"]
    for path, (md5, legacy) in outs.items():
        lines += [f"    - path: {path}", *([] if legacy else ["      hash: md5"])]
        lines += [f"      md5: {md5}", "      size: 1"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def servers(tmp_path: Path):
    started = {name: start_http_server(tmp_path / name) for name in ("default", "models", "sub")}
    for server in started.values():
        server.folder.mkdir(parents=True, exist_ok=True)
    yield started
    for server in started.values():
        server.stop()


def test_outputs_own_remote_and_a_subfolder_projects_remote(make_repo, servers):
    repo = make_repo()
    dvc(repo.path, "init", "-q")
    (repo.path / "sub").mkdir()
    dvc(repo.path / "sub", "init", "--subdir", "-q")
    urls = {name: server.url for name, server in servers.items()}
    (repo.path / ".dvc" / "config").write_text(
        f"[core]\n    remote = default\n['remote \"default\"']\n    url = {urls['default']}\n"
        f"['remote \"models\"']\n    url = {urls['models']}\n"
    )
    (repo.path / "sub" / ".dvc" / "config").write_text(
        f"[core]\n    remote = s\n['remote \"s\"']\n    url = {servers['sub'].url}/\n"
    )
    main = _put(servers["default"].folder, b'{"acc": 0.5}')
    legacy = _put(servers["default"].folder, b'{"old": 1}', legacy=True)
    scores = _put(servers["models"].folder, b'{"auc": 0.9}')
    sub = _put(servers["sub"].folder, b'{"f1": 0.7}')
    dvc_yaml = (
        "stages:\n  t:\n    cmd: 'true'\n    metrics:\n    - m.json\n    - old.json\n"
        "    - scores.json:\n        remote: models\n"
    )
    lock = _lock(
        {"m.json": (main, False), "old.json": (legacy, True), "scores.json": (scores, False)}
    )
    sub_yaml = "stages:\n  s:\n    cmd: 'true'\n    metrics: [f.json]\n"
    sha = repo.commit(
        "run",
        {
            "dvc.yaml": dvc_yaml,
            "dvc.lock": lock,
            "sub/dvc.yaml": sub_yaml,
            "sub/dvc.lock": _lock({"f.json": (sub, False)}).replace("  t:", "  s:"),
        },
    )
    history = collect(repo.path, Config(), use_cache=False)
    snapshot = history.snapshots[sha]
    assert snapshot.metrics["m.json"] == {"acc": 0.5}
    assert snapshot.metrics["old.json"] == {"old": 1}  # the legacy layout at the root
    assert snapshot.metrics["scores.json"] == {"auc": 0.9}  # from the remote it names
    assert snapshot.metrics["sub/f.json"] == {"f1": 0.7}  # the sub-project's own remote
    assert not history.problems
    gets = {name: sorted(s.counters.gets) for name, s in servers.items()}
    assert gets["default"] == sorted(
        ["/" + object_relpath(main, False), "/" + object_relpath(legacy, True)]
    )
    assert gets["models"] == ["/" + object_relpath(scores, False)]  # asked only what it has
    assert gets["sub"] == ["/" + object_relpath(sub, False)]


def test_unknown_scheme_and_missing_plugin_are_one_line(make_repo, tmp_path: Path):
    repo = make_repo()
    dvc(repo.path, "init", "-q")
    (repo.path / ".dvc" / "config").write_text(
        "[core]\n    remote = ck\n['remote \"ck\"']\n    url = ck://bucket/store\n"
    )
    sources = default_sources(repo.path, Config())
    remote = next(s for s in sources if s.name == "remote")
    assert remote.read("a" * 32, legacy=False) is None
    (problem,) = source_problems(sources)
    assert "remote `ck` (ck)" in problem.message and "unknown remote type" in problem.message

    oss = DvcRemote(RemoteConfig("o", "oss://bucket/x", {"url": "oss://bucket/x"}), None)
    assert oss.read("b" * 32, legacy=False) is None
    assert oss.unavailable == (
        "remote `o` (oss): the DVC plugin for oss:// remotes is not installed: pip install dvc-oss"
    )


def test_failures_are_described_by_cause():
    assert describe_failure(PermissionError("403 Forbidden")).startswith("credentials refused")
    assert describe_failure(ConnectionRefusedError(111, "refused")).startswith("unreachable")
    assert describe_failure(TimeoutError()).startswith("unreachable")
    assert describe_failure(ValueError(json.dumps({"x": 1}))).startswith("error (ValueError")
    leaky = OSError(5, "401 at https://ada:hunter2@host/x?sig=SECRET&sv=1 and s3://k:s@b/p")
    said = describe_failure(leaky)
    assert "hunter2" not in said and "SECRET" not in said and "k:s" not in said, said
