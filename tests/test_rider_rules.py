"""One test per rule of SPEC.md section 2 (Accumulation Benefit Rider [003]).

Each builds one contract on a zero-volatility market so every number can be worked by
hand, checks the engine's trace against that number and against tests/reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import ConfigError
from sim.engine import kernels as K
from sim.engine.driver import run_block
from sim.product.rider import load_ab_factors

from .blocks import TRACE as F
from .blocks import make_config, model_for, one_contract
from .reference import project_contract

R = 0.03


def flat_config(**changes):
    """Zero volatility, r = 3 %, no fund fee, no M&E, no decrements: CV grows at e^{r dt}."""
    base = {
        "market.rate": R,
        "market.indices": [{"name": "eq", "volatility": 0.0}],
        "market.correlation": None,
        "market.funds": [
            {"name": "equity", "indices": {"eq": 1.0}, "fee": 0.0},
            {"name": "money_market", "indices": {"money_market": 1.0}, "fee": 0.0},
        ],
        "allocations": {"mix": {"equity": 0.5, "money_market": 0.5}},
        "product.me_charge": 0.0,
        "product.maintenance_fee": 0.0,
        "product.fixed_rate": 0.0,
        "product.fixed_minimum_rate": 0.0,  # renewals stay at 0 %
        "product.fixed_renewal_spread": 0.2,
        "rider.fee_rate": 0.01,
        "lapse.enabled": False,
        "withdrawals.enabled": False,
        "mortality.enabled": False,
        "run.scenarios": 2,
    }
    base.update(changes)
    return make_config(base)


def traced(config, inforce):
    model, scenarios, assumptions = model_for(config, inforce, 2)
    run = run_block(model, trace=True)
    ref = project_contract(inforce.iloc[0].to_dict(), config, scenarios, 0, assumptions.mortality)
    for t, step in enumerate(ref["trace"]):  # the twin agrees on every step
        for f, field in enumerate(K.TRACE_FIELDS):
            assert run.trace[0, 0, t, f] == pytest.approx(step[field], rel=1e-10, abs=1e-9)
    return model, run, run.trace[0, 0]


def test_003_ii_benefit_base_on_the_rider_date_equals_the_contract_value():
    config = flat_config()
    inforce = one_contract(config)
    assert inforce["benefit_base"].iloc[0] == 100_000.0
    _, _, tr = traced(config, inforce)
    assert tr[0, F["benefit_base"]] == 100_000.0


def test_003_ii_payments_up_to_the_first_anniversary_raise_the_benefit_base_later_ones_do_not():
    config = flat_config()
    on_anniversary = one_contract(config, payment_amount=10_000.0, payment_month=12)
    _, _, tr = traced(config, on_anniversary)
    assert tr[11, F["payment"]] == 10_000.0
    assert tr[11, F["benefit_base"]] == 110_000.0
    after = one_contract(config, payment_amount=10_000.0, payment_month=13)
    _, _, tr = traced(config, after)
    assert tr[12, F["payment"]] == 10_000.0 and tr[12, F["benefit_base"]] == 100_000.0
    in_force = one_contract(
        config,
        payment_amount=10_000.0,
        payment_month=3,
        rider_years_elapsed=2,
        months_to_anniversary=6,
    )
    _, _, tr = traced(config, in_force)
    assert tr[2, F["benefit_base"]] == 100_000.0  # past the first anniversary after the Rider Date


def test_003_ii_withdrawal_adjustment_is_withdrawal_over_cv_times_bb():
    config = flat_config(
        **{"withdrawals.enabled": True, "withdrawals.rate": 0.10, "withdrawals.utilisation": 1.0}
    )
    inforce = one_contract(config, benefit_base=150_000.0)
    _, _, tr = traced(config, inforce)
    cv_before = 100_000.0 * math.exp(R) - 0.01 * 150_000.0  # growth, then the Rider Fee on BB
    w = 0.10 * cv_before
    assert tr[11, F["withdrawal"]] == pytest.approx(w, abs=1e-9)
    assert tr[11, F["benefit_base"]] == pytest.approx(
        150_000.0 - w / cv_before * 150_000.0, abs=1e-9
    )
    assert tr[11, F["cv_end"]] == pytest.approx(cv_before - w, abs=1e-9)


def test_003_ii_benefit_base_never_falls_below_zero():
    config = flat_config(
        **{"withdrawals.enabled": True, "withdrawals.rate": 1.0, "withdrawals.utilisation": 1.0}
    )
    _, run, tr = traced(config, one_contract(config))
    assert tr[11, F["benefit_base"]] == 0.0 and tr[11, F["cv_end"]] == 0.0
    assert (run.trace[..., F["benefit_base"]] >= 0).all()
    assert run.scenario_totals[0, 0] == 0.0  # AB = factor x 0: nothing to pay


def test_003_i_true_up_at_maturity_is_ab_minus_cv_into_money_market_and_its_present_value():
    config = flat_config()
    inforce = one_contract(config, ab_factor=1.5)
    model, run, tr = traced(config, inforce)
    n = 7 * 12
    assert model.contracts.maturity_step[0] == n
    cv = 100_000.0
    for _ in range(7):
        cv = cv * math.exp(R) - 0.01 * 100_000.0
    claim = 150_000.0 - cv
    assert tr[n - 1, F["true_up"]] == pytest.approx(claim, abs=1e-8)
    assert tr[n - 1, F["money_market"]] == pytest.approx(
        claim, abs=1e-8
    )  # all of it in Money Market
    assert tr[n - 1, F["cv_end"]] == pytest.approx(150_000.0, abs=1e-8)
    assert run.scenario_totals[0, 0] == pytest.approx(math.exp(-R * 7) * claim, rel=1e-12)


def test_003_i_no_claim_when_cv_exceeds_the_accumulation_benefit():
    config = flat_config()
    _, run, tr = traced(config, one_contract(config, ab_factor=0.5))
    assert tr[:, F["true_up"]].sum() == 0.0 and run.scenario_totals[0, 0] == 0.0


def test_003_iii_rider_fee_on_each_anniversary_only_from_the_variable_sub_accounts_pro_rata():
    config = flat_config()
    inforce = one_contract(config, allocation="mix", fixed_value=40_000.0)
    _, run, tr = traced(config, inforce)
    fees = tr[:, F["rider_fee"]]
    anniversaries = np.flatnonzero(fees)
    np.testing.assert_array_equal(
        anniversaries, np.arange(11, 84, 12)
    )  # 7 fees, the last at maturity
    np.testing.assert_allclose(fees[anniversaries], 0.01 * 100_000.0)
    # the fixed account is never charged: it only earns its (zero) rate
    np.testing.assert_allclose(tr[:84, F["fixed"]], 40_000.0)
    var_before = 60_000.0 * math.exp(R)
    assert tr[11, F["variable"]] == pytest.approx(var_before - 1000.0, abs=1e-9)
    assert run.scenario_totals[1, 0] == pytest.approx(
        sum(1000.0 * math.exp(-R * k) for k in range(1, 8)), rel=1e-12
    )


def test_003_iii_rider_fee_takes_only_what_the_variable_sub_accounts_hold():
    config = flat_config(**{"rider.fee_rate": 0.2})
    inforce = one_contract(config, fixed_value=99_000.0, benefit_base=100_000.0)
    _, _, tr = traced(config, inforce)
    variable = 1_000.0 * math.exp(R)
    assert tr[11, F["rider_fee"]] == pytest.approx(variable, abs=1e-9)  # less than 20 % x 100,000
    assert tr[11, F["variable"]] == pytest.approx(0.0, abs=1e-9)


def test_003_iii_a_surrender_off_an_anniversary_pays_a_full_rider_fee_unless_switched_off():
    config = flat_config(
        **{"lapse.enabled": True, "lapse.base": [0.12], "lapse.dynamic": {"enabled": False}}
    )
    model, run, _ = traced(config, one_contract(config))
    lapse_step = 1 - 0.88 ** (1 / 12)
    termination = sum(
        (0.88 ** (t / 12)) * lapse_step * math.exp(-R * (t + 1) / 12) * 1000.0 for t in range(84)
    )
    anniversary = sum(0.88**k * math.exp(-R * k) * 1000.0 for k in range(1, 8))
    assert run.scenario_totals[1, 0] == pytest.approx(termination + anniversary, rel=1e-10)
    off = flat_config(
        **{
            "lapse.enabled": True,
            "lapse.base": [0.12],
            "lapse.dynamic": {"enabled": False},
            "rider.termination_fee": False,
        }
    )
    _, run_off, _ = traced(off, one_contract(off))
    assert run_off.scenario_totals[1, 0] == pytest.approx(anniversary, rel=1e-10)


def test_003_header_ab_factor_comes_from_the_table_by_option_and_period_or_the_contract():
    table = load_ab_factors()
    assert table.lookup(1, 10) == 1.0 and table.lookup(1, 20) == 1.5 and table.lookup(3, 7) == 0.8
    assert all(0.5 <= f <= 3.0 for f in table.factors.values())
    config = flat_config()
    assert one_contract(config, guarantee_option=2, rider_period=15)["ab_factor"].iloc[0] == 1.10
    overridden = one_contract(config, guarantee_option=2, rider_period=15, ab_factor=2.0)
    assert overridden["ab_factor"].iloc[0] == 2.0


def test_003_header_a_csv_ab_factor_table_replaces_the_default(tmp_path):
    path = tmp_path / "factors.csv"
    path.write_text("guarantee_option,rider_period,ab_factor\n1,7,1.25\n")
    config = flat_config(**{"rider.ab_factors": str(path)})
    assert one_contract(config)["ab_factor"].iloc[0] == 1.25
    with pytest.raises(ConfigError, match="no option 1, period 8"):
        one_contract(config, rider_period=8)
    path.write_text("guarantee_option,rider_period,ab_factor\n1,7,3.5\n")
    with pytest.raises(ValueError, match=r"factors.csv: row 1: ab_factor 3.5 outside"):
        load_ab_factors(path)


def test_003_viii_an_allocation_outside_the_guarantee_options_limits_is_a_validation_error():
    config = flat_config(
        **{
            "rider.investment_limits": {
                "1": {"max_weight": {"equity": 0.6}},
                "2": {"min_weight": {"money_market": 0.5}},
            }
        }
    )
    assert one_contract(config, allocation="mix")["allocation"].iloc[0] == "mix"
    with pytest.raises(ConfigError, match=r"row 1 \(contract_id 7\): allocation: 'equity' breaks"):
        one_contract(config, allocation="equity")
    with pytest.raises(ConfigError, match="below the option 2 minimum"):
        one_contract(config, allocation="equity", guarantee_option=2)


def test_003_viii_allocations_are_rebalanced_to_target_every_step():
    """A 50/50 mix of a 3 % money market and a volatile index earns the average of the
    two growth factors every step (not the average of the cumulative growth)."""
    config = flat_config(**{"market.indices": [{"name": "eq", "volatility": 0.3}]})
    inforce = one_contract(config, allocation="mix", ab_factor=0.5)
    model, scenarios, _ = model_for(config, inforce, 2)
    run = run_block(model, trace=True)
    g = 0.5 * scenarios.index_growth[0, :, 0] + 0.5 * scenarios.money_market_growth[0]
    np.testing.assert_allclose(
        run.trace[0, 0, :11, F["variable"]], 100_000.0 * np.cumprod(g[:11]), rtol=1e-12
    )
