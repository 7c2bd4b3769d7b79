"""Names a package imports on first use (module ``__getattr__``), so importing it is cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ["lazy_names"]


def lazy_names(package: str, where: dict[str, str]) -> tuple[Callable, Callable]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each name to the
    submodule (relative, without the dot) that defines it."""
    module = sys.modules[package]

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f".{where[name]}", package), name)
            setattr(module, name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(module), *where})

    return __getattr__, __dir__
