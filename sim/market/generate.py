"""Scenarios from :class:`~sim.market.inputs.MarketInputs`: generated, or read from a file.

The table of models is in :mod:`sim.market`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ..errors import ConfigError
from .curve import ZeroCurve, curve_from_inputs
from .gbm import generate_gbm
from .hull_white import generate_hull_white
from .inputs import MarketInputs
from .rsln import generate_rsln2
from .scenarios import Scenarios
from .slv import generate_slv

__all__ = [
    "generate_scenarios",
    "market_basis",
    "market_curve",
    "read_market_file",
    "slice_scenarios",
]


def market_curve(market: MarketInputs) -> ZeroCurve:
    """The initial curve: ``market.rate`` (flat), ``market.curve`` (zero rates) or
    ``market.par_swaps`` (bootstrapped, :func:`~sim.market.curve.bootstrap_par_swaps`).

    Raises
    ------
    ValueError
        The inputs have no curve (a scenario file given without one).
    """
    if market.curve is None:
        raise ValueError("no initial curve: give market.rate, market.curve or market.par_swaps")
    return curve_from_inputs(market.curve)


def market_basis(market: MarketInputs) -> str:
    """``risk_neutral`` or ``real_world``: the basis of the scenarios (a file's basis is read
    from its metadata)."""
    if market.model in ("rsln", "slv"):
        return "real_world"
    if market.model == "file":
        return read_market_file(market).basis
    return "risk_neutral"


def generate_scenarios(
    market: MarketInputs, n_steps: int, n_scenarios: int | None = None
) -> Scenarios:
    """Scenarios of the market model covering ``n_steps`` steps.

    Parameters
    ----------
    market : MarketInputs
        From :func:`sim.boundary.market_inputs`.
    n_steps : int
        Steps of ``1 / market.steps_per_year`` years to cover.
    n_scenarios : int, optional
        Default ``market.scenarios`` (``run.scenarios``). Ignored by ``model = "file"``: a
        file brings its own scenarios (all of them are used).

    Raises
    ------
    ConfigError
        A scenario file that cannot be used (one line each, naming the file).
    """
    n = n_scenarios or market.scenarios
    names = market.index_names
    spy, seed = market.steps_per_year, market.seed
    if market.model == "file":
        return read_market_file(market, n_steps)
    if market.model in ("rsln", "slv"):
        generate = generate_rsln2 if market.model == "rsln" else generate_slv
        try:
            return generate(market.real_world, n, n_steps, spy, seed, names, rate=market.rate)
        except ValueError as err:
            raise ConfigError([f"market.model = '{market.model}': {err}"]) from None
    common = {
        "curve": market_curve(market),
        "volatilities": market.volatilities,
        "dividend_yields": market.dividend_yields,
        "n_scenarios": n,
        "n_steps": n_steps,
        "steps_per_year": spy,
        "seed": seed,
        "index_names": names,
        "method": market.shock_method,
        "scrambles": market.scrambles,
    }
    with warnings.catch_warnings():
        # scipy warns when a scramble's point count is not a power of 2 (docs say why to
        # prefer one); the run still is a valid randomised QMC estimate
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        if market.model == "hull_white":
            return generate_hull_white(
                mean_reversion=market.hull_white.mean_reversion,
                rate_volatility=market.hull_white.volatility,
                correlation=market.rate_correlation,
                **common,
            )
        return generate_gbm(correlation=market.correlation, **common)


def read_market_file(market: MarketInputs, n_steps: int | None = None) -> Scenarios:
    """The scenarios of ``market.file`` checked against the market inputs.

    The file's index names must be the ``market.indices`` names (any order; the columns are
    put in ``market.indices`` order), its ``steps_per_year`` must be ``run.steps_per_year``, and it must
    cover ``n_steps`` steps (extra steps are cut). All of its scenarios are used, whatever
    ``run.scenarios`` says. ``run.antithetic`` / ``run.qmc`` are accepted only when the
    file's ``sample_group`` agrees with them (2, or scenarios / ``run.qmc_scrambles``).

    Raises
    ------
    ConfigError
        One line per problem, naming the file.
    """
    from .files import read_scenarios

    path = market.file
    spy = market.steps_per_year
    scen = read_scenarios(path, steps_per_year=spy)
    source = str(path)
    wanted = list(market.index_names)
    have = list(scen.index_names)
    problems = []
    missing = [n for n in wanted if n not in have]
    extra = [n for n in have if n not in wanted]
    if missing:
        problems.append(
            f"{source}: no column for market index {', '.join(repr(n) for n in missing)} "
            f"(the file has {', '.join(repr(n) for n in have)})"
        )
    if extra:
        problems.append(
            f"{source}: index {', '.join(repr(n) for n in extra)} is not in market.indices "
            f"({', '.join(repr(n) for n in wanted)})"
        )
    if n_steps is not None and scen.n_steps < n_steps:
        problems.append(
            f"{source}: the file has {scen.n_steps} steps "
            f"({scen.n_steps / spy:g} years); the block needs {n_steps} "
            f"({n_steps / spy:g} years)"
        )
    if market.antithetic and scen.sample_group != 2:
        problems.append(
            f"{source}: run.antithetic = true but the file's sample_group is "
            f"{scen.sample_group}, not 2 (the file's sample_group sets the standard errors)"
        )
    if market.qmc and scen.sample_group * market.scrambles != scen.n_scenarios:
        problems.append(
            f"{source}: run.qmc = true with {market.scrambles} scrambles but the file's "
            f"sample_group is {scen.sample_group} for {scen.n_scenarios} scenarios"
        )
    if problems:
        raise ConfigError(problems)
    order = [have.index(n) for n in wanted]
    if order != list(range(len(have))):
        scen = replace(
            scen,
            index_growth=np.ascontiguousarray(scen.index_growth[:, :, order]),
            index_names=tuple(wanted),
        )
    if n_steps is not None and scen.n_steps > n_steps:
        scen = slice_scenarios(scen, steps=n_steps)
    return scen


def slice_scenarios(
    scen: Scenarios, start: int = 0, stop: int | None = None, steps: int | None = None
) -> Scenarios:
    """Scenarios ``start:stop`` and the first ``steps`` steps (copies, C-contiguous).

    ``sample_group`` is kept; ``start`` and ``stop`` should be multiples of it.
    """
    stop = scen.n_scenarios if stop is None else stop
    t = scen.n_steps if steps is None else steps
    rows = slice(start, stop)

    def cut(a, width):
        return None if a is None else np.ascontiguousarray(a[rows, :width])

    return replace(
        scen,
        index_growth=cut(scen.index_growth, t),
        money_market_growth=cut(scen.money_market_growth, t),
        discount=cut(scen.discount, t + 1),
        short_rate=cut(scen.short_rate, t),
    )
