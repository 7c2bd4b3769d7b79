"""The Academy's real-world equity calibration criteria and checks against them.

Source: American Academy of Actuaries, C3 Phase II report (June 2005), Appendix 2, Table 1:
percentiles of the gross wealth ratio (value at the horizon of a unit invested, before
fees, income reinvested) of the S&P 500 total return index at 1, 5, 10 and 20 years.
Left-tail model values (2.5, 5, 10 %) must be at or below the points, right-tail values
(90, 95, 97.5 %) at or above; the 20-year 2.5 % and 97.5 % points are omitted. The report's
own SLV model equals two points at their rounding (5 y 5 %, 5 y 97.5 %), so equality passes.
Transcribed in ``/work/shared/reference/aaa-equity-generator.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from .scenarios import Scenarios

__all__ = [
    "ACADEMY_CALIBRATION",
    "HORIZONS",
    "LEFT_TAIL",
    "PERCENTILES",
    "REPORT_SLV_MEAN_WEALTH",
    "REPORT_SLV_PERCENTILES",
    "CalibrationRow",
    "calibration_table",
    "format_calibration_table",
    "wealth_ratio_percentiles",
    "wealth_ratios",
]

#: Horizons of the criteria, years.
HORIZONS = (1, 5, 10, 20)
#: Percentiles of the criteria, per cent.
PERCENTILES = (2.5, 5.0, 10.0, 90.0, 95.0, 97.5)
#: Percentiles whose model value must be at or below the criterion (the others: at or above).
LEFT_TAIL = frozenset({2.5, 5.0, 10.0})


def _table(rows: dict[int, tuple]) -> Mapping[tuple[int, float], float | None]:
    cells = {(h, p): v for h, vals in rows.items() for p, v in zip(PERCENTILES, vals, strict=True)}
    return MappingProxyType(cells)


#: Table 1 criteria, keyed ``(horizon_years, percentile)``; ``None`` where the report omits
#: the cell (20 y 2.5 % and 97.5 %).
ACADEMY_CALIBRATION = _table(
    {
        1: (0.78, 0.84, 0.90, 1.28, 1.35, 1.42),
        5: (0.72, 0.81, 0.94, 2.17, 2.45, 2.72),
        10: (0.79, 0.94, 1.16, 3.63, 4.36, 5.12),
        20: (None, 1.51, 2.10, 9.02, 11.70, None),
    }
)

#: Table 3: the report's SLV (Table 2 parameters) wealth-ratio percentiles, same cells
#: (the 20 y 2.5 % / 97.5 % values are given there but are not criteria).
REPORT_SLV_PERCENTILES = _table(
    {
        1: (0.776, 0.828, 0.888, 1.294, 1.362, 1.424),
        5: (0.719, 0.810, 0.931, 2.193, 2.462, 2.720),
        10: (0.785, 0.929, 1.116, 3.823, 4.525, 5.218),
        20: (1.122, 1.403, 1.790, 10.063, 12.869, 16.041),
    }
)

#: Table 4: the report's SLV mean wealth ratio by horizon (years).
REPORT_SLV_MEAN_WEALTH = MappingProxyType({1: 1.0874, 5: 1.5207, 10: 2.3124, 20: 5.3553})


class CalibrationRow(NamedTuple):
    """One cell of a calibration check."""

    horizon: int
    percentile: float
    model: float
    criterion: float
    met: bool


def wealth_ratios(scenarios: Scenarios, horizon_years: float, index: int = 0) -> np.ndarray:
    """Gross wealth ratio of one index at a horizon, per scenario.

    Parameters
    ----------
    scenarios : Scenarios
        ``index_growth`` ndarray(float64, (n_scen, n_steps, n_indices)), total return.
    horizon_years : float
        Horizon; it must be a whole number of steps, at most ``n_steps``.
    index : int
        Index column.

    Returns
    -------
    ndarray(float64, (n_scen,))
        Product of ``index_growth[:, :k, index]`` with ``k = horizon * steps_per_year``.
    """
    k = horizon_years * scenarios.steps_per_year
    if abs(k - round(k)) > 1e-9 or round(k) > scenarios.n_steps or k <= 0:
        raise ValueError(
            f"horizon {horizon_years} y is not a whole number of the "
            f"{scenarios.n_steps} steps of {1 / scenarios.steps_per_year:g} y"
        )
    return np.prod(scenarios.index_growth[:, : round(k), index], axis=1)


def wealth_ratio_percentiles(
    scenarios: Scenarios, index: int = 0, horizons=HORIZONS, percentiles=PERCENTILES
) -> dict[tuple[int, float], float]:
    """Percentiles of the gross wealth ratio at the calibration horizons.

    Uses ``numpy.percentile`` with its default (linear interpolation) method. Horizons
    longer than the scenarios are left out.

    Parameters
    ----------
    scenarios : Scenarios
        Real-world scenarios; ``index_growth`` ndarray(float64, (n_scen, n_steps, n_idx)).
    index : int
        Index column to calibrate.
    horizons : sequence of int
        Years (default :data:`HORIZONS`).
    percentiles : sequence of float
        Per cent (default :data:`PERCENTILES`).

    Returns
    -------
    dict
        ``{(horizon, percentile): wealth ratio}`` for every horizon that fits.
    """
    out: dict[tuple[int, float], float] = {}
    pcts = [float(p) for p in percentiles]
    for h in horizons:
        if h * scenarios.steps_per_year > scenarios.n_steps:
            continue
        values = np.percentile(wealth_ratios(scenarios, h, index), pcts)
        out.update({(h, p): float(v) for p, v in zip(pcts, values, strict=False)})
    return out


def calibration_table(
    percentiles: Mapping[tuple[int, float], float],
    tolerance: float | Mapping[tuple[int, float], float] = 0.0,
    criteria: Mapping[tuple[int, float], float | None] = ACADEMY_CALIBRATION,
) -> list[CalibrationRow]:
    """Compare model percentiles with the criteria, cell by cell.

    A left-tail cell (2.5, 5, 10 %) is met when ``model <= criterion + tolerance``, a
    right-tail cell (90, 95, 97.5 %) when ``model >= criterion - tolerance``; equality is a
    pass. Cells without a criterion (``None``) or without a model value are left out.

    The tolerance defaults to 0, the strict test of the report. A model that sits on a
    criterion (the report's SLV: 5 y 5 % at 0.810 vs 0.81; 10 y 97.5 % near 5.12) can miss
    it by sampling noise of the estimated percentile alone; a tolerance of a few standard
    errors of the sample quantile (``SE ~ sqrt(p (1 - p) / n) / f(x_p)``) separates noise
    from a real failure. Keep it at 0 for the formal check.

    Parameters
    ----------
    percentiles : mapping
        ``{(horizon, percentile): model value}``, e.g. from :func:`wealth_ratio_percentiles`.
    tolerance : float or mapping
        One allowance for every cell, or one per ``(horizon, percentile)`` (missing: 0).
    criteria : mapping
        Defaults to :data:`ACADEMY_CALIBRATION`.

    Returns
    -------
    list of CalibrationRow
        ``(horizon, percentile, model, criterion, met)`` in horizon, percentile order.
    """
    rows = []
    for (h, p), crit in sorted(criteria.items()):
        if crit is None or (h, p) not in percentiles:
            continue
        tol = tolerance.get((h, p), 0.0) if isinstance(tolerance, Mapping) else float(tolerance)
        model = float(percentiles[(h, p)])
        met = model <= crit + tol if p in LEFT_TAIL else model >= crit - tol
        rows.append(CalibrationRow(h, p, model, crit, bool(met)))
    return rows


def format_calibration_table(rows: list[CalibrationRow]) -> str:
    """A plain-text table of :func:`calibration_table` rows with a met / NOT MET column."""
    header = f"{'horizon':>7}  {'pct':>5}  {'side':<5}  {'model':>8}  {'criterion':>9}  result"
    lines = [header, "-" * len(header)]
    for r in rows:
        side = "<=" if r.percentile in LEFT_TAIL else ">="
        lines.append(
            f"{str(r.horizon) + ' y':>7}  {r.percentile:>4g}%  {side:<5}  {r.model:>8.4f}"
            f"  {r.criterion:>9.2f}  {'met' if r.met else 'NOT MET'}"
        )
    n_met = sum(r.met for r in rows)
    lines.append(f"{n_met} of {len(rows)} cells met")
    return "\n".join(lines)
