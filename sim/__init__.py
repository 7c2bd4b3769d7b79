"""sim: Monte Carlo pricing of a variable annuity's Accumulation Benefit Rider.

The public API::

    from sim import load_config, price
    result = price(load_config("configs/example.toml"))
    result.block["pv_claims"], result.block["pv_claims_se"], result.block["breakeven_fee"]
"""

from .config import Config, ConfigError, load_config
from .inforce import load_inforce, synthetic_inforce
from .valuation import Result, price
from .risk import greeks, hedge_report

__all__ = ["Config", "ConfigError", "Result", "greeks", "hedge_report", "load_config", "load_inforce", "price",
           "synthetic_inforce"]
__version__ = "0.1.0"
