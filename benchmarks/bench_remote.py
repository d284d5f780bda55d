"""Benchmark reading DVC-cached outputs from an HTTP remote with latency: mlpages vs. DVC.

A repository of N commits (``git fast-import``) whose metrics, plots, model and data are
DVC-cached and live only in an HTTP remote served on 127.0.0.1 with ``--latency`` seconds added to
every request (the static-file kind of remote DVC's example projects use). In the same run, each
from its own fresh clone with an empty cache:

* ``mlpages build`` cold (the whole site);
* ``dvc fetch --all-commits`` (DVC's way to get those objects) then ``dvc exp show -A --json``;
* ``mlpages build`` cold again with the remote's ``jobs`` set to each of ``--widths``.

Prints a markdown table: wall time, objects and bytes the server handed out.

    python benchmarks/bench_remote.py [--commits 500] [--latency 0.02] [--widths 1,4,8,16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from helpers.servers import Server, start_http_server
from synth import EPOCH, IDENT

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
}
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, data/data.csv]
    params: [train.lr]
    outs: [model.bin]
    metrics: [metrics.json]
    plots: [curve.csv]
"""
TRAIN_PY = b"print('train')\n"
MODEL_BYTES = 32_000
DATA_BYTES = 256_000


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _entry(path: str, data: bytes, indent: str = "    ") -> str:
    fields = [f"- path: {path}", "  hash: md5", f"  md5: {_md5(data)}", f"  size: {len(data)}"]
    return "".join(f"{indent}{line}\n" for line in fields)


def _blob(data: bytes) -> bytes:
    return b"data %d\n" % len(data) + data + b"\n"


class Store:
    """The remote's folder in DVC 3's layout."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, data: bytes) -> None:
        md5 = _md5(data)
        target = self.folder / "files" / "md5" / md5[:2] / md5[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _commit_files(n: int, store: Store) -> dict[str, bytes]:
    lr = round(0.001 * (1 + n % 97), 6)
    data = (f"version {n // 50}\n".encode() * (DATA_BYTES // 10))[:DATA_BYTES]
    acc = round(0.6 + 0.3 * n / (n + 100), 6)
    metrics = json.dumps({"acc": acc, "loss": round(1 - acc, 6), "lr": lr}).encode()
    curve = ("step,loss\n" + "".join(f"{s},{1 / (1 + s + n):.6f}\n" for s in range(50))).encode()
    model = (f"model {n} ".encode() * MODEL_BYTES)[:MODEL_BYTES]
    for obj in (data, metrics, curve, model):
        store.put(obj)
    lock = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        + _entry("data/data.csv", data)
        + _entry("train.py", TRAIN_PY)
        + f"    params:\n      params.yaml:\n        train.lr: {lr}\n    outs:\n"
        + _entry("curve.csv", curve)
        + _entry("metrics.json", metrics)
        + _entry("model.bin", model)
    )
    dotdvc = "outs:\n" + _entry("data.csv", data, indent="")
    return {
        "params.yaml": f"train:\n  lr: {lr}\n".encode(),
        "dvc.lock": lock.encode(),
        "data/data.csv.dvc": dotdvc.encode(),
    }


def make_repo(out: Path, store: Store, commits: int) -> None:
    """N commits on main; every DVC-cached object only in ``store``."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=ENV)
    first = {
        ".dvc/config": b"[core]\n    remote = storage\n['remote \"storage\"']\n"
        b"    url = http://127.0.0.1:9/unset\n",
        ".dvc/.gitignore": b"/config.local\n/tmp\n/cache\n",
        ".dvcignore": b"",
        ".gitignore": b"/model.bin\n/metrics.json\n/curve.csv\n",
        "data/.gitignore": b"/data.csv\n",
        "dvc.yaml": DVC_YAML.encode(),
        "train.py": TRAIN_PY,
    }
    stream = []
    for n in range(commits):
        files = _commit_files(n, store)
        if n == 0:
            files = {**first, **files}
        when = EPOCH + n * 600
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\n".encode())
        stream.append(f"author {IDENT} {when} +0000\ncommitter {IDENT} {when} +0000\n".encode())
        stream.append(_blob(f"run {n}".encode()))
        if n:
            stream.append(f"from :{n}\n".encode())
        for path, data in files.items():
            stream.append(f"M 100644 inline {path}\n".encode() + _blob(data))
    stream.append(b"done\n")
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=out,
        input=b"".join(stream),
        check=True,
        env=ENV,
    )
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True, env=ENV)


@dataclass(frozen=True)
class Row:
    label: str
    wall: float
    objects: int  # object downloads (GETs answered with a file)
    distinct: int
    bytes: int


def _clone(origin: Path, folder: Path, url: str, jobs: int | None = None) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(folder)], check=True, env=ENV)
    local = f"['remote \"storage\"']\n    url = {url}\n"
    if jobs:
        local += f"    jobs = {jobs}\n"
    (folder / ".dvc" / "config.local").write_text(local)
    return folder


def _timed(server: Server, label: str, commands: list[list[str]], cwd: Path) -> Row:
    server.counters.reset()
    started = time.perf_counter()
    for cmd in commands:
        done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, check=False)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{cmd} failed:\n{done.stderr.decode()[-2000:]}")
    wall = time.perf_counter() - started
    gets = server.counters.gets
    return Row(label, wall, len(gets), len(set(gets)), server.counters.bytes_sent)


def run(commits: int, latency: float, widths: list[int]) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        root = Path(tmp)
        store = Store(root / "store")
        make_repo(root / "origin", store, commits)
        server = start_http_server(store.folder, latency=latency)
        try:
            rows = []
            clone = _clone(root / "origin", root / "mlpages", server.url)
            build = [str(BIN / "mlpages"), "build", ".", "--out", str(root / "site")]
            rows.append(_timed(server, "mlpages build (cold)", [build], clone))
            rows.append(_timed(server, "mlpages build (warm)", [build], clone))
            clone = _clone(root / "origin", root / "dvc", server.url)
            dvc_cmds = [
                [str(BIN / "dvc"), "fetch", "--all-commits", "-q"],
                [str(BIN / "dvc"), "exp", "show", "-A", "--json"],
            ]
            rows.append(
                _timed(server, "dvc fetch --all-commits + dvc exp show -A", dvc_cmds, clone)
            )
            for width in widths:
                clone = _clone(root / "origin", root / f"w{width}", server.url, jobs=width)
                build = [str(BIN / "mlpages"), "build", ".", "--out", str(root / f"site{width}")]
                rows.append(_timed(server, f"mlpages build (cold, jobs={width})", [build], clone))
                shutil.rmtree(clone)
            return rows
        finally:
            server.stop()


def table(rows: list[Row], commits: int, latency: float) -> str:
    peer = next(r for r in rows if r.label.startswith("dvc"))
    lines = [
        f"{commits} commits, HTTP remote on 127.0.0.1 with {latency * 1000:.0f} ms per request",
        "",
        "| run | wall s | downloads (distinct objects) | bytes | vs DVC (time) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = f"{peer.wall / r.wall:.1f}× faster" if r is not peer else "1×"
        got = f"{r.objects} ({r.distinct})"
        lines.append(f"| {r.label} | {r.wall:.1f} | {got} | {r.bytes:,} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--widths", default="1,4,8,16")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",") if w]
    rows = run(args.commits, args.latency, widths)
    print(table(rows, args.commits, args.latency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
