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

__all__ = [
    "Config",
    "ConfigError",
    "load_config",
    "config_from_dict",
    "apply_overrides",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class ConfigError(ValueError):
    """Bad configuration or input data; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig(_Section):
    seed: int = Field(20261123, ge=0)
    scenarios: int = Field(1000, ge=2)
    steps_per_year: int = Field(12, ge=1, le=365)
    decrements: Literal["expected", "simulated"] = "expected"
    antithetic: bool = False
    threads: int = Field(0, ge=0)
    chunk_size: int = Field(0, ge=0)  # 0 = sized automatically from memory
    valuation_year: int = Field(2026, ge=1900, le=2200)
    breakeven: bool = True
    progress: bool | None = None  # None = shown on long runs when stderr is a terminal

    @model_validator(mode="after")
    def _antithetic_needs_pairs(self):
        if self.antithetic and self.scenarios % 2:
            raise ValueError("run.scenarios must be even when run.antithetic = true")
        return self


class CurveConfig(_Section):
    """Zero curve: continuously compounded zero rates at tenors (years), linear in rate."""

    tenors: list[Annotated[float, Field(gt=0.0)]]
    zero_rates: list[Annotated[float, Field(ge=-0.1, le=0.5)]]

    @model_validator(mode="after")
    def _shape(self):
        if len(self.tenors) != len(self.zero_rates) or not self.tenors:
            raise ValueError("tenors and zero_rates must be non-empty and of equal length")
        if any(b <= a for a, b in zip(self.tenors, self.tenors[1:])):
            raise ValueError("tenors must increase")
        return self


class IndexConfig(_Section):
    name: str
    volatility: float = Field(ge=0.0, le=2.0)
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


MONEY_MARKET_INDEX = "money_market"


class MarketConfig(_Section):
    model: Literal["gbm", "hull_white", "rsln", "file"] = "gbm"
    rate: float | None = Field(None, ge=-0.1, le=0.5)
    curve: CurveConfig | None = None
    # The fund whose unit value the Money Market sub-account follows (it receives the
    # maturity true-up). If no fund has this name it earns the short rate with no fee.
    money_market_fund: str = "money_market"
    indices: list[IndexConfig]
    correlation: list[list[float]] | None = None
    funds: list[FundConfig]

    @field_validator("model")
    @classmethod
    def _only_gbm_for_now(cls, v: str) -> str:
        if v != "gbm":
            raise ValueError(f"model '{v}' is not implemented yet; use 'gbm'")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if (self.rate is None) == (self.curve is None):
            raise ValueError("give exactly one of market.rate or market.curve")
        names = [i.name for i in self.indices]
        if len(set(names)) != len(names):
            raise ValueError("index names must be unique")
        if MONEY_MARKET_INDEX in names:
            raise ValueError(f"'{MONEY_MARKET_INDEX}' is the built-in short-rate index")
        fund_names = [f.name for f in self.funds]
        if len(set(fund_names)) != len(fund_names):
            raise ValueError("fund names must be unique")
        for f in self.funds:
            for idx in f.indices:
                if idx not in names and idx != MONEY_MARKET_INDEX:
                    raise ValueError(f"fund '{f.name}' uses unknown index '{idx}'")
        if self.correlation is not None:
            c = np.asarray(self.correlation, dtype=float)
            n = len(names)
            if c.shape != (n, n):
                raise ValueError(f"correlation must be {n}x{n} (one row per index)")
            if not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0):
                raise ValueError("correlation must be symmetric with a unit diagonal")
            if np.any(np.abs(c) > 1) or np.linalg.eigvalsh(c).min() < -1e-12:
                raise ValueError("correlation is not positive semi-definite")
        return self


class ProductConfig(_Section):
    me_charge: Rate = 0.0125
    maintenance_fee: float = Field(0.0, ge=0.0)
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
        "surrender", "cancellation"]
    # When the variable sub-accounts hold less than the Rider Fee: waive the rest, or take
    # it from the fixed account (SPEC section 2 assumption; the rider says "from each of the
    # Variable Sub-accounts", so "waive" is the default).
    fee_shortfall: Literal["waive", "fixed_account"] = "waive"
    investment_limits: dict[int, InvestmentLimits] = {}


class SpousalProtectionConfig(_Section):
    charge: Rate = 0.0015


class MortalityConfig(_Section):
    enabled: bool = True
    table: str = "2012IAM"
    improvement: Literal["G2", "none"] = "G2"
    multiplier: float = Field(1.0, ge=0.0, le=10.0)


class DynamicLapseConfig(_Section):
    enabled: bool = True
    floor: float = Field(0.2, ge=0.0)
    cap: float = Field(1.0, ge=0.0)
    slope: float = 1.25
    shift: float = 1.1

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
    threshold: float = Field(1.2, gt=0.0)
    rate_above: Rate = 0.0


class TradeInConfig(RateRule):
    """Who trades in [003 V] (a decision on each anniversary from the 10th rider
    anniversary) and the New Rider's terms."""

    rider_period: int = Field(10, ge=7, le=20)
    guarantee_option: int = Field(1, ge=1)
    ab_factor: float | None = Field(None, ge=0.5, le=3.0)  # None: from the AB factor table
    fee_rate: Rate | None = None  # None: rider.fee_rate


class AnnuitizationConfig(_Section):
    rate: Rate = 0.0  # annual rate of reaching the Payout Start Date
    from_age: float = Field(0.0, ge=0.0)


class NonSpouseElections(_Section):
    lump_sum: Rate = 0.6
    income_plan: Rate = 0.1
    five_year_rule: Rate = 0.3

    @model_validator(mode="after")
    def _sum_to_one(self):
        total = self.lump_sum + self.income_plan + self.five_year_rule
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"election rates sum to {total:.6g}, not 1")
        return self


