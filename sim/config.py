"""Configuration: pydantic models for every section of the TOML config.

Unknown keys are rejected. :func:`load_config` reads a TOML file, applies
``--set key.path=value`` overrides and returns a validated :class:`Config`; every
problem is reported as one line naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError  # re-exported: `from sim.config import ConfigError`
from .market.inputs import MONEY_MARKET_INDEX  # re-exported

__all__ = [
    "Config",
    "ConfigError",
    "load_config",
    "config_from_dict",
    "apply_overrides",
    "decode_utf8",
    "read_file_bytes",
    "set_key",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
#: Plausible upper bounds of the run's sizes (docs/configuration.md).
MAX_SCENARIOS = 10_000_000
MAX_CONTRACTS = 10_000_000


class _Section(BaseModel):
    # allow_inf_nan=False: nan, inf and -inf are refused for every float of every section
    # (and inside lists and tables), before any range check.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RunConfig(_Section):
    seed: int = Field(20261123, ge=0, le=2**63 - 1)
    scenarios: int = Field(1000, ge=2, le=MAX_SCENARIOS)
    steps_per_year: int = Field(12, ge=1, le=365)
    decrements: Literal["expected", "simulated"] = "expected"
    antithetic: bool = False
    # Randomised quasi-Monte Carlo: qmc_scrambles independently scrambled Sobol sequences
    # (scipy: linear matrix scramble + digital shift) with a Brownian bridge; standard
    # errors from the scramble means.
    qmc: bool = False
    qmc_scrambles: int = Field(16, ge=2, le=1024)
    # Control variate: the textbook GMAB (Black-Scholes puts) on the same paths
    # (sim.control_variate); market.model = "gbm" only.
    control_variate: bool = False
    # Add scenarios (doubling) until the standard error of PV claims is at most target_se
    # (currency) or target_relative_se (share of PV claims), up to max_scenarios.
    target_se: float | None = Field(None, gt=0.0, le=1e12)
    target_relative_se: float | None = Field(None, gt=0.0, lt=1.0)
    max_scenarios: int = Field(100_000, ge=2, le=MAX_SCENARIOS)
    # Pricing on real-world scenarios (rsln, slv, a real-world file) is refused unless true.
    allow_real_world: bool = False
    threads: int = Field(0, ge=0, le=1024)
    chunk_size: int = Field(0, ge=0, le=10_000_000)  # 0 = sized automatically from memory
    # Refuse a run whose largest arrays need more than this many GiB (None: the memory the
    # machine has available when the run starts; sim.validation.memory_need).
    max_memory_gb: float | None = Field(None, gt=0.0, le=1e6)
    valuation_year: int = Field(2026, ge=1900, le=2200)
    breakeven: bool = True
    progress: bool | None = None  # None = shown on long runs when stderr is a terminal

    @model_validator(mode="after")
    def _antithetic_needs_pairs(self):
        if self.antithetic and self.scenarios % 2:
            raise ValueError("run.scenarios must be even when run.antithetic = true")
        if self.qmc and self.antithetic:
            raise ValueError("run.qmc and run.antithetic exclude each other: choose one")
        if self.qmc and self.scenarios % self.qmc_scrambles:
            raise ValueError(
                f"run.scenarios ({self.scenarios}) must be a multiple of "
                f"run.qmc_scrambles ({self.qmc_scrambles}) when run.qmc = true"
            )
        if self.target_se is not None and self.target_relative_se is not None:
            raise ValueError("give at most one of run.target_se and run.target_relative_se")
        if self.targeted and self.max_scenarios < self.scenarios:
            raise ValueError(
                f"run.max_scenarios ({self.max_scenarios}) is below "
                f"run.scenarios ({self.scenarios})"
            )
        return self

    @property
    def targeted(self) -> bool:
        """True when the run adds scenarios until a standard error target is met."""
        return self.target_se is not None or self.target_relative_se is not None

    @property
    def shock_method(self) -> str:
        """The ``standard_normals`` method: ``pseudo``, ``antithetic`` or ``sobol``."""
        return "sobol" if self.qmc else "antithetic" if self.antithetic else "pseudo"


class CurveConfig(_Section):
    """Zero curve: continuously compounded zero rates at tenors (years), linear in rate."""

    tenors: list[Annotated[float, Field(gt=0.0, le=200.0)]]
    zero_rates: list[Annotated[float, Field(ge=-0.1, le=0.5)]]

    @model_validator(mode="after")
    def _shape(self):
        if len(self.tenors) != len(self.zero_rates) or not self.tenors:
            raise ValueError("tenors and zero_rates must be non-empty and of equal length")
        if any(b <= a for a, b in zip(self.tenors, self.tenors[1:], strict=False)):
            raise ValueError("tenors must increase")
        return self


class ParSwapConfig(_Section):
    """Par swap rates, bootstrapped into a zero curve (sim.market.curve.bootstrap_par_swaps):
    fixed leg paying ``rate / frequency`` every ``1 / frequency`` year, floating leg at par."""

    tenors: list[Annotated[float, Field(gt=0.0, le=200.0)]]
    rates: list[Annotated[float, Field(ge=-0.1, le=0.5)]]
    frequency: int = Field(1, ge=1, le=12)

    @model_validator(mode="after")
    def _bootstraps(self):
        if len(self.tenors) != len(self.rates) or not self.tenors:
            raise ValueError("tenors and rates must be non-empty and of equal length")
        from .market.curve import bootstrap_par_swaps

        bootstrap_par_swaps(self.tenors, self.rates, self.frequency)  # ValueError: one line
        return self


class HullWhiteConfig(_Section):
    """One-factor Hull-White short rate fitted to the curve (sim.market.hull_white)."""

    mean_reversion: float = Field(0.1, gt=0.0, le=5.0)
    volatility: float = Field(0.01, ge=0.0, le=0.5)  # absolute, per sqrt(year)
    # Correlation of each index's shocks with the short rate's, in market.indices order;
    # None = all zero.
    correlation: list[Annotated[float, Field(ge=-1.0, le=1.0)]] | None = None


RSLN_PARAMETER_SETS = ("2005_9_6", "2005_10_0", "2005_10_5")


class RSLNConfig(_Section):
    """Two-regime lognormal, monthly (sim.market.rsln): a named set of the Academy's 2005
    report, Table 6 (``2005_9_6``, ``2005_10_0``, ``2005_10_5``: expected return 9.6 %,
    10.0 %, 10.5 %), or all six monthly parameters."""

    parameters: Literal["2005_9_6", "2005_10_0", "2005_10_5"] | None = None
    mu1: float | None = Field(None, ge=-0.5, le=0.5)
    sigma1: float | None = Field(None, gt=0.0, le=1.0)
    p12: float | None = Field(None, ge=0.0, le=1.0)
    mu2: float | None = Field(None, ge=-0.5, le=0.5)
    sigma2: float | None = Field(None, gt=0.0, le=1.0)
    p21: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_source(self):
        explicit = [getattr(self, k) for k in ("mu1", "sigma1", "p12", "mu2", "sigma2", "p21")]
        given = sum(v is not None for v in explicit)
        if self.parameters is not None and given:
            raise ValueError(
                "give parameters (a named set) or mu1, sigma1, p12, mu2, sigma2, p21, not both"
            )
        if 0 < given < 6:
            raise ValueError("give all six of mu1, sigma1, p12, mu2, sigma2, p21")
        if given == 6 and self.p12 + self.p21 <= 0.0:
            raise ValueError("p12 + p21 must be positive")
        return self

    def params(self):
        """The :class:`sim.market.rsln.RSLN2Params` (default: the 10.0 % set)."""
        from .market import rsln

        if self.mu1 is not None:
            return rsln.RSLN2Params(
                self.mu1, self.sigma1, self.p12, self.mu2, self.sigma2, self.p21
            )
        return {
            "2005_9_6": rsln.RSLN2_2005_ER_9_6,
            "2005_10_0": rsln.RSLN2_2005_ER_10_0,
            "2005_10_5": rsln.RSLN2_2005_ER_10_5,
        }[self.parameters or "2005_10_0"]


class SLVConfig(_Section):
    """The Academy's stochastic log-volatility model, monthly (sim.market.slv): ``table2``
    (the report's Table 2, also called SLV-7) or ``slv6`` (Table 6)."""

    parameters: Literal["table2", "slv6", "slv7"] = "table2"

    def params(self):
        from .market import slv

        return {"table2": slv.SLV_TABLE2, "slv7": slv.SLV_7, "slv6": slv.SLV_6}[self.parameters]


class IndexConfig(_Section):
    name: str
    # required by the gbm and hull_white models; unused by rsln, slv and file
    volatility: float | None = Field(None, ge=0.0, le=2.0)
    dividend_yield: float = Field(0.0, ge=0.0, le=0.5)


class FundConfig(_Section):
    name: str
    indices: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]]
    fee: float = Field(0.0, ge=0.0, le=0.1)

    @field_validator("indices")
    @classmethod
    def _weights_sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or not math.isclose(sum(v.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"index weights must sum to 1 (they sum to {sum(v.values()):.6g})")
        return v


MARKET_MODELS = ("gbm", "hull_white", "rsln", "slv", "file")
REAL_WORLD_MODELS = ("rsln", "slv")


class MarketConfig(_Section):
    model: Literal["gbm", "hull_white", "rsln", "slv", "file"] = "gbm"
    # the initial curve: exactly one of rate (flat), curve (zero rates), par_swaps
    rate: float | None = Field(None, ge=-0.1, le=0.5)
    curve: CurveConfig | None = None
    par_swaps: ParSwapConfig | None = None
    # model parameters, each only with its model
    hull_white: HullWhiteConfig | None = None
    rsln: RSLNConfig | None = None
    slv: SLVConfig | None = None
    file: str | None = None  # model = "file": scenario file, relative to the config's folder
    # The fund whose unit value the Money Market sub-account follows (it receives the
    # maturity true-up). If no fund has this name it earns the short rate with no fee.
    money_market_fund: str = "money_market"
    indices: list[IndexConfig]
    correlation: list[list[float]] | None = None  # checked: |c| <= 1, symmetric, PSD
    funds: list[FundConfig]

    @model_validator(mode="after")
    def _consistent(self):
        curves = [k for k in ("rate", "curve", "par_swaps") if getattr(self, k) is not None]
        if self.model in ("gbm", "hull_white") and len(curves) != 1:
            raise ValueError("give exactly one of market.rate, market.curve or market.par_swaps")
        if self.model in REAL_WORLD_MODELS and curves != ["rate"]:
            raise ValueError(
                f"model '{self.model}' takes a flat market.rate (money market and "
                "discounting), not a curve"
            )
        if self.model == "file" and len(curves) > 1:
            raise ValueError("give at most one of market.rate, market.curve or market.par_swaps")
        for section in ("hull_white", "rsln", "slv", "file"):
            if getattr(self, section) is not None and self.model != section:
                raise ValueError(
                    f"market.{section} is given but market.model is '{self.model}'; "
                    f"set market.model = '{section}' or remove market.{section}"
                )
        if self.model == "file" and not self.file:
            raise ValueError("model 'file' needs market.file (a .csv or .parquet scenario file)")
        names = [i.name for i in self.indices]
        if not names:
            raise ValueError("give at least one index in market.indices")
        if len(set(names)) != len(names):
            raise ValueError("index names must be unique")
        if MONEY_MARKET_INDEX in names:
            raise ValueError(f"'{MONEY_MARKET_INDEX}' is the built-in short-rate index")
        if self.model in ("gbm", "hull_white"):
            missing = [i.name for i in self.indices if i.volatility is None]
            if missing:
                raise ValueError(
                    f"model '{self.model}' needs a volatility for index "
                    f"{', '.join(repr(n) for n in missing)}"
                )
        if self.model in REAL_WORLD_MODELS and len(names) != 1:
            raise ValueError(
                f"model '{self.model}' drives one index; market.indices has {len(names)}"
            )
        fund_names = [f.name for f in self.funds]
        if len(set(fund_names)) != len(fund_names):
            raise ValueError("fund names must be unique")
        for f in self.funds:
            for idx in f.indices:
                if idx not in names and idx != MONEY_MARKET_INDEX:
                    raise ValueError(f"fund '{f.name}' uses unknown index '{idx}'")
        n = len(names)
        if self.correlation is not None:
            c = np.asarray(self.correlation, dtype=float)
            if c.shape != (n, n):
                raise ValueError(f"correlation must be {n}x{n} (one row per index)")
            if not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0):
                raise ValueError("correlation must be symmetric with a unit diagonal")
            if np.any(np.abs(c) > 1) or np.linalg.eigvalsh(c).min() < -1e-12:
                raise ValueError("correlation is not positive semi-definite")
        if self.model == "hull_white":
            rho = (self.hull_white or HullWhiteConfig()).correlation
            if rho is not None and len(rho) != n:
                raise ValueError(
                    f"market.hull_white.correlation needs {n} value(s), one per index "
                    f"(the correlation of each index with the short rate)"
                )
            if np.linalg.eigvalsh(self.rate_correlation()).min() < -1e-10:
                raise ValueError(
                    "market.correlation with market.hull_white.correlation is not "
                    "positive semi-definite"
                )
        return self

    def equity_correlation(self) -> np.ndarray:
        """Index correlation matrix, ndarray(float64, (n_indices, n_indices))."""
        n = len(self.indices)
        return np.eye(n) if self.correlation is None else np.asarray(self.correlation, dtype=float)

    def rate_correlation(self) -> np.ndarray:
        """Correlation of the indices and the Hull-White short rate (last),
        ndarray(float64, (n_indices + 1, n_indices + 1))."""
        n = len(self.indices)
        full = np.eye(n + 1)
        full[:n, :n] = self.equity_correlation()
        rho = (self.hull_white or HullWhiteConfig()).correlation
        if rho is not None:
            full[n, :n] = full[:n, n] = np.asarray(rho, dtype=float)
        return full


