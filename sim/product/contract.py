"""Terms of the base variable annuity contract (SPEC section 1)."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "BaseContract",
    "DEATH_BENEFIT_CODES",
    "withdrawal_charge_rate",
    "layered_withdrawal_charge",
    "free_withdrawal_amount",
    "maintenance_fee_taken",
    "anniversary_death_benefit_base",
    "fixed_renewal_rate",
    "settlement_factors",
]

#: Integer codes of the death benefit types, as the kernels see them.
DEATH_BENEFIT_CODES = {"contract_value": 0, "return_of_premium": 1, "max_anniversary_value": 2}


@dataclass(frozen=True)
class BaseContract:
    """Charges and guarantees of the base contract.

    Attributes
    ----------
    me_charge : float
        Annual mortality & expense risk plus administration charge on the variable
        sub-accounts, accrued continuously (factor ``exp(-me_charge * dt)`` a step).
    maintenance_fee : float
        Contract maintenance fee in currency, taken on each contract anniversary.
    withdrawal_charges : tuple of float
        Withdrawal charge rate by contract year 1, 2, ...; zero after the last.
    free_withdrawal : float
        Share of purchase payments that may be withdrawn free of charge each contract year.
    death_benefit : str
        ``contract_value``, ``return_of_premium`` or ``max_anniversary_value``.
    fixed_rate : float
        Annual effective rate credited on the Standard Fixed Account (new guarantee periods).
    fixed_renewal_spread, fixed_minimum_rate : float
        A guarantee period renews at the short rate (annual effective) less the spread,
        never below the minimum rate.
    death_claim_window_days : float
        Days after a death within which a complete claim earns the Death Benefit (180,
        or longer if the company extends it) [002 (c), (d) "Death Proceeds"].
    """

    me_charge: float = 0.0125
    maintenance_fee: float = 0.0
    withdrawal_charges: tuple[float, ...] = (0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02)
    free_withdrawal: float = 0.10
    death_benefit: str = "return_of_premium"
    fixed_rate: float = 0.02
    fixed_renewal_spread: float = 0.01
    fixed_minimum_rate: float = 0.01
    death_claim_window_days: float = 180.0

    @property
    def death_benefit_code(self) -> int:
        return DEATH_BENEFIT_CODES[self.death_benefit]

    def withdrawal_charge_rate(self, contract_year: int) -> float:
        """Withdrawal charge rate in a contract year (1-based); zero after the schedule."""
        if 1 <= contract_year <= len(self.withdrawal_charges):
            return self.withdrawal_charges[contract_year - 1]
        return 0.0

    @classmethod
    def from_config(cls, product) -> "BaseContract":
        return cls(
            me_charge=product.me_charge,
            maintenance_fee=product.maintenance_fee,
            withdrawal_charges=tuple(product.withdrawal_charges),
            free_withdrawal=product.free_withdrawal,
            death_benefit=product.death_benefit,
            fixed_rate=product.fixed_rate,
            fixed_renewal_spread=product.fixed_renewal_spread,
            fixed_minimum_rate=product.fixed_minimum_rate,
            death_claim_window_days=product.death_claim_window_days,
        )


# ---- rules of the base contract, compiled; the kernels call them lane by lane ----------


def withdrawal_charge_rate(rates, year):
    """Withdrawal charge rate in the ``year``-th year (1-based) since a purchase payment;
    zero after the schedule ``rates`` (ndarray (n,)) [000 Withdrawal Charges]."""
    if 1 <= year <= rates.shape[0]:
        return rates[year - 1]
    return 0.0


def layered_withdrawal_charge(amount, first_left, first_rate, second_left, second_rate):
    """Withdrawal charge on ``amount`` (the excess over the free amount), taken from the
    purchase payments oldest first, each at the rate of its own age (``first_rate``,
    ``second_rate``: :func:`withdrawal_charge_rate` of the years since each payment); what
    exceeds the payments (earnings) is free [000].

    Returns
    -------
    (charge, from_first, from_second) : the charge and the parts of the first and of the
    second (scheduled) purchase payment that the amount uses up.
    """
    from_first = min(amount, first_left)
    if from_first < 0.0:
        from_first = 0.0
    rest = amount - from_first
    from_second = min(rest, second_left)
    if from_second < 0.0:
        from_second = 0.0
    charge = from_first * first_rate
    if from_second > 0.0:
        charge += from_second * second_rate
    return charge, from_first, from_second


def free_withdrawal_amount(free_share, premiums, withdrawn_this_year):
    """What may still be withdrawn free of charge this contract year: a share of the
    purchase payments less what was withdrawn since the anniversary [000]."""
    free = free_share * premiums - withdrawn_this_year
    return free if free > 0.0 else 0.0


def maintenance_fee_taken(fee, contract_value):
    """Contract maintenance fee taken on an anniversary, never more than the CV [000]."""
    return fee if fee < contract_value else contract_value


def anniversary_death_benefit_base(death_benefit_code, contract_value, death_benefit_base):
    """Maximum Anniversary Value step-up of the death benefit base (code 2) [000]."""
    if death_benefit_code == 2 and contract_value > death_benefit_base:
        return contract_value
    return death_benefit_base


def fixed_renewal_rate(short_rate, spread, minimum):
    """Rate of a renewed fixed-account guarantee period: the short rate (continuously
    compounded, turned annual effective) less the spread, never below the minimum [000]."""
    rate = math.exp(short_rate) - 1.0 - spread
    return rate if rate > minimum else minimum


def settlement_factors(lag_discount, lag, fixed_interest_after):
    """Discount factors of a payment deferred by ``lag`` years: the variable part is
    discounted (``lag_discount = exp(-r lag)``); the fixed-account part earns interest while
    deferred beyond ``fixed_interest_after`` years, so it is not [000 Payments].

    Returns (variable_factor, fixed_factor)."""
    return lag_discount, (1.0 if lag > fixed_interest_after else lag_discount)
