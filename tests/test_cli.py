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
