"""Deterministic yield curves: flat or a zero curve (continuous compounding)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ZeroCurve", "curve_from_config"]


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
    def flat(cls, rate: float) -> "ZeroCurve":
        return cls(np.array([1.0]), np.array([float(rate)]))

    def zero_rate(self, t) -> np.ndarray:
        return np.interp(np.asarray(t, dtype=float), self.tenors, self.zero_rates)

    def discount(self, t) -> np.ndarray:
        """Discount factor P(0, t)."""
        t = np.asarray(t, dtype=float)
        return np.exp(-self.zero_rate(t) * t)

    def step_forwards(self, n_steps: int, steps_per_year: int) -> np.ndarray:
        """Continuously compounded forward rate over each step, ndarray(float64, (n_steps,))."""
        dt = 1.0 / steps_per_year
        grid = np.arange(n_steps + 1) * dt
        log_p = -self.zero_rate(grid) * grid
        return (log_p[:-1] - log_p[1:]) / dt


def curve_from_config(market) -> ZeroCurve:
    """The curve of a ``[market]`` section: ``rate`` (flat) or ``curve`` (zero rates)."""
    if market.curve is not None:
        return ZeroCurve(np.asarray(market.curve.tenors, float), np.asarray(market.curve.zero_rates, float))
    return ZeroCurve.flat(market.rate)
