"""The validation layer: everything a run needs checked before anything is allocated.

:func:`check_inputs` is what ``abrsim validate`` runs and what :func:`sim.price` runs first
(through :func:`sim.valuation.block_inputs`): the inforce (a file, a synthetic block or a
caller's DataFrame, all through :func:`sim.inforce.validate_inforce`), the AB factor table,
the mortality table and its coverage of every age the block reaches, and the memory the
run's largest arrays need. Every problem is one line naming the file, row or key; all of
them are raised together as one :class:`sim.config.ConfigError`.

This module imports neither the numba kernels nor scipy: ``abrsim validate`` stays quick.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config, ConfigError

__all__ = [
    "CheckedInputs",
    "available_memory_bytes",
    "check_inputs",
    "memory_need",
    "chunk_bytes",
    "mortality_coverage_problems",
]

#: Bytes per float64.
_F8 = 8
#: Measures per path and per contract the engine keeps (an upper bound, for the estimate).
_MEASURES_BOUND = 16
#: The engine's per-chunk path buffer (sim.engine.driver.CHUNK_BYTES), for the estimate.
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class CheckedInputs:
    """What :func:`check_inputs` found valid.

    Attributes
    ----------
    inforce : DataFrame
        The validated inforce: one row per contract, every column filled.
    n_steps : int
        Steps to the block's last Rider Maturity Date (a New Rider's with trade-ins).
    memory_bytes : int or None
        Estimated memory of the run's largest arrays; None for a scenario file.
    """

    inforce: pd.DataFrame
    n_steps: int
    memory_bytes: int | None


def _remaining_months(inforce: pd.DataFrame) -> np.ndarray:
    """Months from now to each contract's Rider Maturity Date, ndarray(int64, (n_c,))."""
    period = inforce["rider_period"].to_numpy(np.int64)
    elapsed = inforce["rider_years_elapsed"].to_numpy(np.int64)
    months = inforce["months_to_anniversary"].to_numpy(np.int64)
    return months + 12 * (period - elapsed - 1)


def _block_months(config: Config, inforce: pd.DataFrame) -> np.ndarray:
    """Months each contract may be projected, ndarray(int64, (n_c,)): to its Rider Maturity
    Date, plus a New Rider's period when trade-ins are on."""
    months = _remaining_months(inforce)
    trade_in = config.behaviour.trade_in
    if trade_in.rate > 0 or trade_in.rate_above > 0:
        months = months + 12 * trade_in.rider_period
    return months


def mortality_coverage_problems(
    config: Config, inforce: pd.DataFrame, covered: tuple[int, int], table_name: str
) -> list[str]:
    """Ages the block reaches that the mortality table does not cover.

    Parameters
    ----------
    inforce : DataFrame
        Validated inforce (ages of the owner, spouse and annuitant, the rider terms).
    covered : (int, int)
        First and last age the table gives a rate for (the last is 120 when the table ends
        with a rate of 1).
    table_name : str
        The table as the user gave it.

    Returns
    -------
    list of str
        Empty, or one line naming ``mortality.table`` and the missing ages.
    """
    months = _block_months(config, inforce)  # (n_c,)
    last_year = np.maximum(np.ceil(months / 12.0) - 1, 0)
    floor = config.mortality.fractional_age == "floor"
    lowest, highest = None, None
    for column in ("owner_age", "spouse_age", "annuitant_age"):
        age = inforce[column].to_numpy(float)
        present = np.isfinite(age)
        if not present.any():
            continue
        first = np.floor(age[present])
        if floor:  # projection year k takes the rate of age floor(age + k)
            last = np.floor(age[present] + last_year[present])
        else:  # the attained age at each step: up to the last step's end, excluded
            end = age[present] + months[present] / 12.0
            last = np.maximum(np.ceil(end - 1e-9) - 1, first)
        lowest = first.min() if lowest is None else min(lowest, first.min())
        highest = last.max() if highest is None else max(highest, last.max())
    if lowest is None:
        return []
    lowest, highest = int(lowest), int(min(highest, 120))
    lo, hi = covered
    missing = []
    if lowest < lo:
        missing.append(f"{lowest}-{min(lo - 1, highest)}")
    if highest > hi:
        missing.append(f"{max(hi + 1, lowest)}-{highest}")
    if not missing:
        return []
    return [
        f"mortality.table: {table_name} gives rates for ages {lo}-{hi}; the block reaches "
        f"ages {lowest}-{highest}, so ages {' and '.join(missing)} are missing (give every "
        "age, or end the table with a rate of 1)"
    ]