class BehaviourConfig(_Section):
    """Behaviour on death and rider termination (SPEC sections 2, 4, 7; all assumptions)."""

    spousal_continuation: Rate = 1.0  # spouse beneficiaries electing Option D
    cancel_on_continuation: Rate = 0.0  # new owners cancelling the rider at continuation
    annuitant_death_continue: Rate = 1.0  # natural owners continuing on an annuitant's death
    non_spouse_elections: NonSpouseElections = NonSpouseElections()
    cancel: RateRule = RateRule()
    trade_in: TradeInConfig = TradeInConfig()
    annuitization: AnnuitizationConfig = AnnuitizationConfig()
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
    fixed_interest_after_days: float = Field(30.0, ge=0.0)


class SyntheticInforce(_Section):
    contracts: int = Field(ge=1)
    seed: int = Field(0, ge=0)


class InforceConfig(_Section):
    file: str | None = None
    synthetic: SyntheticInforce | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.synthetic is None):
            raise ValueError("give exactly one of inforce.file or inforce.synthetic")
        return self


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
    inforce: InforceConfig
    # Directory that relative paths (inforce file, AB factor CSV, mortality CSV) start from.
    base_dir: str = "."

    @model_validator(mode="after")
    def _allocations_name_funds(self):
        problems = cross_check_problems(self.model_dump())
        if problems:
            raise ValueError(problems[0])
        return self

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's directory."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p


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
    limits_by_option = rider.get("investment_limits") if isinstance(rider.get("investment_limits"), dict) else {}
    for option, limits in limits_by_option.items():
        if not isinstance(limits, dict):
            continue
        named = [*(limits.get("max_weight") or {}), *(limits.get("min_weight") or {}), *(limits.get("excluded") or [])]
        for fund in named:
            if fund not in funds:
                problems.append(f"rider.investment_limits.{option}: unknown fund '{fund}'")
    return problems


def _format_errors(err: ValidationError, source: str) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
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


def apply_overrides(data: dict, overrides: list[str] | None, source: str = "--set") -> dict:
    """Apply ``key.path=value`` overrides (values parsed as TOML, else strings)."""
    data = _deep_copy(data)
    problems = []
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{source}: '{item}' is not of the form key.path=value")
            continue
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            child = node.get(p)
            if child is None:
                child = node[p] = {}
            if not isinstance(child, dict):
                problems.append(f"{source}: {key}: '{p}' is not a section")
                break
            node = child
        else:
            node[parts[-1]] = _parse_value(value.strip())
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


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate a TOML config file.

    Raises
    ------
    ConfigError
        One line per problem, each naming the file and the key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"{path}: not valid TOML: {err}"]) from None
    data = apply_overrides(data, overrides)
    return config_from_dict(data, source=str(path), base_dir=path.parent)
