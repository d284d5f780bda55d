"""Settings of mlpages for one repository: a declarative schema with defaults, types and help.

Read from ``mlpages.yaml`` at the repository root, or ``[tool.mlpages]`` in its ``pyproject.toml``.
Every option is a field of :class:`Config` (type, default and help in one place, read by
:mod:`mlpages.settings`); a test checks the README lists them all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from mlpages.errors import ConfigError
from mlpages.safe_yaml import MAX_STAGES, MAX_YAML_NODES
from mlpages.settings import load_section, options_of, parse_yaml_mapping, setting
from mlpages.worktree import Refused, TooLarge, WorkTree

# Metric names (any dotted segment, case-insensitive) where lower is better unless configured.
LOWER_IS_BETTER_HINTS = (
    "loss",
    "error",
    "err",
    "mse",
    "rmse",
    "mae",
    "mape",
    "logloss",
    "log_loss",
    "brier",
    "perplexity",
    "latency",
    "fpr",
    "fnr",
    "wer",
    "cer",
    "distance",
    "psi",
    "drift",
)


DEFAULT_REPORTS = {
    "validation": "reports/validation.json",
    "drift": "reports/drift.json",
    "gate": "reports/gate.json",
    "monitoring": "reports/monitoring.json",
    "trigger": "reports/trigger.json",
}


@dataclass(frozen=True)
class Config:
    """The options of ``mlpages.yaml`` (or ``[tool.mlpages]``), each declared once."""

    title: str = setting("", help="Site title; defaults to the repository folder name.")
    default_branch: str = setting(
        "",
        help="Branch whose history is the main line (trends, PR base); "
        "defaults to origin/HEAD, then main, then master.",
    )
    key_metrics: tuple[str, ...] = setting(
        (),
        help="Metrics charted on the overview as 'file:key' or bare keys; "
        "defaults to the first six.",
    )
    higher_is_better: tuple[str, ...] = setting(
        (),
        help="Metric names (glob patterns) where higher is better, "
        "overriding the name-based default.",
    )
    lower_is_better: tuple[str, ...] = setting(
        (),
        help="Metric names (glob patterns) where lower is better, "
        "overriding the name-based default.",
    )
    model_artifact: str = setting(
        "", help="Registry artifact shown as the model (default: the first)."
    )
    production_stage: str = setting("prod", help="Registry stage that means production.")
    reports: dict[str, str] = setting(
        factory=lambda: dict(DEFAULT_REPORTS),
        help="Paths of the continuous-training reports read at every commit.",
    )
    max_file_bytes: int = setting(
        5_000_000,
        minimum=0,
        help="Files (plot images too) larger than this are not read (a problem).",
    )
    max_yaml_nodes: int = setting(
        MAX_YAML_NODES,
        minimum=0,
        help="YAML files (and what templating makes of dvc.yaml) larger than this many nodes, "
        "aliases expanded and a string counting one per 16 characters, are not read (a problem).",
    )
    max_stages: int = setting(
        MAX_STAGES,
        minimum=0,
        help="Stages of a commit after foreach/matrix expansion; past it the rest is not read "
        "(a problem).",
    )
    max_plot_rows: int = setting(
        5_000, minimum=0, help="Plot data is down-sampled to this many rows per file."
    )
    cache_dir: str = setting("", help="Snapshot cache folder; defaults to <git-dir>/mlpages-cache.")
    remote_fetch: bool = setting(
        True,
        help="Fetch DVC-cached outputs missing locally from the project's DVC remotes (any type "
        "DVC reads); fetched objects are kept in .dvc/tmp/mlpages-remote.",
    )

    def metric_direction(self, name: str) -> int:
        """+1 if higher is better, -1 if lower is better (config first, then name hints)."""
        if any(fnmatchcase(name, pattern) for pattern in self.higher_is_better):
            return 1
        if any(fnmatchcase(name, pattern) for pattern in self.lower_is_better):
            return -1
        lowered = name.lower().replace("-", "_")
        parts = [p for chunk in lowered.split(".") for p in chunk.split(":")]
        for part in parts:
            tokens = part.split("_")
            if part in LOWER_IS_BETTER_HINTS or any(t in LOWER_IS_BETTER_HINTS for t in tokens):
                return -1
        return 1


# What the docs test and the README's configuration table read.
OPTIONS = options_of(Config)


def config_from_mapping(raw: Any, source: str) -> Config:
    """Build a :class:`Config` from a mapping (``-`` may stand for ``_`` in option names)."""
    if isinstance(raw, dict):
        raw = {str(key).replace("-", "_"): value for key, value in raw.items()}
    config = load_section(Config, raw, source)
    # A repository lists the reports it moved; the others keep their default paths.
    return replace(config, reports={**DEFAULT_REPORTS, **config.reports})


def _repo_text(repo: Path, name: str) -> str | None:
    """A configuration file of the work tree (None when absent); never read outside it."""
    data = WorkTree(repo).read(name, Config.max_file_bytes)
    if isinstance(data, Refused):
        raise ConfigError(f"{repo / name}: {data.message}")
    if isinstance(data, TooLarge):
        raise ConfigError(f"{repo / name}: too large ({data.size:,} bytes)")
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{repo / name}: not UTF-8 text") from None


def load_config(repo: Path) -> Config:
    """Read the configuration of the repository at ``repo`` (work tree files)."""
    yaml_file = repo / "mlpages.yaml"
    text = _repo_text(repo, "mlpages.yaml")
    if text is not None:
        return config_from_mapping(parse_yaml_mapping(text, str(yaml_file)), str(yaml_file))
    pyproject = repo / "pyproject.toml"
    text = _repo_text(repo, "pyproject.toml")
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        tool = data.get("tool")
        raw = tool.get("mlpages") if isinstance(tool, dict) else None
        if raw is not None:
            return config_from_mapping(raw, f"{pyproject} [tool.mlpages]")
    return Config()
