"""The numba engine equals the plain-Python twin (tests/reference.py) to 1e-10 relative."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine import kernels as K
from sim.engine.driver import run_block

from .blocks import make_config, model_for, random_inforce
from .reference import project_contract

REL = 1e-10


def _compare(config, inforce, n_scenarios=3, fee_rate=None):
    model, scenarios, assumptions = model_for(config, inforce, n_scenarios)
    run = run_block(model, threads=0, trace=True, fee_rate=fee_rate)
    rows = inforce.to_dict("records")
    for c, row in enumerate(rows):
        for s in range(n_scenarios):
            ref = project_contract(row, config, scenarios, s, assumptions.mortality, fee_rate=fee_rate)
            steps = len(ref["trace"])
            assert steps == model.contracts.maturity_step[c]
            for t, step in enumerate(ref["trace"]):
                for f, field in enumerate(K.TRACE_FIELDS):
                    assert run.trace[c, s, t, f] == pytest.approx(step[field], rel=REL, abs=1e-9), (c, s, t, field)
    # measures: the block totals per scenario are sums of the paths in contract order
    for s in range(n_scenarios):
        refs = [project_contract(row, config, scenarios, s, assumptions.mortality, fee_rate=fee_rate) for row in rows]
        for k, name in enumerate(K.MEASURES):
            expected = sum(r[name] for r in refs)
            assert run.scenario_totals[k, s] == pytest.approx(expected, rel=REL, abs=1e-8), (s, name)
    return run


FEATURES = {
    "everything on (ROP death benefit, fees on BB)": {},
    "max anniversary value death benefit": {"product.death_benefit": "max_anniversary_value"},
    "contract value death benefit": {"product.death_benefit": "contract_value"},
    "fee on contract value": {"rider.fee_basis": "contract_value"},
    "no termination fee": {"rider.termination_fee": False},
    "no dynamic lapse": {"lapse.dynamic": {"enabled": False}},
    "no lapses, no withdrawals, no mortality": {"lapse.enabled": False, "withdrawals.enabled": False,
                                               "mortality.enabled": False},
    "A2000 mortality without improvement, multiplier 1.3": {"mortality.table": "A2000", "mortality.improvement": "none",
                                                          "mortality.multiplier": 1.3},
    "quarterly steps on a zero curve": {"run.steps_per_year": 4,
                                        "market.rate": None,
                                        "market.curve": {"tenors": [1, 5, 10], "zero_rates": [0.02, 0.03, 0.04]}},
    "heavy withdrawals that exhaust the free amount": {"withdrawals.rate": 0.3, "withdrawals.utilisation": 1.0},
    "rider fee shortfall taken from the fixed account": {"rider.fee_rate": 0.3, "rider.fee_shortfall": "fixed_account",
                                                         "withdrawals.rate": 0.4},
    "no money market fund: the bucket earns the short rate": {"market.money_market_fund": "none_such"},
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_engine_equals_reference_on_a_random_block(feature):
    config = make_config(FEATURES[feature])
    inforce = random_inforce(config, n=6, seed=hash(feature) % 2**31)
    _compare(config, inforce)


def test_engine_equals_reference_with_a_block_wide_fee_override():
    config = make_config()
    inforce = random_inforce(config, n=4, seed=5)
    _compare(config, inforce, fee_rate=0.0321)


def test_reference_and_engine_agree_on_path_measures_for_each_contract():
    """Per-contract means over scenarios equal the mean of the twin's per-path values."""
    config = make_config()
    inforce = random_inforce(config, n=5, seed=9)
    model, scenarios, assumptions = model_for(config, inforce, 4)
    run = run_block(model, threads=1)
    for c, row in enumerate(inforce.to_dict("records")):
        refs = [project_contract(row, config, scenarios, s, assumptions.mortality) for s in range(4)]
        for k, name in enumerate(K.MEASURES):
            expected = np.mean([r[name] for r in refs])
            assert run.contract_mean[k, c] == pytest.approx(expected, rel=REL, abs=1e-8), (c, name)
