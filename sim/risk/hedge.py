"""Hedge positions that neutralise the block's delta (index futures) and key-rate rho
(interest rate swaps), and what they leave: gamma, vega and the rho outside the buckets.

Conventions (docs/risk.md): the liability is the net cost (PV claims - PV fees), so the
insurer's value moves by ``-greek``; a hedge neutralises a greek when its own value moves
by ``+greek`` for the same shock.

- Index futures on index ``i``: a notional ``N`` gains ``N x 1 %`` when the index rises
  1 %, so ``N_i = 100 x delta_i`` (negative = sell futures).
- A payer swap of the key tenor ``T_k``: a notional ``N`` gains about ``N x A_k x 1 bp``
  when the rate rises 1 bp, with ``A_k`` the annuity factor (sum of the zero-curve
  discount factors of its annual fixed payments), so ``N_k = rho_k / (A_k x 1 bp)``
  (negative = receive fixed). The swap's DV01 is ``rho_k`` by construction; the notional
  treats the bucket's tent shift as a par-rate shift of that swap (first order).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..boundary import market_inputs
from ..config import Config
from ..market import market_curve

__all__ = ["hedge_positions", "residual_risks", "swap_annuity"]


def swap_annuity(config: Config, tenor: float) -> float:
    """Annuity factor of an annual-pay swap of ``tenor`` years on the initial curve."""
    curve = market_curve(market_inputs(config))
    times = np.arange(1.0, math.floor(tenor + 1e-9) + 1.0)
    if times.size == 0 or times[-1] < tenor - 1e-9:
        times = np.append(times, tenor)
    accrual = np.diff(np.concatenate([[0.0], times]))
    return float((accrual * curve.discount(times)).sum())


def _side(notional: float, positive: str, negative: str) -> str:
    return positive if notional > 0 else negative if notional < 0 else "none (no exposure)"


def _net(greeks: pd.DataFrame, greek: str) -> pd.DataFrame:
    return greeks[(greeks.greek == greek) & (greeks.measure == "net_cost")]


def hedge_positions(config: Config, greeks: pd.DataFrame) -> pd.DataFrame:
    """Positions that neutralise delta per index and rho per key-rate bucket.

    Parameters
    ----------
    greeks : DataFrame
        From :func:`sim.risk.greeks`.

    Returns
    -------
    DataFrame
        One row per position: ``instrument`` (``index_future``, ``payer_swap``),
        ``factor`` (index, key tenor), ``neutralises`` (``delta``, ``key_rate_rho``),
        ``exposure`` and ``exposure_se`` (the net cost's greek), ``notional`` and
        ``notional_se`` (currency; negative = short futures / receive fixed), ``side``,
        ``dv01`` (the position's value change for +1 bp, swaps only).
    """
    rows = []
    for _, g in _net(greeks, "delta").iterrows():
        notional = 100.0 * g.value
        rows.append(
            {
                "instrument": "index_future",
                "factor": g.factor,
                "neutralises": "delta",
                "exposure": g.value,
                "exposure_se": g.se,
                "notional": notional,
                "notional_se": 100.0 * g.se,
                "side": _side(notional, "long", "short"),
                "dv01": np.nan,
            }
        )
    for _, g in _net(greeks, "key_rate_rho").iterrows():
        annuity = swap_annuity(config, float(g.factor.rstrip("y")))
        notional = g.value / (annuity * 1e-4)
        rows.append(
            {
                "instrument": "payer_swap",
                "factor": g.factor,
                "neutralises": "key_rate_rho",
                "exposure": g.value,
                "exposure_se": g.se,
                "notional": notional,
                "notional_se": g.se / (annuity * 1e-4),
                "side": _side(notional, "pay fixed", "receive fixed"),
                "dv01": g.value,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "instrument",
            "factor",
            "neutralises",
            "exposure",
            "exposure_se",
            "notional",
            "notional_se",
            "side",
            "dv01",
        ],
    )


def residual_risks(greeks: pd.DataFrame) -> pd.DataFrame:
    """What the futures and swaps leave: futures and swaps have no gamma or vega, so the
    book keeps the liability's gamma and vega per index; the key-rate swaps leave the part
    of the parallel rho the buckets do not span (``rho - sum of key-rate rhos``)."""
    rows = []
    for greek in ("gamma", "vega"):
        for _, g in _net(greeks, greek).iterrows():
            rows.append(
                {"greek": greek, "factor": g.factor, "residual": g.value, "residual_se": g.se}
            )
    rho = _net(greeks, "rho")
    if len(rho):
        total = _net(greeks, "key_rate_rho")["value"].sum()
        rows.append(
            {
                "greek": "rho",
                "factor": "parallel - key rates",
                "residual": float(rho.value.iloc[0] - total),
                "residual_se": np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["greek", "factor", "residual", "residual_se"])
