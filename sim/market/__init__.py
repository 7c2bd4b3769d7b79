"""Economic scenarios: curves, generators and the Scenarios container."""

from __future__ import annotations

import numpy as np

from .curve import ZeroCurve, curve_from_config
from .gbm import generate_gbm
from .scenarios import Scenarios, random_stream

__all__ = ["Scenarios", "ZeroCurve", "generate_scenarios", "random_stream"]


def generate_scenarios(config, n_steps: int, n_scenarios: int | None = None) -> Scenarios:
    """Scenarios of the config's ``[market]`` model covering ``n_steps`` steps."""
    market, run = config.market, config.run
    n_idx = len(market.indices)
    corr = np.eye(n_idx) if market.correlation is None else np.asarray(market.correlation, float)
    return generate_gbm(
        curve=curve_from_config(market),
        volatilities=np.array([i.volatility for i in market.indices]),
        dividend_yields=np.array([i.dividend_yield for i in market.indices]),
        correlation=corr,
        n_scenarios=n_scenarios or run.scenarios,
        n_steps=n_steps,
        steps_per_year=run.steps_per_year,
        seed=run.seed,
        antithetic=run.antithetic,
        index_names=tuple(i.name for i in market.indices),
    )
