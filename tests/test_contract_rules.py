"""One test per rule of SPEC.md section 1 (base contract) and section 7 (behaviour)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.assumptions.behaviour import (
    SERIES_LIMIT,
    SERIES_MAX_DT,
    Behaviour,
    dynamic_lapse_multiplier,
    step_probability,
    step_probability_series,
)
from sim.assumptions.mortality import load_mortality

from .blocks import MEASURE as M
from .blocks import TRACE as F
from .blocks import one_contract
from .test_rider_rules import R, flat_config, traced


def test_spec_1_m_and_e_charge_accrues_every_step_on_the_variable_sub_accounts_only():
    config = flat_config(**{"product.me_charge": 0.012, "rider.fee_rate": 0.0})
    _, _, tr = traced(config, one_contract(config, fixed_value=30_000.0))
    assert tr[0, F["variable"]] == pytest.approx(70_000.0 * math.exp((R - 0.012) / 12), rel=1e-14)
    assert tr[0, F["charges"]] == pytest.approx(
        70_000.0 * math.exp(R / 12) * (1 - math.exp(-0.012 / 12)), rel=1e-12
    )
    assert tr[0, F["fixed"]] == 30_000.0


def test_spec_1_fund_fee_and_index_weights_make_the_fund_return():
    config = flat_config(
        **{
            "market.funds": [
                {"name": "equity", "indices": {"eq": 0.25, "money_market": 0.75}, "fee": 0.01},
                {"name": "money_market", "indices": {"money_market": 1.0}, "fee": 0.0},
            ],
            "rider.fee_rate": 0.0,
        }
    )
    _, _, tr = traced(config, one_contract(config))
    # eq has zero volatility and no dividend: it grows at the short rate too
    assert tr[0, F["variable"]] == pytest.approx(
        100_000.0 * math.exp(R / 12) * math.exp(-0.01 / 12), rel=1e-14
    )


def test_spec_1_fixed_account_credits_its_guaranteed_rate():
    config = flat_config(**{"product.fixed_rate": 0.04})
    _, _, tr = traced(config, one_contract(config, fixed_value=50_000.0))
    assert tr[11, F["fixed"]] == pytest.approx(50_000.0 * 1.04, rel=1e-13)


def test_spec_1_maintenance_fee_is_taken_pro_rata_from_every_account_on_the_anniversary():
    config = flat_config(**{"product.maintenance_fee": 50.0, "rider.fee_rate": 0.0})
    _, _, tr = traced(config, one_contract(config, fixed_value=25_000.0))
    var, fix = 75_000.0 * math.exp(R), 25_000.0
    assert tr[11, F["maintenance_fee"]] == 50.0
    assert tr[11, F["variable"]] == pytest.approx(var - 50.0 * var / (var + fix), abs=1e-9)
    assert tr[11, F["fixed"]] == pytest.approx(fix - 50.0 * fix / (var + fix), abs=1e-9)
    assert tr[:11, F["maintenance_fee"]].sum() == 0.0


def test_spec_1_withdrawal_charge_applies_to_the_excess_over_the_free_amount():
    config = flat_config(
        **{
            "withdrawals.enabled": True,
            "withdrawals.rate": 0.25,
            "withdrawals.utilisation": 1.0,
            "rider.fee_rate": 0.0,
        }
    )
    _, run, _ = traced(config, one_contract(config, contract_year=1, premiums=100_000.0))
    # anniversary 1 -> contract year 2 (charge 7 %); anniversary 2 -> year 3 (6 %); ... year 7 (2 %)
    cv, pv = 100_000.0, 0.0
    for k in range(1, 7):
        cv *= math.exp(R)
        w = 0.25 * cv
        rate = [0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02][k]  # contract year k + 1
        pv += math.exp(-R * k) * rate * max(w - 0.10 * 100_000.0, 0.0)
        cv -= w
    assert run.scenario_totals[M["pv_withdrawal_charges"], 0] == pytest.approx(pv, rel=1e-12)


def test_spec_1_surrender_pays_the_settlement_value_cv_less_withdrawal_charges():
    config = flat_config(
        **{
            "lapse.enabled": True,
            "lapse.base": [0.10],
            "lapse.dynamic": {"enabled": False},
            "rider.fee_rate": 0.0,
            "product.withdrawal_charges": [0.05] * 3,
        }
    )
    _, run, _ = traced(config, one_contract(config, contract_year=2, premiums=100_000.0))
    step = 1 - 0.9 ** (1 / 12)
    pv = 0.0
    for t in range(84):
        cv = 100_000.0 * math.exp(R * (t + 1) / 12)
        year = 2 + t // 12
        rate = 0.05 if year <= 3 else 0.0
        pv += 0.9 ** (t / 12) * step * math.exp(-R * (t + 1) / 12) * rate * (cv - 10_000.0)
    assert run.scenario_totals[M["pv_withdrawal_charges"], 0] == pytest.approx(pv, rel=1e-10)


@pytest.mark.parametrize(
    "death_benefit", ["contract_value", "return_of_premium", "max_anniversary_value"]
)
def test_spec_1_death_benefit_is_the_max_of_cv_and_its_guarantee(death_benefit):
    # CV falls (8 % M&E against a 3 % rate) below premiums: ROP pays the difference
    config = flat_config(
        **{
            "product.death_benefit": death_benefit,
            "product.me_charge": 0.08,
            "mortality.enabled": True,
            "rider.fee_rate": 0.0,
        }
    )
    inforce = one_contract(config, premiums=100_000.0, owner_age=70.0, owner_sex="M")
    _, run, tr = traced(config, inforce)
    table = load_mortality("2012IAM", "G2")
    pv, weight, guarantee = 0.0, 1.0, 100_000.0
    for t in range(84):
        # the default fractional-age assumption, UDD: month k of the year of age 70 + t // 12
        # loses q / 12 of the lives at its start, 1 - k q / 12
        annual = float(table.q(0, 70 + t // 12, 2026 + t // 12))
        q = (annual / 12) / (1 - (t % 12) / 12 * annual)
        cv = 100_000.0 * math.exp((R - 0.08) * (t + 1) / 12)
        if death_benefit != "contract_value":
            pv += weight * q * math.exp(-R * (t + 1) / 12) * max(guarantee - cv, 0.0)
        weight *= 1 - q
        if death_benefit == "max_anniversary_value" and (t + 1) % 12 == 0:
            guarantee = max(guarantee, cv)
    assert run.scenario_totals[M["pv_db_excess"], 0] == pytest.approx(pv, rel=1e-10, abs=1e-9)
    if death_benefit == "contract_value":
        assert pv == 0.0


def test_spec_1_max_anniversary_value_steps_up_on_anniversaries():
    config = flat_config(
        **{"product.death_benefit": "max_anniversary_value", "rider.fee_rate": 0.0}
    )
    _, _, tr = traced(config, one_contract(config, death_benefit_base=90_000.0))
    assert tr[10, F["death_benefit_base"]] == 90_000.0
    assert tr[11, F["death_benefit_base"]] == pytest.approx(100_000.0 * math.exp(R), rel=1e-14)


def test_spec_7_dynamic_lapse_multiplier_has_the_documented_form_and_defaults():
    b = Behaviour()
    assert (b.dynamic_floor, b.dynamic_cap, b.dynamic_slope, b.dynamic_shift) == (
        0.2,
        1.0,
        1.25,
        1.1,
    )
    np.testing.assert_allclose(dynamic_lapse_multiplier([0.5, 1.1, 1.5, 2.0]), [1.0, 1.0, 0.5, 0.2])
    assert b.annual_lapse(8, 1.3) == pytest.approx(
        0.12 * 0.75
    )  # shock year after the charge period
    assert b.annual_lapse(20, 0.9) == pytest.approx(0.07)


@settings(max_examples=400, deadline=None)
@given(
    annual=st.floats(min_value=0.0, max_value=SERIES_LIMIT),
    steps_per_year=st.sampled_from([4, 12, 26, 52, 365]),
)
def test_spec_7_step_probability_series_agrees_with_the_power_to_a_few_units_in_the_last_place(
    annual, steps_per_year
):
    # The kernels' series for 1 - (1 - a)^dt against the same quantity by the library's
    # log1p and expm1 (accurate to an ulp each): a few ulps of the result, for any rate the
    # series is used for. The plain power 1 - (1 - a)**dt loses digits to cancellation for
    # small a, so it is compared with a tolerance of its own below.
    dt = 1.0 / steps_per_year
    exact = -math.expm1(dt * math.log1p(-annual))
    got = step_probability_series(annual, dt)
    # (plus the smallest normal number, for subnormal rates)
    assert abs(got - exact) <= 8 * np.finfo(float).eps * exact + np.finfo(float).tiny
    assert abs(got - step_probability(annual, dt)) <= 1e-15


def test_spec_7_kernels_take_the_series_up_to_its_limit_and_the_power_above():
    from sim.engine.rules import step_probability as compiled

    dt = 1.0 / 12
    for annual in (1e-9, 0.03, SERIES_LIMIT):
        assert compiled(annual, dt) == step_probability_series(annual, dt)
    for annual in (0.3, 0.99):
        assert compiled(annual, dt) == 1.0 - (1.0 - annual) ** dt
    assert SERIES_MAX_DT < 1.0
    assert compiled(0.03, 1.0) == 1.0 - (1.0 - 0.03) ** 1.0
    assert compiled(0.0, dt) == 0.0 and compiled(1.0, dt) == 1.0


def test_spec_7_dynamic_lapse_uses_ab_over_cv_in_the_engine():
    config = flat_config(**{"lapse.enabled": True, "lapse.base": [0.10]})
    _, run, tr = traced(config, one_contract(config, ab_factor=1.5))
    itm = 1.5 * 100_000.0 / (100_000.0 * math.exp(R / 12))  # AB / CV at the end of the first month
    step = 1 - (1 - 0.10 * (1 - 1.25 * (itm - 1.1))) ** (1 / 12)
    assert tr[0, F["weight"]] == pytest.approx(1 - step, rel=1e-14)


def test_spec_7_lapses_mortality_and_withdrawals_can_each_be_switched_off():
    config = flat_config(
        **{"lapse.enabled": False, "mortality.enabled": False, "withdrawals.enabled": False}
    )
    _, run, tr = traced(config, one_contract(config))
    assert (tr[:84, F["weight"]] == 1.0).all() and tr[:, F["withdrawal"]].sum() == 0.0
    assert run.scenario_totals[M["inforce_at_maturity"], 0] == 1.0
    zero_mult = flat_config(**{"mortality.enabled": True, "mortality.multiplier": 0.0})
    _, _, tr = traced(zero_mult, one_contract(zero_mult))
    assert (tr[:84, F["weight"]] == 1.0).all()


def test_spec_7_mortality_multiplier_scales_the_table_rates():
    config = flat_config(
        **{
            "mortality.enabled": True,
            "mortality.multiplier": 0.5,
            "mortality.table": "2012IAM_period",
            "mortality.improvement": "none",
        }
    )
    _, _, tr = traced(config, one_contract(config, owner_age=65.0, owner_sex="M"))
    # the first month of age 65 under UDD: 1/12 of the scaled annual rate
    assert tr[0, F["weight"]] == pytest.approx(1 - 0.5 * 0.008106 / 12, rel=1e-12)


def test_spec_1_withdrawal_charges_age_each_purchase_payment_from_its_own_date():
    """Payments to date (in contract year 6 after the first anniversary: 3 %) are charged
    before a payment made this year (its own year 2 then: 7 %): the excess over the free
    amount comes from the oldest payments first, earnings beyond the payments are free."""
    config = flat_config(
        **{
            "withdrawals.enabled": True,
            "withdrawals.rate": 0.3,
            "withdrawals.utilisation": 1.0,
            "rider.fee_rate": 0.0,
        }
    )
    inforce = one_contract(
        config, contract_year=5, premiums=20_000.0, payment_amount=30_000.0, payment_month=6
    )
    _, run, tr = traced(config, inforce)
    # first anniversary by hand: CV 130,000 e^{r} less the growth the payment missed
    cv = (100_000.0 * math.exp(R / 2) + 30_000.0) * math.exp(R / 2)
    excess = 0.3 * cv - 0.10 * 50_000.0  # the free amount is 10 % of all payments
    assert 20_000.0 < excess < 50_000.0
    first_charge = 20_000.0 * 0.03 + (excess - 20_000.0) * 0.07
    assert tr[11, F["withdrawal"]] == pytest.approx(0.3 * cv, rel=1e-12)
    # later anniversaries: only the new payment is left, charged at its own age
    old_left, new_left, pv = 0.0, 30_000.0 - (excess - 20_000.0), math.exp(-R) * first_charge
    cv *= 0.7
    for k in range(2, 7):  # anniversaries 2..6; the payment is in its year k
        cv *= math.exp(R)
        part = max(min(0.3 * cv - 5_000.0, new_left), 0.0)
        pv += math.exp(-R * k) * part * [0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02][k - 1]
        new_left -= part
        cv *= 0.7
    assert old_left == 0.0 and new_left >= 0.0
    assert run.scenario_totals[M["pv_withdrawal_charges"], 0] == pytest.approx(pv, rel=1e-12)


def test_spec_2_rider_fee_shortfall_can_be_taken_from_the_fixed_account():
    config = flat_config(**{"rider.fee_rate": 0.2, "rider.fee_shortfall": "fixed_account"})
    _, _, tr = traced(config, one_contract(config, fixed_value=99_000.0))
    variable = 1_000.0 * math.exp(R)
    assert tr[11, F["rider_fee"]] == pytest.approx(20_000.0, rel=1e-12)
    assert tr[11, F["fixed"]] == pytest.approx(99_000.0 - (20_000.0 - variable), rel=1e-12)
    assert tr[11, F["variable"]] == pytest.approx(0.0, abs=1e-9)
