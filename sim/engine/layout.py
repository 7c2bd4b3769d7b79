"""Lowering: config + inforce + assumption tables + scenarios ──► flat arrays for the kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..assumptions.behaviour import Behaviour
from ..assumptions.mortality import MortalityTable, load_mortality, step_death_probabilities
from ..config import MONEY_MARKET_INDEX, BehaviourConfig, Config, TimingConfig
from ..inforce import allocation_weights
from ..market.scenarios import Scenarios
from ..product.contract import BaseContract
from ..product.death import claim_within_window, engine_beneficiary_class
from ..product.rider import AccumulationBenefitRider
from ..product.spousal import SpousalProtectionRider
from .records import ContractRecords, MarketPaths, Terms

__all__ = [
    "Assumptions",
    "ContractArrays",
    "Model",
    "build_model",
    "horizon_steps",
    "contract_arrays",
    "portfolio_growth",
]


@dataclass(frozen=True)
class Assumptions:
    """Everything but the contracts and the market: product terms and behaviour."""

    contract: BaseContract
    rider: AccumulationBenefitRider
    spousal: SpousalProtectionRider
    behaviour: Behaviour
    mortality: MortalityTable | None  # None = no mortality
    mortality_multiplier: float = 1.0
    fractional_age: str = "udd"  # mortality.fractional_age: "udd", "constant_force", "floor"
    valuation_year: int = 2026
    steps_per_year: int = 12
    death_behaviour: BehaviourConfig = BehaviourConfig()
    timing: TimingConfig = TimingConfig()
    simulated: bool = False
    seed: int = 0

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
            fractional_age=mort.fractional_age,
            valuation_year=config.run.valuation_year,
            steps_per_year=config.run.steps_per_year,
            death_behaviour=config.behaviour,
            timing=config.timing,
            simulated=config.run.decrements == "simulated",
            seed=config.run.seed,
        )

    @property
    def trade_in_enabled(self) -> bool:
        t = self.death_behaviour.trade_in
        return t.rate > 0 or t.rate_above > 0

    def trade_in_terms(self) -> tuple[float, float, int]:
        """(AB factor, fee rate, period) of the New Rider of a trade-in."""
        t = self.death_behaviour.trade_in
        factor = (
            t.ab_factor
            if t.ab_factor is not None
            else self.rider.ab_factors.lookup(t.guarantee_option, t.rider_period)
        )
        if factor is None:
            raise ValueError(
                f"behaviour.trade_in: the AB factor table has no option "
                f"{t.guarantee_option}, period {t.rider_period}; give trade_in.ab_factor"
            )
        fee = t.fee_rate if t.fee_rate is not None else self.rider.fee_rate
        return float(factor), float(fee), int(t.rider_period)


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
    spouse_sex: np.ndarray  # int64 0/1, -1 = no spouse
    spouse_age: np.ndarray  # nan = no spouse
    annuitant_sex: np.ndarray  # int64, -1 = the owner is the annuitant
    annuitant_age: np.ndarray
    owner_natural: np.ndarray  # bool
    continuation_eligible: np.ndarray  # bool: a spouse beneficiary may continue (Option D)
    spousal_protection: np.ndarray  # bool
    window_step: np.ndarray  # int64: step of the 10th rider anniversary, -1 = never
    fixed_rate: np.ndarray
    fixed_renewal_step: np.ndarray  # int64
    fixed_period_steps: np.ndarray  # int64
    # identical contracts each row stands for (inforce `policies`); the kernels project one
    # and the driver multiplies its per-path values and cash flows by this
    policies: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.policies is None:
            object.__setattr__(self, "policies", np.ones(self.contract_id.shape[0]))

    def __len__(self) -> int:
        return self.contract_id.shape[0]

    def slice(self, lo: int, hi: int) -> "ContractArrays":
        return ContractArrays(**{k: v[lo:hi] for k, v in self.__dict__.items()})

    def with_fee_rate(self, fee_rate: float) -> "ContractArrays":
        return replace(self, fee_rate=np.full_like(self.fee_rate, fee_rate))

    def records(self) -> ContractRecords:
        """The kernels' view of the contracts."""
        return ContractRecords(
            contract_id=self.contract_id,
            allocation=self.allocation,
            variable_value=self.variable_value,
            fixed_value=self.fixed_value,
            benefit_base=self.benefit_base,
            death_benefit_base=self.death_benefit_base,
            premiums=self.premiums,
            ab_factor=self.ab_factor,
            fee_rate=self.fee_rate,
            spousal_charge=self.spousal_charge,
            payment_amount=self.payment_amount,
            fixed_rate=self.fixed_rate,
            owner_age=self.owner_age,
            spouse_age=np.nan_to_num(self.spouse_age),
            contract_year=self.contract_year,
            anniversary_step=self.steps_to_anniversary,
            maturity_step=self.maturity_step,
            payment_step=self.payment_step,
            payment_in_bb=self.payment_in_bb.astype(bool),
            has_spouse=self.spouse_sex >= 0,
            has_annuitant=self.annuitant_sex >= 0,
            owner_natural=self.owner_natural.astype(bool),
            continuation_eligible=self.continuation_eligible.astype(bool),
            window_step=self.window_step,
            fixed_renewal_step=self.fixed_renewal_step,
            fixed_period_steps=self.fixed_period_steps,
            spousal_protection=self.spousal_protection.astype(bool),
        )


