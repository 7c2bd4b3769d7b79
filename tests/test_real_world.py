"""Real-world equity generators (RSLN2, SLV) against the Academy's calibration criteria.

Source of every number: /work/shared/reference/aaa-equity-generator.md (AAA C3 Phase II
report, June 2005, Appendix 2, Tables 1-4 and 6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kstest

from sim.market.calibration import (
    ACADEMY_CALIBRATION,
    HORIZONS,
    LEFT_TAIL,
    PERCENTILES,
    REPORT_SLV_MEAN_WEALTH,
    REPORT_SLV_PERCENTILES,
    CalibrationRow,
    calibration_table,
    format_calibration_table,
    wealth_ratio_percentiles,
    wealth_ratios,
)
from sim.market.rsln import (
    RSLN2_2005_SETS,
    generate_rsln2,
    rsln2_log_wealth_mixture,
    rsln2_regimes,
    rsln2_wealth_ratio_percentiles,
)
from sim.market.scenarios import Scenarios, standard_normals
from sim.market.slv import SLV_6, SLV_TABLE2, generate_slv, slv_paths

N_SE = 3.5  # a normal estimate lies within 3.5 SE of its mean with probability 0.9995
N_SCEN = 50_000  # calibration runs: 50,000 paths x 240 months per model
N_MONTHS = 240
SEED = 1


def quantile_se(sample: np.ndarray, pct: float, delta: float = 0.01) -> float:
    """Standard error of the sample ``pct`` percentile of ``sample`` (shape ``(n,)``).

    Asymptotically ``SE = sqrt(p (1 - p) / n) / f(x_p)``. The density at the quantile is
    estimated from the sample itself by a symmetric difference of its quantile function,
    ``f(x_p) ~ 2 delta / (Q(p + delta) - Q(p - delta))`` (Siddiqui-Bofinger type), with
    ``delta = 1 %`` of probability, i.e. 500 order statistics either side at n = 50,000.
    """
    p = pct / 100.0
    lo, hi = np.percentile(sample, [100 * (p - delta), 100 * (p + delta)])
    density = 2 * delta / (hi - lo)
    return math.sqrt(p * (1 - p) / sample.size) / density


def _summary(scenarios: Scenarios) -> dict:
    """Percentiles, their SEs and mean wealth ratios; the scenarios themselves are dropped
    (each model's arrays take ~400 MB at 50,000 x 240)."""
    pct = wealth_ratio_percentiles(scenarios)
    wealth = {h: wealth_ratios(scenarios, h) for h in HORIZONS}
    se = {(h, p): quantile_se(wealth[h], p) for (h, p) in pct}
    mean = {h: (w.mean(), w.std(ddof=1) / math.sqrt(w.size)) for h, w in wealth.items()}
    return {"pct": pct, "se": se, "mean": mean}


@pytest.fixture(scope="module")
def rsln2_runs() -> dict:
    return {
        name: _summary(generate_rsln2(p, N_SCEN, N_MONTHS, seed=SEED))
        for name, p in RSLN2_2005_SETS.items()
    }


@pytest.fixture(scope="module")
def slv_run() -> dict:
    return _summary(generate_slv(SLV_TABLE2, N_SCEN, N_MONTHS, seed=SEED))


def _tolerance(run: dict) -> dict:
    return {cell: N_SE * se for cell, se in run["se"].items()}


# ---------------------------------------------------------------- calibration: RSLN2


@pytest.mark.parametrize("name", list(RSLN2_2005_SETS))
def test_rsln2_table6_sets_meet_every_criterion_exactly_without_simulation(name):
    # exact mixture-of-normals percentiles: no sampling error, so no tolerance
    exact = rsln2_wealth_ratio_percentiles(RSLN2_2005_SETS[name])
    rows = calibration_table(exact)
    assert len(rows) == 22
    assert all(r.met for r in rows), "\n" + format_calibration_table(rows)


@pytest.mark.parametrize("name", list(RSLN2_2005_SETS))
def test_simulated_rsln2_percentiles_match_the_exact_ones_within_3_5_quantile_ses(name, rsln2_runs):
    run = rsln2_runs[name]
    exact = rsln2_wealth_ratio_percentiles(RSLN2_2005_SETS[name])
    for cell, value in run["pct"].items():
        assert abs(value - exact[cell]) < N_SE * run["se"][cell], (cell, value, exact[cell])


@pytest.mark.parametrize("name", list(RSLN2_2005_SETS))
def test_simulated_rsln2_meets_every_criterion_within_3_5_quantile_ses(name, rsln2_runs):
    run = rsln2_runs[name]
    rows = calibration_table(run["pct"], tolerance=_tolerance(run))
    assert len(rows) == 22
    assert all(r.met for r in rows), "\n" + format_calibration_table(rows)
    # the tolerance only rescues genuine near ties: cells whose exact value lies within
    # 3.5 SE of the criterion (9.60 %: 1 y 97.5 % = 1.4207; 10.50 %: 10 y 10 % = 1.1594)
    exact = rsln2_wealth_ratio_percentiles(RSLN2_2005_SETS[name])
    for r in calibration_table(run["pct"]):
        if not r.met:
            cell = (r.horizon, r.percentile)
            assert abs(exact[cell] - r.criterion) < N_SE * run["se"][cell], r


# ---------------------------------------------------------------- calibration: SLV


def test_slv_table2_meets_every_criterion_within_3_5_quantile_ses(slv_run):
    rows = calibration_table(slv_run["pct"], tolerance=_tolerance(slv_run))
    assert len(rows) == 22
    assert all(r.met for r in rows), "\n" + format_calibration_table(rows)
    # the tolerance only rescues near ties: cells where the report's own SLV value (Table 3)
    # is within 3.5 SE of the criterion (10 of the 22 cells at 50,000 paths: the criteria
    # were derived from this model, so it sits close to many of them)
    near = {
        cell
        for cell, se in slv_run["se"].items()
        if ACADEMY_CALIBRATION[cell] is not None
        and abs(REPORT_SLV_PERCENTILES[cell] - ACADEMY_CALIBRATION[cell]) < N_SE * se
    }
    strict = calibration_table(slv_run["pct"])
    strict_misses = {(r.horizon, r.percentile) for r in strict if not r.met}
    assert strict_misses <= near, strict_misses - near


def test_slv_one_year_percentiles_match_the_report_table_3_within_3_5_quantile_ses(slv_run):
    # Table 3 is itself a simulation of unknown size; at 1,000,000 paths our 1 y 2.5 % is
    # about 0.772 against its 0.776 (2-3 of our SEs at 50,000 paths), the others within 0.002
    for p in PERCENTILES:
        cell = (1, p)
        gap = abs(slv_run["pct"][cell] - REPORT_SLV_PERCENTILES[cell])
        assert gap < N_SE * slv_run["se"][cell], cell


def test_slv_mean_one_year_wealth_ratio_matches_table_4_within_3_5_ses(slv_run):
    mean, se = slv_run["mean"][1]
    assert abs(mean - REPORT_SLV_MEAN_WEALTH[1]) < N_SE * se, (mean, se)


def test_slv6_variant_meets_every_criterion_within_3_5_quantile_ses():
    run = _summary(generate_slv(SLV_6, 20_000, N_MONTHS, seed=SEED + 1))
    rows = calibration_table(run["pct"], tolerance=_tolerance(run))
    assert all(r.met for r in rows), "\n" + format_calibration_table(rows)


# ---------------------------------------------------------------- SLV recursion


def test_slv_paths_follow_the_reference_recursion_month_by_month():
    p = SLV_TABLE2
    n, months, seed = 40, 120, 7
    ln_plus, ln_minus = math.log(p.sigma_max_before_shock), math.log(p.sigma_min)
    ln_star, ln_tau = math.log(p.sigma_max_after_shock), math.log(p.tau)
    log_returns, sigma = slv_paths(p, n, months, seed)
    eps = standard_normals(n, months, 2, seed, "equity")
    for i in range(n):
        v = math.log(p.sigma0)
        for t in range(months):
            z_v = eps[i, t, 0]
            z_s = p.rho * eps[i, t, 0] + math.sqrt(1 - p.rho**2) * eps[i, t, 1]
            capped = min(ln_plus, (1 - p.phi) * v + p.phi * ln_tau)  # cap before the shock
            v = max(ln_minus, min(ln_star, capped + p.sigma_v * z_v))  # bounds after it
            s = math.exp(v)
            mu = p.A + p.B * s + p.C * s * s
            assert sigma[i, t] == pytest.approx(s, rel=1e-12)
            expected = mu / 12 + s / math.sqrt(12) * z_s
            assert log_returns[i, t] == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_slv_volatility_stays_between_its_floor_and_its_cap_and_shocks_correlate():
    p = SLV_TABLE2
    log_returns, sigma = slv_paths(p, 20_000, 60, seed=3)
    assert sigma.min() >= p.sigma_min * (1 - 1e-12)
    assert sigma.max() <= p.sigma_max_after_shock * (1 + 1e-12)
    assert sigma.min() == pytest.approx(p.sigma_min)  # the floor binds on some months
    assert sigma.max() > p.sigma_max_before_shock  # the shock can lift sigma above sigma+
    # the volatility shock and the return shock have correlation rho (1.2 M pairs)
    eps = standard_normals(20_000, 60, 2, 3, "equity")
    z_s = (log_returns - p.drift(sigma) / 12) / (sigma / math.sqrt(12))
    corr = np.corrcoef(eps[:, :, 0].ravel(), z_s.ravel())[0, 1]
    assert corr == pytest.approx(p.rho, abs=N_SE / math.sqrt(z_s.size))


# ---------------------------------------------------------------- RSLN2 mechanics


def test_rsln2_regime_frequencies_match_the_stationary_probabilities():
    params = RSLN2_2005_SETS["RSLN2 10.00 %"]
    n = 50_000
    regimes = rsln2_regimes(params, n, N_MONTHS, seed=11)
    pi2 = params.stationary[1]
    se = math.sqrt(pi2 * (1 - pi2) / n)  # independent paths at a given month
    for t in (0, 11, 119, 239):
        assert abs(regimes[:, t].mean() - pi2) < N_SE * se, t
    # transition frequencies: given the previous regime each move is a Bernoulli draw
    prev, nxt = regimes[:, :-1].ravel(), regimes[:, 1:].ravel()
    for r, p_move in ((0, params.p12), (1, params.p21)):
        moves = nxt[prev == r] != r
        assert abs(moves.mean() - p_move) < N_SE * math.sqrt(p_move * (1 - p_move) / moves.size), r


def test_rsln2_fixed_start_regime_is_respected():
    params = RSLN2_2005_SETS["RSLN2 9.60 %"]
    assert np.all(rsln2_regimes(params, 100, 3, seed=1, start_regime=2)[:, 0] == 1)
    assert np.all(rsln2_regimes(params, 100, 3, seed=1, start_regime=1)[:, 0] == 0)
    with pytest.raises(ValueError, match="start_regime"):
        rsln2_regimes(params, 10, 3, seed=1, start_regime=3)


def test_rsln2_returns_are_lognormal_with_the_regime_parameters():
    params = RSLN2_2005_SETS["RSLN2 10.50 %"]
    n, months, seed = 5_000, 120, 4
    sc = generate_rsln2(params, n, months, seed=seed)
    regimes = rsln2_regimes(params, n, months, seed)
    z = standard_normals(n, months, 1, seed, "equity")[:, :, 0]
    log_returns = np.log(sc.index_growth[:, :, 0])
    # path by path: exactly mu_r + sigma_r Z with r the month's regime
    np.testing.assert_allclose(
        log_returns, params.means[regimes] + params.sigmas[regimes] * z, rtol=1e-12, atol=1e-15
    )
    # pooled: standardised log returns of each regime are standard normal
    for r in (0, 1):
        x = (log_returns[regimes == r] - params.means[r]) / params.sigmas[r]
        assert kstest(x, "norm").pvalue > 1e-3, r


def test_rsln2_mean_wealth_matches_the_exact_mixture():
    params = RSLN2_2005_SETS["RSLN2 9.60 %"]
    sc = generate_rsln2(params, 50_000, 60, seed=5)
    for h in (1, 5):
        w, m, s = rsln2_log_wealth_mixture(params, 12 * h)
        exact = float(w @ np.exp(m + s**2 / 2))
        wealth = wealth_ratios(sc, h)
        assert abs(wealth.mean() - exact) < N_SE * wealth.std(ddof=1) / math.sqrt(wealth.size), h


# ---------------------------------------------------------------- common mechanics


@pytest.mark.parametrize(
    "make",
    [
        lambda n: generate_rsln2(RSLN2_2005_SETS["RSLN2 10.00 %"], n, 36, seed=9),
        lambda n: generate_slv(SLV_TABLE2, n, 36, seed=9),
    ],
    ids=["rsln2", "slv"],
)
def test_more_scenarios_keep_the_first_ones_unchanged(make):
    small, large = make(10), make(25)
    np.testing.assert_array_equal(small.index_growth, large.index_growth[:10])


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: generate_rsln2(RSLN2_2005_SETS["RSLN2 10.00 %"], 8, 24, seed=1, **kw),
        lambda **kw: generate_slv(SLV_TABLE2, 8, 24, seed=1, **kw),
    ],
    ids=["rsln2", "slv"],
)
def test_scenarios_are_real_world_with_a_flat_money_market(make):
    sc = make(rate=0.03, index_names=("sp500",))
    assert sc.basis == "real_world"
    assert sc.index_names == ("sp500",) and sc.steps_per_year == 12 and sc.sample_group == 1
    assert sc.index_growth.shape == (8, 24, 1) and np.all(sc.index_growth > 0)
    np.testing.assert_allclose(sc.money_market_growth, math.exp(0.03 / 12))
    np.testing.assert_allclose(sc.discount[0], np.exp(-0.03 * np.arange(25) / 12))
    rolled = np.concatenate([np.ones((8, 1)), np.cumprod(sc.money_market_growth, axis=1)], axis=1)
    np.testing.assert_allclose(rolled * sc.discount, 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="one index"):
        make(index_names=("a", "b"))


