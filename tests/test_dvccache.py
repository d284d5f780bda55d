"""The DVC cache reader: layouts, cache.dir settings, .dir listings, object sources."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GIT_ENV

from mlpages.dvccache import DvcObjects, LocalCache, cache_dir_of, object_path
from mlpages.models import HashInfo


def _put(cache: Path, data: bytes, legacy: bool, suffix: str = "") -> str:
    md5 = hashlib.md5(data).hexdigest() + suffix
    target = object_path(cache, md5, legacy)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def test_cache_dir_settings(tmp_path):
    dvc = tmp_path / ".dvc"
    dvc.mkdir()
    assert cache_dir_of(tmp_path) == dvc / "cache"
    (dvc / "config").write_text("[core]\n    remote = s3\n[cache]\n    dir = ../../shared\n")
    assert cache_dir_of(tmp_path) == (tmp_path.parent / "shared").resolve()
    (dvc / "config.local").write_text(f"[cache]\n    dir = {tmp_path / 'local'}\n")
    assert cache_dir_of(tmp_path) == tmp_path / "local"  # config.local wins
    (dvc / "config.local").write_text("not an ini file [[[")
    assert cache_dir_of(tmp_path) == (tmp_path.parent / "shared").resolve()


def test_both_layouts_and_size_cap(tmp_path):
    cache = tmp_path / "cache"
    new = _put(cache, b"dvc3 object", legacy=False)
    old = _put(cache, b"dvc2 object", legacy=True)
    assert (cache / "files" / "md5" / new[:2] / new[2:]).is_file()
    assert (cache / old[:2] / old[2:]).is_file()
    objects = DvcObjects([LocalCache(cache)], max_bytes=100)
    assert objects.read_object(new, legacy=False).data == b"dvc3 object"
    assert objects.read_object(old, legacy=True).data == b"dvc2 object"
    # A hash recorded with the wrong layout flag is still found in the other layout.
    assert objects.read_object(old, legacy=False).data == b"dvc2 object"
    big = _put(cache, b"x" * 500, legacy=False)
    found = objects.read_object(big, legacy=False)
    assert found.data is None and found.too_large
    missing = objects.read_object("0" * 32, legacy=False)
    assert (missing.data, missing.source, missing.too_large) == (None, None, False)
    assert not objects.has("../../etc/passwd", legacy=True)  # never a path outside the cache


def test_files_inside_directory_outputs(tmp_path):
    cache = tmp_path / "cache"
    a = _put(cache, b"a,b\n1,2\n", legacy=False)
    b = _put(cache, b'{"acc": 1}', legacy=False)
    listing = json.dumps([{"md5": a, "relpath": "plots/a.csv"}, {"md5": b, "relpath": "m.json"}])
    dir_md5 = _put(cache, listing.encode(), legacy=False, suffix=".dir")
    out = HashInfo("eval", dir_md5, "md5", nfiles=2)
    objects = DvcObjects([LocalCache(cache)])
    assert objects.locate(out, "eval/m.json") == (b, False)
    assert objects.locate(out, "eval/nope.json") is None
    assert objects.locate(out, "evaluation/m.json") is None
    assert objects.locate(out, "eval") is None
    assert objects.files_in_dir(out) == {"eval/plots/a.csv": a, "eval/m.json": b}
    assert objects.files_in_dir(HashInfo("eval", "0" * 32 + ".dir", "md5")) is None
    file_out = HashInfo("m.json", b, "md5")
    assert objects.locate(file_out, "m.json") == (b, False)
    assert objects.locate(HashInfo("m.json", b, None), "m.json") == (b, True)


def test_sources_are_tried_in_order(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    md5 = _put(second, b"only in two", legacy=False)
    objects = DvcObjects([LocalCache(first), LocalCache(second, name="remote")])
    found = objects.read_object(md5, legacy=False)
    assert (found.data, found.source) == (b"only in two", "remote")
    assert objects.has(md5, legacy=False)


def test_reads_what_real_dvc_writes(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    env = {**os.environ, **GIT_ENV, "DVC_NO_ANALYTICS": "1"}
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=repo, env=env, check=True)
    (repo / "data").mkdir()
    (repo / "data" / "x.txt").write_text("hello dvc\n")
    subprocess.run([dvc, "add", "-q", "data"], cwd=repo, env=env, check=True)
    from mlpages.dvcfiles import parse_dvc_file

    (out,), problems = parse_dvc_file((repo / "data.dvc").read_bytes(), "data.dvc")
    assert problems == () and out.is_dir and out.hash_name == "md5"
    objects = DvcObjects([LocalCache(cache_dir_of(repo))])
    md5, legacy = objects.locate(out, "data/x.txt")
    assert objects.read_object(md5, legacy).data == b"hello dvc\n"
