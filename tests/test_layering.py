"""The config boundary (docs/DESIGN principle "One config boundary"): the market layer takes
:class:`sim.market.inputs.MarketInputs`, never the pydantic config, and the product and
assumptions layers take their terms. Every import of every module under ``sim/market``,
``sim/product`` and ``sim/assumptions`` (at the top, inside functions, under
``TYPE_CHECKING``) is read with ``ast`` and must stay inside its layer or below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sim

PACKAGE = Path(sim.__file__).parent
BOTTOM = ("sim.errors", "sim._numba", "sim._lazy")
#: What each lower layer may import from the rest of ``sim``: itself and the layers below it.
#: Anything else (config, boundary, cli, valuation, sweep, risk, engine, inforce, ...) is a
#: layer above.
ALLOWED = {
    "market": ("sim.market", *BOTTOM),
    "product": ("sim.product", *BOTTOM),
    "assumptions": ("sim.assumptions", "sim.product", *BOTTOM),
}
MODULES = [p for layer in ALLOWED for p in sorted((PACKAGE / layer).rglob("*.py"))]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in ``source``, the text of ``module``; for
    ``from X import Y`` both ``X`` and ``X.Y`` (``Y`` may be a submodule, as in
    ``from .. import config``)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def imports_of(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return imported_modules(text, module_name(path), path.name == "__init__.py")


def test_the_layers_have_their_modules():
    assert PACKAGE / "market" / "__init__.py" in MODULES
    assert sum(p.parent.name == "market" for p in MODULES) >= 8


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_lower_layer_imports_neither_the_config_nor_a_higher_layer(path):
    allowed = ALLOWED[path.relative_to(PACKAGE).parts[0]]
    bad = []
    for line, name in imports_of(path):
        if name != "sim" and not name.startswith("sim."):
            continue  # numpy, scipy, the standard library
        if name == "sim" or any(name == a or name.startswith(a + ".") for a in allowed):
            continue
        bad.append(f"{path.relative_to(PACKAGE)}:{line}: imports {name}")
    assert not bad, "\n".join(bad)


def test_the_check_sees_relative_and_lazy_imports():
    """Relative imports are resolved, also inside a function: the old ``sim.market`` took
    ``ConfigError`` from ``..config`` at the top and its default sections inside a function."""
    source = "from ..config import ConfigError\ndef f():\n    from .. import cli\n"
    names = {n for _, n in imported_modules(source, "sim.market.generate")}
    assert {"sim.config", "sim.config.ConfigError", "sim.cli"} <= names
    names = {n for _, n in imported_modules("from . import gbm\n", "sim.market", True)}
    assert names == {"sim.market", "sim.market.gbm"}
