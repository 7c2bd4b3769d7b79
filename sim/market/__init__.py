"""Economic scenarios: curves, generators and the Scenarios container.

Every function here takes a :class:`~sim.market.inputs.MarketInputs` (built from a config
once, by :func:`sim.boundary.market_inputs`), never the config: this layer does not import
``sim.config``. :func:`generate_scenarios` (in :mod:`sim.market.generate`) turns the inputs
into :class:`Scenarios`:

========== ============================================================ ==============
model      generator                                                    basis
========== ============================================================ ==============
gbm        :func:`sim.market.gbm.generate_gbm` on the initial curve     risk_neutral
hull_white :func:`sim.market.hull_white.generate_hull_white`            risk_neutral
rsln       :func:`sim.market.rsln.generate_rsln2` (monthly, one index)  real_world
slv        :func:`sim.market.slv.generate_slv` (monthly, one index)     real_world
file       :func:`sim.market.files.read_scenarios`                      the file's
========== ============================================================ ==============

The generators (and scipy) are imported on first use (module ``__getattr__``), so
``sim.market.inputs`` is cheap to import from ``sim.config``.
"""

from __future__ import annotations

from .._lazy import lazy_names
from .inputs import MONEY_MARKET_INDEX, CurveInputs, HullWhiteInputs, MarketInputs

__all__ = [
    "MONEY_MARKET_INDEX",
    "CurveInputs",
    "HullWhiteInputs",
    "MarketInputs",
    "Scenarios",
    "ZeroCurve",
    "generate_scenarios",
    "market_basis",
    "market_curve",
    "random_stream",
    "read_market_file",
    "slice_scenarios",
]

_WHERE = {
    "Scenarios": "scenarios",
    "random_stream": "scenarios",
    "ZeroCurve": "curve",
    "generate_scenarios": "generate",
    "market_basis": "generate",
    "market_curve": "generate",
    "read_market_file": "generate",
    "slice_scenarios": "generate",
}


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
