"""The one reader of a DVC project's configuration: cache folder and remotes, through DVC itself.

``dvc.config.Config`` merges the system, global, repository (``.dvc/config``) and local
(``.dvc/config.local``: credentials and endpoints, never committed) levels, resolves relative
paths against the file that names them and validates every value against DVC's schema. A project
whose configuration DVC refuses (a file that does not parse, a remote of a scheme DVC does not
know such as ``ck://``) is still read level by level, the files that parse merged as DVC would;
``DvcConfig.problem`` says what was refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpages.errors import RemoteError


@dataclass(frozen=True)
class DvcConfig:
    """The merged configuration of a project; ``problem`` names what DVC refused in it."""

    data: dict[str, Any]
    problem: str | None = None
    validated: bool = True


def _one_line(text: object, limit: int = 240) -> str:
    return " ".join(str(text).split())[:limit]


def _level_files(dvc_dir: Path) -> list[tuple[str, Path]]:
    from dvc.config import Config

    files = [(level, Path(Config.get_dir(level)) / "config") for level in Config.SYSTEM_LEVELS]
    files.reverse()  # system first, then global: the order in which they shadow each other
    return [*files, ("repo", dvc_dir / "config"), ("local", dvc_dir / "config.local")]


def _tolerant(dvc_dir: Path, reason: str) -> DvcConfig:
    """The levels that parse, merged in DVC's order; validated when DVC's schema accepts them."""
    from dvc.config import Config, ConfigError, merge

    merged: dict[str, Any] = {}
    refused = [reason]
    for _level, path in _level_files(dvc_dir):
        try:
            conf = Config.load_file(str(path))
        except FileNotFoundError:
            continue
        except (ConfigError, OSError) as exc:
            refused.append(f"{path}: {_one_line(exc)}")
            continue
        merge(merged, Config._load_paths(conf, str(path)))
    for section in ("core", "cache", "remote"):
        merged.setdefault(section, {})
    problem = "; ".join(dict.fromkeys(refused))
    try:
        return DvcConfig(Config.validate(merged), problem)
    except ConfigError:
        return DvcConfig(merged, problem, validated=False)


def load_dvc_config(root: Path) -> DvcConfig:
    """All configuration levels of the DVC project at ``root``, merged by ``dvc.config.Config``."""
    from dvc.config import Config, ConfigError

    dvc_dir = root / ".dvc"
    try:
        return DvcConfig(dict(Config(dvc_dir=str(dvc_dir), validate=True)))
    except ConfigError as exc:
        return _tolerant(dvc_dir, f"DVC config of {root}: {_one_line(exc)}")
    except (OSError, ValueError) as exc:  # an unreadable file, a broken home folder
        return _tolerant(dvc_dir, f"DVC config of {root}: {_one_line(exc)}")


def cache_dir_of(root: Path) -> Path:
    """The DVC cache folder of a work tree: ``cache.dir`` from any level, else ``.dvc/cache``."""
    value = load_dvc_config(root).data.get("cache", {}).get("dir")
    if isinstance(value, str) and value:
        return Path(value).expanduser().resolve()  # DVC made a relative one absolute
    return root / ".dvc" / "cache"


@dataclass(frozen=True)
class RemoteConfig:
    """A DVC remote: its name, URL and every setting of its section (all levels merged)."""

    name: str
    url: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    config: DvcConfig | None = field(default=None, compare=False, repr=False)

    @property
    def scheme(self) -> str:
        """``s3``, ``https``, ``ssh``…; ``local`` for a folder."""
        head, sep, _ = self.url.partition("://")
        return head.lower() if sep and head.lower() != "file" else "local"

    @property
    def endpoint_url(self) -> str | None:
        value = self.settings.get("endpointurl")
        return str(value) if value else None


def remote_config(root: Path, name: str | None = None) -> RemoteConfig | None:
    """The named remote, else the default remote (``core.remote``); None when there is none.

    RemoteError when DVC refuses the configuration and no remote section can be read from it.
    """
    config = load_dvc_config(root)
    return remote_of(config, name, root)


def remote_of(config: DvcConfig, name: str | None, root: Path) -> RemoteConfig | None:
    """The remote ``name`` (default: ``core.remote``) of a loaded configuration."""
    remotes = config.data.get("remote", {})
    if name is None:
        name = config.data.get("core", {}).get("remote")
    if not name:
        if config.problem and not remotes:
            raise RemoteError(config.problem)
        return None
    section = remotes.get(name)
    if not isinstance(section, dict) or not section.get("url"):
        return None
    return RemoteConfig(str(name), str(section["url"]), dict(section), config)
