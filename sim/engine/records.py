"""Typed records the kernels read: block terms, contracts, market paths, segment starts.

Config and inforce are lowered into these once (:mod:`sim.engine.layout`); the kernels read
named fields, never positions in a float vector. Every record is a ``NamedTuple`` (numba
compiles it as a tuple with named, typed fields, and caches it to disk, unlike a
``jitclass``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

__all__ = [
    "Policy",
    "Terms",
    "ContractRecords",
    "MarketPaths",
    "SegmentStart",
    "Life",
    "ClaimKind",
    "Draw",
    "Carried",
]


class Life(IntEnum):
    """Rows of the mortality input ``q_lives[c, life, step]``."""

    OWNER = 0
    SPOUSE = 1
    ANNUITANT = 2
    NONE = -1


class ClaimKind(IntEnum):
    """What a death claim does when settled."""

    TERMINATE = 0  # death proceeds are paid; the contract ends
    CONTINUE_FOR_SPOUSE = 1  # the owner died: the spouse continues the contract (Option D)
    CONTINUE_FOR_OWNER = 2  # the co-annuitant spouse died: the owner continues [004 II]


class Draw(IntEnum):
    """Kinds of counter-based draws in simulated mode (draw id = step * 16 + kind)."""

    OWNER = 0
    SPOUSE = 1
    ANNUITANT = 2
    LAPSE = 3
    CANCEL = 4
    ANNUITIZE = 5
    ELECT = 6
    DELAY = 7
    WITHDRAW = 8
    TRADE = 9
    CANCEL_CONTINUED = 10


class Carried(IntEnum):
    """Lane values a new segment starts from (axis 1 of the segment stack's lane part)."""

    VARIABLE = 0
    MONEY_MARKET = 1
    FIXED = 2
    BENEFIT_BASE = 3
    DEATH_BENEFIT_BASE = 4
    PREMIUMS = 5
    FIRST_PAYMENT_LEFT = 6
    SECOND_PAYMENT_LEFT = 7
    WITHDRAWN_THIS_YEAR = 8
    FIXED_RATE = 9
    WEIGHT_0 = 10  # weights by class (2 x spouse alive + annuitant alive), then the pool
    WEIGHT_1 = 11
    WEIGHT_2 = 12
    WEIGHT_3 = 13
    WEIGHT_POOL = 14


N_CARRIED = len(Carried)


class Terms(NamedTuple):
    """Block-wide product terms, behaviour and timing, as the kernels use them."""

    dt: float  # years per step
    steps_per_year: int
    me_charge: float  # annual M&E + admin on the variable sub-accounts
    maintenance_fee: float  # currency, each anniversary
    free_withdrawal: float  # share of purchase payments free of charge each year
    withdrawal_charges: np.ndarray  # (n,) rate by year since payment
    death_benefit_code: int  # 0 CV, 1 return of premium, 2 max anniversary value
    fee_on_contract_value: bool
    fee_shortfall_from_fixed: bool
    payment_before_anniversary: bool  # rider.payment_on_anniversary == "before_fee"
    termination_fee_on_surrender: bool
    termination_fee_on_cancellation: bool
    termination_fee_on_death: bool
    termination_fee_on_annuitization: bool
    lapse_on: bool
    lapse_base: np.ndarray  # (n,) annual rate by contract year, the last repeats
    dynamic_on: bool
    dynamic_floor: float
    dynamic_cap: float
    dynamic_slope: float
    dynamic_shift: float
    withdrawal_rate: float
    withdrawal_utilisation: float
    elect_continuation: float  # share of surviving spouses who continue (Option D)
    cancel_on_continuation: float  # share of continued contracts that cancel the rider
    annuitant_death_continue: float  # share continuing on a separate annuitant's death
    cancel_rate: float
    cancel_threshold: float
    cancel_rate_above: float
    trade_rate: float
    trade_threshold: float
    trade_rate_above: float
    trade_period: int  # years of the New Rider
    trade_ab_factor: float
    trade_fee_rate: float
    annuitize_rate: float
    annuitize_from_age: float
    renewal_spread: float
    renewal_minimum: float
    death_lag: float  # years from claim to payment of death proceeds
    surrender_lag: float
    withdrawal_lag: float
    fixed_interest_after: float
    simulated: bool
    seed: int
    continuation_grid: int  # continuation claims settle on a grid of this many steps
    delay_steps: np.ndarray  # (n_delays,) int64 claim delay in steps
    delay_prob: np.ndarray  # (n_delays,)
    delay_within: np.ndarray  # (n_delays,) bool: within the Death Benefit's claim window


class ContractRecords(NamedTuple):
    """The block's contracts, one entry per contract in every array (shape (n_c,))."""

    contract_id: np.ndarray  # int64
    allocation: np.ndarray  # int64 row of the portfolio growth
    variable_value: np.ndarray
    fixed_value: np.ndarray
    benefit_base: np.ndarray
    death_benefit_base: np.ndarray
    premiums: np.ndarray
    ab_factor: np.ndarray
    fee_rate: np.ndarray
    spousal_charge: np.ndarray
    payment_amount: np.ndarray
    fixed_rate: np.ndarray
    owner_age: np.ndarray
    spouse_age: np.ndarray  # 0 = no spouse
    contract_year: np.ndarray  # int64
    anniversary_step: np.ndarray  # int64 step of the next anniversary
    maturity_step: np.ndarray  # int64
    payment_step: np.ndarray  # int64, 0 = none
    payment_in_bb: np.ndarray  # bool
    has_spouse: np.ndarray  # bool
    has_annuitant: np.ndarray  # bool: a separate annuitant
    owner_natural: np.ndarray  # bool
    continuation_eligible: np.ndarray  # bool
    window_step: np.ndarray  # int64 step of the 10th rider anniversary, -1 = never
    fixed_renewal_step: np.ndarray  # int64
    fixed_period_steps: np.ndarray  # int64
    spousal_protection: np.ndarray  # bool


class Policy(NamedTuple):
    """The scalars of one contract that the time loop reads on every step, taken from
    :class:`ContractRecords` once per contract (:func:`sim.engine.kernels.policy_of`):
    passing the records themselves to the step's functions would make numba count
    references to each of their arrays on every call."""

    contract_id: int
    allocation: int  # row of the portfolio growth
    spousal_charge: float
    payment_step: int  # 0 = none
    payment_amount: float
    payment_in_bb: bool
    spouse_age: float  # 0 = no spouse
    fixed_period_steps: int
    owner_natural: bool
    continuation_eligible: bool


class MarketPaths(NamedTuple):
    """Scenario inputs, time-major (``[t, s]``: a step's row is contiguous over lanes)."""

    portfolio_growth: np.ndarray  # (n_alloc, n_steps, n_scen)
    money_market_growth: np.ndarray  # (n_steps, n_scen)
    short_rate: np.ndarray  # (n_steps, n_scen)
    discount: np.ndarray  # (n_steps + 1, n_scen)
    death_lag_discount: np.ndarray  # (n_steps, n_scen): exp(-r_t * death lag)
    surrender_lag_discount: np.ndarray  # (n_steps, n_scen)
    withdrawal_lag_discount: np.ndarray  # (n_steps, n_scen)


class SegmentStart(NamedTuple):
    """The lane-independent part of a segment's starting state (the lane values are in the
    stack's :class:`Carried` rows)."""

    start: int  # first step
    skip_first: bool  # the first step's events already happened (a continuation)
    contract_year: int
    ab_factor: float
    fee_rate: float
    maturity: int  # step of the Rider Maturity Date
    next_anniversary: int
    window: int  # step of the 10th rider anniversary, -1 = never
    continuation_used: bool
    trade_used: bool
    spousal_protection: bool
    free_until: int  # surrenders and withdrawals free of charge until this step
    renewal: int  # step of the next fixed-account renewal
    owner_life: int  # Life rows of the segment's lives (Life.NONE when absent)
    spouse_life: int
    annuitant_life: int
    owner_age: float
    main: bool  # the main segment (traced)


class StepExits(NamedTuple):
    """Rates of the voluntary exits in one step, decided once per step for the segment."""

    q_lapse: float  # step probability of a surrender when the lapse is not dynamic
    dynamic: bool  # the lapse rate moves with the moneyness of each lane
    lapse_base: float  # annual base rate of the contract year (dynamic lapse)
    cancel_on: bool  # rider cancellation possible in this step
    q_cancel_below: float
    q_cancel_above: float
    q_annuitize: float  # step probability of an annuitization by the owner
    q_annuitize_pool: float  # by a continuing spouse
    charges_apply: bool  # withdrawal charges apply (not within a free year)
    first_charge_rate: float  # withdrawal charge rate of the first payment this year
    second_charge_rate: float  # of the scheduled payment
