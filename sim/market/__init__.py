"""Economic scenarios: curves, generators and the Scenarios container.

:func:`generate_scenarios` turns a config's ``[market]`` section (with the shock method of
``[run]``) into :class:`Scenarios`:

========== ============================================================ ==============
model      generator                                                    basis
========== ============================================================ ==============
gbm        :func:`sim.market.gbm.generate_gbm` on the initial curve     risk_neutral
hull_white :func:`sim.market.hull_white.generate_hull_white`            risk_neutral
rsln       :func:`sim.market.rsln.generate_rsln2` (monthly, one index)  real_world
slv        :func:`sim.market.slv.generate_slv` (monthly, one index)     real_world
file       :func:`sim.market.files.read_scenarios`                      the file's
========== ============================================================ ==============
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import ConfigError
from .curve import ZeroCurve, bootstrap_par_swaps, curve_from_config
from .gbm import generate_gbm
from .hull_white import generate_hull_white
from .rsln import generate_rsln2
from .scenarios import Scenarios, random_stream
from .slv import generate_slv

__all__ = [
    "Scenarios",
    "ZeroCurve",
    "generate_scenarios",
    "market_basis",
    "market_curve",
    "random_stream",
    "read_market_file",
    "slice_scenarios",
]


def market_curve(market) -> ZeroCurve:
    """The initial curve of a ``[market]`` section: ``rate`` (flat), ``curve`` (zero rates)
    or ``par_swaps`` (bootstrapped, :func:`~sim.market.curve.bootstrap_par_swaps`)."""
    if market.par_swaps is not None:
        ps = market.par_swaps
        return bootstrap_par_swaps(ps.tenors, ps.rates, ps.frequency)
    return curve_from_config(market)


def market_basis(config) -> str:
    """``risk_neutral`` or ``real_world``: the basis of the config's scenarios (a file's
    basis is read from its metadata)."""
    model = config.market.model
    if model in ("rsln", "slv"):
        return "real_world"
    if model == "file":
        return read_market_file(config).basis
    return "risk_neutral"


def _shock_kwargs(run) -> dict:
    return {"method": run.shock_method, "scrambles": run.qmc_scrambles if run.qmc else 1}


def generate_scenarios(config, n_steps: int, n_scenarios: int | None = None) -> Scenarios:
    """Scenarios of the config's ``[market]`` model covering ``n_steps`` steps.

    Parameters
    ----------
    config : Config
    n_steps : int
        Steps of ``1 / run.steps_per_year`` years to cover.
    n_scenarios : int, optional
        Default ``run.scenarios``. Ignored by ``model = "file"``: a file brings its own
        scenarios (all of them are used).

    Raises
    ------
    ConfigError
        A scenario file that cannot be used (one line each, naming the file).
    """
    market, run = config.market, config.run
    n = n_scenarios or run.scenarios
    names = tuple(i.name for i in market.indices)
    if market.model == "file":
        return read_market_file(config, n_steps)
    if market.model in ("rsln", "slv"):
        try:
            if market.model == "rsln":
                return generate_rsln2(
                    (market.rsln or _default("rsln")).params(),
                    n,
                    n_steps,
                    run.steps_per_year,
                    run.seed,
                    names,
                    rate=market.rate,
                )
            return generate_slv(
                (market.slv or _default("slv")).params(),
                n,
                n_steps,
                run.steps_per_year,
                run.seed,
                names,
                rate=market.rate,
            )
        except ValueError as err:
            raise ConfigError([f"market.model = '{market.model}': {err}"]) from None
    vols = np.array([i.volatility for i in market.indices], dtype=float)
    divs = np.array([i.dividend_yield for i in market.indices], dtype=float)
    with warnings.catch_warnings():
        # scipy warns when a scramble's point count is not a power of 2 (docs say why to
        # prefer one); the run still is a valid randomised QMC estimate
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        if market.model == "hull_white":
            hw = market.hull_white or _default("hull_white")
            return generate_hull_white(
                curve=market_curve(market),
                mean_reversion=hw.mean_reversion,
                rate_volatility=hw.volatility,
                volatilities=vols,
                dividend_yields=divs,
                correlation=market.rate_correlation(),
                n_scenarios=n,
                n_steps=n_steps,
                steps_per_year=run.steps_per_year,
                seed=run.seed,
                index_names=names,
                **_shock_kwargs(run),
            )
        return generate_gbm(
            curve=market_curve(market),
            volatilities=vols,
            dividend_yields=divs,
            correlation=market.equity_correlation(),
            n_scenarios=n,
            n_steps=n_steps,
            steps_per_year=run.steps_per_year,
            seed=run.seed,
            index_names=names,
            **_shock_kwargs(run),
        )


def _default(section: str):
    from .. import config as c

    return {"hull_white": c.HullWhiteConfig, "rsln": c.RSLNConfig, "slv": c.SLVConfig}[section]()


def read_market_file(config, n_steps: int | None = None) -> Scenarios:
    """The scenarios of ``market.file`` checked against the config.

    The file's index names must be the ``market.indices`` names (any order; the columns are
    put in config order), its ``steps_per_year`` must be ``run.steps_per_year``, and it must
    cover ``n_steps`` steps (extra steps are cut). All of its scenarios are used, whatever
    ``run.scenarios`` says. ``run.antithetic`` / ``run.qmc`` are accepted only when the
    file's ``sample_group`` agrees with them (2, or scenarios / ``run.qmc_scrambles``).

    Raises
    ------
    ConfigError
        One line per problem, naming the file.
    """
    from .files import read_scenarios

    market, run = config.market, config.run
    path = config.resolve(market.file)
    scen = read_scenarios(path, steps_per_year=run.steps_per_year)
    source = str(path)
    wanted = [i.name for i in market.indices]
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
            f"({scen.n_steps / run.steps_per_year:g} years); the block needs {n_steps} "
            f"({n_steps / run.steps_per_year:g} years)"
        )
    if run.antithetic and scen.sample_group != 2:
        problems.append(
            f"{source}: run.antithetic = true but the file's sample_group is "
            f"{scen.sample_group}, not 2 (the file's sample_group sets the standard errors)"
        )
    if run.qmc and scen.sample_group * run.qmc_scrambles != scen.n_scenarios:
        problems.append(
            f"{source}: run.qmc = true with {run.qmc_scrambles} scrambles but the file's "
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


def file_path(config) -> Path:
    """The resolved ``market.file``."""
    return config.resolve(config.market.file)
