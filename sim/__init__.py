"""sim: Monte Carlo pricing of a variable annuity's Accumulation Benefit Rider.

The public API::

    from sim import load_config, price
    result = price(load_config("configs/example.toml"))
    result.block["pv_claims"], result.block["pv_claims_se"], result.block["breakeven_fee"]

The names are imported on first use (module ``__getattr__``), so ``import sim`` and the
``abrsim`` command line start without loading the engine.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._lazy import lazy_names

__all__ = [
    "Config",
    "ConfigError",
    "Result",
    "greeks",
    "hedge_report",
    "load_config",
    "load_inforce",
    "price",
    "sweep",
    "synthetic_inforce",
]

_WHERE = {
    "Config": "config",
    "ConfigError": "config",
    "load_config": "config",
    "load_inforce": "inforce",
    "synthetic_inforce": "inforce",
    "Result": "valuation",
    "price": "valuation",
    "greeks": "risk",
    "hedge_report": "risk",
    "sweep": "sweep",  # the function; import the module's other names with `from sim.sweep import`
}

try:  # one source for the version: the package metadata (pyproject.toml)
    __version__ = version("sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
