"""Configuration dataclasses: TOML loading, command-line options and validation from one definition.

Every configurable object in astroglia is a frozen-free ``@dataclass`` whose fields carry their help text in
``field(metadata={"help": ...})`` and whose ``validate()`` raises
:class:`~astroglia.errors.ConfigError` naming
the field. :func:`add_options` turns such a class into ``argparse`` options (one per field, ``--field-name``),
and :func:`build_config` merges defaults < TOML file < command line, then validates, so that a bad value fails
before any expensive work starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from astroglia.errors import ConfigError

T = TypeVar("T")


def _base_type(tp: Any) -> tuple[type, bool]:
    """Return (scalar type, is_optional) of a field annotation such as ``float | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def _fields(cls: type) -> list[tuple[dataclasses.Field, type, bool]]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        base, optional = _base_type(hints[f.name])
        out.append((f, base, optional))
    return out


def _parse_optional(base: type):
    def parse(text: str):
        if text.lower() in ("none", "null", ""):
            return None
        return base(text)

    return parse


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_options(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    group_title: str | None = None,
    exclude: tuple[str, ...] = (),
    shown_defaults: dict[str, Any] | None = None,
) -> None:
    """Add one ``--field-name`` option per field of dataclass ``cls``; defaults stay unset (``None``).

    Unset options do not override the TOML file or the dataclass defaults in :func:`build_config`. Fields in
    ``exclude`` get no option. ``shown_defaults`` replaces the default shown in the help of the fields a
    command sets differently from the dataclass.
    """
    group = parser.add_argument_group(group_title or cls.__name__)
    for f, base, optional in _fields(cls):
        if f.name in exclude:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        default = (shown_defaults or {}).get(f.name, default)
        help_text = f.metadata.get("help", "")
        help_text = f"{help_text} (default: {default})" if help_text else f"default: {default}"
        flag = "--" + f.name.replace("_", "-")
        if base is bool:
            group.add_argument(
                flag, dest=f.name, type=_parse_bool, default=None, metavar="BOOL", help=help_text
            )
            no_flag = "--no-" + f.name.replace("_", "-")
            group.add_argument(no_flag, dest=f.name, action="store_const", const=False, help=f"{flag} false")
        elif base in (int, float, str):
            kind = _parse_optional(base) if optional else base
            choices = f.metadata.get("choices")
            group.add_argument(flag, dest=f.name, type=kind, default=None, choices=choices, help=help_text)
        # other field types (lists, nested tables) are set through the TOML file only


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file into a dict; a missing or malformed file raises ConfigError naming it."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc


def from_dict(cls: type[T], data: dict[str, Any], *, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrongly typed values raise ConfigError."""
    known = {f.name: (f, base, optional) for f, base, optional in _fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} in {where}; valid options: {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        _f, base, optional = known[name]
        if value is None:
            if not optional:
                raise ConfigError(f"{name}: None is not allowed")
            kwargs[name] = None
            continue
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if base in (int, float, str, bool) and not isinstance(value, base):
            raise ConfigError(f"{name}: expected {base.__name__}, got {value!r} ({type(value).__name__})")
        if base is int and isinstance(value, bool):
            raise ConfigError(f"{name}: expected int, got {value!r}")
        kwargs[name] = value
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate()
    return obj


def build_config(
    cls: type[T],
    *,
    toml: dict[str, Any] | None = None,
    args: argparse.Namespace | None = None,
    where: str = "config",
) -> T:
    """Merge dataclass defaults < ``toml`` mapping < explicitly given ``args``; validate; return ``cls``.

    ``where`` names the source in errors (e.g. ``"[mgd] of my.toml"``)."""
    data: dict[str, Any] = dict(toml or {})
    if args is not None:
        for f in dataclasses.fields(cls):
            value = getattr(args, f.name, None)
            if value is not None:
                data[f.name] = value
    return from_dict(cls, data, where=where)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict form of a config dataclass (for JSON and TOML records)."""
    return dataclasses.asdict(obj)


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an int and not a bool (``True`` is an int to Python, never a count here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """Whether ``value`` is an int or a float and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(condition: bool, field: str, value: Any, requirement: str) -> None:
    """Raise ConfigError ``"<field> = <value>: <requirement>"`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{field} = {value!r}: {requirement}")
