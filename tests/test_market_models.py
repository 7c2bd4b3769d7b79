"""The [market] models wired through the config: par swap curves, Hull-White, RSLN2, SLV,
scenario files, and the real-world refusal."""

from __future__ import annotations

import numpy as np
import pytest

from sim.boundary import market_inputs
from sim.config import Config, ConfigError, config_from_dict
from sim.market import generate_scenarios, market_basis, market_curve, read_market_file
from sim.market.curve import bootstrap_par_swaps
from sim.market.files import write_scenarios
from sim.market.gbm import generate_gbm
from sim.market.rsln import RSLN2_2005_ER_9_6, RSLN2Params, generate_rsln2
from sim.market.slv import SLV_6, generate_slv
from sim.valuation import price

from .blocks import base_config_dict, make_config, random_inforce

# Monte Carlo tolerance: a mean of independent paths is Normal(mean, SE) by the CLT, so a
# 3.5 SE band fails with probability 4.7e-4 per check.
N_SE = 3.5

PAR_SWAPS = {
    "tenors": [1.0, 2.0, 5.0, 10.0, 20.0],
    "rates": [0.025, 0.028, 0.032, 0.036, 0.038],
    "frequency": 2,
}


def market_problem(changes: dict) -> str:
    with pytest.raises(ConfigError) as info:
        make_config(changes)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def one_index(model: str, **market) -> dict:
    data = {
        "run": {"seed": 5, "scenarios": 200, "breakeven": False},
        "market": {
            "model": model,
            "rate": 0.03,
            "indices": [{"name": "sp500"}],
            "funds": [{"name": "equity", "indices": {"sp500": 1.0}}],
            **market,
        },
        "inforce": {"synthetic": {"contracts": 3}},
    }
    return data


# --------------------------------------------------------------------------- curves


def test_par_swaps_give_the_bootstrapped_curve():
    config = make_config({"market.rate": None, "market.par_swaps": PAR_SWAPS})
    curve = market_curve(market_inputs(config))
    expected = bootstrap_par_swaps(PAR_SWAPS["tenors"], PAR_SWAPS["rates"], 2)
    np.testing.assert_array_equal(curve.zero_rates, expected.zero_rates)
    # the GBM's discount factors are the bootstrapped curve's
    scen = generate_scenarios(market_inputs(config), 24, 4)
    np.testing.assert_allclose(scen.discount[0], curve.discount(np.arange(25) / 12), rtol=1e-14)


@pytest.mark.parametrize(
    "curves",
    [
        {"market.par_swaps": PAR_SWAPS},  # with the base config's rate
        {"market.rate": None},  # none of the three
        {
            "market.rate": None,
            "market.par_swaps": PAR_SWAPS,
            "market.curve": {"tenors": [1.0], "zero_rates": [0.03]},
        },
    ],
)
def test_exactly_one_of_rate_curve_and_par_swaps(curves):
    assert market_problem(curves) == (
        "config: market: give exactly one of market.rate, market.curve or market.par_swaps"
    )


def test_par_swaps_off_the_payment_schedule_are_a_one_line_config_error():
    bad = {**PAR_SWAPS, "tenors": [1.0, 2.25], "rates": [0.02, 0.03]}
    problem = market_problem({"market.rate": None, "market.par_swaps": bad})
    assert problem.startswith(
        "config: market.par_swaps: tenors [2.25] are not whole numbers of fixed periods"
    )


# --------------------------------------------------------------------------- Hull-White


def hull_white(volatility=0.01, correlation=(-0.3, -0.2, 0.1), **changes) -> dict:
    out = {
        "market.model": "hull_white",
        "market.hull_white": {
            "mean_reversion": 0.08,
            "volatility": volatility,
            "correlation": list(correlation),
        },
    }
    out.update(changes)
    return out


