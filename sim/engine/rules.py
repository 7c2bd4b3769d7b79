"""The product rules the kernels apply, compiled once with the package's numba settings.

Each rule is written once, as a plain scalar Python function, in its home in
:mod:`sim.product` (contract, rider, death) or :mod:`sim.assumptions.behaviour`; those
modules import no numba, so ``abrsim validate`` stays quick. Here every rule is compiled
to be inlined into the kernels' lane loops (``jit(inline=True)``).
"""

from __future__ import annotations

from .._numba import jit
from ..assumptions import behaviour as _behaviour
from ..product import contract as _contract
from ..product import death as _death
from ..product import rider as _rider

# base contract [000]
withdrawal_charge_rate = jit(inline=True)(_contract.withdrawal_charge_rate)
layered_withdrawal_charge = jit(inline=True)(_contract.layered_withdrawal_charge)
free_withdrawal_amount = jit(inline=True)(_contract.free_withdrawal_amount)
maintenance_fee_taken = jit(inline=True)(_contract.maintenance_fee_taken)
anniversary_death_benefit_base = jit(inline=True)(_contract.anniversary_death_benefit_base)
fixed_renewal_rate = jit(inline=True)(_contract.fixed_renewal_rate)
settlement_factors = jit(inline=True)(_contract.settlement_factors)
# Accumulation Benefit Rider [003]
rider_fee_basis = jit(inline=True)(_rider.rider_fee_basis)
rider_fee_deduction = jit(inline=True)(_rider.rider_fee_deduction)
termination_rider_fee = jit(inline=True)(_rider.termination_rider_fee)
true_up = jit(inline=True)(_rider.true_up)
benefit_base_after_withdrawal = jit(inline=True)(_rider.benefit_base_after_withdrawal)
payment_before_anniversary = jit(inline=True)(_rider.payment_before_anniversary)
# death and continuation [002, 004]
claim_proceeds = jit(inline=True)(_death.claim_proceeds)
continuation_step_up = jit(inline=True)(_death.continuation_step_up)
# behaviour (SPEC section 7)
dynamic_lapse_factor = jit(inline=True)(_behaviour.dynamic_lapse_factor)
step_probability_series = jit(inline=True)(_behaviour.step_probability_series)
_step_probability_power = jit(inline=True)(_behaviour.step_probability)
SERIES_LIMIT = _behaviour.SERIES_LIMIT
SERIES_MAX_DT = _behaviour.SERIES_MAX_DT


@jit(inline=True)
def step_probability(annual, dt):
    """:func:`sim.assumptions.behaviour.step_probability`, evaluated by its series where it
    holds (no ``pow`` call, and no cancellation for small rates)."""
    if annual > 0.0 and annual <= SERIES_LIMIT and dt <= SERIES_MAX_DT:
        return step_probability_series(annual, dt)
    return _step_probability_power(annual, dt)


base_lapse_rate = jit(inline=True)(_behaviour.base_lapse_rate)
