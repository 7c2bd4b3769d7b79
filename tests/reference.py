"""The slow, obviously correct twin of the kernels: one contract, one path, plain Python.

It reads a validated inforce row and the config directly (not the lowered arrays), works
out fund returns, anniversaries, mortality and lapse itself, and applies SPEC.md's rules
in the order of events of docs/methodology.md section 2. Tests compare the numba engine
with it to 1e-10 relative.
"""

from __future__ import annotations

import math

from sim.config import MONEY_MARKET_INDEX, Config
from sim.inforce import allocation_weights
from sim.market.scenarios import Scenarios


def _fund_growth(config: Config, scenarios: Scenarios, fund_name: str, s: int, t: int) -> float:
    fund = next(f for f in config.market.funds if f.name == fund_name)
    dt = 1.0 / scenarios.steps_per_year
    gross = 0.0
    for index, weight in fund.indices.items():
        if index == MONEY_MARKET_INDEX:
            gross += weight * scenarios.money_market_growth[s, t]
        else:
            i = scenarios.index_names.index(index)
            gross += weight * scenarios.index_growth[s, t, i]
    return gross * math.exp(-fund.fee * dt)


def _dynamic_multiplier(config: Config, itm: float) -> float:
    d = config.lapse.dynamic
    return max(d.floor, min(d.cap, 1.0 - d.slope * (itm - d.shift)))


def _withdrawal_charge_rate(config: Config, years_since_payment: int) -> float:
    schedule = config.product.withdrawal_charges
    return schedule[years_since_payment - 1] if 1 <= years_since_payment <= len(schedule) else 0.0


def _withdrawal_charge(config: Config, amount: float, layers: list[dict], years: list[int]) -> tuple[float, list[float]]:
    """Charge on ``amount`` above the free amount, taken from purchase payments oldest
    first at the rate of each payment's age (``years``); earnings beyond the payments are free."""
    charge, taken = 0.0, []
    for layer, year in zip(layers, years):
        part = max(min(amount, layer["left"]), 0.0)
        charge += part * _withdrawal_charge_rate(config, year)
        amount -= part
        taken.append(part)
    return charge, taken


