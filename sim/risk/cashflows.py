"""Expected cash flows by projection year (``Result.cashflows`` of the engine): checks,
the block-PV reconciliation, the table and the plot.

The frame has one row per projection year (``year`` = 1..n) and, as expected block totals
(mean over scenarios, undiscounted): ``true_up``, ``rider_fee``, ``db_excess``,
``death_proceeds``, ``surrender_payments``, ``withdrawals``, ``withdrawal_charges``,
``me_charges``, ``spousal_charge``, ``inforce_year_end``; each money column also has a
discounted twin ``<name>_pv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "CASHFLOW_COLUMNS",
    "MONEY_COLUMNS",
    "PV_OF_BLOCK",
    "cashflows_of",
    "check_cashflows",
    "plot_cashflows",
    "reconcile_with_block",
]

MONEY_COLUMNS = (
    "true_up",
    "rider_fee",
    "db_excess",
    "death_proceeds",
    "surrender_payments",
    "withdrawals",
    "withdrawal_charges",
    "me_charges",
    "spousal_charge",
)
CASHFLOW_COLUMNS = ("year", *MONEY_COLUMNS, "inforce_year_end", *(c + "_pv" for c in MONEY_COLUMNS))
#: Discounted cash-flow column -> the block PV it sums to (Result.block keys).
PV_OF_BLOCK = {"true_up_pv": "pv_claims", "rider_fee_pv": "pv_fees", "db_excess_pv": "pv_db_excess"}

LABELS = {
    "true_up": "maturity true-ups",
    "rider_fee": "Rider Fees",
    "db_excess": "death benefit excess",
    "death_proceeds": "death proceeds",
    "surrender_payments": "surrenders",
    "withdrawals": "withdrawals",
    "withdrawal_charges": "withdrawal charges",
    "me_charges": "M&E charges",
    "spousal_charge": "Spousal Protection charges",
}


def cashflows_of(result) -> pd.DataFrame | None:
    """``result.cashflows`` when the engine provides it, else None."""
    frame = getattr(result, "cashflows", None)
    return None if frame is None else check_cashflows(frame)


def check_cashflows(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the columns in :data:`CASHFLOW_COLUMNS` order.

    Raises
    ------
    ValueError
        A missing column, or years that are not 1..n.
    """
    missing = [c for c in CASHFLOW_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"cash flows by year: missing column(s) {', '.join(missing)}")
    years = frame["year"].to_numpy()
    if not np.array_equal(years, np.arange(1, len(frame) + 1)):
        raise ValueError("cash flows by year: column 'year' must run 1, 2, ..., n")
    return frame.loc[:, list(CASHFLOW_COLUMNS)].reset_index(drop=True)


def reconcile_with_block(frame: pd.DataFrame, block: dict) -> pd.DataFrame:
    """Sum of each discounted column against the block PV it must equal.

    Returns
    -------
    DataFrame
        ``column``, ``block_key``, ``sum_of_years``, ``block_pv``, ``relative_difference``.
    """
    rows = []
    for column, key in PV_OF_BLOCK.items():
        total, pv = float(frame[column].sum()), float(block[key])
        rel = abs(total - pv) / max(abs(pv), 1e-300) if pv else abs(total)
        rows.append(
            {
                "column": column,
                "block_key": key,
                "sum_of_years": total,
                "block_pv": pv,
                "relative_difference": rel,
            }
        )
    return pd.DataFrame(rows)


def plot_cashflows(frame: pd.DataFrame, ax) -> None:
    """Expected cash flows by projection year on ``ax`` (a matplotlib Axes): the insurer's
    rider flows as bars (true-ups and death benefit excess out, Rider Fees in), the other
    flows as lines, the in-force weight at year end on a second axis."""
    years = frame["year"].to_numpy()
    width = 0.28
    ax.bar(
        years - width, -frame["true_up"], width, label=LABELS["true_up"] + " (out)", color="#c0392b"
    )
    ax.bar(years, -frame["db_excess"], width, label=LABELS["db_excess"] + " (out)", color="#e67e22")
    ax.bar(
        years + width,
        frame["rider_fee"],
        width,
        label=LABELS["rider_fee"] + " (in)",
        color="#27ae60",
    )
    for name, style in (
        ("death_proceeds", ":"),
        ("surrender_payments", "--"),
        ("withdrawals", "-."),
        ("withdrawal_charges", "-"),
        ("me_charges", "-"),
        ("spousal_charge", "--"),
    ):
        ax.plot(years, frame[name], style, linewidth=1, label=LABELS[name])
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("projection year")
    ax.set_ylabel("expected amount (undiscounted)")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    twin = ax.twinx()
    twin.plot(
        years,
        frame["inforce_year_end"],
        color="black",
        marker="o",
        markersize=3,
        label="in force at year end",
    )
    twin.set_ylabel("in-force weight at year end")
    twin.set_ylim(bottom=0.0)
    twin.legend(fontsize=7, loc="upper right")
