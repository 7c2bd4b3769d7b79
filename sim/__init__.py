"""sim: Monte Carlo pricing of a variable annuity's Accumulation Benefit Rider.

The public API::

    from sim import load_config, price
    result = price(load_config("configs/example.toml"))
    result.block["pv_claims"], result.block["pv_claims_se"], result.block["breakeven_fee"]

    from sim import sweep
    table = sweep(load_config("configs/example.toml"), {"rider_period": [10, 15]})
"""

from .config import Config, ConfigError, load_config
from .inforce import load_inforce, synthetic_inforce
from .sweep import sweep  # the function; import the module's other names with `from sim.sweep import`
from .valuation import Result, price

__all__ = ["Config", "ConfigError", "Result", "load_config", "load_inforce", "price", "sweep",
           "synthetic_inforce"]
__version__ = "0.1.0"
