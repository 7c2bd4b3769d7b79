"""The shock grid: the block revalued under instantaneous equity x parallel rate shocks,
and under volatility shocks, on the base run's scenarios (common random numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Config
from .bumps import (
    GENERATED_MODELS,
    MEASURES,
    Revaluation,
    index_shares,
    mean_and_se,
    revaluation_config,
    shock_index_levels,
    with_curve_shift,
    with_volatility_shift,
)

__all__ = ["grid_axes", "grid_frame", "grid_plan", "shocked_indices"]


def shocked_indices(config: Config) -> list[str]:
    """The indices the grid's equity shocks move (``hedge.equity_shock_indices``; all by default)."""
    chosen = config.hedge.equity_shock_indices
    return [i.name for i in config.market.indices if chosen is None or i.name in chosen]


def grid_axes(config: Config) -> tuple[list[float], list[float], list[float]]:
    """Sorted equity shocks and rate shocks (each with 0 added) and the vol shocks (no 0).

    Rate and volatility shocks need a generated model (gbm, hull_white); with a scenario
    file the grid has the equity axis only.
    """
    h = config.hedge
    equity = sorted({0.0, *map(float, h.equity_shocks)})
    generated = config.market.model in GENERATED_MODELS
    rates = sorted({0.0, *map(float, h.rate_shocks_bp)}) if generated else [0.0]
    vols = sorted({float(v) for v in h.vol_shocks if v != 0.0}) if generated else []
    return equity, rates, vols


def _grid_label(equity: float, rate_bp: float) -> str:
    return "base" if equity == 0.0 and rate_bp == 0.0 else f"grid:{equity:g}:{rate_bp:g}"


def grid_plan(config: Config, inforce: pd.DataFrame) -> list[tuple[str, Config, pd.DataFrame]]:
    """The revaluations of the grid (the (0, 0) cell is the base run and is not repeated)."""
    equity, rates, vols = grid_axes(config)
    shares = index_shares(config, inforce)
    moved = np.array(
        [i.name in shocked_indices(config) for i in config.market.indices], dtype=float
    )
    n_idx = len(config.market.indices)
    tasks = []
    for rate_bp in rates:
        cfg = revaluation_config(with_curve_shift(config, rate_bp) if rate_bp else config)
        for e in equity:
            if e == 0.0 and rate_bp == 0.0:
                continue
            tasks.append(
                (_grid_label(e, rate_bp), cfg, shock_index_levels(inforce, shares, e * moved))
            )
    for dv in vols:
        tasks.append(
            (
                f"vol:{dv:g}",
                revaluation_config(with_volatility_shift(config, np.full(n_idx, dv))),
                inforce,
            )
        )
    return tasks


def grid_frame(config: Config, runs: dict[str, Revaluation]) -> pd.DataFrame:
    """One row per grid cell: ``kind`` (``equity_rate`` or ``volatility``), ``equity_shock``
    (relative, on every index of :func:`shocked_indices` at once), ``rate_shock_bp`` (parallel zero-curve shift),
    ``vol_shock`` (volatility points / 100, all indices), then for each measure its value
    and SE, and its change from the base run with the SE of the per-scenario differences."""
    equity, rates, vols = grid_axes(config)
    base = runs["base"]
    group = base.sample_group
    cells = [("equity_rate", e, r, 0.0, runs[_grid_label(e, r)]) for r in rates for e in equity]
    cells += [("volatility", 0.0, 0.0, dv, runs[f"vol:{dv:g}"]) for dv in vols]
    rows = []
    for kind, e, r, dv, run in cells:
        row = {"kind": kind, "equity_shock": e, "rate_shock_bp": r, "vol_shock": dv}
        for m in MEASURES:
            row[m], row[m + "_se"] = mean_and_se(run.paths[m], group)
            row[m + "_change"], row[m + "_change_se"] = mean_and_se(
                run.paths[m] - base.paths[m], group
            )
        rows.append(row)
    return pd.DataFrame(rows)