class ProductConfig(_Section):
    me_charge: Rate = 0.0125
    maintenance_fee: float = Field(0.0, ge=0.0, le=10_000.0)  # a year, per contract
    withdrawal_charges: list[Rate] = [0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02]
    free_withdrawal: Rate = 0.10
    death_benefit: Literal["contract_value", "return_of_premium", "max_anniversary_value"] = (
        "return_of_premium"
    )
    fixed_rate: float = Field(0.02, ge=0.0, le=0.2)
    # Renewal of a fixed account guarantee period at the then-current rate: the short rate
    # (as an annual effective rate) less this spread, never below the minimum rate.
    fixed_renewal_spread: float = Field(0.01, ge=0.0, le=0.2)
    fixed_minimum_rate: float = Field(0.01, ge=0.0, le=0.2)
    # Days after a death within which a complete claim earns the Death Benefit [002 (c),
    # (d) "Death Proceeds": 180 days, which the company "reserve[s] the right to extend";
    # it may not shorten it, hence at least 180].
    death_claim_window_days: float = Field(180.0, ge=180.0, le=3650.0)


class InvestmentLimits(_Section):
    max_weight: dict[str, Rate] = {}
    min_weight: dict[str, Rate] = {}
    excluded: list[str] = []


class RiderConfig(_Section):
    fee_rate: Rate = 0.0125
    fee_basis: Literal["benefit_base", "contract_value"] = "benefit_base"
    ab_factors: str = "default"  # "default" (shipped table) or a CSV path
    termination_fee: bool = True
    # The terminations off an anniversary that pay a full Rider Fee (SPEC section 2
    # assumption: surrender and cancellation; never a trade-in).
    termination_fee_events: list[Literal["surrender", "cancellation", "death", "annuitization"]] = [
        "surrender",
        "cancellation",
    ]
    # When the variable sub-accounts hold less than the Rider Fee: waive the rest, or take
    # it from the fixed account (SPEC section 2 assumption; the rider says "from each of the
    # Variable Sub-accounts", so "waive" is the default).
    fee_shortfall: Literal["waive", "fixed_account"] = "waive"
    # A purchase payment made on a Contract Anniversary: "before_fee" (the default) credits
    # it before that anniversary's charges, so the Rider Fee is on "the Benefit Base as of
    # the applicable Contract Anniversary" with the payment in it [003 III, II] (and the
    # anniversary's withdrawal, MAV step-up and maturity true-up see it too);
    # "after_withdrawal" credits it after the anniversary's events (versions up to 0.1).
    payment_on_anniversary: Literal["before_fee", "after_withdrawal"] = "before_fee"
    investment_limits: dict[int, InvestmentLimits] = {}


