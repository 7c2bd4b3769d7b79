"""Deterministic yield curves: flat, a zero curve (continuous compounding), or bootstrapped
from par swap rates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .inputs import CurveInputs

__all__ = ["ZeroCurve", "bootstrap_par_swaps", "curve_from_inputs"]


@dataclass(frozen=True)
class ZeroCurve:
    """Continuously compounded zero rates, linear interpolation in rate, flat extrapolation.

    Attributes
    ----------
    tenors : ndarray(float64, (k,))
        Tenors in years, increasing.
    zero_rates : ndarray(float64, (k,))
        Zero rates at those tenors.
    """

    tenors: np.ndarray
    zero_rates: np.ndarray

    @classmethod
    def flat(cls, rate: float) -> ZeroCurve:
        return cls(np.array([1.0]), np.array([float(rate)]))

    def zero_rate(self, t) -> np.ndarray:
        return np.interp(np.asarray(t, dtype=float), self.tenors, self.zero_rates)

    def discount(self, t) -> np.ndarray:
        """Discount factor P(0, t)."""
        t = np.asarray(t, dtype=float)
        return np.exp(-self.zero_rate(t) * t)

    def instantaneous_forward(self, t) -> np.ndarray:
        """Instantaneous forward rate f(0, t) = d/dt [z(t) t] = z(t) + t z'(t).

        Exact for the linear-in-rate interpolation: ``z'`` is the slope of the segment
        containing ``t`` (right-continuous, so at a tenor it is the slope of the segment
        that starts there) and zero where the curve is extrapolated flat (before the first
        and from the last tenor on). ``f`` therefore jumps at interior tenors.

        Parameters
        ----------
        t : float or ndarray(float64, shape)
            Times in years.

        Returns
        -------
        ndarray(float64, shape)
        """
        t = np.asarray(t, dtype=float)
        tenors = np.asarray(self.tenors, dtype=float)
        rates = np.asarray(self.zero_rates, dtype=float)
        slopes = np.zeros(tenors.size + 1)  # slopes[j]: between tenors[j-1] and tenors[j]
        if tenors.size > 1:
            slopes[1:-1] = np.diff(rates) / np.diff(tenors)
        segment = np.searchsorted(tenors, t, side="right")
        return self.zero_rate(t) + t * slopes[segment]

    def step_forwards(self, n_steps: int, steps_per_year: int) -> np.ndarray:
        """Continuously compounded forward rate over each step, ndarray(float64, (n_steps,))."""
        dt = 1.0 / steps_per_year
        grid = np.arange(n_steps + 1) * dt
        log_p = -self.zero_rate(grid) * grid
        return (log_p[:-1] - log_p[1:]) / dt


def bootstrap_par_swaps(tenors, par_rates, fixed_frequency: int = 1) -> ZeroCurve:
    """Zero curve that reprices par interest rate swaps.

    Conventions
    -----------
    - The fixed leg pays ``s_n * delta`` on the dates ``delta, 2 delta, ..., t_n`` with
      ``delta = 1 / fixed_frequency`` exactly (no day counts, no calendars); every tenor
      must therefore be a whole number of fixed periods.
    - The floating leg is worth par, so the par rate ``s_n`` of the swap maturing at
      ``t_n`` satisfies ``s_n * sum_i delta * P(t_i) = 1 - P(t_n)``.
    - The output holds continuously compounded zero rates ``z`` at the given tenors,
      ``P(t) = exp(-z(t) t)``, interpolated linearly in ``z`` between tenors and
      extrapolated flat (the :class:`ZeroCurve` conventions).
    - Coupon dates between two given tenors take their discount factors from that
      interpolation, so each tenor's zero rate is solved (``scipy.optimize.brentq``) with
      the coupon dates after the previous tenor depending on it; coupon dates before the
      first tenor use the first tenor's rate (flat extrapolation). The result reprices
      every input swap to rounding error.

    A flat annual par rate ``s`` gives the flat zero rate ``ln(1 + s)``; with
    ``fixed_frequency = m`` it gives ``m ln(1 + s / m)``.

    Parameters
    ----------
    tenors : array_like(float64, (k,))
        Swap maturities in years, strictly increasing, positive, multiples of ``delta``.
    par_rates : array_like(float64, (k,))
        Par swap rates (decimals: 0.03 is 3 %).
    fixed_frequency : int
        Fixed-leg payments per year: 1 (annual, default), 2 (semi-annual), ...

    Returns
    -------
    ZeroCurve
        Zero rates at ``tenors``.

    Raises
    ------
    ValueError
        On empty, mismatched, non-finite, non-increasing or off-schedule inputs, a bad
        frequency, or a par rate no zero rate in [-100 %, 200 %] can reprice.
    """
    freq = fixed_frequency
    if isinstance(freq, bool) or not isinstance(freq, (int, np.integer)) or freq < 1:
        raise ValueError(
            f"fixed_frequency must be a positive integer (payments per year), got {freq!r}"
        )
    tenors = np.atleast_1d(np.asarray(tenors, dtype=float))
    par = np.atleast_1d(np.asarray(par_rates, dtype=float))
    if tenors.ndim != 1 or par.ndim != 1 or tenors.size != par.size or tenors.size == 0:
        raise ValueError(
            f"tenors and par_rates must be non-empty 1-d and of equal length "
            f"(got {tenors.size} tenors and {par.size} par rates)"
        )
    if not (np.all(np.isfinite(tenors)) and np.all(np.isfinite(par))):
        raise ValueError("tenors and par_rates must be finite numbers")
    if tenors[0] <= 0.0 or np.any(np.diff(tenors) <= 0.0):
        raise ValueError(f"tenors must be positive and strictly increasing, got {tenors.tolist()}")
    periods = np.rint(tenors * fixed_frequency).astype(np.int64)
    off = np.abs(tenors * fixed_frequency - periods) > 1e-9
    if np.any(off) or np.any(periods < 1):
        bad = tenors[off | (periods < 1)].tolist()
        raise ValueError(
            f"tenors {bad} are not whole numbers of fixed periods of 1/{fixed_frequency} year"
        )
    delta = 1.0 / fixed_frequency
    dates = np.arange(1, periods[-1] + 1) * delta  # every fixed payment date up to the last tenor
    zeros = np.empty_like(par)

    def mismatch(z_k: float, k: int) -> float:
        curve = ZeroCurve(tenors[: k + 1], np.append(zeros[:k], z_k))
        p = curve.discount(dates[: periods[k]])
        return par[k] * delta * p.sum() - (1.0 - p[-1])

    lo, hi = -1.0, 2.0
    for k in range(tenors.size):
        f_lo, f_hi = mismatch(lo, k), mismatch(hi, k)
        if not (math.isfinite(f_lo) and math.isfinite(f_hi)) or f_lo * f_hi > 0.0:
            raise ValueError(
                f"cannot bootstrap the {tenors[k]:g}-year par rate {par[k]:g}: "
                f"no zero rate in [-100 %, 200 %] reprices it"
            )
        zeros[k] = brentq(
            mismatch, lo, hi, args=(k,), xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=200
        )
    return ZeroCurve(tenors.copy(), zeros)


def curve_from_inputs(inputs: CurveInputs) -> ZeroCurve:
    """The curve of :class:`~sim.market.inputs.CurveInputs`: flat, zero rates at tenors, or
    par swap rates bootstrapped (:func:`bootstrap_par_swaps`)."""
    if inputs.kind == "par_swaps":
        return bootstrap_par_swaps(inputs.tenors, inputs.rates, inputs.frequency)
    if inputs.kind == "zero":
        return ZeroCurve(np.asarray(inputs.tenors, float), np.asarray(inputs.rates, float))
    (rate,) = inputs.rates
    return ZeroCurve.flat(rate)
