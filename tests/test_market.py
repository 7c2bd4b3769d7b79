"""Risk-neutral GBM scenarios, curves and random streams."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market.curve import ZeroCurve
from sim.market.gbm import generate_gbm

N_SE = 3.5  # CLT: a mean of independent paths is within 3.5 SE with probability 0.9995


def _two_index(n=40_000, antithetic=False, seed=1, curve=None, steps=24):
    corr = np.array([[1.0, 0.7], [0.7, 1.0]])
    return generate_gbm(
        curve or ZeroCurve.flat(0.04),
        np.array([0.2, 0.3]),
        np.array([0.01, 0.0]),
        corr,
        n,
        steps,
        12,
        seed,
        antithetic,
        ("a", "b"),
    )


def test_discounted_index_is_a_martingale_within_3_5_standard_errors():
    sc = _two_index()
    growth = sc.index_growth.prod(axis=1)  # (n, 2) over 2 years
    disc = sc.discount[:, -1]
    for i, q in enumerate([0.01, 0.0]):
        x = disc * growth[:, i]
        se = x.std(ddof=1) / np.sqrt(x.size)
        assert abs(x.mean() - np.exp(-q * 2.0)) < N_SE * se


def test_log_returns_have_the_configured_volatility_and_correlation():
    sc = _two_index()
    logs = np.log(sc.index_growth).reshape(-1, 2)
    vol = logs.std(axis=0) * np.sqrt(12)
    np.testing.assert_allclose(vol, [0.2, 0.3], rtol=0.01)  # 960k draws: sampling error ~0.07 %
    assert np.corrcoef(logs.T)[0, 1] == pytest.approx(0.7, abs=0.005)


def test_more_scenarios_keep_the_first_ones_unchanged():
    small, large = _two_index(n=10), _two_index(n=25)
    np.testing.assert_array_equal(small.index_growth, large.index_growth[:10])


def test_antithetic_pairs_mirror_their_shocks():
    sc = _two_index(n=10, antithetic=True)
    drift = np.log(sc.index_growth[0::2]) + np.log(sc.index_growth[1::2])  # shocks cancel
    np.testing.assert_allclose(drift / 2, np.broadcast_to(drift[0:1] / 2, drift.shape), atol=1e-12)
    assert np.all(np.abs(np.log(sc.index_growth[0::2]) - np.log(sc.index_growth[1::2])) > 0)


def test_zero_curve_discount_factors_and_money_market_agree():
    curve = ZeroCurve(np.array([1.0, 5.0, 10.0]), np.array([0.02, 0.03, 0.04]))
    sc = _two_index(n=4, curve=curve, steps=120)
    grid = np.arange(121) / 12
    np.testing.assert_allclose(
        sc.discount[0], np.exp(-np.interp(grid, curve.tenors, curve.zero_rates) * grid)
    )
    rolled = np.concatenate([[1.0], np.cumprod(sc.money_market_growth[0])])
    np.testing.assert_allclose(rolled * sc.discount[0], 1.0, rtol=1e-12)


def test_seed_gives_the_same_scenarios_and_another_seed_different_ones():
    np.testing.assert_array_equal(_two_index(n=5).index_growth, _two_index(n=5).index_growth)
    assert not np.array_equal(_two_index(n=5).index_growth, _two_index(n=5, seed=2).index_growth)
