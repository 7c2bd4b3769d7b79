"""Invariants of every path, and results that do not depend on threads or chunk size."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.driver import run_block

from .blocks import TRACE as F
from .blocks import make_config, model_for, random_inforce


def _traced_block(changes=None, n=8, n_scen=16, seed=3):
    config = make_config(changes)
    inforce = random_inforce(config, n=n, seed=seed)
    model, _, _ = model_for(config, inforce, n_scen)
    return model, run_block(model, trace=True)


def _active(model, trace):
    """Mask of (contract, scenario, step) entries inside each contract's rider period."""
    t = np.arange(trace.shape[2])
    return (t[None, :] < model.contracts.maturity_step[:, None])[:, None, :].repeat(
        trace.shape[1], axis=1
    )


def test_benefit_base_contract_value_and_weights_stay_non_negative_and_finite():
    # heavy withdrawals, high volatility: the hardest case for the floors
    model, run = _traced_block(
        {"withdrawals.rate": 0.5, "withdrawals.utilisation": 1.0, "product.maintenance_fee": 500.0}
    )
    tr = run.trace
    active = _active(model, tr)
    assert np.isfinite(tr).all()
    assert np.isfinite(run.scenario_totals).all() and np.isfinite(run.contract_mean).all()
    for field in ("benefit_base", "variable", "money_market", "fixed", "cv_end", "weight"):
        assert (tr[..., F[field]][active] >= 0).all(), field
    w = tr[..., F["weight"]][active]
    assert (w <= 1.0).all()
    # weights never increase along a path
    weights = tr[..., F["weight"]]
    for c in range(weights.shape[0]):
        n = model.contracts.maturity_step[c]
        assert (np.diff(weights[c, :, :n], axis=-1) <= 1e-15).all()


def test_contract_value_rolls_forward_step_by_step():
    """CV_end = CV_start + growth - charges - maintenance - rider fee - withdrawal + payment + true-up."""
    model, run = _traced_block()
    tr = run.trace
    active = _active(model, tr)
    rolled = (
        tr[..., F["cv_start"]]
        + tr[..., F["growth"]]
        - tr[..., F["charges"]]
        - tr[..., F["maintenance_fee"]]
        - tr[..., F["rider_fee"]]
        - tr[..., F["withdrawal"]]
        + tr[..., F["payment"]]
        + tr[..., F["true_up"]]
    )
    cv_end = tr[..., F["cv_end"]]
    np.testing.assert_allclose(rolled[active], cv_end[active], rtol=1e-12, atol=1e-7)
    parts = tr[..., F["variable"]] + tr[..., F["money_market"]] + tr[..., F["fixed"]]
    np.testing.assert_allclose(parts[active], cv_end[active], rtol=1e-13)
    # each step starts where the last one ended
    np.testing.assert_allclose(
        tr[:, :, 1:, F["cv_start"]][active[:, :, 1:]],
        cv_end[:, :, :-1][active[:, :, 1:]],
        rtol=1e-15,
    )
    # something happened: fees, withdrawals and payments all occur in this block
    for field in ("rider_fee", "withdrawal", "payment", "maintenance_fee"):
        assert tr[..., F[field]].sum() > 0, field


def test_maturity_true_up_brings_contract_value_up_to_the_accumulation_benefit():
    model, run = _traced_block(
        {
            "market.indices": [
                {"name": "eq", "volatility": 0.4},
                {"name": "intl", "volatility": 0.4},
                {"name": "bond", "volatility": 0.1},
            ]
        }
    )
    tr = run.trace
    c_idx = np.arange(len(model.contracts))
    last = model.contracts.maturity_step - 1
    end = tr[c_idx, :, last, :]  # (n_c, n_scen, fields)
    ab = model.contracts.ab_factor[:, None] * end[..., F["benefit_base"]]
    claimed = end[..., F["true_up"]] > 0
    assert claimed.any() and (~claimed).any()
    np.testing.assert_allclose(end[..., F["cv_end"]][claimed], ab[claimed], rtol=1e-12)
    assert (end[..., F["cv_end"]][~claimed] >= ab[~claimed] - 1e-9).all()


def test_results_are_identical_for_one_and_two_threads_and_for_two_chunk_sizes():
    config = make_config()
    inforce = random_inforce(config, n=23, seed=8)
    model, _, _ = model_for(config, inforce, 40)
    runs = [
        run_block(model, threads=1, chunk_size=0),
        run_block(model, threads=2, chunk_size=0),
        run_block(model, threads=2, chunk_size=5),
        run_block(model, threads=1, chunk_size=7),
    ]
    for other in runs[1:]:
        assert np.array_equal(runs[0].scenario_totals, other.scenario_totals)
        assert np.array_equal(runs[0].contract_mean, other.contract_mean)
        assert np.array_equal(runs[0].contract_se, other.contract_se)


@pytest.mark.parametrize("decrements", ["expected", "simulated"])
def test_results_and_cash_flows_are_identical_for_any_tile_size_thread_count_and_chunk(decrements):
    """Lanes of a tile never interact: a path's values, the block totals and the yearly
    cash flows are the same bit for bit whatever the tile (1, 3, 16 lanes or the default),
    the thread count or the chunk (40 scenarios: tiles that do not divide them)."""
    config = make_config({"run.decrements": decrements})
    inforce = random_inforce(config, n=11, seed=5)
    model, _, _ = model_for(config, inforce, 40)
    runs = [
        run_block(model, threads=1, cashflows=True),
        run_block(model, threads=1, cashflows=True, tile_size=1),
        run_block(model, threads=2, cashflows=True, tile_size=3, chunk_size=4),
        run_block(model, threads=2, cashflows=True, tile_size=16),
    ]
    for other in runs[1:]:
        assert np.array_equal(runs[0].scenario_totals, other.scenario_totals)
        assert np.array_equal(runs[0].contract_mean, other.contract_mean)
        assert np.array_equal(runs[0].cashflows, other.cashflows)
