"""Lowering: config + inforce + assumption tables + scenarios ──► flat arrays for the kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..assumptions.behaviour import Behaviour
from ..assumptions.mortality import MortalityTable, annual_q_matrix, load_mortality
from ..config import MONEY_MARKET_INDEX, Config
from ..inforce import allocation_weights
from ..market.scenarios import Scenarios
from ..product.contract import BaseContract
from ..product.rider import AccumulationBenefitRider
from ..product.spousal import SpousalProtectionRider
from . import kernels as K

__all__ = ["Assumptions", "ContractArrays", "Model", "build_model", "horizon_steps",
           "contract_arrays", "portfolio_growth"]


@dataclass(frozen=True)
class Assumptions:
    """Everything but the contracts and the market: product terms and behaviour."""

    contract: BaseContract
    rider: AccumulationBenefitRider
    spousal: SpousalProtectionRider
    behaviour: Behaviour
    mortality: MortalityTable | None  # None = no mortality
    mortality_multiplier: float = 1.0
    valuation_year: int = 2026
    steps_per_year: int = 12

    @classmethod
    def from_config(cls, config: Config) -> "Assumptions":
        mort = config.mortality
        table = None
        if mort.enabled and mort.multiplier > 0:
            path = config.resolve(mort.table)
            table = load_mortality(str(path) if path.is_file() else mort.table, mort.improvement)
        return cls(
            contract=BaseContract.from_config(config.product),
            rider=AccumulationBenefitRider.from_config(config),
            spousal=SpousalProtectionRider.from_config(config.spousal_protection),
            behaviour=Behaviour.from_config(config),
            mortality=table,
            mortality_multiplier=mort.multiplier,
            valuation_year=config.run.valuation_year,
            steps_per_year=config.run.steps_per_year,
        )


@dataclass(frozen=True)
class ContractArrays:
    """The block, one entry per contract (all ndarray of shape (n_c,))."""

    contract_id: np.ndarray
    allocation: np.ndarray  # int64 row of portfolio_growth
    variable_value: np.ndarray
    fixed_value: np.ndarray
    benefit_base: np.ndarray
    death_benefit_base: np.ndarray
    premiums: np.ndarray
    ab_factor: np.ndarray
    fee_rate: np.ndarray
    spousal_charge: np.ndarray
    contract_year: np.ndarray  # int64
    steps_to_anniversary: np.ndarray  # int64
    maturity_step: np.ndarray  # int64
    payment_amount: np.ndarray
    payment_step: np.ndarray  # int64, 0 = none
    payment_in_bb: np.ndarray  # bool
    owner_sex: np.ndarray  # int64 0/1
    owner_age: np.ndarray

    def __len__(self) -> int:
        return self.contract_id.shape[0]

    def slice(self, lo: int, hi: int) -> "ContractArrays":
        return ContractArrays(**{k: v[lo:hi] for k, v in self.__dict__.items()})

    def with_fee_rate(self, fee_rate: float) -> "ContractArrays":
        return replace(self, fee_rate=np.full_like(self.fee_rate, fee_rate))


def contract_arrays(inforce: pd.DataFrame, assumptions: Assumptions,
                    allocation_names: list[str]) -> ContractArrays:
    """Lower a validated inforce frame (see :func:`sim.inforce.validate_inforce`)."""
    m = assumptions.steps_per_year
    steps_to_anniv = (inforce["months_to_anniversary"].to_numpy(np.int64) * m) // 12
    steps_to_anniv = np.maximum(steps_to_anniv, 1)
    remaining = inforce["rider_period"].to_numpy(np.int64) - inforce["rider_years_elapsed"].to_numpy(np.int64)
    maturity = steps_to_anniv + (remaining - 1) * m
    pay = inforce["payment_amount"].to_numpy(float)
    pay_step = np.where(pay > 0, (inforce["payment_month"].to_numpy(np.int64) * m) // 12, 0)
    in_bb = (pay > 0) & (inforce["rider_years_elapsed"].to_numpy() == 0) & (pay_step <= steps_to_anniv)
    index = {name: i for i, name in enumerate(allocation_names)}
    cv = inforce["contract_value"].to_numpy(float)
    fixed = inforce["fixed_value"].to_numpy(float)
    return ContractArrays(
        contract_id=inforce["contract_id"].to_numpy(np.int64),
        allocation=np.array([index[a] for a in inforce["allocation"]], dtype=np.int64),
        variable_value=cv - fixed,
        fixed_value=fixed.copy(),
        benefit_base=inforce["benefit_base"].to_numpy(float),
        death_benefit_base=inforce["death_benefit_base"].to_numpy(float),
        premiums=inforce["premiums"].to_numpy(float),
        ab_factor=inforce["ab_factor"].to_numpy(float),
        fee_rate=inforce["rider_fee_rate"].to_numpy(float),
        spousal_charge=np.where(inforce["spousal_protection"].to_numpy(bool), assumptions.spousal.charge, 0.0),
        contract_year=inforce["contract_year"].to_numpy(np.int64),
        steps_to_anniversary=steps_to_anniv.astype(np.int64),
        maturity_step=maturity.astype(np.int64),
        payment_amount=pay,
        payment_step=pay_step.astype(np.int64),
        payment_in_bb=in_bb,
        owner_sex=inforce["owner_sex"].to_numpy(np.int64),
        owner_age=inforce["owner_age"].to_numpy(float),
    )


def horizon_steps(contracts: ContractArrays) -> int:
    """Number of steps to the last Rider Maturity Date of the block."""
    return int(contracts.maturity_step.max())


def portfolio_growth(scenarios: Scenarios, config: Config,
                     allocation_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Growth of each allocation (rebalanced every step) and of the Money Market bucket.

    A fund grows by ``(sum_i w_fi * R_i) * exp(-fee_f * dt)`` with ``R_i`` the index growth
    (the built-in ``money_market`` index earns the short rate); an allocation by
    ``sum_f alpha_af * fund growth``.

    Returns
    -------
    portfolio : ndarray(float64, (n_alloc, n_scen, n_steps))
    money_market : ndarray(float64, (n_scen, n_steps))
    """
    dt = 1.0 / scenarios.steps_per_year
    names = list(scenarios.index_names)
    n_s, n_t = scenarios.n_scenarios, scenarios.n_steps
    funds = {f.name: f for f in config.market.funds}
    fund_cache: dict[str, np.ndarray] = {}

    def fund_growth(name: str) -> np.ndarray:
        if name not in fund_cache:
            f = funds[name]
            g = np.zeros((n_s, n_t))
            for idx, wt in f.indices.items():
                if idx == MONEY_MARKET_INDEX:
                    g += wt * scenarios.money_market_growth
                else:
                    g += wt * scenarios.index_growth[:, :, names.index(idx)]
            fund_cache[name] = g * math.exp(-f.fee * dt)
        return fund_cache[name]

    out = np.zeros((len(allocation_names), n_s, n_t))
    for a, name in enumerate(allocation_names):
        for fund, wt in allocation_weights(config, name).items():
            if wt > 0:
                out[a] += wt * fund_growth(fund)
    mm_fund = config.market.money_market_fund
    if mm_fund in funds:
        mm = fund_growth(mm_fund)
    else:  # no such fund: the bucket earns the short rate with no fee
        mm = scenarios.money_market_growth
    return out, np.ascontiguousarray(mm)


