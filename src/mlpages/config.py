"""Settings of mlpages for one repository: a declarative schema with defaults, types and help.

Read from ``mlpages.yaml`` at the repository root, or ``[tool.mlpages]`` in its ``pyproject.toml``.
Every option is documented here; a test checks the README lists them all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mlpages.errors import ConfigError

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


@dataclass(frozen=True)
class Option:
    name: str
    type: type
    default: Any
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("title", str, "", "Site title; defaults to the repository folder name."),
    Option(
        "default_branch",
        str,
        "",
        "Branch whose history is the main line (trends, PR base); "
        "defaults to origin/HEAD, then main, then master.",
    ),
    Option(
        "key_metrics",
        list,
        [],
        "Metrics charted on the overview as 'file:key' or bare keys; defaults to the first six.",
    ),
    Option(
        "higher_is_better",
        list,
        [],
        "Metric names (glob patterns) where higher is better, overriding the name-based default.",
    ),
    Option(
        "lower_is_better",
        list,
        [],
        "Metric names (glob patterns) where lower is better, overriding the name-based default.",
    ),
    Option("model_artifact", str, "", "Registry artifact shown as the model (default: the first)."),
    Option("production_stage", str, "prod", "Registry stage that means production."),
    Option(
        "reports",
        dict,
        {
            "validation": "reports/validation.json",
            "drift": "reports/drift.json",
            "gate": "reports/gate.json",
            "monitoring": "reports/monitoring.json",
            "trigger": "reports/trigger.json",
        },
        "Paths of the continuous-training reports read at every commit.",
    ),
    Option(
        "max_file_bytes",
        int,
        5_000_000,
        "Files (plot images too) larger than this are not read (a problem).",
    ),
    Option(
        "max_yaml_nodes",
        int,
        2_000_000,
        "YAML files (and what templating makes of dvc.yaml) larger than this many nodes, aliases "
        "expanded and a string counting one per 16 characters, are not read (a problem).",
    ),
    Option(
        "max_stages",
        int,
        10_000,
        "Stages of a commit after foreach/matrix expansion; past it the rest is not read "
        "(a problem).",
    ),
    Option("max_plot_rows", int, 5_000, "Plot data is down-sampled to this many rows per file."),
    Option("cache_dir", str, "", "Snapshot cache folder; defaults to <git-dir>/mlpages-cache."),
    Option(
        "remote_fetch",
        bool,
        True,
        "Fetch DVC-cached outputs missing locally from the default DVC remote (S3 API); "
        "fetched objects are kept in .dvc/tmp/mlpages-remote.",
    ),
)


@dataclass(frozen=True)
class Config:
    title: str = ""
    default_branch: str = ""
    key_metrics: list = field(default_factory=list)
    higher_is_better: list = field(default_factory=list)
    lower_is_better: list = field(default_factory=list)
    model_artifact: str = ""
    production_stage: str = "prod"
    reports: dict = field(default_factory=lambda: dict(_default("reports")))
    max_file_bytes: int = 5_000_000
    max_yaml_nodes: int = 2_000_000
    max_stages: int = 10_000
    max_plot_rows: int = 5_000
    cache_dir: str = ""
    remote_fetch: bool = True

    def metric_direction(self, name: str) -> int:
        """+1 if higher is better, -1 if lower is better (config first, then name hints)."""
        from fnmatch import fnmatchcase

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


def _default(name: str) -> Any:
    return next(o.default for o in OPTIONS if o.name == name)


def config_from_mapping(raw: dict[str, Any], source: str) -> Config:
    """Validate a raw mapping against :data:`OPTIONS` and build a :class:`Config`."""
    known = {o.name: o for o in OPTIONS}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{source}: unknown option {key!r} (known: {', '.join(known)})")
        option = known[name]
        if not isinstance(value, option.type) or (isinstance(value, bool) and option.type is int):
            raise ConfigError(
                f"{source}: option {key!r} must be a {option.type.__name__}, "
                f"got {type(value).__name__}"
            )
        if name == "reports":
            value = {**option.default, **value}
        values[name] = value
    assert {f.name for f in fields(Config)} == set(known)
    return Config(**values)


def _repo_text(repo: Path, name: str) -> str | None:
    """A configuration file of the work tree (None when absent); never read outside it."""
    from mlpages.worktree import Refused, TooLarge, WorkTree

    data = WorkTree(repo).read(name, _default("max_file_bytes"))
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
        import yaml

        from mlpages.safe_yaml import TooLargeError, load_yaml

        try:
            raw = load_yaml(text) or {}
        except TooLargeError as exc:
            raise ConfigError(f"{yaml_file}: too large: {exc}") from None
        except (yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"{yaml_file}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{yaml_file}: expected a mapping of options")
        return config_from_mapping(raw, str(yaml_file))
    pyproject = repo / "pyproject.toml"
    text = _repo_text(repo, "pyproject.toml")
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        raw = data.get("tool", {}).get("mlpages")
        if isinstance(raw, dict):
            return config_from_mapping(raw, f"{pyproject} [tool.mlpages]")
    return Config()
