"""Typed configs from YAML: dataclasses filled from nested dicts, with checked values.

Every stage (simulation, models, training) keeps its settings in dataclasses; this module turns
YAML files and CLI overrides into them, once, for all stages.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_type_hints

import yaml

from caloforge.errors import InputError

__all__ = ["from_dict", "merge", "read_yaml", "to_dict"]

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a nested dict, checking keys and value types.

    Arguments:
        cls: A dataclass type (nested dataclass fields are filled from nested dicts).
        data: The values; missing keys keep the dataclass defaults.
        where: Name of the source, used in error messages.

    Returns:
        The dataclass instance.

    Example:
        >>> @dataclasses.dataclass
        ... class Opt:
        ...     lr: float = 1e-3
        ...     hidden: list[int] = dataclasses.field(default_factory=list)
        >>> from_dict(Opt, {"lr": 1, "hidden": [8, 8]})
        Opt(lr=1.0, hidden=[8, 8])
    """
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - known
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                         f"known keys: {', '.join(sorted(known))}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            kwargs[name] = from_dict(hint, value, f"{where}.{name}")  # type: ignore[arg-type]
        else:
            kwargs[name] = _coerce(value, hint, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a value against its annotation; ints become floats where floats are expected."""
    origin = typing.get_origin(hint)
    try:
        if origin in (typing.Union, types.UnionType):
            options = [h for h in typing.get_args(hint) if h is not type(None)]
            if value is None:
                return None
            return _coerce(value, options[0], where)
        if origin is Literal:
            if value not in typing.get_args(hint):
                choices = ", ".join(map(str, typing.get_args(hint)))
                raise InputError(f"{where}: {value!r} is not one of {choices}", "fix the value")
            return value
        if origin is list:
            (item,) = typing.get_args(hint) or (Any,)
            if not isinstance(value, list | tuple):
                raise TypeError
            return [_coerce(v, item, where) for v in value]
        if hint is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if hint is int:
            if isinstance(value, bool) or int(value) != value:
                raise TypeError
            return int(value)
        if hint is bool and not isinstance(value, bool):
            raise TypeError
        if hint is str and not isinstance(value, str):
            raise TypeError
    except (TypeError, ValueError):
        raise InputError(f"{where}: {value!r} is not a valid {getattr(hint, '__name__', hint)}",
                         "fix the value") from None
    return value


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively by ``over``; None values in ``over`` are ignored.

    Example:
        >>> merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 5}, "a": None})
        {'a': 1, 'b': {'c': 5, 'd': 3}}
    """
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict):
            out[key] = merge(out.get(key) or {}, value)
        elif value is not None:
            out[key] = value
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (empty file -> ``{}``), with one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config '{path}' not found", "check the path")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"config '{path}' is not valid YAML ({exc})", "fix the file") from None
    if not isinstance(data, dict):
        raise InputError(f"config '{path}' is not a mapping", "write 'key: value' lines")
    return data


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as a plain nested dict (YAML/JSON ready).

    Example:
        >>> @dataclasses.dataclass
        ... class A:
        ...     x: int = 1
        >>> to_dict(A())
        {'x': 1}
    """
    return dataclasses.asdict(obj)