@dataclass(frozen=True)
class Model:
    """Everything a run of the kernels needs, lowered."""

    contracts: ContractArrays
    assumptions: Assumptions
    portfolio_growth: np.ndarray  # (n_alloc, n_scen, n_steps)
    money_market_growth: np.ndarray  # (n_scen, n_steps)
    discount: np.ndarray  # (n_scen, n_steps + 1)
    params: np.ndarray  # (N_PARAMS,)
    withdrawal_charges: np.ndarray
    lapse_base: np.ndarray
    sample_group: int = 1  # scenarios per independent sample (antithetic pair, QMC scramble)

    @property
    def n_scenarios(self) -> int:
        return self.discount.shape[0]

    def death_step_rate(self, contracts: ContractArrays) -> np.ndarray:
        """Probability of death within a step, ndarray(float64, (n_c, n_years))."""
        a = self.assumptions
        m = a.steps_per_year
        n_years = max(1, -(-horizon_steps(contracts) // m)) if len(contracts) else 1
        if a.mortality is None:
            return np.zeros((len(contracts), n_years))
        q = annual_q_matrix(a.mortality, contracts.owner_sex, contracts.owner_age,
                            a.valuation_year, n_years, a.mortality_multiplier)
        return 1.0 - (1.0 - q) ** (1.0 / m)


def params_vector(assumptions: Assumptions) -> np.ndarray:
    """The kernels' float parameter vector (see ``kernels.P_*``)."""
    a = assumptions
    b = a.behaviour
    m = a.steps_per_year
    p = np.zeros(K.N_PARAMS)
    p[K.P_DT] = 1.0 / m
    p[K.P_STEPS_PER_YEAR] = m
    p[K.P_ME] = a.contract.me_charge
    p[K.P_MAINT] = a.contract.maintenance_fee
    p[K.P_FREE] = a.contract.free_withdrawal
    p[K.P_FIXED_GROWTH] = (1.0 + a.contract.fixed_rate) ** (1.0 / m)
    p[K.P_WD_RATE] = b.withdrawal_rate
    p[K.P_WD_UTIL] = b.withdrawal_utilisation
    p[K.P_DYN_FLOOR] = b.dynamic_floor
    p[K.P_DYN_CAP] = b.dynamic_cap
    p[K.P_DYN_SLOPE] = b.dynamic_slope
    p[K.P_DYN_SHIFT] = b.dynamic_shift
    p[K.P_DB_CODE] = a.contract.death_benefit_code
    p[K.P_FEE_BASIS] = a.rider.fee_basis_code
    p[K.P_TERM_FEE] = float(a.rider.termination_fee)
    p[K.P_LAPSE_ON] = float(b.lapse_enabled)
    p[K.P_DYN_ON] = float(b.dynamic_enabled)
    p[K.P_FEE_SHORTFALL] = float(a.rider.fee_shortfall == "fixed_account")
    return p


def build_model(config: Config, inforce: pd.DataFrame, scenarios: Scenarios,
                assumptions: Assumptions | None = None) -> Model:
    """Lower everything; ``scenarios`` must cover the block's horizon."""
    assumptions = assumptions or Assumptions.from_config(config)
    names = sorted(set(inforce["allocation"]))
    contracts = contract_arrays(inforce, assumptions, names)
    if scenarios.n_steps < horizon_steps(contracts):
        raise ValueError(f"scenarios cover {scenarios.n_steps} steps; the block needs {horizon_steps(contracts)}")
    port, mm = portfolio_growth(scenarios, config, names)
    return Model(
        contracts=contracts,
        assumptions=assumptions,
        portfolio_growth=port,
        money_market_growth=mm,
        discount=np.ascontiguousarray(scenarios.discount),
        params=params_vector(assumptions),
        withdrawal_charges=np.asarray(assumptions.contract.withdrawal_charges, float),
        lapse_base=assumptions.behaviour.lapse_array(),
        sample_group=scenarios.sample_group,
    )
