"""Settings declared once and read by one loader, with one error format.

A setting is a field of a frozen dataclass: its name, its type (the annotation), its default and
its help text (:func:`setting`, kept in the field's metadata) are written once, where the code
reads them. :func:`load_section` turns a mapping read from YAML or TOML into such a dataclass and
every mistake into one line, ``params.yaml: gate.floors.roc_auc: expected a number, got 'high'``.
``mlpages.yaml`` (:mod:`mlpages.config`) and the ``params.yaml`` sections of the CT guards
(``validate``, ``gate``, ``monitor``) all go through it.

Conversion rules, by annotation: ``str`` takes a string (a number is converted: ``label: 1``
reads as an int in YAML), ``bool`` only ``true``/``false``, ``int`` an integer (not a bool),
``float`` any number (not a bool), ``tuple[str, ...]`` a list, ``dict[str, X]`` a mapping whose
values are converted as ``X``, ``X | Y`` the first alternative that fits exactly, and a settings
dataclass a mapping loaded over the field's default. ``choices`` and ``minimum`` constrain the
values; a null value always means the default.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from mlpages.errors import ConfigError
from mlpages.safe_yaml import TooLargeError, load_yaml

T = TypeVar("T")
SHOWN_CHARS = 60  # a wrong value is quoted in the error up to this many characters


def setting(
    default: Any = MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    help: str,
    choices: Collection[str] = (),
    minimum: float | None = None,
) -> Any:
    """A dataclass field carrying its help text (and its constraint) in its metadata."""
    metadata = {"help": help, "choices": tuple(choices), "minimum": minimum}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Option:
    """One setting as the documentation sees it."""

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None


@dataclass(frozen=True)
class _Rule:
    choices: tuple[str, ...] = ()
    minimum: float | None = None


@functools.cache
def _fields(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    hints = get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def options_of(cls: type) -> tuple[Option, ...]:
    """Every setting of a settings dataclass, in declaration order."""
    options = []
    for f, kind in _fields(cls):
        default = f.default if f.default_factory is MISSING else f.default_factory()
        meta = f.metadata
        options.append(
            Option(
                f.name,
                kind,
                default,
                meta.get("help", ""),
                meta.get("choices", ()),
                meta.get("minimum"),
            )
        )
    return tuple(options)


def names_of(cls: type) -> tuple[str, ...]:
    """The setting names of a settings dataclass."""
    return tuple(f.name for f, _ in _fields(cls))


# --- where a value is, and what is wrong with it -------------------------------------------------


@dataclass(frozen=True)
class _Where:
    source: str  # the file (and, for pyproject.toml, its table)
    path: str = ""  # the dotted setting name inside it

    def key(self, name: str) -> _Where:
        return _Where(self.source, f"{self.path}.{name}" if self.path else name)

    def item(self, index: int) -> _Where:
        return _Where(self.source, f"{self.path}[{index}]")

    def error(self, problem: str) -> ConfigError:
        return ConfigError(
            f"{self.source}: {self.path}: {problem}" if self.path else f"{self.source}: {problem}"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _bound(rule: _Rule) -> str:
    return "" if rule.minimum is None else f" >= {rule.minimum:g}"


def _expected(kind: Any, rule: _Rule) -> str:
    """What a value of ``kind`` must be, in the words of an error."""
    if get_origin(kind) in (Union, types.UnionType):
        return " or ".join(_expected(option, rule) for option in get_args(kind))
    if get_origin(kind) is tuple:
        return "a list of names" if get_args(kind)[0] is str else "a list"
    if get_origin(kind) is dict or dataclasses.is_dataclass(kind):
        return "a mapping"
    if kind is str:
        return f"one of {', '.join(rule.choices)}" if rule.choices else "a string"
    if kind is bool:
        return "true or false"
    if kind is int:
        return "an integer" + _bound(rule)
    if kind is float:
        return "a number" + _bound(rule)
    raise TypeError(f"no conversion rule for {kind!r}")


# --- conversion ----------------------------------------------------------------------------------


def _convert(kind: Any, value: Any, where: _Where, rule: _Rule, exact: bool = False) -> Any:
    """``value`` as ``kind``; ``exact``: no conversion of numbers to text (inside a union)."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        for option in get_args(kind):
            try:
                return _convert(option, value, where, rule, exact=True)
            except ConfigError:
                continue
    elif origin is tuple and isinstance(value, list | tuple):
        (item_kind, _) = get_args(kind)
        return tuple(
            _convert(item_kind, item, where.item(i), rule, exact) for i, item in enumerate(value)
        )
    elif origin is dict and isinstance(value, Mapping):
        _, value_kind = get_args(kind)
        return {
            str(key): _convert(value_kind, item, where.key(str(key)), rule, exact)
            for key, item in value.items()
        }
    elif origin is None and _fits(kind, value, rule, exact):
        if kind is float:
            return float(value)
        return str(value) if kind is str else value
    raise where.error(f"expected {_expected(kind, rule)}, got {_shown(value)}")