@pytest.mark.parametrize("steps_per_year", [1, 4, 52, 252])
def test_monthly_models_refuse_other_step_lengths(steps_per_year):
    with pytest.raises(ValueError, match="monthly"):
        generate_rsln2(RSLN2_2005_SETS["RSLN2 10.00 %"], 4, 12, steps_per_year=steps_per_year)
    with pytest.raises(ValueError, match="monthly"):
        generate_slv(SLV_TABLE2, 4, 12, steps_per_year=steps_per_year)


# ---------------------------------------------------------------- calibration helpers


def test_criteria_table_has_the_reference_cells_and_omits_the_20_year_extremes():
    assert len(ACADEMY_CALIBRATION) == 24
    assert ACADEMY_CALIBRATION[(20, 2.5)] is None and ACADEMY_CALIBRATION[(20, 97.5)] is None
    assert sum(v is not None for v in ACADEMY_CALIBRATION.values()) == 22
    assert ACADEMY_CALIBRATION[(1, 2.5)] == 0.78 and ACADEMY_CALIBRATION[(20, 95.0)] == 11.70


def test_wealth_ratio_percentiles_are_numpy_percentiles_of_gross_growth_products():
    rng = np.random.default_rng(0)
    growth = np.exp(rng.normal(0.005, 0.04, (1_000, 60, 2)))
    sc = Scenarios(growth, np.ones((1_000, 60)), np.ones((1_000, 61)), ("a", "b"), 12, "real_world")
    pct = wealth_ratio_percentiles(sc, index=1)
    assert set(pct) == {(h, p) for h in (1, 5) for p in PERCENTILES}  # 10 and 20 y don't fit
    np.testing.assert_allclose(pct[(5, 95.0)], np.percentile(growth[:, :60, 1].prod(axis=1), 95.0))
    np.testing.assert_allclose(pct[(1, 2.5)], np.percentile(growth[:, :12, 1].prod(axis=1), 2.5))