def test_hull_white_config_builds_the_full_correlation_with_the_rate_last():
    config = make_config(hull_white())
    full = config.market.rate_correlation()
    equity = np.asarray(base_config_dict()["market"]["correlation"])
    np.testing.assert_array_equal(full[:3, :3], equity)
    np.testing.assert_array_equal(full[3, :3], [-0.3, -0.2, 0.1])
    np.testing.assert_array_equal(full[:3, 3], [-0.3, -0.2, 0.1])
    assert full[3, 3] == 1.0


def test_hull_white_zero_coupon_prices_from_generated_scenarios_match_the_curve_within_3_5_se():
    config = make_config(
        hull_white(
            volatility=0.015,
            **{"market.rate": None, "market.par_swaps": PAR_SWAPS, "run.scenarios": 4000},
        )
    )
    scen = generate_scenarios(market_inputs(config), 240)
    assert scen.basis == "risk_neutral" and scen.short_rate is not None
    assert scen.short_rate.std() > 0.005  # the rate moves
    curve = market_curve(market_inputs(config))
    for step in (12, 60, 120, 240):
        d = scen.discount[:, step]
        se = d.std(ddof=1) / np.sqrt(d.size)
        assert abs(d.mean() - curve.discount(step / 12)) < N_SE * se, step
    # money market and discount come from the same simulated rate
    np.testing.assert_allclose(
        np.cumprod(scen.money_market_growth, axis=1) * scen.discount[:, 1:], 1.0, rtol=1e-12
    )


def test_hull_white_price_tends_to_the_flat_rate_gbm_price_as_rate_volatility_vanishes():
    # The equity shocks of both generators are eps @ chol(equity correlation) from the same
    # stream (the rate comes last in the Hull-White correlation), and with sigma_r -> 0 the
    # integrated rate is the curve's forward: the paths agree to rounding, and so do prices.
    # A flat rate, so that Hull-White's short rate at the start of a step (the instantaneous
    # forward) equals the GBM's (the step's average forward) for the fixed account renewals.
    gbm = make_config({"run.scenarios": 200})
    hw = make_config(hull_white(volatility=1e-12, **{"run.scenarios": 200}))
    inforce = random_inforce(gbm, n=8, seed=3, lives=False)
    a, b = price(gbm, inforce).block, price(hw, inforce).block
    for key in ("pv_claims", "pv_fees", "net_cost", "pv_db_excess"):
        assert b[key] == pytest.approx(a[key], rel=1e-8), key
    # and a real rate volatility does change the price
    moved = price(make_config(hull_white(volatility=0.02, **{"run.scenarios": 200})), inforce).block
    assert abs(moved["pv_claims"] - a["pv_claims"]) > 1e-4 * a["pv_claims"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"correlation": [0.1]}, "market.hull_white.correlation needs 3 value(s), one per index"),
        (
            {"correlation": [0.95, -0.95, 0.0]},
            "market.correlation with market.hull_white.correlation is not positive semi-definite",
        ),
    ],
)
def test_bad_hull_white_correlations_are_one_line_errors(section, message):
    problem = market_problem({"market.model": "hull_white", "market.hull_white": section})
    assert problem.startswith(f"config: market: {message}")


def test_hull_white_defaults_and_uncorrelated_rate():
    config = make_config({"market.model": "hull_white"})
    np.testing.assert_array_equal(config.market.rate_correlation()[3], [0, 0, 0, 1])
    scen = generate_scenarios(market_inputs(config), 12, 4)
    assert scen.short_rate.shape == (4, 12)