def contract_arrays(
    inforce: pd.DataFrame, assumptions: Assumptions, allocation_names: list[str]
) -> ContractArrays:
    """Lower a validated inforce frame (see :func:`sim.inforce.validate_inforce`)."""
    m = assumptions.steps_per_year
    steps_to_anniv = (inforce["months_to_anniversary"].to_numpy(np.int64) * m) // 12
    steps_to_anniv = np.maximum(steps_to_anniv, 1)
    period = inforce["rider_period"].to_numpy(np.int64)
    elapsed = inforce["rider_years_elapsed"].to_numpy(np.int64)
    remaining = period - elapsed
    maturity = steps_to_anniv + (remaining - 1) * m
    # the 10th rider anniversary opens cancellation and trade-in [003 IV, V]
    window = np.where(
        period > 10, np.where(elapsed >= 10, 0, steps_to_anniv + (10 - elapsed - 1) * m), -1
    )
    pay = inforce["payment_amount"].to_numpy(float)
    # credited when received [000]: timing.payment_days defers only paying out that money,
    # which never binds on the time grid (Config refuses payment_days longer than a step)
    pay_step = np.where(pay > 0, (inforce["payment_month"].to_numpy(np.int64) * m) // 12, 0)
    in_bb = (pay > 0) & (elapsed == 0) & (pay_step <= steps_to_anniv)
    index = {name: i for i, name in enumerate(allocation_names)}
    cv = inforce["contract_value"].to_numpy(float)
    fixed = inforce["fixed_value"].to_numpy(float)
    owner_natural = inforce["owner_type"].to_numpy(object) == "natural"
    spouse_sex = inforce["spouse_sex"].to_numpy(np.int64)
    eligible = np.array(
        [
            natural and sex >= 0 and engine_beneficiary_class(b, True, cb) == "spouse"
            for natural, sex, b, cb in zip(
                owner_natural,
                spouse_sex,
                inforce["beneficiary"],
                inforce["contingent_beneficiary"],
                strict=False,
            )
        ],
        dtype=bool,
    )
    fgy = inforce["fixed_guarantee_years"].to_numpy(np.int64)
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
        spousal_charge=np.where(
            inforce["spousal_protection"].to_numpy(bool), assumptions.spousal.charge, 0.0
        ),
        contract_year=inforce["contract_year"].to_numpy(np.int64),
        steps_to_anniversary=steps_to_anniv.astype(np.int64),
        maturity_step=maturity.astype(np.int64),
        payment_amount=pay,
        payment_step=pay_step.astype(np.int64),
        payment_in_bb=in_bb,
        owner_sex=inforce["owner_sex"].to_numpy(np.int64),
        owner_age=inforce["owner_age"].to_numpy(float),
        spouse_sex=spouse_sex,
        spouse_age=inforce["spouse_age"].to_numpy(float),
        annuitant_sex=inforce["annuitant_sex"].to_numpy(np.int64),
        annuitant_age=inforce["annuitant_age"].to_numpy(float),
        owner_natural=owner_natural,
        continuation_eligible=eligible,
        spousal_protection=inforce["spousal_protection"].to_numpy(bool),
        window_step=window.astype(np.int64),
        fixed_rate=inforce["fixed_rate"].to_numpy(float),
        fixed_renewal_step=(
            (inforce["fixed_months_remaining"].to_numpy(np.int64) * m) // 12
        ).astype(np.int64),
        fixed_period_steps=(fgy * m).astype(np.int64),
        policies=(
            inforce["policies"].to_numpy(float) if "policies" in inforce else np.ones(len(inforce))
        ),
    )


