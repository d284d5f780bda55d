import subprocess
import sys

from mlpages.cli import COMMANDS, cli


def test_every_command_imports_and_has_help():
    for name in COMMANDS:
        command = cli.get_command(None, name)
        assert command is not None, name
        assert command.help or command.short_help, f"{name} has no help text"


def test_version_runs_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "--version"], capture_output=True, text=True, check=True
    )
    assert "mlpages" in out.stdout


def test_ctx_exit_code_reaches_the_shell(tmp_path):
    # `mlpages validate` on a missing batch is an expected failure: one line, non-zero exit.
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "validate", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr


def test_unknown_command_fails():
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "no-such-command"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "No such command" in out.stderr


def test_build_warns_on_a_shallow_clone(make_repo, tmp_path):
    repo = make_repo()
    (repo.path / ".dvc").mkdir()
    (repo.path / ".dvc" / "config").write_text("")
    for i in range(3):
        repo.commit(f"run {i}", {"params.yaml": f"lr: {i}\n", "dvc.yaml": "stages: {}\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", repo.path.as_uri(), str(shallow)], check=True
    )
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "build", str(shallow), "--out", str(tmp_path / "s")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "shallow" in out.stderr and "fetch-depth: 0" in out.stderr