@pytest.mark.parametrize(
    ("run", "group"), [({"run.antithetic": True}, 2), ({"run.qmc": True}, 64 // 16)]
)
def test_hull_white_takes_the_run_shock_method(run, group):
    config = make_config(hull_white(**{"run.scenarios": 64, **run}))
    scen = generate_scenarios(market_inputs(config), 24)
    assert scen.sample_group == group
    if group == 2:  # mirrored pairs: the rate moves in opposite directions
        x = np.log(scen.discount[:, -1])
        np.testing.assert_allclose(
            x[0::2] + x[1::2],
            2 * np.log(market_curve(market_inputs(config)).discount(2.0))
            + integrated_variance_term(config),
            rtol=0,
            atol=1e-12,
        )


def integrated_variance_term(config) -> float:
    """ln P_sim = -int alpha - Y with Y odd in the shocks: the pair sum is -2 int_0^T alpha =
    2 ln P(0, T) - V(0, T)."""
    from sim.market.hull_white import integrated_variance

    hw = config.market.hull_white
    return -float(integrated_variance(hw.mean_reversion, hw.volatility, 2.0))


# --------------------------------------------------------------------------- real world


def test_rsln_config_generates_the_named_set_on_the_run_seed():
    config = config_from_dict(one_index("rsln", rsln={"parameters": "2005_9_6"}))
    scen = generate_scenarios(market_inputs(config), 36)
    direct = generate_rsln2(RSLN2_2005_ER_9_6, 200, 36, 12, 5, ("sp500",), rate=0.03)
    np.testing.assert_array_equal(scen.index_growth, direct.index_growth)
    assert scen.basis == "real_world" and market_basis(market_inputs(config)) == "real_world"
    np.testing.assert_allclose(scen.discount[:, 12], np.exp(-0.03))


def test_rsln_explicit_parameters_and_the_default_set():
    explicit = {
        "mu1": 0.01,
        "sigma1": 0.035,
        "p12": 0.04,
        "mu2": -0.015,
        "sigma2": 0.06,
        "p21": 0.2,
    }
    config = config_from_dict(one_index("rsln", rsln=explicit))
    assert config.market.rsln.params() == RSLN2Params(**explicit)
    default = config_from_dict(one_index("rsln"))
    assert default.market.rsln is None
    assert generate_scenarios(market_inputs(default), 3).basis == "real_world"


def test_slv_config_generates_the_named_set():
    config = config_from_dict(one_index("slv", slv={"parameters": "slv6"}))
    scen = generate_scenarios(market_inputs(config), 24)
    np.testing.assert_array_equal(
        scen.index_growth, generate_slv(SLV_6, 200, 24, 12, 5, ("sp500",), 0.03).index_growth
    )


@pytest.mark.parametrize(
    ("model", "change", "message"),
    [
        (
            "rsln",
            {"run": {"steps_per_year": 4}},
            "market.model = 'rsln' is a monthly model: run.steps_per_year must be 12, not 4",
        ),
        (
            "slv",
            {"run": {"qmc": True, "scenarios": 32}},
            "run.qmc is not available with market.model = 'slv'",
        ),
        (
            "rsln",
            {"rsln": {"mu1": 0.01}},
            "market.rsln: give all six of mu1, sigma1, p12, mu2, sigma2, p21",
        ),
        (
            "rsln",
            {"rsln": {"parameters": "2005_10_0", "mu1": 0.01}},
            "market.rsln: give parameters (a named set)",
        ),
        (
            "rsln",
            {"curve": {"tenors": [1.0], "zero_rates": [0.03]}},
            "market: model 'rsln' takes a flat market.rate",
        ),
        (
            "slv",
            {"indices": [{"name": "sp500"}, {"name": "other"}]},
            "market: model 'slv' drives one index; market.indices has 2",
        ),
        ("gbm", {"rsln": {}}, "market: market.rsln is given but market.model is 'gbm'"),
        ("gbm", {}, "market: model 'gbm' needs a volatility for index 'sp500'"),
        ("file", {}, "market: model 'file' needs market.file"),
    ],
)
def test_market_model_problems_are_one_line_config_errors(model, change, message):
    data = one_index(model)
    for key, value in change.items():
        if key == "run":
            data["run"].update(value)
        else:
            data["market"][key] = value
        if key == "curve":
            del data["market"]["rate"]
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, source="cfg.toml")
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(f"cfg.toml: {message}"), info.value.problems


def test_pricing_on_real_world_scenarios_is_refused_without_the_override():
    data = one_index("rsln")
    data["market"]["funds"] = [{"name": "equity", "indices": {"sp500": 1.0}}]
    with pytest.raises(ConfigError) as info:
        price(config_from_dict(data))
    assert info.value.problems == [
        "market.model = 'rsln' gives real-world scenarios; prices need risk-neutral ones "
        "(set run.allow_real_world = true to price on them anyway)"
    ]
    data["run"]["allow_real_world"] = True
    result = price(config_from_dict(data))
    assert result.run["basis"] == "real_world" and result.block["pv_claims"] >= 0.0


# --------------------------------------------------------------------------- scenario files


def file_config(tmp_path, scen, name="scen.csv", **run) -> Config:
    write_scenarios(scen, tmp_path / name)
    data = base_config_dict()
    data["market"].update(model="file", file=name)
    data["run"].update(run)
    return config_from_dict(data, base_dir=tmp_path)


def gbm_scenarios(names=("eq", "intl", "bond"), n=6, steps=24, antithetic=False):
    from sim.market.curve import ZeroCurve

    return generate_gbm(
        ZeroCurve.flat(0.03),
        np.full(len(names), 0.2),
        np.zeros(len(names)),
        np.eye(len(names)),
        n,
        steps,
        12,
        seed=1,
        antithetic=antithetic,
        index_names=names,
    )


def test_a_file_brings_its_scenarios_in_config_order_and_its_extra_steps_are_cut(tmp_path):
    scen = gbm_scenarios(names=("bond", "eq", "intl"), n=6, steps=24)
    config = file_config(tmp_path, scen)
    got = read_market_file(market_inputs(config), n_steps=12)
    assert got.index_names == ("eq", "intl", "bond") and got.n_steps == 12 and got.n_scenarios == 6
    np.testing.assert_array_equal(got.index_growth[:, :, 0], scen.index_growth[:, :12, 1])
    np.testing.assert_array_equal(got.discount, scen.discount[:, :13])
    assert market_basis(market_inputs(config)) == "risk_neutral"


@pytest.mark.parametrize(
    ("names", "steps", "run", "message"),
    [
        (("eq", "intl"), 24, {}, "no column for market index 'bond' (the file has 'eq', 'intl')"),
        (
            ("eq", "intl", "bond", "gold"),
            24,
            {},
            "index 'gold' is not in market.indices ('eq', 'intl', 'bond')",
        ),
        (
            ("eq", "intl", "bond"),
            6,
            {},
            "the file has 6 steps (0.5 years); the block needs 12 (1 years)",
        ),
        (
            ("eq", "intl", "bond"),
            24,
            {"antithetic": True},
            "run.antithetic = true but the file's sample_group is 1",
        ),
    ],
)
def test_a_file_that_does_not_fit_the_config_is_a_one_line_error(
    tmp_path, names, steps, run, message
):
    config = file_config(tmp_path, gbm_scenarios(names=names, steps=steps), **run)
    with pytest.raises(ConfigError) as info:
        read_market_file(market_inputs(config), n_steps=12)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(f"{tmp_path / 'scen.csv'}: {message}")


def test_an_antithetic_file_keeps_its_pairs(tmp_path):
    config = file_config(tmp_path, gbm_scenarios(antithetic=True), antithetic=True)
    assert read_market_file(market_inputs(config)).sample_group == 2


def test_a_real_world_file_is_refused_for_pricing(tmp_path):
    rw = generate_rsln2(RSLN2_2005_ER_9_6, 4, 240, index_names=("eq",))
    data = one_index("file", file="rw.parquet")
    data["market"]["indices"] = [{"name": "eq"}]
    data["market"]["funds"] = [{"name": "equity", "indices": {"eq": 1.0}}]
    write_scenarios(rw, tmp_path / "rw.parquet")
    config = config_from_dict(data, base_dir=tmp_path)
    with pytest.raises(ConfigError) as info:
        price(config)
    assert info.value.problems[0].startswith(
        "the scenario file rw.parquet gives real-world scenarios;"
    )
