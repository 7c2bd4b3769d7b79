"""Hull-White short rate with correlated equity: exact simulation, fit to the curve."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from sim.market.curve import ZeroCurve
from sim.market.gbm import generate_gbm
from sim.market.hull_white import (
    generate_hull_white,
    hull_white_short_rate_moments,
    hull_white_zero_coupon,
    integrated_variance,
)

# Every Monte Carlo check compares a mean of independent samples (single paths, antithetic
# pair means, or the means of independently scrambled Sobol blocks) with its exact value.
# By the central limit theorem that mean is normal around the exact value with the
# estimated standard error, so a correct model lands within 3.5 SE with probability
# 0.9995 per check; the seeds are fixed, so the tests are deterministic.
N_SE = 3.5

# A non-flat curve: upward sloping, humped at 20 years, kinks at each tenor.
CURVE = ZeroCurve(
    np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0]),
    np.array([0.015, 0.020, 0.024, 0.030, 0.033, 0.036, 0.040, 0.039]),
)
A, SIGMA_R = 0.1, 0.015
VOLS, DIVS = np.array([0.18, 0.25]), np.array([0.01, 0.0])
# fmt: off
CORR = np.array([[1.0, 0.5, -0.3],
                 [0.5, 1.0, -0.2],
                 [-0.3, -0.2, 1.0]])  # short rate last
# fmt: on
N = 20_000


def _hw(n=N, years=20, steps_per_year=12, seed=7, method="pseudo", sigma_r=SIGMA_R, scrambles=1):
    """Hull-White scenarios on CURVE with the module's parameters."""
    n_steps = years * steps_per_year
    return generate_hull_white(
        CURVE,
        A,
        sigma_r,
        VOLS,
        DIVS,
        CORR,
        n,
        n_steps,
        steps_per_year,
        seed,
        method=method,
        scrambles=scrambles,
        index_names=("eq", "intl"),
    )


@pytest.fixture(scope="module")
def monthly():
    return _hw()


def _mean_and_se(x: np.ndarray, group: int = 1) -> tuple[float, float]:
    """Mean and standard error from the means of consecutive groups (independent samples)."""
    samples = x.reshape(-1, group).mean(axis=1)
    return samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)


def _assert_within(x, target, group=1):
    mean, se = _mean_and_se(x, group)
    assert abs(mean - target) < N_SE * se, (
        f"mean {mean:.8f} vs {target:.8f}: {(mean - target) / se:+.2f} SE"
    )


@pytest.mark.parametrize("method, group", [("pseudo", 1), ("antithetic", 2)])
def test_simulated_zero_coupon_bond_prices_match_the_curve_within_3_5_standard_errors(
    monthly, method, group
):
    sc = monthly if method == "pseudo" else _hw(method=method)
    assert sc.sample_group == group
    for years in (1, 5, 10, 20):
        _assert_within(sc.discount[:, 12 * years], CURVE.discount(years), group)


def test_scrambled_sobol_bond_prices_match_the_curve_over_independent_scrambles():
    # 32 independent scrambles of 512 points: each block mean is one sample (t with 31 dof,
    # P(|t| > 3.5) = 0.0014)
    sc = _hw(n=32 * 512, steps_per_year=4, method="sobol", scrambles=32)
    assert sc.sample_group == 512
    for years in (1, 5, 10, 20):
        _assert_within(sc.discount[:, 4 * years], CURVE.discount(years), 512)


def test_the_short_rate_mean_and_variance_at_t_match_the_analytic_hull_white_moments(monthly):
    assert np.all(monthly.short_rate[:, 0] == CURVE.instantaneous_forward(0.0))  # r_0 = f(0, 0)
    for t in (0.5, 4.0, 12.5, 19.0):
        r = monthly.short_rate[:, round(12 * t)]
        mean, var = hull_white_short_rate_moments(CURVE, A, SIGMA_R, t)
        _assert_within(r, mean)
        # sample variance: its SE is sqrt((m4 - s^4) / n) by the CLT applied to (r - mean)^2
        dev2 = (r - r.mean()) ** 2
        _assert_within(dev2 * r.size / (r.size - 1), var)


def test_the_integrated_rate_has_the_analytic_variance_v_0_t_with_monthly_and_annual_steps(monthly):
    annual = _hw(steps_per_year=1, seed=11)
    for sc, spy in ((monthly, 12), (annual, 1)):
        log_d = -np.log(sc.discount)
        for years in (1, 10, 20):
            x = log_d[:, spy * years]
            _assert_within(
                (x - x.mean()) ** 2 * x.size / (x.size - 1), integrated_variance(A, SIGMA_R, years)
            )


