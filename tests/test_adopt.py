"""`mlpages init`, `mlpages check` and the pre-commit hooks, on the repositories the tests build.

init runs on fresh clones of: the CI project (S3 remote, gate and monitor stages, a model
artifact), the get-started-like one (real `dvc repro`), a `dvc init --subdir` monorepo, a
DVC 2 repository, a bare `git init && dvc init` and an HTTP remote. Everything it writes passes
`zizmor --offline --persona=auditor` and GitHub's workflow schema; a second run changes
nothing; `--dry-run` writes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers.ci_project import DVC_YAML, PARAMS, TRAIN_PY, raw_data
from helpers.cli import mlpages
from helpers.foreign.get_started import build_get_started
from helpers.foreign.legacy import build_legacy
from helpers.foreign.shapes import build_monorepo
from helpers.git import IDENTITY, RepoBuilder, git

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHA = "0123456789abcdef0123456789abcdef01234567"
ACTION = f"acme/mlpages@{SHA}"
S3_CONFIG = "[core]\n    remote = store\n['remote \"store\"']\n    url = s3://bucket/store\n"
HTTP_CONFIG = (
    "[core]\n    remote = web\n['remote \"web\"']\n    url = https://dvc.example.com/store\n"
)


def tool(name: str) -> str:
    return shutil.which(name, path=str(BIN)) or name


def ci_project(path: Path, config: str = S3_CONFIG) -> None:
    """The tiny CT project of tests/test_ci_local.py, its pipeline not run (a fresh adopter)."""
    repo = RepoBuilder(path)
    repo.commit(
        "project",
        {
            "train.py": TRAIN_PY,
            "dvc.yaml": DVC_YAML,
            "params.yaml": PARAMS.format(features="[x1, x2]"),
            "data/raw.csv": raw_data(50),
            ".dvc/config": config,
            ".dvc/.gitignore": "/cache\n/tmp\n",
        },
    )


def bare(path: Path) -> None:
    """`git init && dvc init`, nothing else."""
    repo = RepoBuilder(path)
    subprocess.run(
        [tool("dvc"), "init", "-q"],
        cwd=path,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    repo.commit("dvc init", {"README.md": "# empty\n"})


BUILDERS = {
    "s3": ci_project,
    "http": lambda path: ci_project(path, HTTP_CONFIG),
    "monorepo": build_monorepo,
    "dvc2": build_legacy,
    "bare": bare,
}


@pytest.fixture(scope="module")
def origins(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("origins")
    built = {}
    for name, build in BUILDERS.items():
        (root / name).mkdir()
        build(root / name)
        built[name] = root / name
    return built


def fresh_clone(origin: Path, target: Path) -> Path:
    git(target.parent, "clone", "-q", str(origin), str(target))
    return target


def init(repo: Path, *args: str, ok=(0,)) -> subprocess.CompletedProcess:
    return mlpages("init", *args, "--action", ACTION, cwd=repo, ok=ok)


def generated(repo: Path) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("mlpages-*.yml"))


def lint(files: list[Path]) -> None:
    """zizmor (auditor persona) and GitHub's schema accept every file."""
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--persona=auditor", *map(str, files)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0 and "No findings" in proc.stdout + proc.stderr, proc.stdout
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_init_writes_lint_clean_files_once(origins, tmp_path, name):
    dry = fresh_clone(origins[name], tmp_path / "dry")
    shown = init(dry, "--all", "--dry-run").stdout
    assert (
        "dry run, nothing written" in shown and "--- .github/workflows/mlpages-pages.yml" in shown
    )
    assert status(dry) == ""

    repo = fresh_clone(origins[name], tmp_path / "repo")
    first = init(repo, "--all").stdout
    files = generated(repo)
    assert files and all(f"written         {p.relative_to(repo)}" in first for p in files)
    assert "Still to do by hand" in first and "Source: GitHub Actions" in first
    lint(files)
    for path in files:
        text = path.read_text()
        assert f"uses: {ACTION} # v" in text and "persist-credentials: false" in text
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git/" not in str(p)}
    second = init(repo, "--all").stdout
    assert "written " not in second and "unchanged" in second
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git/" not in str(p)}
    assert after == before


