"""The numba engine equals the plain-Python twin (tests/reference.py) to 1e-10 relative."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sim.engine import kernels as K
from sim.engine.driver import run_block

from .blocks import make_config, model_for, random_inforce
from .reference import project_contract

# The reference twin is slow: `pytest -m "not slow"` skips it in a quick loop.
pytestmark = pytest.mark.slow

REL = 1e-10


def _compare(config, inforce, n_scenarios=3, fee_rate=None):
    model, scenarios, assumptions = model_for(config, inforce, n_scenarios)
    run = run_block(model, threads=0, trace=True, fee_rate=fee_rate)
    rows = inforce.to_dict("records")
    refs = [
        [
            project_contract(row, config, scenarios, s, assumptions.mortality, fee_rate=fee_rate)
            for s in range(n_scenarios)
        ]
        for row in rows
    ]
    for c in range(len(rows)):
        for s in range(n_scenarios):
            ref = refs[c][s]
            assert len(ref["trace"]) == model.contracts.maturity_step[c]
            for t, step in enumerate(ref["trace"]):
                if t > 0 and ref["trace"][t - 1]["weight"] == 0.0:
                    break  # simulated: the path has left its original terms (its segment)
                for f, field in enumerate(K.TRACE_FIELDS):
                    assert run.trace[c, s, t, f] == pytest.approx(step[field], rel=REL, abs=1e-9), (
                        c,
                        s,
                        t,
                        field,
                    )
    # measures: the block totals per scenario are sums of the paths in contract order
    for s in range(n_scenarios):
        for k, name in enumerate(K.MEASURES):
            expected = sum(refs[c][s][name] for c in range(len(rows)))
            assert run.scenario_totals[k, s] == pytest.approx(expected, rel=REL, abs=1e-8), (
                s,
                name,
            )
    return run, refs


FEATURES = {
    "everything on (ROP death benefit, fees on BB)": {},
    "max anniversary value death benefit": {"product.death_benefit": "max_anniversary_value"},
    "contract value death benefit": {"product.death_benefit": "contract_value"},
    "fee on contract value": {"rider.fee_basis": "contract_value"},
    "no termination fee": {"rider.termination_fee": False},
    "no dynamic lapse": {"lapse.dynamic": {"enabled": False}},
    "no lapses, no withdrawals, no mortality": {
        "lapse.enabled": False,
        "withdrawals.enabled": False,
        "mortality.enabled": False,
    },
    "A2000 mortality without improvement, multiplier 1.3": {
        "mortality.table": "A2000",
        "mortality.improvement": "none",
        "mortality.multiplier": 1.3,
    },
    "quarterly steps on a zero curve": {
        "run.steps_per_year": 4,
        "market.rate": None,
        "market.curve": {"tenors": [1, 5, 10], "zero_rates": [0.02, 0.03, 0.04]},
    },
    "heavy withdrawals that exhaust the free amount": {
        "withdrawals.rate": 0.3,
        "withdrawals.utilisation": 1.0,
    },
    "rider fee shortfall taken from the fixed account": {
        "rider.fee_rate": 0.3,
        "rider.fee_shortfall": "fixed_account",
        "withdrawals.rate": 0.4,
    },
    "no money market fund: the bucket earns the short rate": {
        "market.money_market_fund": "none_such"
    },
    "claims arriving late (some after 180 days) with settlement lags": {
        "behaviour.claim_delay": [[0, 0.5], [95, 0.3], [240, 0.2]],
        "timing": {
            "death_proceeds_days": 20,
            "surrender_days": 45,
            "withdrawal_days": 10,
            "payment_days": 15,
        },
    },
    "spouses cancel the rider at continuation; annuitant deaths end some contracts": {
        "behaviour.cancel_on_continuation": 0.3,
        "behaviour.spousal_continuation": 0.8,
        "behaviour.annuitant_death_continue": 0.6,
        "rider.termination_fee_events": ["surrender", "cancellation", "death", "annuitization"],
    },
    "annuitization from age 70": {"behaviour.annuitization": {"rate": 0.05, "from_age": 70}},
    "heavy mortality makes many continuations": {"mortality.multiplier": 8.0},
    "constant force of mortality between integer ages, quarterly steps": {
        "mortality.fractional_age": "constant_force",
        "mortality.multiplier": 3.0,
        "run.steps_per_year": 4,
    },
    "the rate of the age at the valuation date for a whole projection year (floor)": {
        "mortality.fractional_age": "floor",
        "mortality.multiplier": 3.0,
    },
    "a payment on an anniversary credited before its fee, with withdrawals": {
        "rider.payment_on_anniversary": "before_fee",
        "withdrawals.rate": 0.1,
        "withdrawals.utilisation": 0.7,
    },
    "a payment on an anniversary credited after its events, with withdrawals": {
        "rider.payment_on_anniversary": "after_withdrawal",
        "withdrawals.rate": 0.1,
        "withdrawals.utilisation": 0.7,
    },
    "the Death Benefit's claim window extended to 250 days": {
        "product.death_claim_window_days": 250.0,
        "behaviour.claim_delay": [[0, 0.5], [200, 0.3], [300, 0.2]],
        "mortality.multiplier": 3.0,
    },
    "continuations settled on a quarterly grid, with late claims": {
        "mortality.multiplier": 4.0,
        "behaviour.continuation_grid_steps": 3,
        "behaviour.claim_delay": [[0, 0.7], [60, 0.3]],
    },
}

LONG_RIDER_FEATURES = {
    "cancellation from the 10th rider anniversary, dynamic in CV / BB": {
        "behaviour.cancel": {"rate": 0.05, "threshold": 1.1, "rate_above": 0.3}
    },
    "trade-in to a new rider from the 10th rider anniversary": {
        "behaviour.trade_in": {
            "rate": 0.1,
            "threshold": 1.0,
            "rate_above": 0.4,
            "rider_period": 12,
            "guarantee_option": 2,
            "fee_rate": 0.011,
        }
    },
    "trade-ins and continuations together, heavy mortality": {
        "behaviour.trade_in": {"rate": 0.3, "rider_period": 11, "ab_factor": 1.2},
        "mortality.multiplier": 5.0,
    },
}


def test_random_blocks_have_fractional_ages_whose_steps_cross_a_birthday():
    """The blocks below exercise the attained-age mortality: ages with a fraction of a year,
    so some monthly steps start in one year of age and end in the next."""
    config = make_config()
    inforce = random_inforce(config, n=6, seed=zlib.crc32(b"ages"))
    ages = np.concatenate(
        [inforce[c].dropna().to_numpy(float) for c in ("owner_age", "spouse_age")]
    )
    assert (ages % 1 != 0).any()
    steps = np.arange(120)
    crossing = np.floor(ages[:, None] + (steps + 1) / 12) > np.floor(ages[:, None] + steps / 12)
    mid_step = (ages[:, None] + (steps + 1) / 12) % 1 > 1e-9
    assert (crossing & mid_step).any()


@pytest.mark.parametrize(
    "feature",
    [
        "a payment on an anniversary credited before its fee, with withdrawals",
        "a payment on an anniversary credited after its events, with withdrawals",
    ],
)
def test_random_blocks_have_payments_on_the_first_anniversary(feature):
    """Both settings of rider.payment_on_anniversary meet a payment made on the first
    Contract Anniversary that counts in the Benefit Base, in the block below."""
    config = make_config(FEATURES[feature])
    inforce = random_inforce(config, n=6, seed=zlib.crc32(feature.encode()))
    m = config.run.steps_per_year
    on_first = (
        (inforce["payment_amount"] > 0)
        & (inforce["rider_years_elapsed"] == 0)
        & (inforce["payment_month"] * m // 12 == inforce["months_to_anniversary"] * m // 12)
    )
    assert on_first.any()


@pytest.mark.parametrize("feature", list(FEATURES))
def test_engine_equals_reference_on_a_random_block(feature):
    config = make_config(FEATURES[feature])
    inforce = random_inforce(config, n=6, seed=zlib.crc32(feature.encode()))
    _compare(config, inforce)


@pytest.mark.parametrize("feature", list(LONG_RIDER_FEATURES))
def test_engine_equals_reference_on_long_riders(feature):
    config = make_config(LONG_RIDER_FEATURES[feature])
    inforce = random_inforce(config, n=5, seed=zlib.crc32(feature.encode()), long_riders=True)
    _compare(config, inforce)


@pytest.mark.parametrize(
    "feature",
    [
        "everything on (ROP death benefit, fees on BB)",
        "claims arriving late (some after 180 days) with settlement lags",
        "spouses cancel the rider at continuation; annuitant deaths end some contracts",
        "heavy mortality makes many continuations",
        "constant force of mortality between integer ages, quarterly steps",
    ],
)
def test_engine_equals_reference_with_simulated_decrements(feature):
    config = make_config(
        {**FEATURES[feature], "run.decrements": "simulated", "mortality.multiplier": 6.0}
    )
    inforce = random_inforce(config, n=8, seed=zlib.crc32(feature.encode()))
    _compare(config, inforce, n_scenarios=4)


def test_engine_equals_reference_on_long_riders_with_simulated_decrements():
    config = make_config(
        {
            **LONG_RIDER_FEATURES["trade-ins and continuations together, heavy mortality"],
            "behaviour.cancel": {"rate": 0.1},
            "run.decrements": "simulated",
        }
    )
    inforce = random_inforce(config, n=8, seed=77, long_riders=True)
    _compare(config, inforce, n_scenarios=4)


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
        refs = [
            project_contract(row, config, scenarios, s, assumptions.mortality) for s in range(4)
        ]
        for k, name in enumerate(K.MEASURES):
            expected = np.mean([r[name] for r in refs])
            assert run.contract_mean[k, c] == pytest.approx(expected, rel=REL, abs=1e-8), (c, name)
