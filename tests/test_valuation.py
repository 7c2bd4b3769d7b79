"""price(): block statistics, net cost in bp, the break-even fee and its standard error."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.driver import run_block
from sim.valuation import breakeven_fee, price

from .blocks import make_config, model_for, random_inforce

N_SE = 3.5


@pytest.fixture(scope="module")
def priced():
    config = make_config({"run.scenarios": 400, "run.breakeven": True, "run.antithetic": True})
    inforce = random_inforce(config, n=10, seed=21)
    model, _, _ = model_for(config, inforce)
    return config, model, price(config, model=model)


def test_net_cost_is_claims_minus_fees_and_bp_is_per_unit_of_the_fee_base(priced):
    _, _, result = priced
    b = result.block
    assert b["net_cost"] == pytest.approx(b["pv_claims"] - b["pv_fees"], rel=1e-12)
    assert b["net_cost_bps"] == pytest.approx(1e4 * b["net_cost"] / b["pv_fee_base"], rel=1e-12)
    assert b["pv_claims_se"] > 0 and b["pv_fees_se"] > 0 and b["net_cost_se"] > 0
    lo, hi = b["pv_claims_ci95"]
    assert lo < b["pv_claims"] < hi
    assert b["contracts"] == 10 and b["scenarios"] == 400


def test_block_figures_are_the_sums_of_the_contract_figures(priced):
    _, _, result = priced
    for name in ("pv_claims", "pv_fees", "pv_db_excess", "pv_spousal_charge"):
        assert result.contracts[name].sum() == pytest.approx(result.block[name], rel=1e-10)
        assert result.scenarios[name].mean() == pytest.approx(result.block[name], rel=1e-12)


def test_at_the_breakeven_fee_pv_fees_equal_pv_claims_on_the_same_scenarios(priced):
    _, model, result = priced
    fee = result.block["breakeven_fee"]
    assert 0.0 < fee < 0.25
    run = run_block(model, fee_rate=fee)
    claims, fees = run.scenario_totals[0].mean(), run.scenario_totals[1].mean()
    assert claims == pytest.approx(fees, rel=1e-5)
    # a higher fee leaves the insurer in profit, a lower one at a loss
    hi, lo = run_block(model, fee_rate=fee * 1.1), run_block(model, fee_rate=fee * 0.9)
    assert hi.scenario_totals[1].mean() > hi.scenario_totals[0].mean()
    assert lo.scenario_totals[1].mean() < lo.scenario_totals[0].mean()


def test_the_breakeven_search_from_the_base_run_finds_the_same_root_in_fewer_passes():
    # price() hands its base run (a pass at the contracts' own fee) to the search: with
    # every contract on one rate it is the search's first evaluation. The root must be the
    # one the search from a zero fee finds (to 1e-6 in the fee, issue 7), in fewer passes.
    config = make_config({"run.scenarios": 200})
    inforce = random_inforce(config, n=8, seed=5, lives=False).assign(rider_fee_rate=0.012)
    model, _, _ = model_for(config, inforce)
    assert model.uniform_fee_rate() == pytest.approx(0.012)
    base = run_block(model, contract_stats=False)
    fee_zero, se_zero, passes_zero = breakeven_fee(model)
    fee_known, se_known, passes_known = breakeven_fee(model, known=base)
    assert 0.0 < fee_zero < 0.25
    assert abs(fee_known - fee_zero) < 1e-6
    assert passes_known < passes_zero
    assert se_known == pytest.approx(se_zero, rel=0.1)  # delta method, other evaluations
    # contracts on different rates: the base run is no evaluation of the search
    mixed = inforce.assign(rider_fee_rate=np.linspace(0.008, 0.016, len(inforce)))
    mixed_model, _, _ = model_for(config, mixed)
    assert mixed_model.uniform_fee_rate() is None
    mixed_base = run_block(mixed_model, contract_stats=False)
    assert breakeven_fee(mixed_model, known=mixed_base) == breakeven_fee(mixed_model)


def test_breakeven_fee_standard_error_matches_its_spread_over_independent_seeds():
    """The delta-method SE must describe the spread of break-even fees across seeds."""
    fees, ses = [], []
    for seed in range(8):
        config = make_config({"run.scenarios": 200, "run.seed": 100 + seed})
        inforce = random_inforce(config, n=6, seed=4, lives=False)  # single lives: fast
        model, _, _ = model_for(config, inforce)
        f, se, _ = breakeven_fee(model)
        fees.append(f)
        ses.append(se)
    spread = np.std(fees, ddof=1)
    # with 8 seeds the sample SD has about 25 % relative error: accept a factor of 2.5 either way
    assert np.mean(ses) / 2.5 < spread < 2.5 * np.mean(ses), (spread, np.mean(ses))


def test_a_richer_ab_factor_costs_more():
    config = make_config({"run.scenarios": 200})
    inforce = random_inforce(config, n=6, seed=2)
    cheap = price(config, inforce=inforce)
    rich_inforce = inforce.assign(ab_factor=inforce["ab_factor"] + 0.2)
    rich = price(config, inforce=rich_inforce)
    assert rich.block["pv_claims"] > cheap.block["pv_claims"] + 3 * cheap.block["pv_claims_se"]


def test_antithetic_pairs_give_a_standard_error_from_pair_means():
    config = make_config({"run.scenarios": 200, "run.antithetic": True})
    inforce = random_inforce(config, n=4, seed=3)
    result = price(config, inforce=inforce)
    x = result.scenarios["pv_claims"].to_numpy()
    pairs = 0.5 * (x[0::2] + x[1::2])
    assert result.block["pv_claims_se"] == pytest.approx(
        pairs.std(ddof=1) / np.sqrt(100), rel=1e-12
    )
