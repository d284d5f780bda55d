"""Every command, option and setting is documented (the README, or the docs it links to)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mlpages.cli import COMMANDS, cli
from mlpages.config import OPTIONS
from mlpages.ct.drift import DriftSettings
from mlpages.ct.gate_rules import GateSettings
from mlpages.ct.monitor import MonitorSettings
from mlpages.ct.monitor_run import MonitorIO
from mlpages.ct.trigger import TriggerSettings
from mlpages.ct.validate import ValidateSettings
from mlpages.errors import EXIT_CODES, MlpagesError
from mlpages.settings import options_of

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def _commands() -> list[tuple[str, click.Command]]:
    found = []
    for name in COMMANDS:
        command = cli.get_command(None, name)
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
    return found


def test_every_command_is_in_the_readme():
    for name, _ in _commands():
        top = name.split()[0]
        assert f"mlpages {top}" in README, name
        if " " in name:
            assert name.split()[1] in README, name


def test_every_option_is_documented():
    missing = [
        f"{name} {opt}"
        for name, command in _commands()
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help" and opt not in DOCS
    ]
    assert not missing, missing


def test_every_setting_is_in_the_readme():
    for option in OPTIONS:
        assert f"`{option.name}`" in README, option.name


def test_every_params_setting_is_documented():
    """Each setting of params.yaml's validate/gate/monitor sections is named in their docs page."""
    text = (ROOT / "docs" / "validation.md").read_text() + (
        ROOT / "docs" / "monitoring.md"
    ).read_text()
    classes = (
        ValidateSettings,
        DriftSettings,
        GateSettings,
        MonitorSettings,
        MonitorIO,
        TriggerSettings,
    )
    missing = [
        f"{cls.__name__}.{option.name}"
        for cls in classes
        for option in options_of(cls)
        if not re.search(rf"`(?:[\w.]*\.)?{option.name}`", text)
    ]
    assert not missing, missing


def _readme_exit_codes() -> dict[int, str]:
    table = README.split("### Exit codes\n", 1)[1].strip().split("\n\n", 1)[0]
    return {
        int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", table, re.M)
    }


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_the_readme_exit_codes_are_those_of_errors_py():
    assert _readme_exit_codes() == EXIT_CODES
    codes = {cls.__name__: cls.exit_code for cls in (MlpagesError, *_subclasses(MlpagesError))}
    assert {name: code for name, code in codes.items() if code not in EXIT_CODES} == {}
    assert codes["ValidationFailed"] == 4 and codes["GateRejected"] == 3
    assert {code for code in codes.values()} == {1, 3, 4}  # 2 is click's, 130 an interrupt


def test_readme_has_no_placeholders_left():
    for marker in ("DEMO_TIME_LINE", "SAMPLE_COMMENT", "BENCH_TABLES", "CONFIG_TABLE"):
        assert marker not in README, marker
