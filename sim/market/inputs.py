"""What the market layer needs to know: :class:`MarketInputs`, built once from a config.

The pydantic ``Config`` stays above this layer: :func:`sim.boundary.market_inputs` translates
its ``[market]`` and ``[run]`` sections into a :class:`MarketInputs` once (defaults filled
in, paths resolved, model parameters looked up), and every function of ``sim.market`` takes
that record. This module imports nothing heavier than numpy, so ``sim.config`` can take
:data:`MONEY_MARKET_INDEX` from here without loading the generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .rsln import RSLN2Params
    from .slv import SLVParams

__all__ = ["MONEY_MARKET_INDEX", "CurveInputs", "HullWhiteInputs", "MarketInputs"]

#: The built-in short-rate index: a fund may hold it; no index or file column may take the name.
MONEY_MARKET_INDEX = "money_market"


class CurveInputs(NamedTuple):
    """The initial curve as given: a flat rate, zero rates at tenors, or par swap rates.

    ``kind`` is ``"flat"`` (``rates`` holds the one continuously compounded rate, no
    tenors), ``"zero"`` (continuously compounded zero rates at ``tenors``, years) or
    ``"par_swaps"`` (par rates at ``tenors``, fixed leg paying ``frequency`` times a year;
    bootstrapped by :func:`sim.market.curve.bootstrap_par_swaps`).
    """

    kind: str
    rates: tuple[float, ...]
    tenors: tuple[float, ...] = ()
    frequency: int = 1


class HullWhiteInputs(NamedTuple):
    """One-factor Hull-White short rate: mean reversion a year, absolute volatility."""

    mean_reversion: float
    volatility: float


@dataclass(frozen=True, eq=False)
class MarketInputs:
    """The market model, its parameters and the scenario settings of a run.

    Attributes
    ----------
    model : str
        ``gbm``, ``hull_white``, ``rsln``, ``slv`` or ``file``.
    index_names : tuple of str
        The indices, in config order (the last axis of the scenario arrays).
    volatilities : ndarray(float64, (n_indices,))
        Lognormal volatility of each index (nan where none is given: rsln, slv, file).
    dividend_yields : ndarray(float64, (n_indices,))
    correlation : ndarray(float64, (n_indices, n_indices))
        Correlation of the indices' shocks.
    rate_correlation : ndarray(float64, (n_indices + 1, n_indices + 1)) or None
        ``hull_white``: the indices and the short rate (last); None otherwise.
    curve : CurveInputs or None
        The initial curve; None only for a scenario file given without one.
    rate : float or None
        The flat rate as given (the money market and discounting of rsln and slv).
    hull_white : HullWhiteInputs or None
        ``hull_white`` only.
    real_world : RSLN2Params or SLVParams or None
        ``rsln`` / ``slv`` only: the monthly model's parameters.
    file : Path or None
        ``file`` only: the scenario file, resolved against the config's folder.
    scenarios, seed, steps_per_year : int
        Scenario count (a file brings its own), seed, steps a year.
    shock_method : str
        ``pseudo``, ``antithetic`` or ``sobol``.
    scrambles : int
        Independent Sobol scrambles (1 unless ``shock_method`` is ``sobol``).
    """

    model: str
    index_names: tuple[str, ...]
    volatilities: np.ndarray
    dividend_yields: np.ndarray
    correlation: np.ndarray
    rate_correlation: np.ndarray | None
    curve: CurveInputs | None
    rate: float | None
    hull_white: HullWhiteInputs | None
    real_world: RSLN2Params | SLVParams | None
    file: Path | None
    scenarios: int
    seed: int
    steps_per_year: int
    shock_method: str = "pseudo"
    scrambles: int = 1

    @property
    def antithetic(self) -> bool:
        return self.shock_method == "antithetic"

    @property
    def qmc(self) -> bool:
        return self.shock_method == "sobol"