def test_the_drift_integral_makes_exp_minus_integrated_rate_reprice_the_curve_exactly():
    # int_0^t alpha(s) ds = -ln P(0, t) + V(0, t) / 2, checked by quadrature of alpha(t) = E[r_t]
    knots = [0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 25.0]

    def mean_r(s):
        return float(hull_white_short_rate_moments(CURVE, A, SIGMA_R, s)[0])

    integral = np.cumsum(
        [
            quad(mean_r, lo, hi, epsabs=1e-14, epsrel=1e-13)[0]
            for lo, hi in itertools.pairwise(knots)
        ]
    )
    t = np.array(knots[1:])
    np.testing.assert_allclose(
        integral,
        -np.log(CURVE.discount(t)) + 0.5 * integrated_variance(A, SIGMA_R, t),
        rtol=0,
        atol=1e-12,
    )
    # and E[exp(-int r)] = exp(-int alpha + V / 2) = P(0, t): the lognormal mean


def test_discounted_equity_is_a_martingale_within_3_5_standard_errors(monthly):
    growth = np.cumprod(monthly.index_growth, axis=1)
    for years in (1, 10, 20):
        for i, q in enumerate(DIVS):
            _assert_within(
                monthly.discount[:, 12 * years] * growth[:, 12 * years - 1, i], np.exp(-q * years)
            )
    # the index earns the money market over each step plus a zero-mean excess return
    rolled = np.concatenate(
        [np.ones((N, 1)), np.cumprod(monthly.money_market_growth, axis=1)], axis=1
    )
    np.testing.assert_allclose(rolled * monthly.discount, 1.0, rtol=1e-12)


def test_equity_shocks_have_the_configured_volatility_and_correlation_with_the_rate(monthly):
    excess = np.log(monthly.index_growth) - np.log(monthly.money_market_growth)[:, :, None]
    z = (excess + (DIVS + 0.5 * VOLS**2) / 12) / (VOLS / np.sqrt(12))  # the equity normals Z_i
    x = (
        monthly.short_rate
        - hull_white_short_rate_moments(CURVE, A, SIGMA_R, np.arange(240) / 12)[0]
    )
    x_shock = x[:, 1:] - np.exp(-A / 12) * x[:, :-1]  # sd_x Z_r: the normal that drives x
    flat_z = z[:, :-1].reshape(-1, 2)
    # 4.8M draws: the SE of a sample sd is 0.0003 and of a sample correlation below 0.0005
    np.testing.assert_allclose(flat_z.std(axis=0), 1.0, atol=0.002)
    assert np.corrcoef(flat_z.T)[0, 1] == pytest.approx(0.5, abs=0.002)
    for i in range(2):
        assert np.corrcoef(flat_z[:, i], x_shock.reshape(-1))[0, 1] == pytest.approx(
            CORR[i, 2], abs=0.002
        )


@pytest.mark.parametrize("sigma_r", [0.0, 1e-13])
@pytest.mark.parametrize("method", ["pseudo", "antithetic", "sobol"])
def test_with_vanishing_rate_volatility_discount_equals_the_curve_and_index_growth_equals_gbm(
    sigma_r, method
):
    # With sigma_r = 1e-8 the integrated rate still moves by ~sigma_r / a^1.5 ~ 3e-7 over
    # 20 years, so the 1e-10 agreement needs sigma_r below ~1e-12; sigma_r = 0 is exact.
    sc = _hw(n=512, method=method, sigma_r=sigma_r, scrambles=4)
    grid = np.arange(241) / 12
    np.testing.assert_allclose(
        sc.discount, np.broadcast_to(CURVE.discount(grid), sc.discount.shape), rtol=1e-10
    )
    np.testing.assert_allclose(
        sc.short_rate[0], CURVE.instantaneous_forward(grid[:-1]), rtol=0, atol=1e-10
    )
    # the equity shocks line up with generate_gbm's (same "equity" stream, and the equity
    # block of the Cholesky factor of the correlation with the rate last is the GBM's)
    gbm = generate_gbm(CURVE, VOLS, DIVS, CORR[:2, :2], 512, 240, 12, 7, method=method, scrambles=4)
    np.testing.assert_allclose(sc.index_growth, gbm.index_growth, rtol=1e-10)
    np.testing.assert_allclose(sc.money_market_growth, gbm.money_market_growth, rtol=1e-10)


