"""CTE and VaR estimators against the lognormal closed forms; real-world scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from sim.config import ConfigError
from sim.risk.tail import cte_estimate, real_world_scenarios, tail_table, var_estimate

from .blocks import make_config

MU, SIGMA = 10.0, 0.8


def lognormal_cte(level, mu=MU, sigma=SIGMA):
    """E[X | X > VaR_a] of X = exp(mu + sigma Z): exp(mu + sigma^2/2) Phi(sigma - z_a) / (1 - a)."""
    return math.exp(mu + 0.5 * sigma**2) * norm.cdf(sigma - norm.ppf(level)) / (1.0 - level)


def lognormal_var(level, mu=MU, sigma=SIGMA):
    return math.exp(mu + sigma * norm.ppf(level))


@pytest.mark.parametrize("level", [0.7, 0.9, 0.98])
def test_cte_of_a_lognormal_sample_equals_the_closed_form_within_its_standard_error(level):
    rng = np.random.default_rng(7)
    sample = np.exp(MU + SIGMA * rng.standard_normal(20_000))
    cte, se = cte_estimate(sample, level)
    # one sample: the CLT puts the estimate within 3.5 SE of the truth (p = 4.7e-4)
    assert abs(cte - lognormal_cte(level)) < 3.5 * se, (cte, lognormal_cte(level), se)
    assert se < 0.05 * cte  # and the check has power


@pytest.mark.parametrize(
    "estimator, exact, level",
    [
        (cte_estimate, lognormal_cte, 0.9),
        (cte_estimate, lognormal_cte, 0.98),
        (var_estimate, lognormal_var, 0.95),
        (var_estimate, lognormal_var, 0.99),
    ],
)
def test_the_reported_standard_errors_match_the_spread_over_300_independent_samples(
    estimator, exact, level
):
    """The reported SE is the estimator's real spread: over 300 independent samples of
    10,000 the estimates' standard deviation is the mean reported SE, the estimates centre
    on the closed form, and about 68 % fall within one reported SE of it."""
    rng = np.random.default_rng(11)
    runs = np.array(
        [estimator(np.exp(MU + SIGMA * rng.standard_normal(10_000)), level) for _ in range(300)]
    )
    estimates, ses = runs[:, 0], runs[:, 1]
    spread = estimates.std(ddof=1)
    # the SD of 300 draws is known to ~4 % (1/sqrt(2 x 299)); 15 % is ~4 of those
    assert 0.85 < spread / ses.mean() < 1.15, spread / ses.mean()
    # the mean of 300 estimates has SE spread / sqrt(300); 4 of them bound the bias
    assert abs(estimates.mean() - exact(level)) < 4 * spread / math.sqrt(300)
    # coverage of +/- 1 SE is 68.3 %; its binomial SE over 300 samples is 2.7 points
    assert 0.57 < np.mean(np.abs(estimates - exact(level)) <= ses) < 0.79


def test_cte_is_the_plain_mean_of_the_worst_outcomes_when_n_times_one_minus_level_is_whole():
    x = np.arange(1.0, 101.0)
    assert cte_estimate(x, 0.9)[0] == pytest.approx(np.mean(x[-10:]))
    assert var_estimate(x, 0.9)[0] == 90.0
    # a fractional count weights the next value by the fraction: 2.5 worst of 100
    assert cte_estimate(x, 0.975)[0] == pytest.approx((100 + 99 + 0.5 * 98) / 2.5)


def test_tail_table_is_ordered_cte70_cte90_cte98_on_a_skewed_sample():
    sample = np.exp(np.random.default_rng(3).standard_normal(5000))
    table = tail_table(sample, [0.7, 0.9, 0.98], [0.95, 0.99]).set_index("metric")
    assert table.loc["CTE70", "value"] <= table.loc["CTE90", "value"] <= table.loc["CTE98", "value"]
    assert table.loc["VaR95", "value"] <= table.loc["VaR99", "value"]
    assert (table["se"] > 0).all()


def test_real_world_scenarios_drive_the_chosen_index_and_discount_on_the_curve():
    config = make_config({"hedge.real_world.index": "intl", "hedge.real_world.scenarios": 200})
    scen, basis = real_world_scenarios(config, 24)
    assert scen.basis == "real_world" and basis["generator"] == "rsln" and basis["index"] == "intl"
    assert scen.index_growth.shape == (200, 24, 3)
    np.testing.assert_allclose(scen.discount[:, 12], math.exp(-0.03), rtol=1e-12)
    # the other indices are lognormal with the configured volatility (monthly log returns)
    logs = np.log(scen.index_growth[:, :, 0])
    assert logs.std() == pytest.approx(0.2 / math.sqrt(12), rel=0.05)  # 4,800 draws: SE 1 %


def test_a_real_world_index_that_is_not_a_market_index_is_one_line_naming_the_key():
    with pytest.raises(ConfigError) as err:
        make_config({"hedge.real_world.index": "nikkei"})
    assert len(err.value.problems) == 1 and "hedge.real_world.index" in err.value.problems[0]
