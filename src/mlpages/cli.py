"""Thin command line: parse options, call the library, turn expected errors into one line."""

from __future__ import annotations

import importlib
import sys

import click

from mlpages import __version__

# name -> "module:attribute" of a click command. Imported only when the command runs (or for
# --help), so `mlpages diff` does not pay for pandas, scikit-learn or plotly.
COMMANDS: dict[str, str] = {
    "check": "mlpages.commands.check:check_command",
    "init": "mlpages.commands.init:init_command",
    "validate": "mlpages.commands.validate:validate_command",
    "schema": "mlpages.commands.schema:schema_group",
    "gate": "mlpages.commands.gate:gate_command",
    "monitor": "mlpages.commands.monitor:monitor_command",
    "diff": "mlpages.commands.diff:diff_command",
    "registry": "mlpages.commands.registry:registry_group",
    "build": "mlpages.commands.build:build",
    "history": "mlpages.commands.history:history_command",
    "demo": "mlpages.commands.demo:demo",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlpages")
def cli() -> None:
    """Git-native MLOps: validate, gate, register, monitor, and report from git history."""


def main() -> None:
    """Console entry point: an expected failure is one line and its class's exit code."""
    try:
        # Without standalone mode click *returns* the code of ctx.exit(n) instead of exiting,
        # and leaves Abort (130 here, 1 in click) and a broken pipe (0 here) to us.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.ClickException as exc:  # click's usage errors, and every MlpagesError
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