def project_contract(row: dict, config: Config, scenarios: Scenarios, s: int, mortality=None,
                     fee_rate: float | None = None) -> dict:
    """Project one contract (a row of ``validate_inforce``'s output) along scenario ``s``.

    Parameters
    ----------
    mortality : MortalityTable or None
        The owner's table (None = no deaths); ``config.mortality.multiplier`` applies.
    fee_rate : float, optional
        Overrides the contract's Rider Fee Percentage.

    Returns
    -------
    dict
        The kernel's MEASURES, and ``trace``: a list with one dict per step.
    """
    m = scenarios.steps_per_year
    dt = 1.0 / m
    product, rider = config.product, config.rider
    weights = allocation_weights(config, row["allocation"])
    fee = row["rider_fee_rate"] if fee_rate is None else fee_rate

    # When things happen, in steps from now.
    first_anniversary = row["months_to_anniversary"] * m // 12
    rider_anniversaries_left = row["rider_period"] - row["rider_years_elapsed"]
    maturity = first_anniversary + (rider_anniversaries_left - 1) * m
    payment_step = row["payment_month"] * m // 12 if row["payment_amount"] > 0 else -1
    payment_counts_in_bb = (row["rider_years_elapsed"] == 0 and 0 < payment_step <= first_anniversary)

    state = {
        "variable": row["contract_value"] - row["fixed_value"],
        "money_market": 0.0,
        "fixed": row["fixed_value"],
        "benefit_base": row["benefit_base"],
        "death_benefit_base": row["death_benefit_base"],
        "premiums": row["premiums"],
        "contract_year": row["contract_year"],
        "weight": 1.0,
    }
    pv = dict.fromkeys(["pv_claims", "pv_fees", "pv_db_excess", "pv_spousal_charge", "pv_fee_base",
                        "pv_withdrawal_charges", "persistency_at_maturity"], 0.0)
    spousal_rate = config.spousal_protection.charge if row["spousal_protection"] else 0.0
    withdrawn_this_year = 0.0
    # purchase payments subject to withdrawal charges, oldest first: those to date are aged
    # by the contract year; the scheduled payment joins when it is paid, aged from that date
    payments = [{"left": row["premiums"], "paid_at": None}]

    def payment_years(step_end: int) -> list[int]:
        return [state["contract_year"] if p["paid_at"] is None else (step_end - p["paid_at"]) // m + 1
                for p in payments]
    trace = []

    def cv() -> float:
        return state["variable"] + state["money_market"] + state["fixed"]

    def take_pro_rata(amount: float, buckets: tuple[str, ...]) -> None:
        total = sum(state[b] for b in buckets)
        if amount > 0 and total > 0:
            for b in buckets:
                state[b] -= amount * state[b] / total

    for t in range(maturity):
        step = {"cv_start": cv()}
        disc = scenarios.discount[s, t + 1]
        # 1. market growth of each account
        before = cv()
        state["variable"] *= sum(w * _fund_growth(config, scenarios, f, s, t) for f, w in weights.items())
        if any(f.name == config.market.money_market_fund for f in config.market.funds):
            state["money_market"] *= _fund_growth(config, scenarios, config.market.money_market_fund, s, t)
        else:
            state["money_market"] *= scenarios.money_market_growth[s, t]
        state["fixed"] *= (1.0 + product.fixed_rate) ** dt
        step["growth"] = cv() - before
        # 2. proportional charges on the variable sub-accounts
        variable_before = state["variable"] + state["money_market"]
        for b in ("variable", "money_market"):
            state[b] *= math.exp(-product.me_charge * dt)
        spousal = (state["variable"] + state["money_market"]) * (1.0 - math.exp(-spousal_rate * dt))
        for b in ("variable", "money_market"):
            state[b] *= math.exp(-spousal_rate * dt)
        step["charges"] = variable_before - (state["variable"] + state["money_market"])
        pv["pv_spousal_charge"] += state["weight"] * disc * spousal
        # 3. deaths within the step
        year = t // m
        if mortality is not None and config.mortality.enabled:
            q_year = float(mortality.q(row["owner_sex"], math.floor(row["owner_age"] + year),
                                       config.run.valuation_year + year))
            q_year = min(1.0, q_year * config.mortality.multiplier)
        else:
            q_year = 0.0
        q_step = 1.0 - (1.0 - q_year) ** dt
        deaths = state["weight"] * q_step
        if product.death_benefit != "contract_value":
            pv["pv_db_excess"] += deaths * disc * max(state["death_benefit_base"] - cv(), 0.0)
        # 4. surrenders within the step
        lapses = 0.0
        if config.lapse.enabled:
            base = config.lapse.base[min(state["contract_year"], len(config.lapse.base)) - 1]
            if config.lapse.dynamic.enabled:
                itm = row["ab_factor"] * state["benefit_base"] / cv() if cv() > 0 else math.inf
                base *= _dynamic_multiplier(config, itm)
            annual = min(base, 1.0)
            lapses = state["weight"] * (1.0 - q_step) * (1.0 - (1.0 - annual) ** dt)
            if lapses > 0:
                if rider.termination_fee:
                    fee_base = cv() if rider.fee_basis == "contract_value" else state["benefit_base"]
                    pv["pv_fees"] += lapses * disc * min(fee * fee_base, cv())
                    pv["pv_fee_base"] += lapses * disc * fee_base
                free = max(product.free_withdrawal * state["premiums"] - withdrawn_this_year, 0.0)
                surrender_charge, _ = _withdrawal_charge(config, max(cv() - free, 0.0), payments,
                                                         payment_years(t + 1))
                pv["pv_withdrawal_charges"] += lapses * disc * surrender_charge
        state["weight"] -= deaths + lapses
        step.update(maintenance_fee=0.0, rider_fee=0.0, withdrawal=0.0, payment=0.0, true_up=0.0)
        # 5. contract anniversary, for the contracts still in force
        if t + 1 >= first_anniversary and (t + 1 - first_anniversary) % m == 0:
            maintenance = min(product.maintenance_fee, cv())
            take_pro_rata(maintenance, ("variable", "money_market", "fixed"))
            step["maintenance_fee"] = maintenance
            fee_base = cv() if rider.fee_basis == "contract_value" else state["benefit_base"]
            due = fee * fee_base
            rider_fee = min(due, state["variable"] + state["money_market"])
            take_pro_rata(rider_fee, ("variable", "money_market"))
            if rider.fee_shortfall == "fixed_account" and due > rider_fee:
                from_fixed = min(due - rider_fee, state["fixed"])
                state["fixed"] -= from_fixed
                rider_fee += from_fixed
            step["rider_fee"] = rider_fee
            pv["pv_fees"] += state["weight"] * disc * rider_fee
            pv["pv_fee_base"] += state["weight"] * disc * fee_base
            if t + 1 == maturity:
                accumulation_benefit = row["ab_factor"] * state["benefit_base"]
                true_up = max(accumulation_benefit - cv(), 0.0)
                state["money_market"] += true_up
                step["true_up"] = true_up
                pv["pv_claims"] += state["weight"] * disc * true_up
                pv["persistency_at_maturity"] = state["weight"]
            else:
                state["contract_year"] += 1
                withdrawn_this_year = 0.0
                if product.death_benefit == "max_anniversary_value":
                    state["death_benefit_base"] = max(state["death_benefit_base"], cv())
                wd = config.withdrawals
                if wd.enabled and wd.rate > 0 and wd.utilisation > 0 and cv() > 0:
                    requested = wd.rate * cv()
                    withdrawal = wd.utilisation * requested  # expected over the model point
                    excess = max(requested - product.free_withdrawal * state["premiums"], 0.0)
                    charge, taken = _withdrawal_charge(config, excess, payments, payment_years(t + 1))
                    pv["pv_withdrawal_charges"] += state["weight"] * disc * wd.utilisation * charge
                    for layer, part in zip(payments, taken):
                        layer["left"] -= wd.utilisation * part  # the expected amount withdrawn
                    adjustment = withdrawal / cv() * state["benefit_base"]
                    state["benefit_base"] = max(state["benefit_base"] - adjustment, 0.0)
                    if product.death_benefit != "contract_value":
                        state["death_benefit_base"] -= withdrawal / cv() * state["death_benefit_base"]
                    take_pro_rata(withdrawal, ("variable", "money_market", "fixed"))
                    step["withdrawal"] = withdrawal
                    withdrawn_this_year = withdrawal
        # 6. a scheduled purchase payment
        if t + 1 == payment_step:
            amount = row["payment_amount"]
            state["variable"] += amount
            state["premiums"] += amount
            payments.append({"left": amount, "paid_at": t + 1})
            if payment_counts_in_bb:
                state["benefit_base"] += amount
            if product.death_benefit != "contract_value":
                state["death_benefit_base"] += amount
            step["payment"] = amount
        step.update({k: state[k] for k in ("weight", "variable", "money_market", "fixed",
                                           "benefit_base", "death_benefit_base")})
        step["cv_end"] = cv()
        trace.append(step)
    pv["trace"] = trace
    return pv
