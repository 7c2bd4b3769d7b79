"""Expected cash flows by projection year: the table and plot code on a hand-built frame,
and (once the engine reports Result.cashflows) the reconciliation with the block PVs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sim.risk.cashflows import (
    CASHFLOW_COLUMNS,
    MONEY_COLUMNS,
    PV_OF_BLOCK,
    check_cashflows,
    plot_cashflows,
    reconcile_with_block,
)
from sim.valuation import price

from .blocks import make_config, random_inforce
from .test_cli import run
from .test_risk_report import ENGINE_HAS_CASHFLOWS, hand_built_cashflows

needs_engine_cashflows = pytest.mark.skipif(
    not ENGINE_HAS_CASHFLOWS, reason="the engine does not report Result.cashflows yet"
)


def test_a_cash_flow_frame_of_the_engine_layout_is_accepted_in_column_order():
    frame = hand_built_cashflows()
    shuffled = frame[list(reversed(frame.columns))]
    assert list(check_cashflows(shuffled).columns) == list(CASHFLOW_COLUMNS)


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda f: f.drop(columns=["rider_fee_pv"]), "missing column(s) rider_fee_pv"),
        (lambda f: f.assign(year=[0, 1, 2]), "'year' must run 1, 2, ..., n"),
    ],
)
def test_a_cash_flow_frame_without_a_column_or_with_wrong_years_is_refused(broken, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        check_cashflows(broken(hand_built_cashflows()))


def test_the_reconciliation_compares_each_discounted_column_with_its_block_pv():
    frame = hand_built_cashflows()
    block = {key: float(frame[column].sum()) for column, key in PV_OF_BLOCK.items()}
    block["pv_fees"] *= 1.01
    recon = reconcile_with_block(frame, block).set_index("column")
    assert recon.loc["true_up_pv", "relative_difference"] < 1e-15
    assert recon.loc["rider_fee_pv", "relative_difference"] == pytest.approx(0.01 / 1.01)


def test_the_cash_flow_plot_draws_three_bars_a_year_and_every_other_flow_as_a_line():
    frame = hand_built_cashflows(years=4)
    fig, ax = plt.subplots()
    plot_cashflows(frame, ax)
    assert len(ax.patches) == 3 * 4
    assert len(ax.lines) == len(MONEY_COLUMNS) - 3 + 1  # six lines and the zero line
    plt.close(fig)


@needs_engine_cashflows
@pytest.mark.parametrize("decrements", ["expected", "simulated"])
def test_discounted_yearly_cash_flows_add_up_to_the_block_pvs_of_price(decrements):
    """Must show 3: the yearly discounted flows sum to the block PVs to 1e-9 relative."""
    config = make_config({"run.scenarios": 20, "run.decrements": decrements})
    result = price(config, random_inforce(config, 6, 21))
    frame = check_cashflows(result.cashflows)
    assert len(frame) >= 1
    recon = reconcile_with_block(frame, result.block)
    assert (recon["relative_difference"] < 1e-9).all(), recon
    for column, measure in (
        ("surrender_payments_pv", "pv_surrender_payments"),
        ("withdrawals_pv", "pv_withdrawals"),
        ("withdrawal_charges_pv", "pv_withdrawal_charges"),
        ("spousal_charge_pv", "pv_spousal_charge"),
    ):
        assert frame[column].sum() == pytest.approx(
            result.scenarios[measure].mean(), rel=1e-9, abs=1e-9
        )


@needs_engine_cashflows
def test_abrsim_price_output_writes_the_yearly_cash_flows(small_config, tmp_path):
    out = tmp_path / "priced"
    result = run("price", small_config, "--set", "run.scenarios=20", "--output", out)
    assert result.exit_code == 0, result.stderr
    frame = check_cashflows(pd.read_parquet(out / "cashflows.parquet"))
    assert np.array_equal(frame["year"], np.arange(1, len(frame) + 1))