def test_closed_form_bond_price_averaged_over_simulated_short_rates_recovers_p_0_T(monthly):
    # P(0, T) = E[D(t) P(t, T; r_t)] with D(t) the simulated discount to t
    for t, maturities in ((5.0, (6.0, 10.0, 25.0)), (10.0, (10.5, 30.0)), (17.0, (20.0,))):
        k = round(12 * t)
        for T in maturities:
            bond = hull_white_zero_coupon(CURVE, A, SIGMA_R, t, T, monthly.short_rate[:, k])
            _assert_within(monthly.discount[:, k] * bond, CURVE.discount(T))
    # deterministic identities: P(0, T) at r_0 = f(0, 0) is the curve, P(t, t) = 1
    T = np.array([0.5, 3.0, 12.0, 30.0])
    np.testing.assert_allclose(
        hull_white_zero_coupon(CURVE, A, SIGMA_R, 0.0, T, CURVE.instantaneous_forward(0.0)),
        CURVE.discount(T),
        rtol=1e-13,
    )
    assert hull_white_zero_coupon(CURVE, A, SIGMA_R, 4.0, 4.0, 0.07) == pytest.approx(
        1.0, abs=1e-15
    )


def test_annual_steps_price_bonds_as_exactly_as_monthly_steps():
    annual = _hw(steps_per_year=1, years=10, seed=3)
    monthly = _hw(steps_per_year=12, years=10, seed=3)
    for sc, spy in ((annual, 1), (monthly, 12)):
        _assert_within(sc.discount[:, -1], CURVE.discount(10.0))
        _assert_within(sc.discount[:, 5 * spy], CURVE.discount(5.0))
    # the check has power: a left-point (Euler) discount exp(-sum r_k h) from the same
    # annual paths misses P(0, 10) by far more than 3.5 SE
    _mean, se = _mean_and_se(annual.discount[:, -1])
    euler = np.exp(-annual.short_rate.sum(axis=1)).mean()
    assert abs(euler - CURVE.discount(10.0)) > 10 * se


def test_antithetic_pairs_mirror_the_rate_and_equity_shocks():
    sc = _hw(n=6, years=2, method="antithetic")
    mean_r = hull_white_short_rate_moments(CURVE, A, SIGMA_R, np.arange(24) / 12)[0]
    np.testing.assert_allclose(
        (sc.short_rate[0::2] + sc.short_rate[1::2]) / 2,
        np.broadcast_to(mean_r, (3, 24)),
        rtol=0,
        atol=1e-15,
    )
    excess = np.log(sc.index_growth) - np.log(sc.money_market_growth)[:, :, None]
    np.testing.assert_allclose(
        excess[0::2] + excess[1::2],
        np.broadcast_to(-2 * (DIVS + VOLS**2 / 2) / 12, (3, 24, 2)),
        rtol=0,
        atol=1e-14,
    )


def test_more_scenarios_keep_the_first_ones_and_the_seed_fixes_the_draws():
    small, large = _hw(n=10, years=2), _hw(n=25, years=2)
    np.testing.assert_array_equal(small.discount, large.discount[:10])
    np.testing.assert_array_equal(small.index_growth, large.index_growth[:10])
    assert not np.array_equal(small.discount, _hw(n=10, years=2, seed=8).discount)


def test_the_output_has_the_scenarios_shapes_and_tags(monthly):
    sc = monthly
    assert sc.index_growth.shape == (N, 240, 2) and sc.money_market_growth.shape == (N, 240)
    assert sc.discount.shape == (N, 241) and sc.short_rate.shape == (N, 240)
    assert np.all(sc.discount[:, 0] == 1.0)
    assert (
        sc.basis == "risk_neutral" and sc.index_names == ("eq", "intl") and sc.steps_per_year == 12
    )
    no_equity = generate_hull_white(CURVE, A, SIGMA_R, [], [], [[1.0]], 4, 3, 12, 1)
    assert no_equity.index_growth.shape == (4, 3, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mean_reversion": 0.0}, "mean_reversion"),
        ({"rate_volatility": -0.01}, "rate_volatility"),
        ({"correlation": np.eye(2)}, r"correlation must be \(3, 3\)"),
        (
            {"correlation": np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])},
            "semi-definite",
        ),
        ({"correlation": np.array([[1, 0.2, 0], [0.1, 1, 0], [0, 0, 1]])}, "symmetric"),
        ({"dividend_yields": np.zeros(3)}, "equal length"),
        ({"method": "halton"}, "unknown shock method"),
        ({"method": "antithetic", "n_scenarios": 5}, "even"),
        ({"method": "sobol", "n_scenarios": 10, "scrambles": 4}, "multiple of scrambles"),
    ],
)
def test_bad_inputs_raise_value_error(kwargs, message):
    args = {
        "curve": CURVE,
        "mean_reversion": A,
        "rate_volatility": SIGMA_R,
        "volatilities": VOLS,
        "dividend_yields": DIVS,
        "correlation": CORR,
        "n_scenarios": 8,
        "n_steps": 3,
        "steps_per_year": 12,
        "seed": 1,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        generate_hull_white(**args)
