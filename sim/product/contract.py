"""Terms of the base variable annuity contract (SPEC section 1)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BaseContract", "DEATH_BENEFIT_CODES"]

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
    """

    me_charge: float = 0.0125
    maintenance_fee: float = 0.0
    withdrawal_charges: tuple[float, ...] = (0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02)
    free_withdrawal: float = 0.10
    death_benefit: str = "return_of_premium"
    fixed_rate: float = 0.02
    fixed_renewal_spread: float = 0.01
    fixed_minimum_rate: float = 0.01

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
        )
