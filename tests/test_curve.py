"""Yield curves: par swap bootstrap and instantaneous forwards."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from sim.market.curve import ZeroCurve, bootstrap_par_swaps

TENORS = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0])
PAR = np.array([0.020, 0.024, 0.027, 0.031, 0.034, 0.037, 0.040, 0.041])


def _par_rate(curve: ZeroCurve, tenor: float, frequency: int) -> float:
    """Par rate of a swap on ``curve``: (1 - P(t_n)) / (sum_i delta P(t_i)), delta = 1/frequency."""
    dates = np.arange(1, round(tenor * frequency) + 1) / frequency
    p = curve.discount(dates)
    return (1.0 - p[-1]) / (p.sum() / frequency)


def test_a_flat_annual_par_curve_gives_flat_zero_rates_of_log_one_plus_the_par_rate():
    curve = bootstrap_par_swaps([1.0, 2.0, 5.0, 10.0, 30.0], [0.03] * 5)
    np.testing.assert_allclose(curve.zero_rates, np.log(1.03), rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        curve.discount(np.arange(1, 31)), 1.03 ** -np.arange(1, 31.0), rtol=1e-12
    )


def test_the_bootstrapped_curve_reprices_every_input_par_swap_to_1e_10():
    curve = bootstrap_par_swaps(TENORS, PAR)
    repriced = [_par_rate(curve, t, 1) for t in TENORS]
    np.testing.assert_allclose(repriced, PAR, rtol=0, atol=1e-10)
    # the gaps (4, 6, 8, 9, 11..19, 21..29 years) are filled linearly in zero rate, so the
    # curve is exactly a ZeroCurve on the input tenors: nothing else is stored
    np.testing.assert_array_equal(curve.tenors, TENORS)
    assert np.all(np.diff(curve.zero_rates) > 0)  # an upward par curve gives upward zeros


def test_semi_annual_par_swaps_bootstrap_and_reprice():
    flat = bootstrap_par_swaps([0.5, 1.0, 3.0, 10.0], [0.03] * 4, fixed_frequency=2)
    np.testing.assert_allclose(flat.zero_rates, 2.0 * np.log(1.015), rtol=0, atol=1e-13)
    tenors = np.array([0.5, 1.0, 1.5, 2.0, 5.0, 10.0, 30.0])
    par = np.array([0.010, 0.013, 0.016, 0.019, 0.026, 0.032, 0.030])  # inverted at the long end
    curve = bootstrap_par_swaps(tenors, par, fixed_frequency=2)
    np.testing.assert_allclose([_par_rate(curve, t, 2) for t in tenors], par, rtol=0, atol=1e-10)


def test_negative_par_rates_bootstrap_and_reprice():
    par = np.array([-0.005, -0.003, 0.001, 0.006])
    tenors = np.array([1.0, 2.0, 5.0, 10.0])
    curve = bootstrap_par_swaps(tenors, par)
    np.testing.assert_allclose([_par_rate(curve, t, 1) for t in tenors], par, rtol=0, atol=1e-10)
    assert curve.zero_rates[0] == pytest.approx(np.log(1 - 0.005), abs=1e-13)


@pytest.mark.parametrize(
    "tenors, par, frequency, message",
    [
        ([1.0, 2.0], [0.03], 1, "equal length"),
        ([], [], 1, "non-empty"),
        ([2.0, 1.0], [0.03, 0.03], 1, "strictly increasing"),
        ([0.0, 1.0], [0.03, 0.03], 1, "positive"),
        ([1.0, 1.5], [0.03, 0.03], 1, "whole numbers of fixed periods"),
        ([0.25, 1.0], [0.03, 0.03], 2, "whole numbers of fixed periods"),
        ([1.0, 2.0], [0.03, float("nan")], 1, "finite"),
        ([1.0, 2.0], [0.03, 0.03], 0, "fixed_frequency"),
        ([1.0, 2.0], [0.03, 0.03], 1.5, "fixed_frequency"),
        ([1.0, 2.0], [0.03, 60.0], 1, "cannot bootstrap the 2-year par rate"),
    ],
)
def test_bad_inputs_raise_value_error_with_a_clear_message(tenors, par, frequency, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_par_swaps(tenors, par, fixed_frequency=frequency)


def test_instantaneous_forward_is_the_derivative_of_z_t_times_t():
    curve = ZeroCurve(np.array([1.0, 5.0, 10.0]), np.array([0.02, 0.03, 0.025]))
    t = np.array([0.3, 1.5, 4.0, 6.0, 9.9, 12.0, 40.0])  # away from the tenors
    h = 1e-6
    numeric = ((curve.zero_rate(t + h) * (t + h)) - (curve.zero_rate(t - h) * (t - h))) / (2 * h)
    np.testing.assert_allclose(curve.instantaneous_forward(t), numeric, rtol=0, atol=1e-8)
    # flat extrapolation: the forward equals the end zero rates outside the tenors
    assert curve.instantaneous_forward(0.0) == pytest.approx(0.02)
    assert curve.instantaneous_forward(10.0) == pytest.approx(0.025)
    # right-continuous at an interior tenor: the slope of the segment starting there
    assert curve.instantaneous_forward(5.0) == pytest.approx(0.03 + 5.0 * (0.025 - 0.03) / 5.0)
    # integrating the forward gives back -ln P (piecewise, exact for linear pieces)
    integral = sum(
        quad(curve.instantaneous_forward, lo, hi)[0]
        for lo, hi in [(0, 1), (1, 5), (5, 10), (10, 12)]
    )
    assert integral == pytest.approx(-np.log(curve.discount(12.0)), abs=1e-12)
    assert ZeroCurve.flat(0.04).instantaneous_forward(np.array([0.0, 3.0])).tolist() == [0.04, 0.04]
