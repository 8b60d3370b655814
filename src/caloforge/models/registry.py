"""The registry of model families: built-in ones, and third-party ones found through the
``caloforge.models`` entry-point group.

A package adds a family by declaring, in its ``pyproject.toml``::

    [project.entry-points."caloforge.models"]
    myflow = "mypackage.family:FAMILY"

where ``FAMILY`` is a :class:`~caloforge.models.family.Family`. Families are imported only when
used, so listing them stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from caloforge.config import from_dict, merge, read_yaml
from caloforge.errors import InputError, suggest
from caloforge.models.family import Family

__all__ = ["ENTRY_POINT_GROUP", "family_names", "get_family", "load_recipe", "register_family"]

ENTRY_POINT_GROUP = "caloforge.models"
_BUILTIN = {"caloflow": "caloforge.models.caloflow:FAMILY",
            "baseline": "caloforge.models.baseline:FAMILY",
            "caloman": "caloforge.models.caloman:FAMILY"}
_REGISTERED: dict[str, Family] = {}


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def family_names() -> list[str]:
    """Names of every family: built in, registered, and from entry points.

    Example:
        >>> {"caloflow", "baseline"} <= set(family_names())
        True
    """
    return sorted({*_BUILTIN, *_REGISTERED, *_entry_points()})


def register_family(family: Family) -> None:
    """Register a family object in this process (entry points do it for installed packages)."""
    _REGISTERED[family.name] = family


def get_family(name: str) -> Family:
    """The family called ``name``.

    Raises:
        InputError: no such family (with the nearest name), or an entry point that does not
            give a :class:`Family`.

    Example:
        >>> get_family("caloflow").name
        'caloflow'
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTIN:
        module, attr = _BUILTIN[name].split(":")
        family = getattr(import_module(module), attr)
    else:
        found = _entry_points().get(name)
        if found is None:
            raise InputError(f"unknown model family '{name}'", suggest(name, family_names()))
        try:
            family = found.load()
        except Exception as exc:  # a broken plug-in must not take the command down
            raise InputError(f"model family '{name}' ({found.value}) failed to load: {exc}",
                             "fix or uninstall the package that provides it") from None
    if not isinstance(family, Family):
        raise InputError(f"model family '{name}' is a {type(family).__name__}, not a Family",
                         "its entry point must name a caloforge.models.family.Family")
    return family


def load_recipe(family: Family, source: str | Path | None = None, geometry: str | None = None,
                overrides: dict[str, Any] | None = None) -> Any:
    """A family's recipe from a preset name or YAML file, with nested ``overrides`` applied.

    Arguments:
        family: The family.
        source: Preset name or YAML path; None picks the geometry's preset, else ``default``,
            else the recipe's own defaults.
        geometry: Geometry name used when ``source`` is None.
        overrides: Nested values that win over the file (None values are ignored).

    Example:
        >>> r = load_recipe(get_family("caloflow"), "tiny", overrides={"train": {"epochs": 1}})
        >>> r.train.epochs, r.model.flow2.kind, r.student.kind
        (1, 'maf', 'iaf')
    """
    names = family.preset_names()
    if source is None:
        source = geometry if geometry in names else "default" if "default" in names else None
    data: dict[str, Any] = {}
    where = f"{family.name} recipe"
    if source is not None:
        if str(source).endswith((".yaml", ".yml")):
            path = Path(source)
        elif str(source) in names and family.presets is not None:
            path = Path(str(family.presets / f"{source}.yaml"))
        else:
            raise InputError(f"no {family.name} preset or recipe '{source}'",
                             suggest(str(source), names, " or a YAML file"))
        data, where = read_yaml(path), path.name
    return from_dict(family.recipe_class, merge(data, overrides or {}), where)
