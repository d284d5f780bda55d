"""An MDOcean-shaped DVC repository (issue 18): long history, a ~1 MB dvc.lock, 155 stages.

The shape of a real public repository: 5,000+ commits over 100 branches, ~1,000 versions of a
dvc.lock of 155 stages (~1 MB) and ~350 versions of an ~8,300-line dvc.yaml. Stage commands are
long and DVC's YAML dumper folds them over several lines (plain and quoted ones); many paths start
with a dot (``.calkit/…``). Each stage section is dumped once with ruamel.yaml (the library DVC
writes dvc.lock with), in the whole-file context, with placeholder hashes that are then replaced
per version: the bytes are the layout DVC writes. Written with one ``git fast-import``.

The generated repository is cached under ``<cache>/mdocean-v<GENERATOR_VERSION>-<shape>/``.

    python benchmarks/synth.py --shape mdocean /tmp/md --commits 5000
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

from synth import EPOCH, SynthInfo, _commit

GENERATOR_VERSION = 1
_TOKEN = re.compile(r"X[0-9]{5}Y[0-9a-f]{26}")
_TOPICS = ("wave", "hydro", "ptoctrl", "cost", "geometry", "mooring", "power", "structure")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _token(n: int) -> str:
    """A 32-character placeholder that dumps like an md5 (plain, unquoted)."""
    return f"X{n:05d}Y{_md5(str(n))[:26]}"


class MdoceanShape:
    """The stages of the pipeline and the dumped (placeholder) text of each."""

    def __init__(self, stages: int, rng: random.Random) -> None:
        self.rng = rng
        self.names = [
            f"{_TOPICS[i % len(_TOPICS)]}-{'fig' if i % 3 else 'table'}-{i:03d}"
            for i in range(stages)
        ]
        self.deps: list[list[str]] = []
        self.outs: list[list[str]] = []
        self.cmds: list[str] = []
        for i, name in enumerate(self.names):
            deps = [
                ".calkit/envs/matlab.yaml",
                f".calkit/notebooks/{name}.ipynb",
                f"mdocean/simulation/modules/{_TOPICS[i % 8]}/run_{_TOPICS[(i + 3) % 8]}.m",
                "mdocean/inputs/parameters.m",
                "mdocean/inputs/validation/validation_inputs.m",
            ]
            deps += [f"mdocean/plots/util/helper_{k:02d}.m" for k in range(rng.randint(22, 36))]
            if i >= 4:
                deps += [f"results/{self.names[j]}/output.mat" for j in rng.sample(range(i), 3)]
            outs = [f"results/{name}/output.mat", f"results/{name}/figures"]
            outs += [f"paper/figures/{name}-{k}.pdf" for k in range(rng.randint(8, 16))]
            self.deps.append(deps)
            self.outs.append(outs)
            self.cmds.append(self._cmd(i, name))

    def _cmd(self, i: int, name: str) -> str:
        kind = i % 4
        if kind == 0:  # plain, folded over several lines
            return (
                f"calkit xenv -n matlab --no-check -- run_analysis --stage {name} --config "
                f"mdocean/inputs/parameters.m --out results/{name} --figures paper/figures "
                f"--seed {i} --verbose"
            )
        if kind == 1:  # needs quotes (": " and "'" inside): folded in a quoted scalar
            return (
                f"calkit xenv -n matlab -- \"addpath(genpath('mdocean')); "
                f"run_figure('{name}', struct('alpha', 0.5, 'beta', {i})); exit\""
            )
        if kind == 2:
            return f"calkit nb execute --environment py --no-check .calkit/notebooks/{name}.ipynb"
        return f"python scripts/{name}.py"

    def lock_section_text(self, i: int, dumper: object) -> str:
        """The section of stage ``i`` as DVC dumps it, hashes as placeholder tokens."""
        n = i * 1000
        deps = []
        for k, path in enumerate(self.deps[i]):
            deps.append({"path": path, "hash": "md5", "md5": _token(n + k), "size": 1000 + k})
        outs = []
        for k, path in enumerate(self.outs[i]):
            item = {"path": path, "hash": "md5", "md5": _token(n + 500 + k), "size": 5000 + k}
            if path.endswith("/figures"):
                item["md5"] = _token(n + 500 + k) + ".dir"
                item["nfiles"] = 7
            outs.append(item)
        section: dict = {"cmd": self.cmds[i], "deps": deps}
        if i % 5 == 0:
            section["params"] = {"params.yaml": {f"{_TOPICS[i % 8]}.alpha": 0.5, "seed": i}}
        section["outs"] = outs
        buf = io.StringIO()
        dumper.dump({"schema": "2.0", "stages": {self.names[i]: section}}, buf)  # type: ignore[attr-defined]
        text = buf.getvalue()
        return text[text.index("stages:\n") + 8 :]

    def yaml_stage_text(self, i: int, extra: int) -> str:
        """The dvc.yaml entry of stage ``i`` (``extra`` varies it between versions)."""
        name = self.names[i]
        cmd = self.cmds[i].replace('"', '\\"')
        lines = [f"  {name}:", f'    cmd: "{cmd}"', "    deps:"]
        lines += [f"      - {d}" for d in self.deps[i]]
        lines += [f"      - mdocean/plots/util/extra_{k}.m" for k in range(extra)]
        if i % 5 == 0:
            lines += ["    params:", f"      - {_TOPICS[i % 8]}.alpha", "      - seed"]
        lines.append("    outs:")
        for k, out in enumerate(self.outs[i]):
            lines += (
                [f"      - {out}:", "          cache: false"] if k % 3 == 0 else [f"      - {out}"]
            )
        lines += [f"    desc: Figure {i} of the paper, {_TOPICS[i % 8]} study"]
        return "\n".join(lines) + "\n"


def _dumper() -> object:
    from ruamel.yaml import YAML  # what DVC writes dvc.lock with

    yaml = YAML()
    yaml.default_flow_style = False
    return yaml


class _History:
    """The evolving pipeline: which stages exist and which version of each is locked."""

    def __init__(self, stages: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.shape = MdoceanShape(stages, self.rng)
        dumper = _dumper()
        self.templates = [self.shape.lock_section_text(i, dumper) for i in range(stages)]
        self.stages = stages
        self.versions = [0] * stages
        self.yaml_extra = [0] * stages
        self.active = max(stages * 3 // 5, 1)  # stages grow over the history up to ``stages``

    def lock_text(self) -> bytes:
        parts = []
        for i in range(self.active):
            v = self.versions[i]
            parts.append(_TOKEN.sub(lambda m, v=v: _md5(f"{m.group(0)}-{v}"), self.templates[i]))
        return ("schema: '2.0'\nstages:\n" + "".join(parts)).encode()

    def yaml_text(self) -> bytes:
        body = "".join(
            self.shape.yaml_stage_text(i, self.yaml_extra[i]) for i in range(self.active)
        )
        return f"stages:\n{body}".encode()

    def step(self, n: int) -> dict[str, bytes]:
        """The files commit ``n`` changes."""
        rng = self.rng
        changed = {"README.md": f"notes {n}\n".encode()}
        if rng.random() < 0.07 or n == 0:  # ~350 dvc.yaml versions
            if self.active < self.stages and rng.random() < 0.5:
                self.active += 1
            self.yaml_extra[rng.randrange(self.active)] = rng.randint(0, 3)
            changed["dvc.yaml"] = self.yaml_text()
        if rng.random() < 0.2:  # ~1,000 lock versions
            for i in rng.sample(range(self.active), min(4, self.active)):
                self.versions[i] += 1
            changed["dvc.lock"] = self.lock_text()
        return changed

    def save(self) -> tuple:
        return list(self.versions), list(self.yaml_extra), self.active

    def restore(self, saved: tuple) -> None:
        self.versions[:], self.yaml_extra[:], self.active = saved[0], saved[1], saved[2]


def _first_files(history: _History) -> dict[str, bytes]:
    return {
        ".dvc/config": b"[core]\n    autostage = true\n",
        ".dvc/.gitignore": b"/config.local\n/tmp\n/cache\n",
        ".dvcignore": b"",
        ".calkit/envs/matlab.yaml": b"kind: docker\nimage: matlab\n",
        "params.yaml": b"wave:\n  alpha: 0.5\nseed: 1\n",
        "dvc.yaml": history.yaml_text(),
        "dvc.lock": history.lock_text(),
    }


def _generate(out: Path, commits: int, stages: int, branches: int, seed: int) -> SynthInfo:
    started = time.perf_counter()
    history = _History(stages, seed)
    out.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=out, stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    write = proc.stdin.write
    main_total = commits - branches * 10
    branch_at = {main_total * (k + 1) // (branches + 1): k for k in range(branches)}
    files = _first_files(history)
    mark, parent, branch_commits = 0, None, 0
    for n in range(main_total):
        changed = {**files, **history.step(n)} if n == 0 else history.step(n)
        mark += 1
        when = EPOCH + n * 900
        write(_commit("refs/heads/main", mark, when, f"update {n}", changed, parent))
        parent = mark
        if n in branch_at:
            k, base = branch_at[n], mark
            saved = history.save()
            for j in range(10):
                mark += 1
                msg, ref = f"branch {k} step {j}", f"refs/heads/topic-{k:03d}"
                write(_commit(ref, mark, when + j + 1, msg, history.step(n), base))
                base = mark
                branch_commits += 1
            history.restore(saved)
            files_now = {"dvc.lock": history.lock_text(), "dvc.yaml": history.yaml_text()}
            mark += 1  # main returns to its own lock and yaml
            write(_commit("refs/heads/main", mark, when + 20, f"after {n}", files_now, parent))
            parent = mark
    write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True, env=env)
    count = subprocess.run(
        ["git", "rev-list", "--all", "--count"], cwd=out, capture_output=True, check=True
    )
    total = int(count.stdout)
    return SynthInfo(
        out, total - branch_commits, branch_commits, stages, time.perf_counter() - started
    )


def mdocean_repo(
    cache: Path, commits: int = 5000, *, stages: int = 155, branches: int = 100, seed: int = 0
) -> SynthInfo:
    """The MDOcean-shaped repository under ``cache``, generated once per generator version."""
    folder = Path(cache) / f"mdocean-v{GENERATOR_VERSION}-{commits}c-{stages}s-{branches}b-{seed}"
    repo, done = folder / "repo", folder / "done"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        info = _generate(repo, commits, stages, branches, seed)
        done.write_text(f"{info.main_commits} {info.branch_commits} {info.seconds:.1f}\n")
        return info
    main, branch, seconds = done.read_text().split()
    return SynthInfo(repo, int(main), int(branch), stages, float(seconds))
