"""Common random numbers across horizons and blocks: the shock of (scenario, step, factor)
does not depend on how many steps or scenarios are drawn, so a contract prices the same
alone and next to a longer contract, and sweep cells of different rider periods share
their paths. Randomised QMC is the documented exception."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.market.curve import ZeroCurve
from sim.market.gbm import generate_gbm
from sim.market.hull_white import generate_hull_white
from sim.market.rsln import RSLN2_2005_ER_10_0, generate_rsln2
from sim.market.scenarios import STREAMS, scenario_stream, standard_normals, standard_uniforms
from sim.market.slv import SLV_TABLE2, generate_slv
from sim.sweep import sweep

from .blocks import contracts_frame, make_config

T = 30  # steps of the short horizon; the long one is 2 T


@pytest.mark.parametrize("method", ["pseudo", "antithetic"])
def test_the_first_t_steps_of_the_shocks_are_the_same_for_horizons_t_and_2t(method):
    short = standard_normals(10, T, 3, 5, "equity", method)
    long = standard_normals(10, 2 * T, 3, 5, "equity", method)
    np.testing.assert_array_equal(short, long[:, :T])
    assert not np.array_equal(long[:, :T], long[:, T:])  # the new steps are new draws


@pytest.mark.parametrize("method", ["pseudo", "antithetic"])
def test_more_scenarios_and_a_longer_horizon_together_leave_the_first_shocks_unchanged(method):
    small = standard_normals(6, T, 2, 5, "rates", method)
    large = standard_normals(14, 2 * T, 2, 5, "rates", method)
    np.testing.assert_array_equal(small, large[:6, :T])


def test_scenario_s_draws_from_the_s_th_child_of_its_risks_seed_sequence():
    # the documented stream: SeedSequence(seed).spawn(5)[risk].spawn(s + 1)[s], step by step
    child = np.random.SeedSequence(9).spawn(len(STREAMS))[STREAMS.index("rates")].spawn(4)[3]
    expected = np.random.Generator(np.random.PCG64(child)).standard_normal((T, 2))
    np.testing.assert_array_equal(standard_normals(4, T, 2, 9, "rates")[3], expected)
    assert np.array_equal(
        scenario_stream(9, "rates", 3).standard_normal((T, 2)), expected
    )  # and scenario_stream is that generator


def test_antithetic_pair_k_is_plain_scenario_k_and_its_mirror_image():
    plain = standard_normals(3, T, 2, 4, "equity", "pseudo")
    pairs = standard_normals(6, T, 2, 4, "equity", "antithetic")
    np.testing.assert_array_equal(pairs[0::2], plain)
    np.testing.assert_array_equal(pairs[1::2], -plain)


def test_uniforms_for_horizons_t_and_2t_share_their_first_t_steps():
    short, long = standard_uniforms(8, T, 3, "regime"), standard_uniforms(12, 2 * T, 3, "regime")
    np.testing.assert_array_equal(short, long[:8, :T])
    assert short.min() >= 0.0 and short.max() < 1.0


def _gbm(n_steps, method):
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    return generate_gbm(
        ZeroCurve(np.array([1.0, 10.0]), np.array([0.02, 0.04])),
        np.array([0.2, 0.25]),
        np.array([0.01, 0.0]),
        corr,
        8,
        n_steps,
        12,
        3,
        index_names=("a", "b"),
        method=method,
    )


def _hull_white(n_steps, method):
    corr = np.array([[1.0, 0.5, -0.2], [0.5, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    return generate_hull_white(
        ZeroCurve(np.array([1.0, 10.0]), np.array([0.02, 0.04])),
        0.1,
        0.01,
        np.array([0.2, 0.25]),
        np.array([0.01, 0.0]),
        corr,
        8,
        n_steps,
        12,
        3,
        method=method,
        index_names=("a", "b"),
    )


def _rsln(n_steps, method):
    assert method == "pseudo"  # the real-world generators draw plain pseudo-random numbers
    return generate_rsln2(RSLN2_2005_ER_10_0, 8, n_steps, 12, 3, ("eq",), rate=0.03)


def _slv(n_steps, method):
    assert method == "pseudo"
    return generate_slv(SLV_TABLE2, 8, n_steps, 12, 3, ("eq",), rate=0.03)


@pytest.mark.parametrize(
    ("generator", "method"),
    [
        (_gbm, "pseudo"),
        (_gbm, "antithetic"),
        (_hull_white, "pseudo"),
        (_hull_white, "antithetic"),
        (_rsln, "pseudo"),
        (_slv, "pseudo"),
    ],
    ids=["gbm", "gbm-antithetic", "hull_white", "hull_white-antithetic", "rsln", "slv"],
)
def test_every_generator_gives_the_same_first_t_steps_for_horizons_t_and_2t(generator, method):
    short, long = generator(T, method), generator(2 * T, method)
    for name in ("index_growth", "money_market_growth", "short_rate"):
        np.testing.assert_array_equal(getattr(short, name), getattr(long, name)[:, :T], name)
    np.testing.assert_array_equal(short.discount, long.discount[:, : T + 1])


def test_under_rqmc_two_horizons_are_not_on_common_random_numbers():
    # documented limitation (docs/variance-reduction.md): the Brownian bridge starts from
    # the horizon and the scramble depends on the dimension, so no prefix is shared
    short = standard_normals(32, T, 1, 5, "equity", "sobol", scrambles=2)
    long = standard_normals(32, 2 * T, 1, 5, "equity", "sobol", scrambles=2)
    assert not np.any(short == long[:, :T])


# ----------------------------------------------------------------------- blocks and cells


def _block_config(**extra):
    changes = {"run.scenarios": 64, "run.seed": 21}
    changes.update(extra)
    return make_config(changes)


TEN_YEARS = {"rider_period": 10, "allocation": "growth"}
TWENTY_YEARS = {"rider_period": 20, "allocation": "balanced", "contract_id": 8}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"run.antithetic": True},
        {"run.decrements": "simulated"},
        {"market.model": "hull_white"},
    ],
    ids=["pseudo", "antithetic", "simulated-decrements", "hull_white"],
)
def test_a_contract_priced_alone_equals_itself_priced_next_to_a_longer_contract(extra):
    config = _block_config(**extra)
    alone = sim.price(config, contracts_frame(config, TEN_YEARS))
    pair = sim.price(config, contracts_frame(config, TEN_YEARS, TWENTY_YEARS))
    assert len(pair.contracts) == 2
    # every per-contract PV and standard error, bit for bit
    pd.testing.assert_frame_equal(alone.contracts, pair.contracts.iloc[[0]], check_exact=True)


def test_sweep_cells_of_different_rider_periods_price_on_the_same_paths():
    # A one-contract block whose rider period is the axis: each cell equals its contract
    # priced in one block with the other (where both run on the same 14-year scenarios),
    # so the 7-year cell's paths are the first 84 steps of the 14-year cell's. The block
    # mean and the per-contract mean are different reductions of the same per-scenario
    # values, hence rel=1e-12 rather than bit for bit.
    config = _block_config(**{"run.antithetic": True})
    growth = {"allocation": "growth"}
    frame = sweep(
        config, {"rider_period": [7, 14]}, inforce=contracts_frame(config, growth), plots=False
    )
    both = sim.price(
        config,
        contracts_frame(config, {**growth, "rider_period": 7}, {**growth, "rider_period": 14}),
    ).contracts
    for name in ("pv_claims", "pv_fees"):
        np.testing.assert_allclose(frame[name], both[name], rtol=1e-12, err_msg=name)
    assert (frame["pv_claims_se"] > 0.0).all()  # not a degenerate block