def available_memory_bytes() -> int | None:
    """Memory available to a new run: ``MemAvailable`` of /proc/meminfo, else the physical
    memory; None when neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_need(config: Config, n_contracts: int, n_steps: int, n_allocations: int) -> int | None:
    """Estimated bytes of a run's largest arrays.

    The scenarios (index growth, shocks, money market, short rate, discount factors: about
    ``2 n_indices + 4`` arrays of shape (n_scen, n_steps + 1)), the allocations' and funds'
    growth (``n_allocations + n_funds`` such arrays), the per-scenario totals, one chunk's
    buffers (:func:`chunk_bytes`) and the per-contract arrays. ``n_scen`` is
    ``run.max_scenarios`` when a standard error target may add scenarios. An estimate of
    the dominant terms, not an exact count; None for ``market.model = "file"`` (the file's
    size bounds it).
    """
    run, market = config.run, config.market
    if market.model == "file":
        return None
    n_scen = run.max_scenarios if run.targeted else run.scenarios
    per_path_arrays = 2 * len(market.indices) + 4 + n_allocations + len(market.funds)
    scenario_bytes = _F8 * n_scen * (n_steps + 1) * per_path_arrays
    totals_bytes = _F8 * _MEASURES_BOUND * n_scen * 3
    n_years = max(1, math.ceil(n_steps / run.steps_per_year))
    contract_bytes = _F8 * n_contracts * (4 * _MEASURES_BOUND + 3 * n_years + 64)
    chunk = chunk_bytes(run.chunk_size, n_contracts, n_scen, n_steps)
    return int(scenario_bytes + totals_bytes + contract_bytes + chunk)


def chunk_bytes(chunk_size: int, n_contracts: int, n_scen: int, n_steps: int) -> int:
    """Bytes of one chunk's buffers: the per-path values (measures x scenarios a contract)
    and the per-step death rates (three lives x steps a contract). ``chunk_size`` 0 sizes
    the chunk automatically to :data:`_CHUNK_BYTES` (as ``sim.engine.driver`` does); a
    ``run.chunk_size`` the user sets is taken as it is (at most the block)."""
    per_contract = _F8 * (_MEASURES_BOUND * max(n_scen, 1) + 3 * max(n_steps, 0))
    if chunk_size <= 0:
        return min(_CHUNK_BYTES, per_contract * max(n_contracts, 1))
    return per_contract * min(chunk_size, max(n_contracts, 1))


def _memory_problems(
    config: Config, need: int | None, chunk_of: tuple[int, int, int] = (0, 0, 0)
) -> list[str]:
    """The memory error, if any; ``chunk_of`` = (contracts, scenarios, steps) of the run."""
    if need is None:
        return []
    limit_gb = config.run.max_memory_gb
    if limit_gb is not None:
        limit, where = limit_gb * 2**30, f"run.max_memory_gb = {limit_gb:g}"
    else:
        limit = available_memory_bytes()
        if limit is None:
            return []
        where = (
            f"this machine has {limit / 2**30:,.1f} GiB available "
            "(run.max_memory_gb sets the limit)"
        )
    if need <= limit:
        return []
    run = config.run
    n_scen = run.max_scenarios if run.targeted else run.scenarios
    auto_chunk_need = need - chunk_bytes(run.chunk_size, *chunk_of) + chunk_bytes(0, *chunk_of)
    if run.chunk_size > 0 and auto_chunk_need <= limit:
        # the chunk the user set is what does not fit: sized automatically, the run would
        return [
            f"run.chunk_size: {run.chunk_size:,} contracts a chunk with {n_scen:,} scenarios "
            f"need about {need / 2**30:,.1f} GiB of memory; {where}: use a smaller chunk "
            "(0 sizes it automatically)"
        ]
    key = "run.max_scenarios" if run.targeted else "run.scenarios"
    return [
        f"{key}: {n_scen:,} scenarios need about {need / 2**30:,.1f} GiB of memory; "
        f"{where}: use fewer scenarios or a smaller block"
    ]


def _mortality_problems(config: Config, inforce: pd.DataFrame | None) -> list[str]:
    from .assumptions.mortality import load_mortality

    mort = config.mortality
    if not mort.enabled or mort.multiplier == 0:
        return []
    path = config.resolve(mort.table)
    try:
        table = load_mortality(str(path) if path.is_file() else mort.table, mort.improvement)
    except (ValueError, TypeError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        key = (
            "mortality.improvement" if "improvement" in message.split(";")[0] else "mortality.table"
        )
        return [f"{key}: {message}"]
    if inforce is None:
        return []
    return mortality_coverage_problems(config, inforce, table.covered_ages, mort.table)


def check_inputs(config: Config, inforce: pd.DataFrame | None = None) -> CheckedInputs:
    """Check everything a run of ``config`` needs, before anything large is allocated.

    Parameters
    ----------
    config : Config
    inforce : DataFrame, optional
        Model points as read from a file (raw) or as validated before; default: the
        config's ``[inforce]``.

    Returns
    -------
    CheckedInputs

    Raises
    ------
    ConfigError
        Every problem, one line each, naming the file, row or key: the same lines
        ``abrsim validate`` prints.
    """
    from .inforce import load_inforce, validate_inforce
    from .product.rider import AccumulationBenefitRider

    try:
        rider = AccumulationBenefitRider.from_config(config)
    except (ValueError, OSError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(
            list(getattr(err, "problems", [f"rider.ab_factors: {message}"]))
        ) from None
    problems: list[str] = []
    clean = None
    try:
        if inforce is None:
            clean = load_inforce(config, rider)
        else:
            if not isinstance(inforce, pd.DataFrame):
                raise ConfigError(
                    [f"inforce: expected a pandas DataFrame, got {type(inforce).__name__}"]
                )
            clean, found = validate_inforce(inforce, config, rider, source="inforce")
            if found:
                raise ConfigError(found)
    except ConfigError as err:
        problems += err.problems
        clean = None
    problems += _mortality_problems(config, clean)
    n_steps, need = 0, None
    if clean is not None:
        n_steps = int(_block_months(config, clean).max()) * config.run.steps_per_year // 12
        need = memory_need(config, len(clean), n_steps, clean["allocation"].nunique())
        n_scen = config.run.max_scenarios if config.run.targeted else config.run.scenarios
        problems += _memory_problems(config, need, (len(clean), n_scen, n_steps))
    if problems:
        raise ConfigError(problems)
    return CheckedInputs(clean, n_steps, need)
