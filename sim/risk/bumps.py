"""Bumped copies of a block: index levels, volatilities and the zero curve.

Every revaluation goes through :func:`sim.price` on a transformed config and / or inforce
frame, so the engine underneath may change freely. With common random numbers (the
default) a bumped config keeps ``run.seed``, so the generators draw the same standard
normal shocks and the per-scenario differences of block totals isolate the bump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..boundary import market_inputs
from ..config import MONEY_MARKET_INDEX, Config, ConfigError, config_from_dict
from ..engine.driver import path_standard_errors
from ..inforce import allocation_weights
from ..market import market_curve
from ..valuation import Result, block_inputs, price

__all__ = [
    "MEASURES",
    "Revaluation",
    "base_inforce",
    "index_shares",
    "key_rate_weights",
    "mean_and_se",
    "revaluation_config",
    "revalue",
    "shock_index_levels",
    "with_curve_shift",
    "with_volatility_shift",
]

#: Block measures the risk report follows (columns of :attr:`Result.scenarios`).
MEASURES = ("net_cost", "pv_claims", "pv_fees", "pv_db_excess")

#: Models whose scenarios are generated from volatilities and a curve (vega and rho).
GENERATED_MODELS = ("gbm", "hull_white")


def _replace(config: Config, changes: dict) -> Config:
    """A copy of ``config`` with dotted ``changes`` (``"market.rate": None``) applied."""
    data = config.model_dump()
    for key, value in changes.items():
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return config_from_dict(data, source="config", base_dir=config.base_dir)


def revaluation_config(config: Config, seed_offset: int = 0) -> Config:
    """The config every revaluation runs: no break-even search, no control variate, no
    standard-error target (it would change the scenario count between runs), no progress
    bar of its own; ``seed_offset`` > 0 gives independent scenarios (used only to show
    what common random numbers save).

    Raises
    ------
    ConfigError
        Real-world market models: greeks need risk-neutral scenarios.
    """
    if config.market.model in ("rsln", "slv"):
        raise ConfigError(
            [
                (
                    f"market.model = '{config.market.model}' gives real-world scenarios; greeks and "
                    "the shock grid need a risk-neutral model (gbm, hull_white or a risk-neutral file)"
                )
            ]
        )
    return _replace(
        config,
        {
            "run.breakeven": False,
            "run.control_variate": False,
            "run.target_se": None,
            "run.target_relative_se": None,
            "run.progress": False,
            "run.seed": config.run.seed + seed_offset,
        },
    )


def base_inforce(config: Config) -> pd.DataFrame:
    """The validated inforce frame of the config (sim.valuation.block_inputs)."""
    return block_inputs(config).inforce


def index_shares(config: Config, inforce: pd.DataFrame) -> np.ndarray:
    """Share of each index in each contract's variable sub-accounts.

    A contract's allocation gives fund weights ``alpha_f``; a fund holds index ``i`` with
    weight ``w_fi``; the share is ``sum_f alpha_f w_fi``. The built-in ``money_market``
    index is not an index level and gets no share.

    Returns
    -------
    ndarray(float64, (n_contracts, n_indices)), indices in ``market.indices`` order.
    """
    names = [i.name for i in config.market.indices]
    funds = {f.name: f for f in config.market.funds}
    by_allocation: dict[str, np.ndarray] = {}
    for name in set(inforce["allocation"]):
        share = np.zeros(len(names))
        for fund, alpha in (allocation_weights(config, name) or {}).items():
            for idx, w in funds[fund].indices.items():
                if idx != MONEY_MARKET_INDEX:
                    share[names.index(idx)] += alpha * w
        by_allocation[name] = share
    return np.array([by_allocation[a] for a in inforce["allocation"]]).reshape(
        len(inforce), len(names)
    )


def shock_index_levels(inforce: pd.DataFrame, shares: np.ndarray, shocks) -> pd.DataFrame:
    """The inforce after relative shocks of the index levels at the valuation date.

    Each contract's variable sub-accounts (``contract_value - fixed_value``) move by
    ``1 + shares @ shocks``; the fixed account, Benefit Base, death benefit base and
    everything else stay. This is an instantaneous move of the index levels just before
    the projection starts.

    Parameters
    ----------
    inforce : DataFrame
        Validated inforce (n_contracts rows).
    shares : ndarray(float64, (n_contracts, n_indices))
    shocks : array-like (n_indices,)
        Relative moves (0.01 = +1 %).
    """
    factor = 1.0 + shares @ np.asarray(shocks, dtype=float)
    out = inforce.copy()
    fixed = out["fixed_value"].to_numpy(float)
    variable = out["contract_value"].to_numpy(float) - fixed
    out["contract_value"] = fixed + variable * factor
    return out


def with_volatility_shift(config: Config, shifts) -> Config:
    """``market.indices[i].volatility + shifts[i]`` (floored at 0)."""
    indices = [i.model_dump() for i in config.market.indices]
    for item, dv in zip(indices, np.asarray(shifts, dtype=float), strict=False):
        item["volatility"] = max(0.0, float(item["volatility"]) + float(dv))
    return _replace(config, {"market.indices": indices})


def key_rate_weights(tenors, key_tenors) -> np.ndarray:
    """Bucket weights of key-rate shifts at ``tenors``.

    Key rate ``k`` shifts the zero curve by a tent: 1 at ``key_tenors[k]``, falling linearly
    to 0 at the neighbouring key tenors; the first key is flat to the left, the last flat to
    the right. The weights sum to 1 at every tenor, so the key-rate shifts add up to the
    parallel shift.

    Returns
    -------
    ndarray(float64, (n_keys, n_tenors))
    """
    t = np.asarray(tenors, dtype=float)
    keys = np.asarray(key_tenors, dtype=float)
    eye = np.eye(keys.size)
    return np.array([np.interp(t, keys, eye[k]) for k in range(keys.size)])


def with_curve_shift(config: Config, shift_bp: float, key: int | None = None) -> Config:
    """The config with its initial zero curve shifted by ``shift_bp`` basis points.

    ``key=None``: a parallel shift; ``key=k``: the tent of key rate ``k`` of
    ``hedge.key_rate_tenors`` (:func:`key_rate_weights`). The result is always given as a
    ``market.curve`` on the union of the curve's own tenors and the key tenors, which
    reproduces the (piecewise linear, flat-extrapolated) curve exactly; a flat rate or par
    swaps are turned into that zero curve first. The zero rate shifts; Hull-White refits
    to the shifted curve.
    """
    base = market_curve(market_inputs(config))
    keys = np.asarray(config.hedge.key_rate_tenors, dtype=float)
    knots = np.union1d(np.asarray(base.tenors, dtype=float), keys)
    rates = base.zero_rate(knots)
    bump = np.ones_like(knots) if key is None else key_rate_weights(knots, keys)[key]
    rates = rates + 1e-4 * shift_bp * bump
    return _replace(
        config,
        {
            "market.rate": None,
            "market.par_swaps": None,
            "market.curve": {
                "tenors": [float(x) for x in knots],
                "zero_rates": [float(x) for x in rates],
            },
        },
    )


@dataclass
class Revaluation:
    """One run of the block.

    Attributes
    ----------
    label : str
    paths : dict of str -> ndarray(float64, (n_scenarios,))
        Block total of each of :data:`MEASURES` in each scenario.
    sample_group : int
        Scenarios per independent sample (antithetic pair: 2).
    result : Result
    """

    label: str
    paths: dict
    sample_group: int
    result: Result

    def mean(self, measure: str) -> float:
        return mean_and_se(self.paths[measure], self.sample_group)[0]

    def se(self, measure: str) -> float:
        return mean_and_se(self.paths[measure], self.sample_group)[1]


def revalue(label: str, config: Config, inforce: pd.DataFrame) -> Revaluation:
    """Price the block once (``config`` from :func:`revaluation_config`)."""
    result = price(config, inforce)
    frame = result.scenarios
    paths = {m: frame[m].to_numpy(float) for m in MEASURES}
    return Revaluation(label, paths, _sample_group(config, result), result)


def _sample_group(config: Config, result: Result) -> int:
    """Scenarios per independent sample: as the run reports it, else from ``[run]``."""
    if result.run.get("sample_group"):
        return int(result.run["sample_group"])
    run = config.run
    if run.qmc:
        return len(result.scenarios) // run.qmc_scrambles
    return 2 if run.antithetic else 1


def mean_and_se(paths: np.ndarray, group: int) -> tuple[float, float]:
    """Mean and Monte Carlo standard error of per-scenario values, averaging each sample
    group (antithetic pair, QMC scramble) first (sim.engine.driver.path_standard_errors)."""
    mean, se = path_standard_errors(np.asarray(paths, dtype=float), group)
    return float(mean), float(se)