class SpousalProtectionConfig(_Section):
    charge: Rate = 0.0015


class MortalityConfig(_Section):
    enabled: bool = True
    table: str = "2012IAM"
    improvement: Literal["G2", "none"] = "G2"
    multiplier: float = Field(1.0, ge=0.0, le=10.0)
    # Deaths between integer ages (docs/configuration.md, [mortality]): "udd" uniform
    # distribution of deaths within each year of age, "constant_force" a constant force of
    # mortality within it (Dickson, Hardy & Waters, AMLCR, section 3.3; Bowers et al.,
    # Actuarial Mathematics, section 3.6); "floor" the rate of the age at the valuation date
    # (floored) plus the projection year, at a constant force over the projection year.
    fractional_age: Literal["udd", "constant_force", "floor"] = "udd"


class DynamicLapseConfig(_Section):
    enabled: bool = True
    floor: float = Field(0.2, ge=0.0, le=10.0)
    cap: float = Field(1.0, ge=0.0, le=10.0)
    slope: float = Field(1.25, ge=-100.0, le=100.0)
    shift: float = Field(1.1, ge=0.0, le=10.0)

    @model_validator(mode="after")
    def _floor_below_cap(self):
        if self.floor > self.cap:
            raise ValueError("floor must not exceed cap")
        return self


