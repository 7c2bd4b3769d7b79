"""Closed forms: the textbook GMAB is a Black-Scholes put; zero volatility is a hand projection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.assumptions.mortality import load_mortality
from sim.engine import kernels as K
from sim.engine.driver import path_standard_errors, run_block

from .blocks import TEXTBOOK_CONTRACT, bs_put, make_config, model_for, one_contract

# Monte Carlo tolerance: the estimator is a mean of independent paths, so by the CLT its
# error is Normal(0, SE). 3.5 SE is exceeded with probability 4.7e-4 per check.
N_SE = 3.5


def textbook_config(**extra):
    changes = {
        "market.indices": [{"name": "eq", "volatility": 0.2, "dividend_yield": 0.01}],
        "market.correlation": None,
        "market.funds": [{"name": "equity", "indices": {"eq": 1.0}, "fee": 0.005}],
        "allocations": {},
        "rider.fee_basis": "contract_value",
        "rider.fee_rate": 0.01,
        "product.maintenance_fee": 0.0,
        "lapse.enabled": False,
        "withdrawals.enabled": False,
        "mortality.enabled": False,
        "run.scenarios": 100_000,
        "run.seed": 2026,
    }
    changes.update(extra)
    return make_config(changes)


def textbook_put(config, years=10):
    """Black-Scholes put on max(AB - CV_T, 0): proportional charges are a dividend yield and
    the N annual fees on CV scale the spot by (1 - f)^N; AB = BB = CV_0 (factor 1)."""
    idx = config.market.indices[0]
    fund = config.market.funds[0]
    q = idx.dividend_yield + fund.fee + config.product.me_charge
    spot = 100_000.0 * (1.0 - config.rider.fee_rate) ** years
    return bs_put(spot, 100_000.0, config.market.rate, q, idx.volatility, years)


@pytest.mark.slow  # 100,000 scenarios
def test_textbook_gmab_pv_claims_is_the_black_scholes_put_within_3_5_standard_errors():
    config = textbook_config()
    inforce = one_contract(config, defaults=TEXTBOOK_CONTRACT)
    assert inforce["ab_factor"].iloc[0] == 1.0
    model, _, _ = model_for(config, inforce)
    run = run_block(model)
    mean, se = path_standard_errors(run.scenario_totals[0])
    expected = textbook_put(config)
    assert se < 0.01 * expected  # the test has power: SE is under 1 % of the price
    assert abs(mean - expected) < N_SE * se, (mean, expected, se)


@pytest.mark.slow  # 100,000 scenarios
def test_textbook_gmab_with_antithetic_paths_is_the_same_put():
    config = textbook_config(**{"run.antithetic": True, "run.scenarios": 100_000})
    model, _, _ = model_for(config, one_contract(config, defaults=TEXTBOOK_CONTRACT))
    run = run_block(model)
    mean, se = path_standard_errors(run.scenario_totals[0], 2)
    assert abs(mean - textbook_put(config)) < N_SE * se


@pytest.mark.slow  # 100,000 scenarios
def test_textbook_gmab_with_deterministic_mortality_is_the_put_times_the_survival_probability():
    config = textbook_config(
        **{"mortality.enabled": True, "mortality.table": "2012IAM", "mortality.improvement": "G2"}
    )
    model, _, _ = model_for(
        config, one_contract(config, defaults=TEXTBOOK_CONTRACT, owner_age=65.0, owner_sex="F")
    )
    run = run_block(model)
    mean, se = path_standard_errors(run.scenario_totals[0])
    table = load_mortality("2012IAM", "G2")
    survival = np.prod([1.0 - float(table.q(1, 65 + k, 2026 + k)) for k in range(10)])
    assert 0.8 < survival < 0.95
    expected = survival * textbook_put(config)
    assert abs(mean - expected) < N_SE * se, (mean, expected, se)
    # the in-force weight at maturity is the survival probability on every path
    np.testing.assert_allclose(run.scenario_totals[6], survival, rtol=1e-12)


def test_zero_volatility_equals_a_deterministic_projection_by_hand():
    """One new contract, zero volatility: the whole projection by hand, year by year.

    Variable account grows at r - fund fee - M&E (continuous) a year, the fixed account at
    2.5 % effective; on each anniversary a $35 maintenance fee pro rata, then 1.5 % of BB
    from the variable account, then a 10 % x 40 % = 4 % expected withdrawal of CV pro rata
    that cuts BB pro rata. Mortality: 2012 IAM + G2, deaths spread uniformly over each year
    of age (UDD, the default: month k of age x loses q_x / 12 of the 1 - k q_x / 12 alive at
    its start); surrender 5 % a year, static, with a termination fee of 1.5 % of BB on each
    surrender.
    """
    r, fund_fee, me, fixed_rate, fee = 0.03, 0.006, 0.0125, 0.025, 0.015
    config = make_config(
        {
            "market.indices": [{"name": "eq", "volatility": 0.0}],
            "market.correlation": None,
            "market.funds": [{"name": "equity", "indices": {"eq": 1.0}, "fee": fund_fee}],
            "allocations": {},
            "rider.fee_rate": fee,
            "product.me_charge": me,
            "product.maintenance_fee": 35.0,
            "product.fixed_rate": fixed_rate,
            # renewals of the fixed guarantee period land on the 2.5 % minimum rate
            "product.fixed_renewal_spread": 0.2,
            "product.fixed_minimum_rate": fixed_rate,
            "lapse.base": [0.05],
            "lapse.dynamic": {"enabled": False},
            "withdrawals.rate": 0.10,
            "withdrawals.utilisation": 0.40,
            "run.scenarios": 2,
        }
    )
    inforce = one_contract(
        config,
        defaults=TEXTBOOK_CONTRACT,
        fixed_value=20_000.0,
        ab_factor=1.6,
        owner_sex="M",
        owner_age=60.0,
    )
    model, _, _ = model_for(config, inforce)
    run = run_block(model)

    table = load_mortality("2012IAM", "G2")
    var, fix, bb = 80_000.0, 20_000.0, 100_000.0
    weight, pv_fees, pv_claims = 1.0, 0.0, 0.0
    for year in range(10):
        q_year = float(table.q(0, 60 + year, 2026 + year))
        lapse_step = 1 - 0.95 ** (1 / 12)
        for month in range(1, 13):  # surrenders pay the termination fee on BB
            q_step = (q_year / 12) / (1 - (month - 1) / 12 * q_year)
            t = year + month / 12
            lapses = weight * (1 - q_step) * lapse_step
            pv_fees += lapses * math.exp(-r * t) * fee * bb
            weight *= (1 - q_step) * (1 - lapse_step)
        var *= math.exp(r - fund_fee - me)
        fix *= 1 + fixed_rate
        keep = 1 - 35.0 / (var + fix)
        var, fix = var * keep, fix * keep
        var -= fee * bb
        pv_fees += weight * math.exp(-r * (year + 1)) * fee * bb
        if year < 9:
            keep = 1 - 0.04
            var, fix, bb = var * keep, fix * keep, bb * keep
    pv_claims = weight * math.exp(-r * 10) * max(1.6 * bb - (var + fix), 0.0)
    assert pv_claims > 1000
    for s in range(2):  # both scenarios are the same deterministic path
        assert run.scenario_totals[0, s] == pytest.approx(pv_claims, rel=1e-9)
        assert run.scenario_totals[1, s] == pytest.approx(pv_fees, rel=1e-9)
    assert K.MEASURES[:2] == ("pv_claims", "pv_fees")
