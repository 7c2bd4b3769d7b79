"""Counter-based random draws for simulated decrements.

A draw is a function of (seed, contract_id, scenario, step, kind) only, so a simulated path
is the same whatever thread, chunk or tile computes it.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit

__all__ = ["uniform_hash", "event_weight", "DRAWS_PER_STEP"]

#: Draw ids of one step: ``step * DRAWS_PER_STEP + kind`` (kinds: records.Draw).
DRAWS_PER_STEP = 16


@jit(inline=True)
def _mix64(z):
    """SplitMix64 finaliser on a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit(inline=True)
def uniform_hash(seed, contract_id, scenario, draw):
    """A uniform number in [0, 1) from the counter (seed, contract_id, scenario, draw)."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    h = _mix64(np.uint64(seed) + golden)
    h = _mix64(h ^ (np.uint64(contract_id) + golden))
    h = _mix64(h ^ (np.uint64(scenario) + golden))
    h = _mix64(h ^ (np.uint64(draw) + golden))
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit(inline=True)
def event_weight(weight, prob, simulated, seed, contract_id, scenario, step, kind):
    """The weight that undergoes an event of probability ``prob``: the share ``prob`` of it
    with expected decrements; all or nothing (a counter-based draw) when simulated."""
    if weight <= 0.0 or prob <= 0.0:
        return 0.0
    if simulated:
        u = uniform_hash(seed, contract_id, scenario, step * DRAWS_PER_STEP + kind)
        return weight if u < prob else 0.0
    return weight * prob
