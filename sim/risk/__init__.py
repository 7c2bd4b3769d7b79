"""Risk and hedging of the block's rider liability (docs/risk.md).

The public API::

    from sim import load_config
    from sim.risk import greeks, hedge_report
    config = load_config("configs/example.toml")
    table = greeks(config)                      # delta, gamma, vega, rho with standard errors
    report = hedge_report(config, "out/hedge")  # every file of `abrsim hedge`
"""

from .cashflows import check_cashflows, plot_cashflows, reconcile_with_block
from .greeks import greeks
from .hedge import hedge_positions, residual_risks
from .report import HedgeReport, build_hedge_report, hedge_report, write_hedge_report
from .tail import cte_estimate, tail_table, var_estimate

__all__ = [
    "HedgeReport",
    "build_hedge_report",
    "check_cashflows",
    "cte_estimate",
    "greeks",
    "hedge_positions",
    "hedge_report",
    "plot_cashflows",
    "reconcile_with_block",
    "residual_risks",
    "tail_table",
    "var_estimate",
    "write_hedge_report",
]
