"""Click arguments and options shared by the commands: one name, type and wording each.

A command stacks them like any click decorator::

    @click.command(name="gate")
    @model_option("candidate", "gate")
    @params_option("gate", "the rules")
    def gate_command(model_path: Path | None, params_path: Path) -> None: ...

Only click is imported here, so ``mlpages --help`` (which loads every command module) stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def repo_argument() -> Callable[[F], F]:
    """``[REPO]``: the repository a command reads (default: the current folder)."""
    return click.argument("repo", default=".", type=click.Path(file_okay=False, path_type=Path))


def repo_option(help: str = "The git repository.") -> Callable[[F], F]:
    """``--repo/-r``: the repository of a command whose arguments are something else."""
    return click.option(
        "--repo",
        "-r",
        "repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help,
    )


def params_option(section: str, holds: str) -> Callable[[F], F]:
    """``--params``: the params.yaml whose ``section`` configures the command."""
    return click.option(
        "--params",
        "params_path",
        type=click.Path(path_type=Path),
        default=Path("params.yaml"),
        show_default=True,
        help=f"params.yaml whose '{section}' section holds {holds}.",
    )


def path_setting_option(
    flag: str, dest: str, what: str, setting: str, default: str = ""
) -> Callable[[F], F]:
    """A path option that overrides a params.yaml setting (the help names it and its default)."""
    where = f"params {setting}" + (f", default {default}" if default else "")
    return click.option(
        flag, dest, type=click.Path(path_type=Path), default=None, help=f"{what} [{where}]"
    )


def report_option(what: str, section: str, default: str) -> Callable[[F], F]:
    """``--report``: where the command writes its JSON report (params ``section.report``)."""
    return path_setting_option("--report", "report_path", what, f"{section}.report", default)


def model_option(what: str, section: str) -> Callable[[F], F]:
    """``--model``: a model file (params ``section.model``)."""
    return path_setting_option(
        "--model",
        "model_path",
        f"The {what} model (joblib/pickle).",
        f"{section}.model",
        "models/model.pkl",
    )


def reference_option(help: str) -> Callable[[F], F]:
    """``--reference``: reference data, CSV files or folders (repeatable)."""
    return click.option(
        "--reference",
        "reference_paths",
        type=click.Path(path_type=Path),
        multiple=True,
        help=help,
    )


def registry_write_options(func: F) -> F:
    """``--message/-m``, ``--push REMOTE`` and ``--repo/-r`` of the commands that write a tag."""
    func = click.option(
        "--push",
        "push",
        metavar="REMOTE",
        default=None,
        help="Also push the new tag to this remote (e.g. origin).",
    )(func)
    func = click.option("--message", "-m", default=None, help="Tag message (GTO's by default).")(
        func
    )
    return repo_option()(func)
