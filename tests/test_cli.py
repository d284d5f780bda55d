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