def test_calibration_table_counts_equality_as_a_pass_and_applies_the_tolerance():
    at = {cell: v for cell, v in ACADEMY_CALIBRATION.items() if v is not None}
    assert all(r.met for r in calibration_table(at))  # exactly on every criterion
    worse = {(h, p): v + 0.01 if p in LEFT_TAIL else v - 0.01 for (h, p), v in at.items()}
    assert not any(r.met for r in calibration_table(worse))
    assert all(r.met for r in calibration_table(worse, tolerance=0.0100001))
    one = calibration_table(worse, tolerance={(5, 5.0): 0.02})
    assert [(r.horizon, r.percentile) for r in one if r.met] == [(5, 5.0)]


def test_formatter_prints_every_cell_with_met_or_not_met():
    pct = {cell: v for cell, v in ACADEMY_CALIBRATION.items() if v is not None}
    pct[(10, 97.5)] = 5.0  # right tail below its criterion
    pct[(1, 2.5)] = 0.80  # left tail above its criterion
    rows = calibration_table(pct)
    text = format_calibration_table(rows)
    lines = text.splitlines()
    body = lines[2:-1]
    assert len(body) == len(rows) == 22
    for row, line in zip(rows, body, strict=False):
        assert isinstance(row, CalibrationRow)
        assert line.endswith(" met") if row.met else line.endswith(" NOT MET")
        assert f"{row.horizon} y" in line and f"{row.criterion:.2f}" in line
    assert sum(line.endswith("NOT MET") for line in body) == 2
    assert lines[-1] == "20 of 22 cells met"