def horizon_steps(contracts: ContractArrays, assumptions: Assumptions | None = None) -> int:
    """Number of steps to the last Rider Maturity Date of the block (including a New
    Rider's, when trade-ins are on)."""
    last = int(contracts.maturity_step.max())
    if assumptions is not None and assumptions.trade_in_enabled:
        m = assumptions.steps_per_year
        _, _, period = assumptions.trade_in_terms()
        open_ = contracts.window_step >= 0
        if open_.any():
            last = max(last, int((contracts.maturity_step[open_] - m).max()) + period * m)
    return last


def portfolio_growth(
    scenarios: Scenarios, config: Config, allocation_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
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
    short_rate: np.ndarray  # (n_scen, n_steps)
    discount: np.ndarray  # (n_scen, n_steps + 1)
    terms: Terms
    market: MarketPaths  # the same paths, time-major, for the kernels
    sample_group: int = 1  # scenarios per independent sample (antithetic pair, QMC scramble)

    @property
    def n_scenarios(self) -> int:
        return self.discount.shape[0]

    def with_fee_rate(self, fee_rate: float) -> "Model":
        """The model with one Rider Fee Percentage for every contract (the break-even
        search). A trade-in's New Rider takes it too when
        ``behaviour.trade_in.fee_in_breakeven = "searched"``; with ``"fixed"`` (the
        default) it keeps its own fee (``trade_in.fee_rate``, else ``rider.fee_rate``)."""
        terms = self.terms
        if self.assumptions.death_behaviour.trade_in.fee_in_breakeven == "searched":
            terms = terms._replace(trade_fee_rate=float(fee_rate))
        return replace(self, contracts=self.contracts.with_fee_rate(fee_rate), terms=terms)

    def uniform_fee_rate(self) -> float | None:
        """The Rider Fee Percentage when the model is already :meth:`with_fee_rate` of it
        (every contract on one rate, and a trade-in's New Rider on it too if the break-even
        search would move it); else None. A block pass of this model is then the break-even
        search's evaluation at that rate."""
        rates = self.contracts.fee_rate
        if len(rates) == 0 or not np.all(rates == rates[0]):
            return None
        rate = float(rates[0])
        searched = self.assumptions.death_behaviour.trade_in.fee_in_breakeven == "searched"
        if searched and self.terms.trade_fee_rate != rate:
            return None
        return rate

    def death_step_rates(
        self, contracts: ContractArrays, lives: tuple[int, ...] = (0, 1, 2)
    ) -> np.ndarray:
        """Probability of death within each step of the owner, the spouse and a separate
        annuitant, at the attained age of the step under ``mortality.fractional_age``
        (:func:`sim.assumptions.mortality.step_death_probabilities`).

        Built for a chunk of contracts at a time (it takes ``3 n_steps`` floats a contract).

        Parameters
        ----------
        contracts : ContractArrays
        lives : tuple of int
            Rows to build, among 0 (owner), 1 (spouse), 2 (separate annuitant)
            (``records.Life``); all three for the kernels.

        Returns
        -------
        ndarray(float64, (n_c, len(lives), n_steps))
            ``[c, k, t]``: for life ``lives[k]`` of contract ``c``, alive at the start of
            step ``t``, the probability of dying within it (0 where the life is absent).
        """
        a = self.assumptions
        n_steps = max(1, self.discount.shape[1] - 1)
        out = np.zeros((len(contracts), len(lives), n_steps))
        if a.mortality is None or not len(contracts):
            return out
        every_life = (
            (contracts.owner_sex, contracts.owner_age),
            (contracts.spouse_sex, contracts.spouse_age),
            (contracts.annuitant_sex, contracts.annuitant_age),
        )
        for k, life in enumerate(lives):
            sex, age = every_life[life]
            present = sex >= 0
            if present.any():
                out[present, k] = step_death_probabilities(
                    a.mortality,
                    sex[present],
                    age[present],
                    a.valuation_year,
                    n_steps,
                    a.steps_per_year,
                    a.mortality_multiplier,
                    a.fractional_age,
                )
        return out


def terms_record(assumptions: Assumptions) -> Terms:
    """The kernels' block-wide terms."""
    a = assumptions
    b = a.behaviour
    d = a.death_behaviour
    m = a.steps_per_year
    t = a.timing
    events = a.rider.termination_fee_events if a.rider.termination_fee else ()
    trade_abf, trade_fee, trade_period = a.trade_in_terms() if a.trade_in_enabled else (0.0, 0.0, 0)
    delay_steps, delay_prob, delay_within = claim_delay_arrays(a)
    return Terms(
        dt=1.0 / m,
        steps_per_year=int(m),
        me_charge=float(a.contract.me_charge),
        maintenance_fee=float(a.contract.maintenance_fee),
        free_withdrawal=float(a.contract.free_withdrawal),
        withdrawal_charges=np.asarray(a.contract.withdrawal_charges, float),
        death_benefit_code=int(a.contract.death_benefit_code),
        fee_on_contract_value=a.rider.fee_basis == "contract_value",
        fee_shortfall_from_fixed=a.rider.fee_shortfall == "fixed_account",
        payment_before_anniversary=a.rider.payment_on_anniversary == "before_fee",
        termination_fee_on_surrender="surrender" in events,
        termination_fee_on_cancellation="cancellation" in events,
        termination_fee_on_death="death" in events,
        termination_fee_on_annuitization="annuitization" in events,
        lapse_on=bool(b.lapse_enabled),
        lapse_base=b.lapse_array(),
        dynamic_on=bool(b.dynamic_enabled),
        dynamic_floor=float(b.dynamic_floor),
        dynamic_cap=float(b.dynamic_cap),
        dynamic_slope=float(b.dynamic_slope),
        dynamic_shift=float(b.dynamic_shift),
        withdrawal_rate=float(b.withdrawal_rate),
        withdrawal_utilisation=float(b.withdrawal_utilisation),
        elect_continuation=float(d.spousal_continuation),
        cancel_on_continuation=float(d.cancel_on_continuation),
        annuitant_death_continue=float(d.annuitant_death_continue),
        cancel_rate=float(d.cancel.rate),
        cancel_threshold=float(d.cancel.threshold),
        cancel_rate_above=float(d.cancel.rate_above),
        trade_rate=float(d.trade_in.rate),
        trade_threshold=float(d.trade_in.threshold),
        trade_rate_above=float(d.trade_in.rate_above),
        trade_period=int(trade_period),
        trade_ab_factor=float(trade_abf),
        trade_fee_rate=float(trade_fee),
        annuitize_rate=float(d.annuitization.rate),
        annuitize_from_age=float(d.annuitization.from_age),
        renewal_spread=float(a.contract.fixed_renewal_spread),
        renewal_minimum=float(a.contract.fixed_minimum_rate),
        death_lag=t.death_proceeds_days / 365.25,
        surrender_lag=t.surrender_days / 365.25,
        withdrawal_lag=t.withdrawal_days / 365.25,
        fixed_interest_after=t.fixed_interest_after_days / 365.25,
        simulated=bool(a.simulated),
        seed=int(a.seed % 2**63),
        continuation_grid=int(d.continuation_grid_steps),
        delay_steps=delay_steps,
        delay_prob=delay_prob,
        delay_within=delay_within.astype(bool),
    )


def market_paths(
    portfolio: np.ndarray,
    money_market: np.ndarray,
    short_rate: np.ndarray,
    discount: np.ndarray,
    terms: Terms,
) -> MarketPaths:
    """The scenario inputs time-major, with the settlement-lag discount tables
    ``exp(-r_t * lag)`` computed once (the kernels take no exponential per lane)."""

    def lag_table(lag: float) -> np.ndarray:
        return (
            np.ascontiguousarray(np.exp(-short_rate.T * lag))
            if lag > 0
            else np.ones(short_rate.T.shape)
        )

    return MarketPaths(
        portfolio_growth=np.ascontiguousarray(portfolio.transpose(0, 2, 1)),
        money_market_growth=np.ascontiguousarray(money_market.T),
        short_rate=np.ascontiguousarray(short_rate.T),
        discount=np.ascontiguousarray(discount.T),
        death_lag_discount=lag_table(terms.death_lag),
        surrender_lag_discount=lag_table(terms.surrender_lag),
        withdrawal_lag_discount=lag_table(terms.withdrawal_lag),
    )


def claim_delay_arrays(assumptions: Assumptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claim delay distribution as (steps, probability, within the claim window) arrays:
    whether each delay earns the Death Benefit is decided on its days, before rounding to
    steps (``product.death_claim_window_days``, 180 by default [002 (c)])."""
    m = assumptions.steps_per_year
    delays = assumptions.death_behaviour.claim_delay
    window = assumptions.contract.death_claim_window_days
    steps = np.array([int(round(days / 365.25 * m)) for days, _ in delays], dtype=np.int64)
    prob = np.array([p for _, p in delays], dtype=float)
    within = np.array([claim_within_window(days, window) for days, _ in delays], dtype=np.int64)
    return steps, prob, within


def build_model(
    config: Config,
    inforce: pd.DataFrame,
    scenarios: Scenarios,
    assumptions: Assumptions | None = None,
) -> Model:
    """Lower everything; ``scenarios`` must cover the block's horizon."""
    assumptions = assumptions or Assumptions.from_config(config)
    names = sorted(set(inforce["allocation"]))
    contracts = contract_arrays(inforce, assumptions, names)
    needed = horizon_steps(contracts, assumptions)
    if scenarios.n_steps < needed:
        raise ValueError(f"scenarios cover {scenarios.n_steps} steps; the block needs {needed}")
    port, mm = portfolio_growth(scenarios, config, names)
    short_rate = scenarios.short_rate
    if short_rate is None:
        short_rate = np.log(scenarios.money_market_growth) * scenarios.steps_per_year
    terms = terms_record(assumptions)
    short_rate = np.ascontiguousarray(short_rate)
    discount = np.ascontiguousarray(scenarios.discount)
    return Model(
        contracts=contracts,
        assumptions=assumptions,
        portfolio_growth=port,
        money_market_growth=mm,
        short_rate=short_rate,
        discount=discount,
        terms=terms,
        market=market_paths(port, mm, short_rate, discount, terms),
        sample_group=scenarios.sample_group,
    )
