"""Package exports imported on first use (PEP 562), so that ``import caloforge`` and
``caloforge --help`` stay fast while ``caloforge.X`` keeps working for every exported name."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for a package whose exported names live in submodules.

    Arguments:
        package: The package's ``__name__``.
        exports: Exported name -> the module that defines it (``.sub`` relative to
            ``package``); the name may be ``module:attribute`` to export under another name.

    Example:
        >>> getattr_ = lazy_exports("caloforge", {"InputError": ".errors"})
        >>> getattr_("InputError").__name__
        'InputError'
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = exports[name].partition(":")
        return getattr(import_module(module, package), attr or name)

    return __getattr__
