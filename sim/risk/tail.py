"""Tail metrics of the block's PV net cost on real-world scenarios: CTE and VaR with
standard errors.

Estimators (a sample ``x_1..x_n`` of PV net cost, larger = worse; docs/risk.md):

- ``VaR_a`` is the empirical ``a``-quantile (the ``ceil(n a)``-th smallest value). Its
  standard error is ``sqrt(a (1 - a) / n) / f(VaR_a)`` (the asymptotic variance of a sample
  quantile) with the density ``f`` from the Siddiqui-Bloch-Gastwirth difference quotient
  of the sample quantile function, ``1 / f ~ (Q(a + d) - Q(a - d)) / (2 d)``, with ``d``
  the Hall-Sheather bandwidth (at most half of ``a`` and of ``1 - a``).
- ``CTE_a`` is the mean of the worst ``m = n (1 - a)`` outcomes (the ``floor(m)`` largest,
  plus the next one weighted by the fraction of ``m``). Its standard error is the
  influence-function estimator of Manistre and Hancock (2005):
  ``Var(CTE_a) ~ [ s^2 + a (CTE_a - VaR_a)^2 ] / (n (1 - a))`` with ``s^2`` the sample
  variance of the outcomes beyond ``VaR_a``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..boundary import market_inputs
from ..config import Config, ConfigError
from ..market import market_curve
from ..market.gbm import generate_gbm
from ..market.rsln import generate_rsln2
from ..market.scenarios import Scenarios
from ..market.slv import generate_slv

__all__ = ["cte_estimate", "real_world_scenarios", "tail_table", "var_estimate"]


def hall_sheather_bandwidth(n: int, level: float, alpha: float = 0.05) -> float:
    """Hall and Sheather's (1988) bandwidth for the sparsity (1 / density) at a quantile:
    ``n^(-1/3) z_(1-alpha/2)^(2/3) [1.5 phi(z_a)^2 / (2 z_a^2 + 1)]^(1/3)``."""
    z = norm.ppf(level)
    return float(
        n ** (-1.0 / 3.0)
        * norm.ppf(1 - alpha / 2) ** (2.0 / 3.0)
        * (1.5 * norm.pdf(z) ** 2 / (2 * z**2 + 1)) ** (1.0 / 3.0)
    )


def var_estimate(sample, level: float) -> tuple[float, float]:
    """Value at risk at ``level`` (e.g. 0.99) of a sample where larger is worse.

    Parameters
    ----------
    sample : array-like (n,)
    level : float in (0, 1)

    Returns
    -------
    (var, se)
    """
    x = np.sort(np.asarray(sample, dtype=float))
    n = x.size
    k = min(max(math.ceil(n * level), 1), n)
    var = float(x[k - 1])
    d = min(hall_sheather_bandwidth(n, level), 0.5 * level, 0.5 * (1.0 - level))
    lo, hi = np.quantile(x, [level - d, level + d])
    inv_density = (hi - lo) / (2 * d)
    return var, float(math.sqrt(level * (1 - level) / n) * inv_density)


def cte_estimate(sample, level: float) -> tuple[float, float]:
    """Conditional tail expectation at ``level`` (e.g. 0.9: the mean of the worst 10 %).

    Returns
    -------
    (cte, se)
        ``se`` by the influence function (Manistre and Hancock 2005).
    """
    x = np.sort(np.asarray(sample, dtype=float))[::-1]  # worst first
    n = x.size
    m = n * (1.0 - level)
    whole = math.floor(m + 1e-12)
    frac = m - whole
    total = x[:whole].sum() + (frac * x[whole] if frac > 0 and whole < n else 0.0)
    cte = float(total / m)
    var, _ = var_estimate(x, level)
    beyond = x[: max(whole, 2)]
    s2 = float(beyond.var(ddof=1)) if beyond.size > 1 else 0.0
    se = math.sqrt((s2 + level * (cte - var) ** 2) / (n * (1.0 - level)))
    return cte, float(se)


def tail_table(sample, cte_levels, var_levels) -> pd.DataFrame:
    """One row per metric: ``metric`` (CTE70, VaR99, ...), ``level``, ``value``, ``se``."""
    rows = []
    for a in cte_levels:
        v, se = cte_estimate(sample, a)
        rows.append({"metric": f"CTE{100 * a:g}", "level": a, "value": v, "se": se})
    for a in var_levels:
        v, se = var_estimate(sample, a)
        rows.append({"metric": f"VaR{100 * a:g}", "level": a, "value": v, "se": se})
    return pd.DataFrame(rows, columns=["metric", "level", "value", "se"])


def real_world_scenarios(config: Config, n_steps: int) -> tuple[Scenarios, dict]:
    """Real-world scenarios for the tail metrics (``[hedge.real_world]``).

    The index ``hedge.real_world.index`` (default: the first of ``market.indices``) follows
    RSLN2 or SLV, monthly. Other indices follow the config's lognormal model (their
    volatility, dividend yield and correlation among themselves) with the curve's forward
    rates as drift, on the stream of seed + 1, independent of the real-world index. The
    money market earns, and every cash flow is discounted at, the initial risk-free zero
    curve (deterministic). The basis is ``real_world``.

    Returns
    -------
    scenarios, basis : Scenarios, dict
        ``basis`` records the generator, its parameters, the index, the seed, the scenario
        count and the discounting basis (it goes to ``tail.json``).

    Raises
    ------
    ConfigError
        An unknown index, or run.steps_per_year other than 12.
    """
    rw = config.hedge.real_world
    names = [i.name for i in config.market.indices]
    index = rw.index or names[0]
    if index not in names:
        raise ConfigError(
            [
                (
                    f"hedge.real_world.index: '{index}' is not one of market.indices "
                    f"({', '.join(names)})"
                )
            ]
        )
    if config.run.steps_per_year != 12:
        raise ConfigError(
            [
                (
                    f"hedge.real_world.model = '{rw.model}' is monthly: run.steps_per_year must be 12, "
                    f"not {config.run.steps_per_year}"
                )
            ]
        )
    seed = config.run.seed if rw.seed is None else rw.seed
    n = rw.scenarios
    if rw.model == "rsln":
        params = rw.rsln.params()
        main = generate_rsln2(params, n, n_steps, 12, seed, (index,), rate=0.0)
        described = {
            "parameters": rw.rsln.parameters
            or ("explicit" if rw.rsln.mu1 is not None else "2005_10_0"),
            **{
                k: float(getattr(params, k))
                for k in ("mu1", "sigma1", "p12", "mu2", "sigma2", "p21")
            },
        }
    else:
        main = generate_slv(rw.slv.params(), n, n_steps, 12, seed, (index,), rate=0.0)
        described = {"parameters": rw.slv.parameters}
    try:
        curve = market_curve(market_inputs(config))
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(
            [
                (
                    "hedge.real_world: the tail metrics discount on market.rate, market.curve or "
                    "market.par_swaps; the config gives none"
                )
            ]
        ) from None
    fwd = curve.step_forwards(n_steps, 12)
    dt = 1.0 / 12
    growth = np.empty((n, n_steps, len(names)))
    growth[:, :, names.index(index)] = main.index_growth[:, :, 0]
    others = [k for k, name in enumerate(names) if name != index]
    if others:
        if any(config.market.indices[k].volatility is None for k in others):
            raise ConfigError(
                [
                    (
                        "hedge.real_world: indices other than the real-world one follow their lognormal "
                        "model and need market.indices volatility"
                    )
                ]
            )
        vols = np.array([config.market.indices[k].volatility for k in others], dtype=float)
        divs = np.array([config.market.indices[k].dividend_yield for k in others], dtype=float)
        corr = config.market.equity_correlation()[np.ix_(others, others)]
        rest = generate_gbm(
            curve=curve,
            volatilities=vols,
            dividend_yields=divs,
            correlation=corr,
            n_scenarios=n,
            n_steps=n_steps,
            steps_per_year=12,
            seed=seed + 1,
            index_names=tuple(names[k] for k in others),
            method="pseudo",
        )
        growth[:, :, others] = rest.index_growth
    grid = np.concatenate([[0.0], np.cumsum(fwd * dt)])
    scen = Scenarios(
        index_growth=np.ascontiguousarray(growth),
        money_market_growth=np.ascontiguousarray(np.broadcast_to(np.exp(fwd * dt), (n, n_steps))),
        discount=np.ascontiguousarray(np.broadcast_to(np.exp(-grid), (n, n_steps + 1))),
        index_names=tuple(names),
        steps_per_year=12,
        basis="real_world",
        sample_group=1,
        short_rate=np.ascontiguousarray(np.broadcast_to(fwd, (n, n_steps))),
    )
    basis = {
        "scenario_basis": "real_world",
        "generator": rw.model,
        "generator_parameters": described,
        "index": index,
        "other_indices": (
            "lognormal, drift = curve forwards - dividend yield, independent stream (seed + 1)"
        )
        if others
        else None,
        "scenarios": n,
        "seed": seed,
        "discounting": "initial risk-free zero curve of [market] (deterministic)",
        "measure": "PV net cost = PV rider claims - PV rider fees of the block, per scenario",
    }
    return scen, basis