class LapseConfig(_Section):
    enabled: bool = True
    # Annual full-surrender rate by contract year 1, 2, ...; the last value repeats.
    # Illustrative default: low in the withdrawal-charge period, a shock in year 8 (the
    # first year without a charge), then an ultimate rate; shape from VM-21's table.
    base: list[Rate] = [0.02, 0.02, 0.03, 0.03, 0.04, 0.04, 0.05, 0.12, 0.07]
    dynamic: DynamicLapseConfig = DynamicLapseConfig()

    @field_validator("base")
    @classmethod
    def _non_empty(cls, v):
        if not v:
            raise ValueError("base needs at least one rate")
        return v


class WithdrawalConfig(_Section):
    enabled: bool = True
    rate: Rate = 0.0  # % of CV taken a year by a contract that withdraws
    utilisation: Rate = 0.0  # share of contracts that withdraw


class RateRule(_Section):
    """An annual rate that depends on the moneyness CV / BB: ``rate`` below
    ``threshold``, ``rate_above`` at or above it."""

    rate: Rate = 0.0
    threshold: float = Field(1.2, gt=0.0, le=100.0)
    rate_above: Rate = 0.0


class TradeInConfig(RateRule):
    """Who trades in [003 V] (a decision on each anniversary from the 10th rider
    anniversary) and the New Rider's terms."""

    rider_period: int = Field(10, ge=7, le=20)
    guarantee_option: int = Field(1, ge=1, le=100)
    ab_factor: float | None = Field(None, ge=0.5, le=3.0)  # None: from the AB factor table
    fee_rate: Rate | None = None  # None: rider.fee_rate
    # The break-even search varies the fee of the riders in force; "fixed" (the default):
    # a New Rider keeps fee_rate above (a new sale on its own terms); "searched": a New
    # Rider takes the searched fee too (one fee for every rider, original and New).
    fee_in_breakeven: Literal["fixed", "searched"] = "fixed"


