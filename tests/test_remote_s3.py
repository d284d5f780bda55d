"""The DVC remote on a real S3-compatible server: push, fresh clone, the report reads it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers.dvc import dvc
from helpers.git import git
from helpers.s3server import start_s3_server

from mlpages.objects.dvcconfig import RemoteConfig, remote_config
from mlpages.objects.objectid import object_relpath
from mlpages.objects.remote import DvcRemote

pytestmark = pytest.mark.xdist_group("s3")

STAGE_SCRIPT = """\
import json, sys, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
json.dump({"acc": p["lr"] * 2, "nested": {"loss": 1 - p["lr"]}}, open("metrics.json", "w"))
with open("curve.csv", "w") as f:
    f.write("step,value\\n")
    for i in range(20):
        f.write(f"{i},{p['lr'] * i}\\n")
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    metrics: [metrics.json]
    plots: [curve.csv]
"""


@pytest.fixture
def s3(tmp_path: Path):
    server = start_s3_server(tmp_path)
    server.client().create_bucket(Bucket="mlpages-remote")
    yield server
    server.stop()


@pytest.fixture
def real_dvc_pushed_repo(tmp_path: Path, s3, make_repo):
    """A DVC repo of three runs whose metrics/plots live only in the DVC cache, pushed to S3."""
    env = dict(s3.credentials)
    repo = make_repo(name="origin")
    dvc(repo.path, "init", "-q", env=env)
    dvc(repo.path, "config", "core.analytics", "false", env=env)
    dvc(repo.path, "remote", "add", "-d", "storage", "s3://mlpages-remote/store", env=env)
    dvc(repo.path, "remote", "modify", "--local", "storage", "endpointurl", s3.endpoint, env=env)
    repo.write({"train.py": STAGE_SCRIPT, "dvc.yaml": DVC_YAML})
    shas = []
    for lr in (0.1, 0.2, 0.3):
        repo.write({"params.yaml": f"train:\n  lr: {lr}\n"})
        dvc(repo.path, "repro", "-q", env=env)
        shas.append(repo.commit(f"run lr={lr}"))
    dvc(repo.path, "push", "-q", "--all-commits", env=env)
    return repo, shas, env


@pytest.fixture
def s3_env(s3, monkeypatch):
    for key, value in s3.credentials.items():
        monkeypatch.setenv(key, value)
    return s3.credentials


def test_remote_config_is_read_from_config_and_local(real_dvc_pushed_repo, s3):
    repo, _, _ = real_dvc_pushed_repo
    remote = remote_config(repo.path)
    assert remote is not None
    assert remote.url == "s3://mlpages-remote/store"
    assert remote.endpoint_url == s3.endpoint  # from config.local, never committed
    assert "endpointurl" not in (repo.path / ".dvc" / "config").read_text()


def test_objects_pushed_by_dvc_are_fetched_once(real_dvc_pushed_repo, tmp_path: Path, s3_env):
    repo, _, _ = real_dvc_pushed_repo
    lock = repo.git("show", "HEAD~2:dvc.lock")
    import yaml

    outs = yaml.safe_load(lock)["stages"]["train"]["outs"]
    metrics_md5 = next(o["md5"] for o in outs if o["path"] == "metrics.json")
    source = DvcRemote(remote_config(repo.path), tmp_path / "fetched")
    data = source.read(metrics_md5, legacy=False)
    assert json.loads(data)["acc"] == pytest.approx(0.2)
    assert source.fetched == 1
    again = DvcRemote(remote_config(repo.path), tmp_path / "fetched")
    assert again.read(metrics_md5, legacy=False) == data
    assert again.fetched == 0  # served by the local fetch cache
    assert source.read("0" * 32, legacy=False) is None
    assert source.unavailable is None  # a missing object is not a broken remote


def test_wrong_credentials_give_one_clear_reason(real_dvc_pushed_repo, tmp_path: Path, s3_env):
    repo, _, _ = real_dvc_pushed_repo
    remote = remote_config(repo.path)
    wrong = {"access_key_id": "AKIAWRONGWRONGWRONG0", "secret_access_key": "wrong"}
    bad = RemoteConfig(remote.name, remote.url, {**remote.settings, **wrong})
    source = DvcRemote(bad, tmp_path / "fetched")
    assert source.read("a" * 32, legacy=False) is None
    assert source.unavailable and "credentials refused" in source.unavailable
    assert source.read("b" * 32, legacy=False) is None  # one refusal, not one per object


def test_stopped_server_marks_remote_unavailable_fast(
    real_dvc_pushed_repo, s3, tmp_path: Path, s3_env
):
    import yaml

    repo, _, _ = real_dvc_pushed_repo
    outs = yaml.safe_load(repo.git("show", "HEAD:dvc.lock"))["stages"]["train"]["outs"]
    metrics_md5, plot_md5 = (
        o["md5"] for o in sorted(outs, key=lambda o: o["path"] != "metrics.json")
    )
    source = DvcRemote(remote_config(repo.path), tmp_path / "fetched", timeout=1)
    assert source.read(metrics_md5, legacy=False) is not None
    s3.stop()  # mid-build: the next object cannot be fetched, what was fetched stays readable
    assert source.read(plot_md5, legacy=False) is None
    assert source.unavailable and "unreachable" in source.unavailable
    assert source.read("c" * 32, legacy=False) is None  # no second timeout
    assert source.read(metrics_md5, legacy=False) is not None  # kept in the fetch cache


def test_objects_are_read_at_the_keys_dvc_writes(s3, s3_env):
    new, old = b"dvc 3 object", b"dvc 2 object"
    new_md5, old_md5 = (hashlib.md5(data).hexdigest() for data in (new, old))
    client = s3.client()
    client.put_object(
        Bucket="mlpages-remote", Key=f"store/files/md5/{new_md5[:2]}/{new_md5[2:]}", Body=new
    )
    client.put_object(Bucket="mlpages-remote", Key=f"{old_md5[:2]}/{old_md5[2:]}", Body=old)
    endpoint = {"endpointurl": s3.endpoint}
    below = RemoteConfig(
        "r", "s3://mlpages-remote/store/", {"url": "s3://mlpages-remote/store/", **endpoint}
    )
    top = RemoteConfig("r", "s3://mlpages-remote", {"url": "s3://mlpages-remote", **endpoint})
    assert DvcRemote(below, None).read(new_md5, legacy=False) == new
    assert DvcRemote(top, None).read(old_md5, legacy=True) == old
    assert DvcRemote(top, None).read(new_md5, legacy=False) is None


def _fresh_clone(repo, tmp_path: Path, endpoint: str, env: dict[str, str]) -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    dvc(clone, "remote", "modify", "--local", "storage", "endpointurl", endpoint, env=env)
    return clone


def test_fresh_clone_reads_old_cached_outputs_from_the_remote(
    real_dvc_pushed_repo, s3, tmp_path, s3_env
):
    from mlpages.config import Config
    from mlpages.history.collect import collect

    repo, shas, env = real_dvc_pushed_repo
    clone = _fresh_clone(repo, tmp_path, s3.endpoint, env)
    assert not (clone / ".dvc" / "cache").exists()
    history = collect(clone, Config())
    sources = history._objects.sources
    remote = next(s for s in sources if s.name == "remote")
    for sha, lr in zip(shas, (0.1, 0.2, 0.3), strict=True):
        snapshot = history.snapshots[sha]
        assert snapshot.metrics["metrics.json"]["acc"] == pytest.approx(lr * 2)
        assert snapshot.metrics["metrics.json"]["nested.loss"] == pytest.approx(1 - lr)
        assert snapshot.plot_data["curve.csv"].source == "remote"
        assert len(snapshot.plot_data["curve.csv"].rows) == 20
        assert not [p for p in snapshot.problems if p.kind == "not-in-cache"]
    # Only what the report needs: metrics + plot of three commits (not the whole remote).
    assert remote.fetched == 6
    again = collect(clone, Config(), use_cache=False)
    assert next(s for s in again._objects.sources if s.name == "remote").fetched == 0

    # dvc pull + dvc repro in the fresh clone is a no-op.
    dvc(clone, "pull", "-q", env=env)
    status = dvc(clone, "status", "--json", env=env)
    assert json.loads(status.stdout or "{}") == {}
    repro = dvc(clone, "repro", env=env)
    assert "didn't change" in repro.stdout or "up to date" in repro.stdout


def test_server_down_mid_history_completes_with_reasons(real_dvc_pushed_repo, s3, tmp_path, s3_env):
    from mlpages.config import Config
    from mlpages.history.collect import collect

    repo, shas, env = real_dvc_pushed_repo
    clone = _fresh_clone(repo, tmp_path, s3.endpoint, env)
    s3.stop()
    history = collect(clone, Config())
    for sha in shas:
        kinds = {p.kind for p in history.snapshots[sha].problems}
        assert "not-in-cache" in kinds
    reasons = [p.message for p in history.problems if p.kind == "remote-error"]
    assert reasons and "unreachable" in reasons[0]


def _metrics_md5(repo, rev: str) -> str:
    import yaml

    outs = yaml.safe_load(repo.git("show", f"{rev}:dvc.lock"))["stages"]["train"]["outs"]
    return next(o["md5"] for o in outs if o["path"] == "metrics.json")


def _fetched_file(clone: Path, md5: str) -> Path:
    return clone / ".dvc" / "tmp" / "mlpages-remote" / object_relpath(md5, legacy=False)


def test_an_object_replaced_in_the_bucket_is_a_problem_never_a_value(
    real_dvc_pushed_repo, s3, tmp_path, s3_env
):
    from mlpages.config import Config
    from mlpages.history.collect import collect

    repo, shas, env = real_dvc_pushed_repo
    md5 = _metrics_md5(repo, shas[0])
    forged = b'{"acc": 123.456, "nested": {"loss": 0}}'
    s3.client().put_object(
        Bucket="mlpages-remote", Key=f"store/{object_relpath(md5, legacy=False)}", Body=forged
    )
    clone = _fresh_clone(repo, tmp_path, s3.endpoint, env)
    history = collect(clone, Config())
    first = history.snapshots[shas[0]]
    assert "metrics.json" not in first.metrics
    (problem,) = [p for p in first.problems if p.path == "metrics.json"]
    assert problem.kind == "md5-mismatch"
    assert md5 in problem.message and "remote" in problem.message
    assert "123.456" not in problem.message
    assert not _fetched_file(clone, md5).exists()  # never kept in the fetch cache
    for sha, lr in zip(shas[1:], (0.2, 0.3), strict=True):  # the untouched objects still read
        assert history.snapshots[sha].metrics["metrics.json"]["acc"] == pytest.approx(lr * 2)
    assert not history.problems  # the remote works: it served a bad object, nothing else


def test_a_tampered_fetch_cache_file_is_fetched_again_or_reported(
    real_dvc_pushed_repo, s3, tmp_path, s3_env
):
    from mlpages.config import Config
    from mlpages.history.collect import collect

    repo, shas, env = real_dvc_pushed_repo
    md5 = _metrics_md5(repo, shas[0])
    clone = _fresh_clone(repo, tmp_path, s3.endpoint, env)
    collect(clone, Config())
    kept = _fetched_file(clone, md5)
    real = kept.read_bytes()
    kept.write_bytes(b'{"acc": 123.456}')

    again = collect(clone, Config(), use_cache=False)
    assert again.snapshots[shas[0]].metrics["metrics.json"]["acc"] == pytest.approx(0.2)
    assert next(s for s in again._objects.sources if s.name == "remote").fetched == 1
    assert kept.read_bytes() == real  # repaired with the verified copy

    kept.write_bytes(b'{"acc": 123.456}')
    s3.stop()  # nothing better to be had: the bad copy is reported, not used
    third = collect(clone, Config(), use_cache=False)
    first = third.snapshots[shas[0]]
    assert "metrics.json" not in first.metrics
    assert [p.kind for p in first.problems if p.path == "metrics.json"] == ["md5-mismatch"]
    assert third.snapshots[shas[1]].metrics["metrics.json"]["acc"] == pytest.approx(0.4)
