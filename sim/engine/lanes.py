"""The state of one segment over a tile of scenario lanes, and the segment stack.

A **lane** is one scenario of the tile. Every array here has the lanes on its last axis,
so a mechanism is a loop over lanes that LLVM can keep in registers. Step functions bind
the arrays they use to local names before their lane loop: reading ``lanes.field`` inside
a loop would make numba count references on every iteration.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from .._numba import jit
from .records import N_CARRIED, Carried

__all__ = [
    "Lanes",
    "Value",
    "N_VALUES",
    "allocate_lanes",
    "N_MEASURES",
    "MEASURES",
    "Measure",
    "TRACE_FIELDS",
    "Flow",
    "N_FLOWS",
    "FLOW_ROWS",
    "INFORCE_ROW",
]

#: Per-path outputs, in the order of the kernel's ``out`` axis 0.
MEASURES = (
    "pv_claims",  # maturity true-ups
    "pv_fees",  # anniversary Rider Fees + termination Rider Fees
    "pv_db_excess",  # death proceeds in excess of CV
    "pv_spousal_charge",  # Spousal Protection rider charge
    "pv_fee_base",  # PV of the fee basis (BB) at each fee date: the fee's annuity
    "pv_withdrawal_charges",  # charges on partial withdrawals and surrenders
    "inforce_at_maturity",  # weight reaching the Rider Maturity Date (any segment)
    "pv_surrender_payments",  # Settlement Values paid on surrender (with settlement lag)
    "pv_withdrawals",  # partial withdrawals paid (with settlement lag)
    "continuation_weight",  # weight continued by a spouse (Option D)
)
N_MEASURES = len(MEASURES)


class Measure(IntEnum):
    """Rows of the per-lane accumulators (``Lanes.acc``), in :data:`MEASURES` order."""

    CLAIMS = 0
    FEES = 1
    DB_EXCESS = 2
    SPOUSAL = 3
    FEE_BASE = 4
    WITHDRAWAL_CHARGES = 5
    AT_MATURITY = 6
    SURRENDERS = 7
    WITHDRAWALS = 8
    CONTINUED = 9


class Flow(IntEnum):
    """Cash flows booked by projection year (``Lanes.flows`` rows; the discounted value of
    flow ``f`` is row ``N_FLOWS + f``, the in-force weight at year end row ``2 N_FLOWS``).
    Amounts are expected values: weight x amount, undiscounted (or discounted)."""

    TRUE_UP = 0  # maturity true-ups paid into the contract (the rider's claims)
    RIDER_FEE = 1  # anniversary and termination Rider Fees
    DB_EXCESS = 2  # death proceeds (or continuation step-ups) in excess of the CV
    DEATH_PROCEEDS = 3  # death proceeds paid out (claims that end the contract)
    SURRENDER_PAYMENTS = 4  # Settlement Values paid on surrender
    WITHDRAWALS = 5  # partial withdrawals paid
    WITHDRAWAL_CHARGES = 6  # on surrenders and partial withdrawals
    ME_CHARGES = 7  # M&E and administration charge
    SPOUSAL_CHARGE = 8  # Spousal Protection charge


N_FLOWS = len(Flow)
#: Rows of ``Lanes.flows``: each flow undiscounted, each discounted, in force at year end.
FLOW_ROWS = 2 * N_FLOWS + 1
INFORCE_ROW = 2 * N_FLOWS

#: Per-step trace fields of the main segment (kernel ``trace`` axis 3), at each step end.
TRACE_FIELDS = (
    "weight",
    "variable",
    "money_market",
    "fixed",
    "benefit_base",
    "death_benefit_base",
    "cv_start",
    "growth",
    "charges",
    "maintenance_fee",
    "rider_fee",
    "withdrawal",
    "payment",
    "true_up",
    "cv_end",
)


class Value(IntEnum):
    """Rows of ``Lanes.values``: the segment's state and the step's scratch values, each
    over the lanes of the tile."""

    VARIABLE = 0  # variable sub-accounts but Money Market
    MONEY_MARKET = 1
    FIXED = 2  # Standard Fixed Account
    BENEFIT_BASE = 3
    DEATH_BENEFIT_BASE = 4
    PREMIUMS = 5  # purchase payments to date
    FIRST_LEFT = 6  # payments to date not yet withdrawn (withdrawal charges)
    SECOND_LEFT = 7  # scheduled payment not yet withdrawn
    WITHDRAWN = 8  # withdrawn since the last anniversary
    FIXED_RATE = 9  # annual effective rate of the fixed account
    FIXED_GROWTH = 10  # its growth over one step
    CV = 11  # Contract Value after the step's charges (scratch)
    PENDING = 12  # weight of claims filed, not yet settled
    PENDING_OWNER = 13  # of PENDING: claims filed on an owner's death
    FILED_OWNER = 14  # of ``filed[TERMINATE]``: filed on an owner's death
    POOL_BEFORE = 15  # pool weight before the step's deaths (scratch)
    CV_START = 16  # trace values of the step, from here to TRUE_UP
    GROWTH = 17
    CHARGES = 18
    MAINTENANCE_FEE = 19
    RIDER_FEE = 20
    WITHDRAWAL = 21
    TRUE_UP = 22
    Q_LAPSE = 23  # step probability of a surrender (scratch)
    LAPSES = 24  # weight surrendering in the step (scratch)
    CANCELS = 25  # cancelling the rider
    ANNUITIZATIONS = 26  # annuitizing
    WAIVED = 27  # surrendering within a continued contract's free year


N_VALUES = len(Value)
V = Value
#: The first rows of ``Lanes.values`` are the carried values of a segment's start, in the
#: order of ``records.Carried`` (checked below), so a segment is loaded and saved by one
#: slice copy.
N_CARRIED_VALUES = int(Carried.WEIGHT_0)
_CARRIED_ROW_NAMES = {  # Carried names that differ from the Value row holding them
    "FIRST_PAYMENT_LEFT": "FIRST_LEFT",
    "SECOND_PAYMENT_LEFT": "SECOND_LEFT",
    "WITHDRAWN_THIS_YEAR": "WITHDRAWN",
}
assert all(
    Value(k).name == _CARRIED_ROW_NAMES.get(Carried(k).name, Carried(k).name)
    for k in range(N_CARRIED_VALUES)
)


class Lanes(NamedTuple):
    """One segment's state over ``n`` lanes (every array's last axis).

    The one-lane-per-row values are rows of one array (``values[Value.X]``) rather than
    28 arrays: numba counts references to every array of a record each time it passes
    the record to a function, and the engine passes ``Lanes`` to a dozen functions a step.
    """

    values: np.ndarray  # (N_VALUES, n) by :class:`Value`
    weight: np.ndarray  # (5, n) in force by class 2*spouse+annuitant alive, then the pool
    filed: np.ndarray  # (3, n) claims filed this step by ClaimKind
    claims: np.ndarray  # (3, n_delays, ring, n) claims waiting, by settlement slot
    owner_claims: np.ndarray  # (n_delays, ring, n) of ``claims[TERMINATE]``: owner deaths
    continued_recently: np.ndarray  # (steps_per_year + 1, n) pool weight still in its free year
    acc: np.ndarray  # (N_MEASURES, n) present values
    trade_now: np.ndarray  # (n,) bool: a trade-in may be decided at this anniversary
    flows: np.ndarray  # (FLOW_ROWS, n_years, n) cash flows by projection year


@jit
def allocate_lanes(n, n_delays, ring, steps_per_year, n_years):
    """Empty lane state for a tile of ``n`` lanes."""
    return Lanes(
        np.zeros((N_VALUES, n)),
        np.zeros((5, n)),
        np.zeros((3, n)),
        np.zeros((3, n_delays, ring, n)),
        np.zeros((n_delays, ring, n)),
        np.zeros((steps_per_year + 1, n)),
        np.zeros((N_MEASURES, n)),
        np.zeros(n, dtype=np.bool_),
        np.zeros((FLOW_ROWS, n_years, n)),
    )


@jit
def load_segment(lanes, saved, n, dt):
    """Set the lanes to a segment's starting values ``saved`` (N_CARRIED, >= n) and clear
    its claims; returns the total starting weight."""
    values = lanes.values
    values[:N_CARRIED_VALUES, :n] = saved[:N_CARRIED_VALUES, :n]
    lanes.weight[:, :n] = saved[Carried.WEIGHT_0 : Carried.WEIGHT_POOL + 1, :n]
    values[V.PENDING, :] = 0.0
    lanes.claims[:] = 0.0
    values[V.PENDING_OWNER, :] = 0.0
    lanes.owner_claims[:] = 0.0
    lanes.continued_recently[:] = 0.0
    rate = values[V.FIXED_RATE]
    growth = values[V.FIXED_GROWTH]
    for i in range(n):
        growth[i] = (1.0 + rate[i]) ** dt
    return lanes.weight[:, :n].sum()


@jit
def save_lanes(lanes, saved, n):
    """Copy the lanes' carried values into a stack slot ``saved`` (N_CARRIED, >= n); the
    caller sets the weights (and any value that differs)."""
    saved[:N_CARRIED_VALUES, :n] = lanes.values[:N_CARRIED_VALUES, :n]
    saved[Carried.WEIGHT_0 : Carried.WEIGHT_POOL + 1, :n] = 0.0


N_STACK_FIELDS = N_CARRIED