class AnnuitizationConfig(_Section):
    rate: Rate = 0.0  # annual rate of reaching the Payout Start Date
    from_age: float = Field(0.0, ge=0.0, le=115.0)


class BehaviourConfig(_Section):
    """Behaviour on death and rider termination (SPEC sections 2, 4, 7; all assumptions)."""

    spousal_continuation: Rate = 1.0  # spouse beneficiaries electing Option D
    cancel_on_continuation: Rate = 0.0  # new owners cancelling the rider at continuation
    annuitant_death_continue: Rate = 1.0  # natural owners continuing on an annuitant's death
    cancel: RateRule = RateRule()
    trade_in: TradeInConfig = TradeInConfig()
    annuitization: AnnuitizationConfig = AnnuitizationConfig()
    # Spousal continuations (Option D) are settled on a grid of this many steps: 1 (the
    # default) settles each claim when it arrives, exactly; k > 1 holds continuation
    # claims in force until the next multiple of k steps (a coarser settlement timing that
    # cuts the number of stepped-up segments, and the run time, about k-fold).
    continuation_grid_steps: int = Field(1, ge=1, le=12)
    # claim delay distribution: [[days after death, probability], ...]
    claim_delay: list[tuple[Annotated[float, Field(ge=0.0, le=3650.0)], Rate]] = [(0.0, 1.0)]

    @field_validator("claim_delay")
    @classmethod
    def _distribution(cls, v):
        if not v or not math.isclose(sum(p for _, p in v), 1.0, abs_tol=1e-9):
            raise ValueError("claim_delay probabilities must sum to 1")
        return v


