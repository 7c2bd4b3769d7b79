"""The config boundary: a validated ``Config`` translated once into the lower layers' inputs.

Below this step functions take the terms they need, not the config: :func:`market_inputs`
gives ``sim.market`` its :class:`~sim.market.inputs.MarketInputs` (model, parameters with
their defaults, scenario settings, the scenario file's resolved path). This module may
import both ``sim.config`` and the lower layers; ``sim.market`` never imports ``sim.config``
(``tests/test_layering.py``).
"""

from __future__ import annotations

import numpy as np

from .config import Config, HullWhiteConfig, RSLNConfig, SLVConfig
from .market.inputs import CurveInputs, HullWhiteInputs, MarketInputs

__all__ = ["market_inputs"]


def _curve_inputs(market) -> CurveInputs | None:
    if market.par_swaps is not None:
        ps = market.par_swaps
        return CurveInputs("par_swaps", tuple(ps.rates), tuple(ps.tenors), ps.frequency)
    if market.curve is not None:
        return CurveInputs("zero", tuple(market.curve.zero_rates), tuple(market.curve.tenors))
    if market.rate is not None:
        return CurveInputs("flat", (float(market.rate),))
    return None


def market_inputs(config: Config) -> MarketInputs:
    """The market inputs of ``config``: its ``[market]`` section and the scenario settings of
    ``[run]`` (seed, scenario count, steps a year, shock method)."""
    market, run = config.market, config.run
    model = market.model
    hull_white = real_world = None
    if model == "hull_white":
        hw = market.hull_white or HullWhiteConfig()
        hull_white = HullWhiteInputs(hw.mean_reversion, hw.volatility)
    elif model == "rsln":
        real_world = (market.rsln or RSLNConfig()).params()
    elif model == "slv":
        real_world = (market.slv or SLVConfig()).params()
    return MarketInputs(
        model=model,
        index_names=tuple(i.name for i in market.indices),
        volatilities=np.array(
            [np.nan if i.volatility is None else i.volatility for i in market.indices], float
        ),
        dividend_yields=np.array([i.dividend_yield for i in market.indices], float),
        correlation=market.equity_correlation(),
        rate_correlation=market.rate_correlation() if model == "hull_white" else None,
        curve=_curve_inputs(market),
        rate=market.rate,
        hull_white=hull_white,
        real_world=real_world,
        file=config.resolve(market.file) if market.file else None,
        scenarios=run.scenarios,
        seed=run.seed,
        steps_per_year=run.steps_per_year,
        shock_method=run.shock_method,
        scrambles=run.qmc_scrambles if run.qmc else 1,
    )
