"""Greeks of the block's rider liability by bump-and-revalue with common random numbers.

Conventions (docs/risk.md): the liability is the net cost = PV claims - PV fees (also PV
claims, PV fees and PV death-benefit excess apart), in currency, positive = a cost to the
insurer. For each greek ``G`` of measure ``V``:

========== ====================================================== ==========================
greek      definition (central differences)                        unit
========== ====================================================== ==========================
delta_i    (V(S_i (1+h)) - V(S_i (1-h))) / (2h) x 1 %             currency per +1 % of index i
gamma_i    (V(+h) - 2 V(0) + V(-h)) / h^2 x (1 %)^2                change of delta_i per +1 %
vega_i     (V(sigma_i + b) - V(sigma_i - b)) / (2b) x 0.01         currency per +1 vol point
rho        (V(z + b) - V(z - b)) / (2b) x 1 bp                     currency per +1 bp, parallel
rho_k      the same with the tent of key rate k                    currency per +1 bp at key k
========== ====================================================== ==========================

``h = hedge.equity_bump`` (an instantaneous relative move of the index level at the
valuation date: each contract's variable sub-accounts move by its share of index ``i``),
``b = hedge.vol_bump`` and ``hedge.rate_bump_bp`` on the continuously compounded zero
curve. Every standard error is the standard error of the mean of the per-scenario
differences (antithetic pairs averaged first), which common random numbers make small.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..config import Config
from .bumps import (
    GENERATED_MODELS,
    MEASURES,
    Revaluation,
    base_inforce,
    index_shares,
    mean_and_se,
    revaluation_config,
    revalue,
    shock_index_levels,
    with_curve_shift,
    with_volatility_shift,
)

__all__ = ["GREEK_UNITS", "greeks", "greeks_with_runs", "run_plan"]

GREEK_UNITS = {
    "delta": "currency per +1 % index level",
    "gamma": "change of delta per +1 % index level",
    "vega": "currency per +1 volatility point",
    "rho": "currency per +1 bp parallel zero-curve shift",
    "key_rate_rho": "currency per +1 bp at the key tenor (tent shift)",
}


def run_plan(
    tasks: list[tuple[str, Config, pd.DataFrame]],
    progress: bool | None = None,
    desc: str = "revaluations",
) -> dict[str, Revaluation]:
    """Run every ``(label, config, inforce)`` once, with one progress bar across them."""
    show = progress if progress is not None else sys.stderr.isatty()
    out: dict[str, Revaluation] = {}
    for label, config, inforce in tqdm(tasks, disable=not show, desc=desc, unit="run"):
        out[label] = revalue(label, config, inforce)
    return out


def _plan(config: Config, inforce: pd.DataFrame, common_random_numbers: bool):
    """The revaluations of the greeks: list of (label, config, inforce)."""
    h = config.hedge
    names = [i.name for i in config.market.indices]
    shares = index_shares(config, inforce)
    counter = iter(range(1, 10**6))

    def cfg(c: Config) -> Config:
        return revaluation_config(c, 0 if common_random_numbers else next(counter))

    tasks = [("base", revaluation_config(config), inforce)]
    for i, name in enumerate(names):
        for sign, tag in ((1, "up"), (-1, "down")):
            shock = np.zeros(len(names))
            shock[i] = sign * h.equity_bump
            tasks.append(
                (f"delta:{name}:{tag}", cfg(config), shock_index_levels(inforce, shares, shock))
            )
    if config.market.model in GENERATED_MODELS:
        for i, name in enumerate(names):
            for sign, tag in ((1, "up"), (-1, "down")):
                shift = np.zeros(len(names))
                shift[i] = sign * h.vol_bump
                tasks.append(
                    (f"vega:{name}:{tag}", cfg(with_volatility_shift(config, shift)), inforce)
                )
        keys = [None, *range(len(h.key_rate_tenors))]
        for key in keys:
            factor = "parallel" if key is None else f"{h.key_rate_tenors[key]:g}y"
            for sign, tag in ((1, "up"), (-1, "down")):
                tasks.append(
                    (
                        f"rho:{factor}:{tag}",
                        cfg(with_curve_shift(config, sign * h.rate_bump_bp, key)),
                        inforce,
                    )
                )
    return tasks


def _row(greek, factor, measure, diff_paths, group, bump, unit):
    value, se = mean_and_se(diff_paths, group)
    return {
        "greek": greek,
        "factor": factor,
        "measure": measure,
        "value": value,
        "se": se,
        "bump": bump,
        "unit": unit,
    }


def _frame(config: Config, runs: dict[str, Revaluation]) -> pd.DataFrame:
    h = config.hedge
    base = runs["base"]
    group = base.sample_group
    rows = []
    for index in config.market.indices:
        up, down = runs[f"delta:{index.name}:up"], runs[f"delta:{index.name}:down"]
        for m in MEASURES:
            d = (up.paths[m] - down.paths[m]) / (2 * h.equity_bump) * 0.01
            g = (up.paths[m] - 2 * base.paths[m] + down.paths[m]) / h.equity_bump**2 * 1e-4
            rows.append(_row("delta", index.name, m, d, group, h.equity_bump, GREEK_UNITS["delta"]))
            rows.append(_row("gamma", index.name, m, g, group, h.equity_bump, GREEK_UNITS["gamma"]))
        if f"vega:{index.name}:up" in runs:
            up, down = runs[f"vega:{index.name}:up"], runs[f"vega:{index.name}:down"]
            width = (index.volatility + h.vol_bump) - max(index.volatility - h.vol_bump, 0.0)
            for m in MEASURES:
                v = (up.paths[m] - down.paths[m]) / width * 0.01
                rows.append(_row("vega", index.name, m, v, group, h.vol_bump, GREEK_UNITS["vega"]))
    if "rho:parallel:up" in runs:
        for factor, greek in [("parallel", "rho")] + [
            (f"{t:g}y", "key_rate_rho") for t in h.key_rate_tenors
        ]:
            up, down = runs[f"rho:{factor}:up"], runs[f"rho:{factor}:down"]
            for m in MEASURES:
                r = (up.paths[m] - down.paths[m]) / (2 * h.rate_bump_bp)
                rows.append(_row(greek, factor, m, r, group, h.rate_bump_bp, GREEK_UNITS[greek]))
    return pd.DataFrame(rows, columns=["greek", "factor", "measure", "value", "se", "bump", "unit"])


def greeks_with_runs(
    config: Config,
    inforce: pd.DataFrame | None = None,
    *,
    common_random_numbers: bool = True,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, dict[str, Revaluation]]:
    """:func:`greeks` and the revaluations behind them (``runs["base"]`` is the base run)."""
    if inforce is None:
        inforce = base_inforce(config)
    tasks = _plan(config, inforce, common_random_numbers)
    runs = run_plan(tasks, progress, desc="greeks")
    return _frame(config, runs), runs


def greeks(
    config: Config,
    inforce: pd.DataFrame | None = None,
    *,
    common_random_numbers: bool = True,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Delta, gamma, vega, parallel and key-rate rho of the block, with standard errors.

    Parameters
    ----------
    config : Config
        A risk-neutral config; the ``[hedge]`` section sets the bumps and key tenors.
    inforce : DataFrame, optional
        Validated inforce; default the config's ``[inforce]``.
    common_random_numbers : bool
        True (the default): every bumped run uses the base run's scenarios. False: each
        bumped run draws its own (``run.seed + k``), for comparison only.
    progress : bool, optional
        A progress bar across the revaluations; None = when stderr is a terminal.

    Returns
    -------
    DataFrame
        One row per (greek, factor, measure): ``greek`` (delta, gamma, vega, rho,
        key_rate_rho), ``factor`` (index name, ``parallel`` or key tenor like ``10y``),
        ``measure`` (net_cost, pv_claims, pv_fees, pv_db_excess), ``value``, ``se``,
        ``bump`` and ``unit``. Vega and rho need a generated model (gbm, hull_white):
        with scenario files only delta and gamma are given.
    """
    return greeks_with_runs(
        config, inforce, common_random_numbers=common_random_numbers, progress=progress
    )[0]


def passes_of_greeks(config: Config) -> int:
    """Number of block passes :func:`greeks` runs."""
    n = len(config.market.indices)
    passes = 1 + 2 * n
    if config.market.model in GENERATED_MODELS:
        passes += 2 * n + 2 * (1 + len(config.hedge.key_rate_tenors))
    return passes
