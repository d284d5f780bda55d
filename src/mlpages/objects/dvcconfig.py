"""The one reader of a DVC project's ``.dvc/config`` (+ ``config.local``): cache folder, remotes.

DVC writes these files with configobj: INI sections such as ``['remote "store"']``, values
optionally quoted, ``#`` comments. They are read here with the standard library's configparser
into that shape (section names and values unquoted); ``config.local`` (never committed: where
credentials and endpoints live) wins over ``config``.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from mlpages.errors import RemoteError

CONFIG_FILES = ("config", "config.local")  # later files win


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _parse(path: Path) -> dict[str, dict[str, str]]:
    """One config file by section; RemoteError when it is not readable INI."""
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, inline_comment_prefixes=("#",), default_section="\0"
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except (OSError, configparser.Error) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise RemoteError(f"{path}: cannot parse DVC config: {detail}") from None
    return {
        _unquote(section): {key: _unquote(value) for key, value in parser[section].items()}
        for section in parser.sections()
    }


def read_dvc_config(root: Path, strict: bool = True) -> dict[str, dict[str, str]]:
    """``.dvc/config`` merged with ``.dvc/config.local`` of the project at ``root``.

    ``strict``: a file that does not parse raises RemoteError; otherwise it is skipped.
    """
    merged: dict[str, dict[str, str]] = {}
    for name in CONFIG_FILES:
        path = root / ".dvc" / name
        if not path.is_file():
            continue
        try:
            parsed = _parse(path)
        except RemoteError:
            if strict:
                raise
            continue
        for section, values in parsed.items():
            merged.setdefault(section, {}).update(values)
    return merged


def cache_dir_of(root: Path) -> Path:
    """The DVC cache folder of a work tree: ``cache.dir`` of .dvc/config.local, .dvc/config,
    else ``.dvc/cache`` (relative values are relative to ``.dvc/``)."""
    dvc_dir = root / ".dvc"
    # An unparsable config.local must not hide the committed cache.dir.
    value = read_dvc_config(root, strict=False).get("cache", {}).get("dir")
    if value:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else (dvc_dir / path).resolve()
    return dvc_dir / "cache"


@dataclass(frozen=True)
class RemoteConfig:
    """A DVC remote as configured in ``.dvc/config`` (+ ``config.local``)."""

    name: str
    url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @property
    def bucket_and_prefix(self) -> tuple[str, str]:
        rest = self.url.split("://", 1)[1]
        bucket, _, prefix = rest.partition("/")
        return bucket, prefix.strip("/")


def remote_config(root: Path, name: str | None = None) -> RemoteConfig | None:
    """The named remote, or the default remote (``core.remote``); None when there is none.

    RemoteError when a config file does not parse.
    """
    config = read_dvc_config(root)
    if name is None:
        name = config.get("core", {}).get("remote")
    if not name:
        return None
    section = config.get(f'remote "{name}"')
    if section is None or "url" not in section:
        return None
    return RemoteConfig(
        name=name,
        url=section["url"],
        endpoint_url=section.get("endpointurl"),
        region=section.get("region"),
        profile=section.get("profile"),
        access_key_id=section.get("access_key_id"),
        secret_access_key=section.get("secret_access_key"),
    )