class TimingConfig(_Section):
    """Settlement lags (days) between a request and its payment [000]."""

    death_proceeds_days: float = Field(0.0, ge=0.0, le=365.0)
    surrender_days: float = Field(0.0, ge=0.0, le=183.0)
    withdrawal_days: float = Field(0.0, ge=0.0, le=183.0)
    payment_days: float = Field(0.0, ge=0.0, le=15.0)  # a purchase payment by check clearing
    fixed_interest_after_days: float = Field(30.0, ge=0.0, le=365.0)


class SyntheticInforce(_Section):
    contracts: int = Field(ge=1, le=MAX_CONTRACTS)
    seed: int = Field(0, ge=0, le=2**63 - 1)


class InforceConfig(_Section):
    file: str | None = None
    synthetic: SyntheticInforce | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.synthetic is None):
            raise ValueError("give exactly one of inforce.file or inforce.synthetic")
        return self


class RealWorldTailConfig(_Section):
    """Real-world scenarios for the hedging report's tail metrics (sim.risk.tail): one index
    follows RSLN2 or SLV (monthly), the other indices their ``[market]`` lognormal model on
    an independent stream; discounting on the initial risk-free curve."""

    model: Literal["rsln", "slv"] = "rsln"
    rsln: RSLNConfig = RSLNConfig()
    slv: SLVConfig = SLVConfig()
    index: str | None = None  # the index the model drives; None = the first of market.indices
    scenarios: int = Field(1000, ge=100, le=10_000_000)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)  # None = run.seed
    cte_levels: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = [0.70, 0.90, 0.98]
    var_levels: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = [0.95, 0.99]


class HedgeConfig(_Section):
    """Greeks, shock grid and tail metrics of ``abrsim hedge`` (sim.risk; docs/risk.md)."""

    equity_bump: float = Field(0.01, gt=0.0, le=0.5)  # relative shock of each index level
    vol_bump: float = Field(0.01, gt=0.0, le=0.2)  # absolute volatility (0.01 = 1 point)
    rate_bump_bp: float = Field(1.0, gt=0.0, le=100.0)  # zero-curve shift, basis points
    key_rate_tenors: list[Annotated[float, Field(gt=0.0, le=200.0)]] = [
        1.0,
        2.0,
        5.0,
        10.0,
        20.0,
        30.0,
    ]
    equity_shocks: list[Annotated[float, Field(gt=-1.0, le=2.0)]] = [-0.4, -0.2, 0.0, 0.2, 0.4]
    equity_shock_indices: list[str] | None = (
        None  # indices the grid's equity shocks move; None = all
    )
    rate_shocks_bp: list[Annotated[float, Field(ge=-500.0, le=500.0)]] = [-100.0, 0.0, 100.0]
    vol_shocks: list[Annotated[float, Field(ge=-0.5, le=0.5)]] = [-0.05, 0.05]
    real_world: RealWorldTailConfig = RealWorldTailConfig()

    @field_validator("key_rate_tenors")
    @classmethod
    def _increasing(cls, v):
        if not v or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("key_rate_tenors must be non-empty and increasing")
        return v


