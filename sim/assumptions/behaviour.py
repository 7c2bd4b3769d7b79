"""Policyholder behaviour: base and dynamic lapse, partial withdrawals (SPEC section 7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Behaviour",
    "dynamic_lapse_multiplier",
    "dynamic_lapse_factor",
    "step_probability",
    "step_probability_series",
    "SERIES_LIMIT",
    "SERIES_MAX_DT",
    "base_lapse_rate",
]


def dynamic_lapse_multiplier(itm, floor=0.2, cap=1.0, slope=1.25, shift=1.1):
    """Multiplier on the base lapse rate, ``max(floor, min(cap, 1 - slope * (itm - shift)))``.

    ``itm`` is the rider's moneyness AB / CV. Defaults are SPEC section 7's (L = 0.2, U = 1,
    M = 1.25, D = 1.1); the classic C3 Phase II form uses L = 0.5.
    """
    return np.maximum(floor, np.minimum(cap, 1.0 - slope * (np.asarray(itm, float) - shift)))


def dynamic_lapse_factor(itm, floor, cap, slope, shift):
    """:func:`dynamic_lapse_multiplier` for one moneyness, compiled (the kernels' form)."""
    mult = 1.0 - slope * (itm - shift)
    if mult > cap:
        mult = cap
    if mult < floor:
        mult = floor
    return mult


def step_probability(annual, dt):
    """Probability within one step of length ``dt`` of an event of annual probability
    ``annual`` (constant force within the year): ``1 - (1 - annual)^dt``. The kernels
    evaluate it by :func:`step_probability_series` up to :data:`SERIES_LIMIT`."""
    if annual >= 1.0:
        return 1.0
    if annual <= 0.0:
        return 0.0
    return 1.0 - (1.0 - annual) ** dt


#: Annual probabilities and step lengths up to which :func:`step_probability_series` holds
#: (a lapse table's shock year of 12-15 % a year and a dynamic multiplier above 1 stay
#: within it).
SERIES_LIMIT = 0.25
SERIES_MAX_DT = 0.25


def step_probability_series(annual, dt):
    """:func:`step_probability` for ``0 <= annual <= SERIES_LIMIT`` and
    ``dt <= SERIES_MAX_DT`` (usual lapse rates on monthly or quarterly steps), by two
    series with no library call, so that a lane loop of it vectorises.

    ``log(1 - a) = -2 atanh(z)`` with ``z = a / (2 - a) <= 1/7``: 11 terms of
    ``z^(2k+1) / (2k+1)`` (the next is below 1e-19 of the sum); then
    ``1 - (1 - a)^dt = -expm1(x)`` with ``x = dt log(1 - a)``, ``|x| <= 0.072``: Horner to
    ``x^10 / 10!`` (the next term is below 1e-18 of ``|x|``). Each is summed from its
    smallest term, so the result agrees with ``-expm1(dt log1p(-a))`` to a few units in the
    last place (tests/test_contract_rules.py), where ``1 - (1 - a)**dt`` loses digits to
    cancellation for small rates. Branch free."""
    z = annual / (2.0 - annual)
    z2 = z * z
    s = 1.0 / 21.0
    s = s * z2 + 1.0 / 19.0
    s = s * z2 + 1.0 / 17.0
    s = s * z2 + 1.0 / 15.0
    s = s * z2 + 1.0 / 13.0
    s = s * z2 + 1.0 / 11.0
    s = s * z2 + 1.0 / 9.0
    s = s * z2 + 1.0 / 7.0
    s = s * z2 + 1.0 / 5.0
    s = s * z2 + 1.0 / 3.0
    x = dt * (-2.0 * z * (s * z2 + 1.0))  # dt log(1 - a)
    e = 1.0 / 3628800.0  # 1 / 10!
    e = e * x + 1.0 / 362880.0  # 1 / 9!
    e = e * x + 1.0 / 40320.0  # 1 / 8!
    e = e * x + 1.0 / 5040.0  # 1 / 7!
    e = e * x + 1.0 / 720.0  # 1 / 6!
    e = e * x + 1.0 / 120.0  # 1 / 5!
    e = e * x + 1.0 / 24.0  # 1 / 4!
    e = e * x + 1.0 / 6.0  # 1 / 3!
    e = e * x + 1.0 / 2.0  # 1 / 2!
    e = e * x + 1.0 / 1.0  # 1 / 1!
    return -x * e


def base_lapse_rate(base_rates, contract_year):
    """Annual base surrender rate of a contract year (1-based; the last rate repeats)."""
    idx = contract_year - 1
    if idx >= base_rates.shape[0]:
        idx = base_rates.shape[0] - 1
    return base_rates[idx]


@dataclass(frozen=True)
class Behaviour:
    """Lapse and withdrawal assumptions.

    Attributes
    ----------
    lapse_enabled : bool
    lapse_base : tuple of float
        Annual full-surrender rate by contract year 1, 2, ...; the last repeats.
    dynamic_enabled : bool
    dynamic_floor, dynamic_cap, dynamic_slope, dynamic_shift : float
    withdrawal_rate : float
        Share of CV a withdrawing contract takes on each anniversary.
    withdrawal_utilisation : float
        Share of contracts that withdraw.
    """

    lapse_enabled: bool = True
    lapse_base: tuple[float, ...] = (0.02, 0.02, 0.03, 0.03, 0.04, 0.04, 0.05, 0.12, 0.07)
    dynamic_enabled: bool = True
    dynamic_floor: float = 0.2
    dynamic_cap: float = 1.0
    dynamic_slope: float = 1.25
    dynamic_shift: float = 1.1
    withdrawal_rate: float = 0.0
    withdrawal_utilisation: float = 0.0

    def base_lapse(self, contract_year: int) -> float:
        return self.lapse_base[min(contract_year, len(self.lapse_base)) - 1]

    def annual_lapse(self, contract_year: int, itm: float) -> float:
        """Annual surrender rate for a contract year and moneyness, capped at 1."""
        if not self.lapse_enabled:
            return 0.0
        rate = self.base_lapse(contract_year)
        if self.dynamic_enabled:
            rate *= float(
                dynamic_lapse_multiplier(
                    itm,
                    self.dynamic_floor,
                    self.dynamic_cap,
                    self.dynamic_slope,
                    self.dynamic_shift,
                )
            )
        return min(rate, 1.0)

    @classmethod
    def from_config(cls, config) -> "Behaviour":
        lapse, wd = config.lapse, config.withdrawals
        return cls(
            lapse_enabled=lapse.enabled,
            lapse_base=tuple(lapse.base),
            dynamic_enabled=lapse.dynamic.enabled,
            dynamic_floor=lapse.dynamic.floor,
            dynamic_cap=lapse.dynamic.cap,
            dynamic_slope=lapse.dynamic.slope,
            dynamic_shift=lapse.dynamic.shift,
            withdrawal_rate=wd.rate if wd.enabled else 0.0,
            withdrawal_utilisation=wd.utilisation if wd.enabled else 0.0,
        )

    def lapse_array(self) -> np.ndarray:
        return np.asarray(self.lapse_base, dtype=np.float64)
