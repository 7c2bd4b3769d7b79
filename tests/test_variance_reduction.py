"""Variance reduction: the GMAB control variate, randomised QMC, and runs to a target
standard error."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.config import ConfigError
from sim.control_variate import Control, control_estimate, gmab_control
from sim.valuation import price

from .blocks import TEXTBOOK_CONTRACT, bs_put, make_config, model_for, one_contract, random_inforce

# Monte Carlo tolerance: every estimate below is (close to) normal around its mean with the
# reported SE, so a 3.5 SE band fails with probability 4.7e-4 per check. Two independent
# estimates differ by Normal(0, se1^2 + se2^2): the "combined SE".
N_SE = 3.5


def combined(a: dict, b: dict, key: str = "pv_claims") -> tuple[float, float]:
    return abs(a[key] - b[key]), math.hypot(a[key + "_se"], b[key + "_se"])


@pytest.fixture(scope="module")
def block():
    """12 contracts without second lives (fast kernels), every allocation."""
    return random_inforce(make_config(), n=12, seed=7, lives=False)


def priced(inforce, **run) -> dict:
    changes = {"run.breakeven": False, "run.seed": 20261123}
    changes.update({f"run.{k}": v for k, v in run.items()})
    return price(make_config(changes), inforce).block


@pytest.fixture(scope="module")
def plain(block):
    return priced(block, scenarios=16384)


# --------------------------------------------------------------------------- the control


def test_for_one_textbook_contract_the_control_expectation_is_the_black_scholes_put():
    config = make_config(
        {
            "market.indices": [{"name": "eq", "volatility": 0.2, "dividend_yield": 0.01}],
            "market.correlation": None,
            "market.funds": [{"name": "equity", "indices": {"eq": 1.0}, "fee": 0.005}],
            "allocations": {},
            "rider.fee_basis": "contract_value",
            "rider.fee_rate": 0.01,
            "lapse.enabled": False,
            "mortality.enabled": False,
            "withdrawals.enabled": False,
            "run.scenarios": 20000,
        }
    )
    inforce = one_contract(config, defaults=TEXTBOOK_CONTRACT)
    model, scenarios, _ = model_for(config, inforce)
    control = gmab_control(config, model, scenarios, ["equity"])
    # the account's charges (M&E, fund fee, index dividend) are a dividend yield; the rider
    # fee on CV scales the spot; strike = AB factor 1 x BB = CV
    strike = 100_000.0
    spot = 100_000.0 * math.exp(-0.01 * 10)
    expected = bs_put(spot, strike, 0.03, 0.01 + 0.005 + config.product.me_charge, 0.2, 10.0)
    assert control.expectation == pytest.approx(expected, rel=1e-12)
    x = control.values
    assert abs(x.mean() - expected) < N_SE * x.std(ddof=1) / math.sqrt(x.size)


@pytest.mark.parametrize("run", [{}, {"antithetic": True}, {"qmc": True}])
def test_the_block_control_mean_matches_its_exact_expectation_within_3_5_se(block, run):
    config = make_config({"run.scenarios": 8192, **{f"run.{k}": v for k, v in run.items()}})
    model, scenarios, _ = model_for(config, block)
    control = gmab_control(config, model, scenarios, sorted(set(block["allocation"])))
    groups = control.values.reshape(-1, scenarios.sample_group).mean(axis=1)
    se = groups.std(ddof=1) / math.sqrt(groups.size)
    assert abs(groups.mean() - control.expectation) < N_SE * se, (
        groups.mean(),
        control.expectation,
        se,
    )


def test_control_estimate_recovers_beta_and_the_residual_standard_error():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, 20000)
    y = 3.0 + 1.5 * x + rng.normal(0.0, 0.5, x.size)
    est = control_estimate(y, Control(x, 5.0))
    assert est.beta == pytest.approx(1.5, abs=4 * 0.5 / (2.0 * math.sqrt(x.size)))
    # E[Y] = 3 + 1.5 * 5 = 10.5; the corrected mean only carries the residual noise
    assert abs(est.mean - 10.5) < N_SE * est.se
    assert est.se == pytest.approx(0.5 / math.sqrt(x.size), rel=0.05)
    assert est.plain_se == pytest.approx(math.hypot(3.0, 0.5) / math.sqrt(x.size), rel=0.05)
    # in groups: the same estimator on group means
    paired = control_estimate(y, Control(x, 5.0), group=2)
    assert abs(paired.mean - 10.5) < N_SE * paired.se


def test_a_control_that_does_not_vary_leaves_the_plain_estimate():
    y = np.arange(10.0)
    est = control_estimate(y, Control(np.ones(10), 1.0))
    assert (est.mean, est.beta) == (4.5, 0.0)
    assert est.se == est.plain_se == pytest.approx(y.std(ddof=1) / math.sqrt(10))


# --------------------------------------------------------------------------- against plain MC


@pytest.mark.parametrize(
    "run",
    [
        {"control_variate": True, "scenarios": 16384},
        {"qmc": True, "scenarios": 4096},
        {"qmc": True, "control_variate": True, "scenarios": 4096},
        {"antithetic": True, "control_variate": True, "scenarios": 8192},
    ],
)
def test_reduced_variance_estimates_agree_with_plain_mc_and_have_smaller_standard_errors(
    block, plain, run
):
    result = priced(block, **run)
    for key in ("pv_claims", "net_cost"):
        gap, se = combined(result, plain, key)
        assert gap < N_SE * se, (key, result[key], plain[key], se)
    # The reductions measured on this block: control variate alone 4x on the SE, RQMC 10x
    # at a quarter of the scenarios; asking for 2x leaves room for the noise of the SE
    # estimates (16 scrambles: the RQMC SE itself is uncertain by about 20 %).
    assert result["pv_claims_se"] < 0.5 * plain["pv_claims_se"], (
        result["pv_claims_se"],
        plain["pv_claims_se"],
    )
    if run.get("control_variate"):
        # after RQMC the scramble means leave the control less to explain (about 0.2-0.8)
        assert result["control_variate_correlation"] > (0.0 if run.get("qmc") else 0.9)
        assert result["pv_claims_mc"] != result["pv_claims"]
        assert result["pv_claims_cv"] == result["pv_claims"]
        assert result["net_cost"] == pytest.approx(result["net_cost_cv"])


def test_the_control_variate_refines_the_breakeven_fee(block):
    plain_fee = priced(block, scenarios=1024, breakeven=True)
    cv_fee = priced(block, scenarios=1024, breakeven=True, control_variate=True)
    assert cv_fee["breakeven_fee_se"] < 0.6 * plain_fee["breakeven_fee_se"]
    gap = abs(cv_fee["breakeven_fee"] - plain_fee["breakeven_fee"])
    assert gap < N_SE * math.hypot(cv_fee["breakeven_fee_se"], plain_fee["breakeven_fee_se"])


# --------------------------------------------------------------------------- target SE


def test_target_relative_se_doubles_the_scenarios_until_it_is_met(block):
    result = price(
        make_config({"run.breakeven": False, "run.scenarios": 128, "run.target_relative_se": 0.03}),
        block,
    )
    b, counts = result.block, result.run["scenario_counts"]
    assert b["target_reached"] and b["pv_claims_se"] <= 0.03 * b["pv_claims"]
    assert (
        counts[0] == 128
        and all(n2 == 2 * n1 for n1, n2 in itertools.pairwise(counts))
        and len(counts) > 1
    )
    assert b["scenarios"] == counts[-1] == len(result.scenarios)
    # it stopped at the first count that met the target
    before = priced(block, scenarios=counts[-2])
    assert before["pv_claims_se"] > 0.03 * before["pv_claims"]
    # the batches (the first scenarios unchanged, only the new ones projected) give the run
    # of the final size
    once = price(make_config({"run.breakeven": False, "run.scenarios": counts[-1]}), block)
    for key in ("pv_claims", "pv_claims_se", "pv_fees", "net_cost_se"):
        assert b[key] == pytest.approx(once.block[key], rel=1e-12), key
    np.testing.assert_allclose(
        result.contracts["pv_claims"], once.contracts["pv_claims"], rtol=1e-12
    )
    np.testing.assert_allclose(
        result.contracts["pv_claims_se"], once.contracts["pv_claims_se"], rtol=1e-9
    )


def test_target_se_in_currency_with_qmc_and_the_control_variate(block):
    target = 400.0
    result = price(
        make_config(
            {
                "run.breakeven": False,
                "run.scenarios": 64,
                "run.qmc": True,
                "run.control_variate": True,
                "run.target_se": target,
            }
        ),
        block,
    )
    b = result.block
    assert b["target_reached"] and b["pv_claims_se"] <= target
    assert all(n % 16 == 0 for n in result.run["scenario_counts"])


def test_the_scenario_cap_stops_a_run_that_cannot_reach_its_target(block):
    result = price(
        make_config(
            {
                "run.breakeven": False,
                "run.scenarios": 100,
                "run.antithetic": True,
                "run.target_se": 1e-6,
                "run.max_scenarios": 450,
            }
        ),
        block,
    )
    assert result.run["scenario_counts"] == [100, 200, 400, 450 - 450 % 2]
    assert not result.block["target_reached"]


def test_a_target_needs_price_to_build_the_model(block):
    config = make_config({"run.scenarios": 16, "run.target_se": 1.0})
    model, _, _ = model_for(config, block)
    with pytest.raises(ValueError, match="call it without model="):
        price(config, model=model)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"run.qmc": True, "run.antithetic": True},
            "run: run.qmc and run.antithetic exclude each other",
        ),
        (
            {"run.qmc": True, "run.scenarios": 100},
            "run: run.scenarios (100) must be a multiple of run.qmc_scrambles (16)",
        ),
        (
            {"run.target_se": 1.0, "run.target_relative_se": 0.01},
            "run: give at most one of run.target_se",
        ),
        (
            {"run.target_se": 1.0, "run.scenarios": 100, "run.max_scenarios": 50},
            "run: run.max_scenarios (50) is below",
        ),
        (
            {"run.control_variate": True, "market.model": "hull_white"},
            "run.control_variate needs market.model = 'gbm' "
            "(the control's Black-Scholes expectation is exact only there)",
        ),
    ],
)
def test_variance_reduction_settings_are_checked(changes, message):
    with pytest.raises(ConfigError) as info:
        make_config(changes)
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith(
        f"config: {message}"
    ), info.value.problems