def _fits(kind: Any, value: Any, rule: _Rule, exact: bool) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str:
        text = value if isinstance(value, str) else str(value) if number and not exact else None
        return text is not None and (not rule.choices or text in rule.choices)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        number = number and isinstance(value, int)
    elif kind is not float:
        raise TypeError(f"no conversion rule for {kind!r}")
    # NaN compares false with everything: it never meets a minimum.
    return number and (rule.minimum is None or value >= rule.minimum)


def _mapping(raw: Any, where: _Where) -> Mapping[Any, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise where.error(f"expected a mapping, got {_shown(raw)}")
    return raw


def _unknown(mapping: Mapping[Any, Any], known: Collection[str], where: _Where) -> None:
    for key in mapping:
        if str(key) not in known:
            raise where.key(str(key)).error(f"unknown setting (known: {', '.join(known)})")


def _load(cls: type[T], raw: Any, where: _Where, base: T | None, ignore_unknown: bool) -> T:
    mapping = _mapping(raw, where)
    if not ignore_unknown:
        _unknown(mapping, names_of(cls), where)
    given = {str(key): value for key, value in mapping.items()}
    start = base if base is not None else cls()
    values: dict[str, Any] = {}
    for f, kind in _fields(cls):
        value = given.get(f.name)
        if value is None:
            continue  # null means the default
        at = where.key(f.name)
        if dataclasses.is_dataclass(kind):
            values[f.name] = _load(kind, value, at, getattr(start, f.name), False)
        else:
            rule = _Rule(f.metadata.get("choices", ()), f.metadata.get("minimum"))
            values[f.name] = _convert(kind, value, at, rule)
    return dataclasses.replace(start, **values)


def load_section(
    cls: type[T],
    raw: Any,
    source: str,
    section: str = "",
    *,
    base: T | None = None,
    ignore_unknown: bool = False,
) -> T:
    """A mapping read from YAML/TOML as a frozen ``cls``; every mistake is one ConfigError line.

    ``source`` names the file, ``section`` the dotted place of ``raw`` in it (``gate``); values
    missing from ``raw`` (or null) keep those of ``base`` (default: ``cls()``).
    """
    return _load(cls, raw, _Where(source, section), base, ignore_unknown)


def load_sections(raw: Any, source: str, section: str, *classes: type) -> tuple[Any, ...]:
    """One section shared by several classes (params ``monitor:``): unknown = in none of them."""
    where = _Where(source, section)
    mapping = _mapping(raw, where)
    _unknown(mapping, [name for cls in classes for name in names_of(cls)], where)
    return tuple(_load(cls, mapping, where, None, True) for cls in classes)


# --- reading the files ---------------------------------------------------------------------------


def parse_yaml_mapping(text: str, source: str) -> dict[Any, Any]:
    """The top-level mapping of a YAML document (empty for an empty one)."""
    import yaml

    try:
        raw = load_yaml(text)
    except TooLargeError as exc:
        raise ConfigError(f"{source}: too large: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{source}: not valid YAML: {first}") from None
    return dict(_mapping(raw, _Where(source)))


def read_yaml_file(path: Path) -> dict[Any, Any]:
    """The top-level mapping of a YAML file of the project (params.yaml, schema.yaml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_yaml_mapping(text, str(path))


def read_yaml_section(path: Path | None, section: str) -> dict[Any, Any]:
    """The ``section`` mapping of a YAML file such as params.yaml (empty when either is absent)."""
    if path is None or not path.is_file():
        return {}
    document = read_yaml_file(path)
    return dict(_mapping(document.get(section), _Where(str(path), section)))
