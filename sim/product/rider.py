"""Terms of the Accumulation Benefit Rider [003] (SPEC section 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = [
    "ABFactorTable",
    "AccumulationBenefitRider",
    "load_ab_factors",
    "FEE_BASIS_CODES",
    "rider_fee_basis",
    "rider_fee_deduction",
    "termination_rider_fee",
    "true_up",
    "benefit_base_after_withdrawal",
    "payment_before_anniversary",
]

#: Integer codes of the rider fee basis, as the kernels see them.
FEE_BASIS_CODES = {"benefit_base": 0, "contract_value": 1}
MIN_PERIOD, MAX_PERIOD = 7, 20
MIN_FACTOR, MAX_FACTOR = 0.50, 3.00


@dataclass(frozen=True)
class ABFactorTable:
    """AB Factor by (Guarantee Option, Rider Period)."""

    factors: dict[tuple[int, int], float]
    source: str = "default"

    def lookup(self, guarantee_option: int, rider_period: int) -> float | None:
        """The AB Factor, or None if the table has no entry."""
        return self.factors.get((int(guarantee_option), int(rider_period)))

    @property
    def options(self) -> set[int]:
        return {g for g, _ in self.factors}


def load_ab_factors(path: str | Path | None = None) -> ABFactorTable:
    """Load the AB factor table: the shipped default, or a CSV with columns
    ``guarantee_option, rider_period, ab_factor`` (``#`` starts a comment).

    Raises
    ------
    ValueError
        One line naming the file and the row of the first problem.
    """
    if path is None or str(path) == "default":
        ref = resources.files("sim.assumptions") / "data" / "ab_factors.csv"
        source = "default"
        with resources.as_file(ref) as p:
            frame = pd.read_csv(p, comment="#")
    else:
        source = str(path)
        try:
            frame = pd.read_csv(path, comment="#")
        except FileNotFoundError:
            raise ValueError(f"{path}: AB factor file not found") from None
    missing = {"guarantee_option", "rider_period", "ab_factor"} - set(frame.columns)
    if missing:
        raise ValueError(f"{source}: AB factor table lacks column(s) {', '.join(sorted(missing))}")
    factors = {}
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        g, n, f = row.guarantee_option, row.rider_period, row.ab_factor
        if pd.isna(g) or pd.isna(n) or pd.isna(f) or g != int(g) or n != int(n):
            raise ValueError(
                f"{source}: row {i}: guarantee_option and rider_period must be whole numbers and ab_factor given"
            )
        if not MIN_PERIOD <= n <= MAX_PERIOD:
            raise ValueError(
                f"{source}: row {i}: rider_period {n} outside {MIN_PERIOD}-{MAX_PERIOD}"
            )
        if not MIN_FACTOR <= f <= MAX_FACTOR:
            raise ValueError(f"{source}: row {i}: ab_factor {f} outside {MIN_FACTOR}-{MAX_FACTOR}")
        factors[(int(g), int(n))] = float(f)
    return ABFactorTable(factors=factors, source=source)


@dataclass(frozen=True)
class AccumulationBenefitRider:
    """Rider terms shared by the block (per-contract fee rates and factors live in the inforce).

    Attributes
    ----------
    fee_rate : float
        Default Rider Fee Percentage, applied to the Benefit Base on each anniversary.
    fee_basis : str
        ``benefit_base`` (the rider's rule) or ``contract_value`` (textbook switch).
    termination_fee : bool
        Take a full Rider Fee when the rider ends off an anniversary (master switch).
    termination_fee_events : tuple of str
        Which terminations pay it: ``surrender``, ``cancellation``, ``death``,
        ``annuitization`` (never a trade-in [003 III]).
    fee_shortfall : str
        When the variable sub-accounts hold less than the Rider Fee: ``waive`` the rest
        (default) or take it from the ``fixed_account``.
    payment_on_anniversary : str
        A purchase payment made on a Contract Anniversary is credited ``before_fee``
        (default: it is in the Benefit Base "as of the applicable Contract Anniversary"
        that the Rider Fee is on [003 III]) or ``after_withdrawal`` (after that
        anniversary's events); see :func:`payment_before_anniversary`.
    ab_factors : ABFactorTable
    investment_limits : dict
        Guarantee Option -> limits (``max_weight``, ``min_weight``, ``excluded``).
    """

    fee_rate: float = 0.0125
    fee_basis: str = "benefit_base"
    termination_fee: bool = True
    termination_fee_events: tuple[str, ...] = ("surrender", "cancellation")
    fee_shortfall: str = "waive"
    payment_on_anniversary: str = "before_fee"
    ab_factors: ABFactorTable = field(default_factory=load_ab_factors)
    investment_limits: dict = field(default_factory=dict)

    @property
    def fee_basis_code(self) -> int:
        return FEE_BASIS_CODES[self.fee_basis]

    def allocation_problems(self, guarantee_option: int, weights: dict[str, float]) -> list[str]:
        """Ways an allocation (fund -> weight) breaks the option's investment limits [003 §VIII]."""
        limits = self.investment_limits.get(int(guarantee_option))
        if limits is None:
            return []
        out = []
        for fund in limits.excluded:
            if weights.get(fund, 0.0) > 0:
                out.append(f"fund {fund} is excluded under guarantee option {guarantee_option}")
        for fund, cap in limits.max_weight.items():
            if weights.get(fund, 0.0) > cap + 1e-12:
                out.append(
                    f"{fund} {weights[fund]:.4g} above the option {guarantee_option} maximum {cap:.4g}"
                )
        for fund, floor in limits.min_weight.items():
            if weights.get(fund, 0.0) < floor - 1e-12:
                out.append(
                    f"{fund} {weights.get(fund, 0.0):.4g} below the option {guarantee_option} minimum {floor:.4g}"
                )
        return out

    @classmethod
    def from_config(cls, config) -> "AccumulationBenefitRider":
        rider = config.rider
        table = load_ab_factors(
            None if rider.ab_factors == "default" else config.resolve(rider.ab_factors)
        )
        return cls(
            fee_rate=rider.fee_rate,
            fee_basis=rider.fee_basis,
            termination_fee=rider.termination_fee,
            termination_fee_events=tuple(rider.termination_fee_events),
            fee_shortfall=rider.fee_shortfall,
            payment_on_anniversary=rider.payment_on_anniversary,
            ab_factors=table,
            investment_limits=dict(rider.investment_limits),
        )


# ---- rules of the rider, compiled; the kernels call them lane by lane ------------------


def rider_fee_basis(fee_on_contract_value, contract_value, benefit_base):
    """What the Rider Fee Percentage applies to: the Benefit Base as of the anniversary
    [003 III] (or the CV, the textbook switch ``rider.fee_basis``)."""
    return contract_value if fee_on_contract_value else benefit_base


def rider_fee_deduction(fee, variable_value, fixed_value, shortfall_from_fixed):
    """The anniversary Rider Fee as taken: from the variable sub-accounts pro rata; when they
    hold less, the rest is waived, or taken from the fixed account
    (``rider.fee_shortfall = "fixed_account"``) [003 III].

    Returns (fee_taken, from_fixed)."""
    if fee <= variable_value:
        return fee, 0.0
    from_fixed = 0.0
    if shortfall_from_fixed:
        from_fixed = min(fee - variable_value, fixed_value)
    return variable_value + from_fixed, from_fixed


def termination_rider_fee(fee_rate, basis, contract_value):
    """The full Rider Fee taken when the rider ends off an anniversary, never more than the
    CV [003 III]."""
    fee = fee_rate * basis
    return fee if fee < contract_value else contract_value


def true_up(ab_factor, benefit_base, contract_value):
    """The amount added to the CV on the Rider Maturity Date: the excess of the Accumulation
    Benefit (AB Factor x Benefit Base) over the CV [003 II]."""
    excess = ab_factor * benefit_base - contract_value
    return excess if excess > 0.0 else 0.0


def benefit_base_after_withdrawal(benefit_base, share_kept):
    """A partial withdrawal reduces the Benefit Base in the proportion it reduces the CV
    (``share_kept`` = CV after / CV before) [003 III "Benefit Base"]."""
    bb = benefit_base * share_kept
    return bb if bb > 0.0 else 0.0


def payment_before_anniversary(payment_first, payment_now, anniversary_now):
    """Whether the purchase payment of a step is credited before that step's anniversary
    events (maintenance fee, Rider Fee, maturity true-up, MAV step-up, withdrawal).

    [003 III] "The Rider Fee is calculated by multiplying the Rider Fee Percentage by the
    Benefit Base as of the applicable Contract Anniversary"; [003 II] a payment made "on
    the first Contract Anniversary" increases the Benefit Base. Read as the values at the
    end of that day, a payment made on the anniversary is in the Benefit Base the fee is
    on: ``payment_first`` (``rider.payment_on_anniversary = "before_fee"``, the default).
    Otherwise the payment comes after the anniversary's events, as in versions up to 0.1.

    Parameters
    ----------
    payment_first : bool
        ``rider.payment_on_anniversary == "before_fee"``.
    payment_now, anniversary_now : bool
        A scheduled payment, and a Contract Anniversary, fall at the end of this step.
    """
    return payment_first and payment_now and anniversary_now