def test_init_adapts_to_the_s3_ct_project(origins, tmp_path):
    repo = fresh_clone(origins["s3"], tmp_path / "repo")
    out = init(repo).stdout
    assert "remote s3 (store)" in out and "gh secret set DVC_WRITE_AWS_ACCESS_KEY_ID" in out
    train = yaml.safe_load((repo / ".github/workflows/mlpages-train.yml").read_text())
    steps = {s.get("with", {}).get("command"): s for s in train["jobs"]["train"]["steps"]}
    assert train["jobs"]["train"]["environment"] == "model-registry"
    assert steps["ct-train"]["with"]["extras"] == "s3"
    assert (
        steps["ct-train"]["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.DVC_READ_AWS_ACCESS_KEY_ID }}"
    )
    assert (
        steps["ct-push"]["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.DVC_WRITE_AWS_ACCESS_KEY_ID }}"
    )
    assert set(steps["ct-push"]["env"]) >= {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY"}
    assert "schedule" in train[True]  # a monitor stage: the weekly schedule
    assert train[True]["push"]["paths"] == [
        "**.dvc",
        "data/**",
        "dvc.yaml",
        "params.yaml",
        "train.py",
    ]
    assert train["jobs"]["site"]["uses"] == "./.github/workflows/mlpages-pages.yml"
    pages = yaml.safe_load((repo / ".github/workflows/mlpages-pages.yml").read_text())
    assert pages[True]["push"]["paths-ignore"] == train[True]["push"]["paths"]
    pr = yaml.safe_load((repo / ".github/workflows/mlpages-pr.yml").read_text())
    guard = "github.event.pull_request.head.repo.full_name == github.repository && secrets."
    assert all(guard in v for k, v in pr["jobs"]["diff"]["steps"][-1]["env"].items() if "KEY" in k)
    # The experiments fetch holds the job's read-only token, the step running PR code none.
    assert pr["jobs"]["diff"]["permissions"] == {"contents": "read"}
    pr_steps = {s.get("with", {}).get("command"): s for s in pr["jobs"]["diff"]["steps"]}
    assert pr_steps["fetch-experiments"]["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert "github.token" not in str(pr_steps["diff"]) and "GITHUB_TOKEN" not in str(
        pr_steps["diff"]
    )
    assert (repo / ".gto").read_text().endswith("stages: [dev, staging, prod]\n")
    config = yaml.safe_load((repo / "mlpages.yaml").read_text())
    assert config == {"default_branch": "main", "model_artifact": "model"}  # no metrics run yet


def test_the_workflow_shown_in_the_docs_is_the_one_written(origins, tmp_path):
    repo = fresh_clone(origins["s3"], tmp_path / "repo")
    init(repo)
    written = (repo / ".github/workflows/mlpages-pages.yml").read_text()
    shown = (ROOT / "docs" / "ci.md").read_text().split("### What `mlpages init` writes", 1)[1]
    assert f"```yaml\n{written}```" in shown


def test_init_never_clobbers_and_force_overwrites(origins, tmp_path):
    repo = fresh_clone(origins["http"], tmp_path / "repo")
    (repo / ".github" / "workflows").mkdir(parents=True)
    mine = repo / ".github/workflows/mlpages-pr.yml"
    mine.write_text("name: mine\n")
    out = init(repo, "--pr").stdout
    assert "exists          .github/workflows/mlpages-pr.yml (differs" in out
    assert mine.read_text() == "name: mine\n" and "no secret to read" in out
    assert (
        "overwritten     .github/workflows/mlpages-pr.yml" in init(repo, "--pr", "--force").stdout
    )
    assert "environment" not in mine.read_text() and "secrets." not in mine.read_text()


def test_init_explains_what_training_needs(origins, tmp_path):
    bare_repo = fresh_clone(origins["bare"], tmp_path / "bare")
    refused = init(bare_repo, "--train", ok=(1,))
    assert "no `mlpages gate` stage" in refused.stderr and "cmd: mlpages gate" in refused.stderr
    assert "type: model" in refused.stderr and status(bare_repo) == ""
    # --all writes what can work and says why training is left out.
    out = init(bare_repo, "--all").stdout
    assert "mlpages-train.yml not written" in out and not (bare_repo / ".gto").exists()
    mono = fresh_clone(origins["monorepo"], tmp_path / "mono")
    out = init(mono, "--all").stdout
    assert "DVC project ml" in out and "dvc init --subdir" in out
    assert 'repro: "false"' in (mono / ".github/workflows/mlpages-pr.yml").read_text()


def test_init_outside_a_dvc_repository_is_one_line(tmp_path):
    git(tmp_path, "init", "-q")
    proc = init(tmp_path, ok=(1,))
    assert proc.stderr.strip().count("\n") == 0 and "not a DVC repository" in proc.stderr
    outside = tmp_path / "nowhere"
    outside.mkdir()
    assert "mlpages: error:" in mlpages("init", str(outside / "x"), cwd=tmp_path, ok=(1,)).stderr


@pytest.mark.slow
def test_init_on_the_get_started_repository(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    build_get_started(origin)
    repo = fresh_clone(origin, tmp_path / "repo")
    out = init(repo).stdout
    assert "mlpages-train.yml not written" in out  # no gate stage
    config = yaml.safe_load((repo / "mlpages.yaml").read_text())
    assert config["key_metrics"] and all(":" in m for m in config["key_metrics"])
    lint(generated(repo))
    assert "unchanged" in init(repo).stdout and "written " not in init(repo).stdout


# --- mlpages check ------------------------------------------------------------------------------


def test_check_passes_on_this_repository_fast():
    start = time.perf_counter()
    proc = mlpages("check", str(ROOT), cwd=ROOT, ok=(0,))
    seconds = time.perf_counter() - start
    assert "no problems" in proc.stderr and proc.stdout == ""
    assert seconds < 5, seconds  # ~0.3 s measured; generous for a shared CI machine


def test_check_lists_the_problems_a_commit_page_shows(origins, tmp_path):
    repo = fresh_clone(origins["s3"], tmp_path / "repo")
    assert "no problems" in mlpages("check", cwd=repo, ok=(0,)).stderr
    lock = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n"
        "    - path: models/model.pkl\n      md5: 0123456789abcdef0123456789abcdef\n"
    )
    (repo / "dvc.lock").write_text(lock)
    (repo / "reports").mkdir()
    (repo / "reports/metrics.json").write_text('{"roc_auc": NaN, "rows": 3}')
    (repo / "dvc.yaml").write_text(
        DVC_YAML.replace("path: models/model.pkl", "path: models/gone.pkl")
    )
    (repo / "params.yaml").write_text("train: [unclosed\n")
    proc = mlpages("check", cwd=repo, ok=(1,))
    lines = proc.stdout.splitlines()
    assert any(line.startswith("params.yaml:") and "[yaml-error]" in line for line in lines)
    assert "data/test.csv: stage train declares this output" in proc.stdout
    assert "reports/metrics.json: metric roc_auc is NaN [nan-metric]" in lines
    assert any(line.startswith("models/gone.pkl: artifact model") for line in lines)
    assert proc.stderr.startswith("mlpages: error: ") and "problems in the work tree" in proc.stderr


# --- pre-commit hooks ----------------------------------------------------------------------------


def test_pre_commit_hooks_from_a_local_path(origins, tmp_path):
    """The hooks file of this checkout, in a repository pre-commit clones from a local path."""
    hooks = RepoBuilder(tmp_path / "hooks")
    sha = hooks.commit(
        "hooks", {".pre-commit-hooks.yaml": (ROOT / ".pre-commit-hooks.yaml").read_text()}
    )
    repo = fresh_clone(origins["s3"], tmp_path / "repo")
    config = {
        "repos": [
            {
                "repo": str(tmp_path / "hooks"),
                "rev": sha,
                "hooks": [
                    {"id": "mlpages-check"},
                    {"id": "mlpages-validate", "files": "^data/.*\\.csv$"},
                ],
            }
        ]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    mlpages("schema", "infer", "data/raw.csv", cwd=repo, ok=(0,))
    env = {
        **os.environ, **IDENTITY,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
    }  # fmt: skip

    def run(*hook: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [tool("pre-commit"), "run", *hook, "--all-files"],
            cwd=repo, env=env, capture_output=True, text=True,
        )  # fmt: skip

    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "mlpages check" in good.stdout and "Passed" in good.stdout
    (repo / "dvc.yaml").write_text("stages:\n  train: [unclosed\n")
    broken = run("mlpages-check")
    assert broken.returncode == 1 and "dvc.yaml" in broken.stdout and "Failed" in broken.stdout
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "data/raw.csv").write_text(raw_data(50).replace("\n", "\nnot,a,number,row\n", 1))
    bad_data = run("mlpages-validate")
    assert bad_data.returncode != 0 and "Failed" in bad_data.stdout, bad_data.stdout
    assert not (repo / "reports").exists()  # the hook's reports went to a temporary folder


# --- the action's scripts, outside a workflow ---------------------------------------------------


def test_action_probe_finds_the_installed_version(tmp_path):
    output = tmp_path / "output"
    env = {
        **os.environ,
        "ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(output),
        "MLPAGES_EXTRAS": "s3",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # the Python on PATH: this venv's
    }
    script = str(ROOT / "scripts" / "action.sh")
    subprocess.run(["bash", script, "probe"], env=env, check=True, capture_output=True)
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["installed"] == "true" and values["cache-key"].startswith("mlpages-pip-")
    assert values["cache-key"].endswith("-s3")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "widgets"\nversion = "1"\n')
    other = subprocess.run(
        ["bash", script, "probe"],
        env={**env, "ACTION_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert other.returncode != 0 and "not the pyproject.toml of mlpages" in other.stderr
    bad = subprocess.run(
        ["bash", script, "probe"],
        env={**env, "MLPAGES_EXTRAS": "s3]; rm -rf /"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "extras:" in bad.stderr
    unknown = subprocess.run(
        ["bash", script, "run"],
        env={**env, "MLPAGES_COMMAND": "deploy"},
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 2 and "unknown command 'deploy'" in unknown.stderr


def test_fetch_experiments_fetches_refs_exps_and_tolerates_none(origins, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(origins["s3"]), str(origin))
    repo = fresh_clone(origin, tmp_path / "repo")
    env = {**os.environ, "ACTION_PATH": str(ROOT), "MLPAGES_COMMAND": "fetch-experiments"}
    fetch = ["bash", str(ROOT / "scripts" / "action.sh"), "run"]
    proc = subprocess.run(fetch, cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "experiments: 0 refs" in proc.stderr, proc.stderr
    head = git(origin, "rev-parse", "HEAD").strip()
    git(origin, "update-ref", "refs/exps/ab/cdef0123/exp-lucky-dip", head)
    proc = subprocess.run(fetch, cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "experiments: 1 refs" in proc.stderr, proc.stderr
    assert git(repo, "rev-parse", "refs/exps/ab/cdef0123/exp-lucky-dip").strip() == head