class Config(_Section):
    run: RunConfig = RunConfig()
    market: MarketConfig
    product: ProductConfig = ProductConfig()
    allocations: dict[str, dict[str, Rate]] = {}
    rider: RiderConfig = RiderConfig()
    spousal_protection: SpousalProtectionConfig = SpousalProtectionConfig()
    mortality: MortalityConfig = MortalityConfig()
    lapse: LapseConfig = LapseConfig()
    withdrawals: WithdrawalConfig = WithdrawalConfig()
    behaviour: BehaviourConfig = BehaviourConfig()
    timing: TimingConfig = TimingConfig()
    hedge: HedgeConfig = HedgeConfig()
    inforce: InforceConfig
    # Directory that relative paths (inforce file, AB factor CSV, mortality CSV) start from.
    base_dir: str = "."
    # The [sweep] section (axes or cells of a pricing grid), read and checked by sim.sweep;
    # pricing one block ignores it.
    sweep: dict | None = None

    @model_validator(mode="after")
    def _allocations_name_funds(self):
        problems = cross_check_problems(self.model_dump())
        if problems:
            raise ValueError(problems[0])
        return self

    @model_validator(mode="after")
    def _check_clears_within_a_step(self):
        """[000] A purchase payment is credited when received; what may wait up to
        ``timing.payment_days`` for the check to clear is paying out that money. Paid at
        a step's end, a surrender, withdrawal or death claim comes at least one step after
        the payment, so the deferral never binds when it is no longer than a step; a longer
        one is refused rather than ignored."""
        step_days = 365.25 / self.run.steps_per_year
        if self.timing.payment_days > step_days:
            raise ValueError(
                f"timing.payment_days = {self.timing.payment_days:g} is longer than a step "
                f"({step_days:.4g} days at run.steps_per_year = {self.run.steps_per_year}): "
                "paying out a purchase payment before its check clears is not modelled; "
                "use fewer steps a year or at most one step's days"
            )
        return self

    @model_validator(mode="after")
    def _run_fits_market(self):
        problems = run_market_problems(self.run, self.market)
        if problems:
            raise ValueError(problems[0])
        return self

    @model_validator(mode="after")
    def _hedge_names_indices(self):
        names = [i.name for i in self.market.indices]
        h = self.hedge
        unknown = [n for n in (h.equity_shock_indices or []) if n not in names]
        if unknown:
            raise ValueError(
                f"hedge.equity_shock_indices: unknown index {', '.join(map(repr, unknown))} "
                f"(market.indices: {', '.join(names)})"
            )
        if h.real_world.index is not None and h.real_world.index not in names:
            raise ValueError(
                f"hedge.real_world.index: '{h.real_world.index}' is not one of market.indices "
                f"({', '.join(names)})"
            )
        return self

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's directory."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p


def run_market_problems(run: RunConfig, market: MarketConfig) -> list[str]:
    """Problems between ``[run]`` and ``[market]``: options a market model cannot honour."""
    problems = []
    model = market.model
    if run.control_variate and model != "gbm":
        problems.append(
            f"run.control_variate needs market.model = 'gbm' (the control's "
            f"Black-Scholes expectation is exact only there); the model is '{model}'"
        )
    if model in REAL_WORLD_MODELS:
        if run.steps_per_year != 12:
            problems.append(
                f"market.model = '{model}' is a monthly model: run.steps_per_year must be "
                f"12, not {run.steps_per_year}"
            )
        for key in ("qmc", "antithetic"):
            if getattr(run, key):
                problems.append(
                    f"run.{key} is not available with market.model = '{model}' "
                    "(its generator draws pseudo-random numbers only)"
                )
    if model == "file" and run.targeted:
        key = "target_se" if run.target_se is not None else "target_relative_se"
        problems.append(
            f"run.{key} needs a scenario generator; market.model = 'file' has a fixed "
            "set of scenarios"
        )
    return problems


def cross_check_problems(data: dict) -> list[str]:
    """Problems between sections (allocations and investment limits naming funds).

    Works on the raw mapping too, so that these problems are listed together with field
    problems (pydantic skips model validators once a field has failed).
    """
    problems: list[str] = []
    market = data.get("market") if isinstance(data.get("market"), dict) else {}
    fund_list = market.get("funds") if isinstance(market.get("funds"), list) else []
    funds = {f.get("name") for f in fund_list if isinstance(f, dict)}
    allocations = data.get("allocations") if isinstance(data.get("allocations"), dict) else {}
    for name, weights in allocations.items():
        if not isinstance(weights, dict):
            continue
        if name in funds:
            problems.append(f"allocations.{name}: an allocation model may not share a fund's name")
        unknown = sorted(str(k) for k in set(weights) - funds)
        if unknown:
            problems.append(f"allocations.{name}: unknown fund(s) {', '.join(unknown)}")
        try:
            total = sum(float(v) for v in weights.values())
        except (TypeError, ValueError):
            continue
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            problems.append(f"allocations.{name}: weights sum to {total:.6g}, not 1")
    rider = data.get("rider") if isinstance(data.get("rider"), dict) else {}
    limits_by_option = (
        rider.get("investment_limits") if isinstance(rider.get("investment_limits"), dict) else {}
    )
    for option, limits in limits_by_option.items():
        if not isinstance(limits, dict):
            continue
        named = [
            *(limits.get("max_weight") or {}),
            *(limits.get("min_weight") or {}),
            *(limits.get("excluded") or []),
        ]
        for fund in named:
            if fund not in funds:
                problems.append(f"rider.investment_limits.{option}: unknown fund '{fund}'")
    return problems


#: Keys that older configs may still hold: key -> why it went (one line each).
REMOVED_KEYS = {
    "behaviour.non_spouse_elections": (
        "removed (it changed nothing: the rider ends on a death without continuation "
        "whatever a non-spouse beneficiary elects); delete it"
    ),
}


def _format_errors(err: ValidationError, source: str) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden" and loc in REMOVED_KEYS:
            msg = REMOVED_KEYS[loc]
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{source}: {loc}: {msg}" if loc else f"{source}: {msg}")
    return lines


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_key(data: dict, key: str, value) -> str | None:
    """Set ``key`` (``section.sub.key``; a whole number indexes a list, as in
    ``market.indices.0.volatility``) in the mapping ``data``, in place.

    Missing sections are created (pydantic then reports an unknown key). Returns None, or
    the problem (without the source) when a part of the path is neither a section nor a
    position in a list.
    """
    parts = key.strip().split(".")
    node = data
    for depth, p in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not p.isdigit() or int(p) >= len(node):
                where = ".".join(parts[:depth])
                return f"{key}: '{p}' is not a position in {where} (0-{len(node) - 1})"
            p = int(p)
        elif not isinstance(node, dict):
            return f"{key}: '{parts[depth - 1]}' is not a section"
        if last:
            node[p] = value
            return None
        child = node.get(p) if isinstance(node, dict) else node[p]
        if child is None:
            child = node[p] = {}
        node = child
    return None  # pragma: no cover - the loop returns


def apply_overrides(data: dict, overrides: list[str] | None, source: str = "--set") -> dict:
    """Apply ``key.path=value`` overrides (values parsed as TOML, else strings); a whole
    number in the path indexes a list (``market.indices.0.volatility=0.2``)."""
    data = _deep_copy(data)
    problems = []
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{source}: '{item}' is not of the form key.path=value")
            continue
        problem = set_key(data, key, _parse_value(value.strip()))
        if problem:
            problems.append(f"{source}: {problem}")
    if problems:
        raise ConfigError(problems)
    return data


def _deep_copy(d):
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def config_from_dict(data: dict, source: str = "config", base_dir: str | Path = ".") -> Config:
    """Validate a config mapping; raises :class:`ConfigError` listing every problem."""
    data = dict(data)
    data.setdefault("base_dir", str(base_dir))
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        lines = _format_errors(err, source)
        for problem in cross_check_problems(data):
            line = f"{source}: {problem}"
            if not any(problem in existing for existing in lines):
                lines.append(line)
        raise ConfigError(lines) from None


def read_file_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a user's input file; a missing file, a folder or an unreadable file is a
    one-line :class:`ConfigError` naming the path (never its content)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: {what} not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a folder; give the {what} itself"]) from None
    except PermissionError:
        raise ConfigError([f"{path}: cannot read the {what}: permission denied"]) from None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError([f"{path}: cannot read the {what}: {reason}"]) from None


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text (a leading byte order mark is dropped).

    Raises
    ------
    ConfigError
        One line naming ``source``, the first bad byte (its value, line and column) and
        that the file must be saved as UTF-8; no content of the file is quoted.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise ConfigError(
            [
                f"{source}: not UTF-8 text: byte 0x{data[start]:02x} at line {line}, "
                f"column {column} (byte offset {start}); save the file as UTF-8"
            ]
        ) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate a TOML config file.

    Raises
    ------
    ConfigError
        One line per problem, each naming the file and the key.
    """
    path = Path(path)
    text = decode_utf8(read_file_bytes(path, "file"), str(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"{path}: not valid TOML: {err}"]) from None
    if "base_dir" in data:  # set from the file's folder, never by the user
        raise ConfigError(
            [f"{path}: base_dir: unknown key (relative paths start from the config file's folder)"]
        )
    data = apply_overrides(data, overrides)
    if "base_dir" in data:
        raise ConfigError(
            ["--set: base_dir: unknown key (relative paths start from the config file's folder)"]
        )
    return config_from_dict(data, source=str(path), base_dir=path.parent)
