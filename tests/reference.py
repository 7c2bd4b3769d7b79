"""The slow, obviously correct twin of the kernels: one contract, one path, plain Python.

It reads a validated inforce row and the config directly (not the lowered arrays), works
out fund returns, anniversaries, lives, mortality and behaviour itself, and applies
SPEC.md's rules in the order of events of docs/methodology.md section 3. A spousal
continuation or a trade-in, which changes the contract's state for part of the weight, is
projected by a recursive call from that step on. Tests compare the numba engine with it to
1e-10 relative, in expected and in simulated mode.
"""

from __future__ import annotations

import math

from sim.config import MONEY_MARKET_INDEX, Config
from sim.inforce import allocation_weights
from sim.market.scenarios import Scenarios
from sim.product.death import engine_beneficiary_class

MEASURE_NAMES = (
    "pv_claims",
    "pv_fees",
    "pv_db_excess",
    "pv_spousal_charge",
    "pv_fee_base",
    "pv_withdrawal_charges",
    "inforce_at_maturity",
    "pv_surrender_payments",
    "pv_withdrawals",
    "continuation_weight",
)
KINDS = {
    "owner": 0,
    "spouse": 1,
    "annuitant": 2,
    "lapse": 3,
    "cancel": 4,
    "annuitize": 5,
    "elect": 6,
    "delay": 7,
    "withdraw": 8,
    "trade": 9,
    "cancel_continuation": 10,
}
M64 = 0xFFFFFFFFFFFFFFFF


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def uniform(seed: int, contract_id: int, scenario: int, draw: int) -> float:
    """SplitMix64 of the counter (seed, contract, scenario, draw), as a number in [0, 1)."""
    golden = 0x9E3779B97F4A7C15
    h = _mix((seed + golden) & M64)
    h = _mix(h ^ ((contract_id + golden) & M64))
    h = _mix(h ^ ((scenario + golden) & M64))
    h = _mix(h ^ ((draw + golden) & M64))
    return (h >> 11) / 2.0**53


def _fund_growth(config: Config, scenarios: Scenarios, fund_name: str, s: int, t: int) -> float:
    fund = next(f for f in config.market.funds if f.name == fund_name)
    dt = 1.0 / scenarios.steps_per_year
    gross = 0.0
    for index, weight in fund.indices.items():
        if index == MONEY_MARKET_INDEX:
            gross += weight * scenarios.money_market_growth[s, t]
        else:
            gross += weight * scenarios.index_growth[s, t, scenarios.index_names.index(index)]
    return gross * math.exp(-fund.fee * dt)


def _charge_rate(config: Config, years_since_payment: int) -> float:
    schedule = config.product.withdrawal_charges
    return schedule[years_since_payment - 1] if 1 <= years_since_payment <= len(schedule) else 0.0


def _annual_to_step(annual: float, dt: float) -> float:
    return 1.0 if annual >= 1 else 0.0 if annual <= 0 else 1.0 - (1.0 - annual) ** dt


class ContractPath:
    """One contract along one scenario."""

    def __init__(
        self,
        row: dict,
        config: Config,
        scenarios: Scenarios,
        s: int,
        mortality=None,
        fee_rate: float | None = None,
    ):
        self.row, self.config, self.sc, self.s = row, config, scenarios, s
        self.mortality = (
            mortality if config.mortality.enabled and config.mortality.multiplier > 0 else None
        )
        self.m = scenarios.steps_per_year
        self.dt = 1.0 / self.m
        self.simulated = config.run.decrements == "simulated"
        self.pv = dict.fromkeys(MEASURE_NAMES, 0.0)
        self.trace: list[dict] = []
        self.fee = row["rider_fee_rate"] if fee_rate is None else fee_rate
        # the New Rider of a trade-in: its own fee, or the block-wide one when searched
        trade = config.behaviour.trade_in
        self.trade_fee = trade.fee_rate if trade.fee_rate is not None else config.rider.fee_rate
        if fee_rate is not None and trade.fee_in_breakeven == "searched":
            self.trade_fee = fee_rate
        b = config.behaviour
        self.delays = [
            # the Death Benefit if the claim arrives within the window (180 days unless
            # extended) [002 (c)], judged on the days before rounding to steps
            (int(round(days / 365.25 * self.m)), p, days <= config.product.death_claim_window_days)
            for days, p in b.claim_delay
        ]
        if scenarios.short_rate is not None:
            self.short_rate = scenarios.short_rate
        else:
            self.short_rate = [
                [math.log(g) / self.dt for g in row_] for row_ in scenarios.money_market_growth
            ]
        self.has_mm_fund = any(
            f.name == config.market.money_market_fund for f in config.market.funds
        )
        events = config.rider.termination_fee_events if config.rider.termination_fee else []
        self.fee_on = {
            e: e in events for e in ("surrender", "cancellation", "death", "annuitization")
        }

    # ---- random events: a share of the weight (expected) or all or nothing (simulated)
    def share(self, weight: float, prob: float, t: int, kind: str) -> float:
        if weight <= 0 or prob <= 0:
            return 0.0
        if self.simulated:
            draw = uniform(
                self.config.run.seed, self.row["contract_id"], self.s, t * 16 + KINDS[kind]
            )
            return weight if draw < prob else 0.0
        return weight * prob

    def q_annual(self, sex: int, age: int, year: int) -> float:
        """The table's rate of integer age ``age`` in projection year ``year``, times the
        multiplier, at most 1."""
        q = float(self.mortality.q(sex, age, self.config.run.valuation_year + year))
        return min(1.0, q * self.config.mortality.multiplier)

    def q_step(self, life: str | None, t: int) -> float:
        """Probability that ``life``, alive at the start of step ``t``, dies within it."""
        if life is None or self.mortality is None:
            return 0.0
        sex = self.row[f"{life}_sex"]
        age = self.row[f"{life}_age"]
        year = t // self.m
        how = self.config.mortality.fractional_age
        if how == "floor":  # the whole projection year at the age it started in
            q = self.q_annual(sex, math.floor(age + year), year)
            return 1.0 - (1.0 - q) ** self.dt

        def on_birthday(x: float) -> float:
            return float(round(x)) if abs(x - round(x)) < 1e-9 else x

        # walk from the step's start to its end through each year of age it touches
        a, b = on_birthday(age + t * self.dt), on_birthday(age + (t + 1) * self.dt)
        survive = 1.0
        x = math.floor(a)
        while x < b:
            q = self.q_annual(sex, min(x, 120), year)
            s0, s1 = max(a, x) - x, min(b, x + 1) - x  # the piece, as fractions of the year
            if s1 > s0:
                if how == "udd":  # s p_x = 1 - s q_x
                    survive *= (1.0 - s1 * q) / (1.0 - s0 * q)
                else:  # constant force: s p_x = (1 - q_x) ** s
                    survive *= (1.0 - q) ** (s1 - s0)
            x += 1
        return 1.0 - survive

    def file_claim(
        self, claims: list, kind: str, amount: float, t: int, owner_died: bool = False
    ) -> None:
        """Claims wait as [arrival step, kind, within the window, amount, filed on an owner's
        death]; continuations are settled on the next step of the configured grid."""
        if amount <= 0:
            return
        grid = self.config.behaviour.continuation_grid_steps if kind != "pay" else 1

        maturity = self._maturity

        def settle_at(arrival: int) -> int:
            settle = arrival
            while (settle + 1) % grid:
                settle += 1
            if settle > maturity - 1:  # the grid never carries a claim past maturity
                settle = max(arrival, maturity - 1)
            return settle

        if self.simulated:
            u = uniform(
                self.config.run.seed, self.row["contract_id"], self.s, t * 16 + KINDS["delay"]
            )
            acc = 0.0
            pick = self.delays[-1]
            for entry in self.delays:
                acc += entry[1]
                if u < acc:
                    pick = entry
                    break
            claims.append([settle_at(t + pick[0]), kind, pick[2], amount, owner_died])
        else:
            for steps, p, within in self.delays:
                claims.append([settle_at(t + steps), kind, within, amount * p, owner_died])

    # ---- the projection
    def run(self) -> dict:
        row, m = self.row, self.m
        first_anniversary = row["months_to_anniversary"] * m // 12
        maturity = first_anniversary + (row["rider_period"] - row["rider_years_elapsed"] - 1) * m
        if row["rider_period"] > 10:
            window = (
                0
                if row["rider_years_elapsed"] >= 10
                else first_anniversary + (10 - row["rider_years_elapsed"] - 1) * m
            )
        else:
            window = -1
        has_spouse = row["spouse_sex"] >= 0
        has_annuitant = row["annuitant_sex"] >= 0
        owner_natural = row["owner_type"] == "natural"
        state = {
            "variable": row["contract_value"] - row["fixed_value"],
            "money_market": 0.0,
            "fixed": row["fixed_value"],
            "benefit_base": row["benefit_base"],
            "death_benefit_base": row["death_benefit_base"],
            "premiums": row["premiums"],
            # purchase payments still subject to withdrawal charges, oldest first
            "old_payments_left": row["premiums"],
            "new_payment_left": 0.0,
            "withdrawn_this_year": 0.0,
            "contract_year": row["contract_year"],
            "ab_factor": row["ab_factor"],
            "fee": self.fee,
            "maturity": maturity,
            "next_anniversary": first_anniversary,
            "window": window,
            "continuation_used": False,
            "trade_in_used": False,
            "spousal_protection": bool(row["spousal_protection"]),
            "free_until": -1,
            "fixed_rate": row["fixed_rate"],
            "renewal": row["fixed_months_remaining"] * m // 12,
            "owner": "owner",
            "spouse": "spouse" if has_spouse else None,
            "annuitant": "annuitant" if has_annuitant else None,
            "owner_age": row["owner_age"],
            "eligible": owner_natural
            and has_spouse
            and engine_beneficiary_class(row["beneficiary"], True, row["contingent_beneficiary"])
            == "spouse",
        }
        # weights by (spouse alive, separate annuitant alive)
        weights = {(has_spouse, has_annuitant): 1.0}
        self.segment(state, weights, 0, False, main=True)
        out = dict(self.pv)
        out["trace"] = self.trace
        return out

    def segment(self, st: dict, weights: dict, t0: int, skip_first: bool, main: bool) -> None:
        cfg, row, m, dt, s = self.config, self.row, self.m, self.dt, self.s
        product, rider, beh = cfg.product, cfg.rider, cfg.behaviour
        pv = self.pv
        st = dict(st)
        weights = {k: v for k, v in weights.items()}
        for key in [(a, b) for a in (False, True) for b in (False, True)]:
            weights.setdefault(key, 0.0)
        claims: list = []  # [arrival step, kind, within the claim window, amount, owner died]
        alloc = allocation_weights(cfg, row["allocation"])
        owner_natural = row["owner_type"] == "natural"
        # the premium is credited when received, whatever the check's clearing time [000]
        pay_step = row["payment_month"] * m // 12 if row["payment_amount"] > 0 else 0
        pay_in_bb = (
            row["payment_amount"] > 0
            and row["rider_years_elapsed"] == 0
            and pay_step <= row["months_to_anniversary"] * m // 12
        )

        def cv() -> float:
            return st["variable"] + st["money_market"] + st["fixed"]

        def take_pro_rata(amount: float, buckets: tuple[str, ...]) -> None:
            total = sum(st[b] for b in buckets)
            if amount > 0 and total > 0:
                for b in buckets:
                    st[b] -= amount * st[b] / total

        def withdrawal_charge(amount: float, t: int) -> tuple[float, float, float]:
            """Charge on an amount above the free amount: old payments first (aged by the
            contract year), then the scheduled payment (aged from its date); earnings free."""
            old = max(min(amount, st["old_payments_left"]), 0.0)
            new = max(min(amount - old, st["new_payment_left"]), 0.0)
            charge = old * _charge_rate(cfg, st["contract_year"]) + new * _charge_rate(
                cfg, (t + 1 - pay_step) // m + 1
            )
            return charge, old, new

        def rider_fee_base() -> float:
            return cv() if rider.fee_basis == "contract_value" else st["benefit_base"]

        def credit_payment(step: dict) -> None:
            """9. the scheduled purchase payment, into the allocation."""
            amount = row["payment_amount"]
            st["variable"] += amount
            st["premiums"] += amount
            st["new_payment_left"] += amount
            if pay_in_bb:
                st["benefit_base"] += amount
            if product.death_benefit != "contract_value":
                st["death_benefit_base"] += amount
            step["payment"] = amount

        def termination_fee(weight: float, disc: float) -> None:
            base = rider_fee_base()
            pv["pv_fees"] += weight * disc * min(st["fee"] * base, cv())
            pv["pv_fee_base"] += weight * disc * base

        fixed_growth = (1.0 + st["fixed_rate"]) ** dt
        for t in range(t0, st["maturity"]):
            self._maturity = st["maturity"]
            disc = self.sc.discount[s, t + 1]
            r_t = self.short_rate[s][t]
            step = {
                "cv_start": cv(),
                "growth": 0.0,
                "charges": 0.0,
                "maintenance_fee": 0.0,
                "rider_fee": 0.0,
                "withdrawal": 0.0,
                "payment": 0.0,
                "true_up": 0.0,
            }
            if not (skip_first and t == t0):
                # 1. fixed account renewal at the then-current rate, then market growth
                if st["renewal"] > 0 and t == st["renewal"]:
                    st["fixed_rate"] = max(
                        math.exp(self.short_rate[s][t]) - 1.0 - product.fixed_renewal_spread,
                        product.fixed_minimum_rate,
                    )
                    fixed_growth = (1.0 + st["fixed_rate"]) ** dt
                    st["renewal"] += row["fixed_guarantee_years"] * m
                before = cv()
                st["variable"] *= sum(
                    w * _fund_growth(cfg, self.sc, f, s, t) for f, w in alloc.items()
                )
                if self.has_mm_fund:
                    st["money_market"] *= _fund_growth(
                        cfg, self.sc, cfg.market.money_market_fund, s, t
                    )
                else:
                    st["money_market"] *= self.sc.money_market_growth[s, t]
                st["fixed"] *= fixed_growth
                step["growth"] = cv() - before
                # 2. proportional charges on the variable sub-accounts
                # the Spousal Protection rider ends on the owner's death [004 IV]: its
                # charge runs on for claims pending on other deaths only
                in_force = sum(weights.values()) + sum(c[3] for c in claims if not c[4])
                variable_before = st["variable"] + st["money_market"]
                for b in ("variable", "money_market"):
                    st[b] *= math.exp(-product.me_charge * dt)
                if st["spousal_protection"] and row["spousal_protection"]:
                    rate = cfg.spousal_protection.charge
                    charge = (st["variable"] + st["money_market"]) * (1.0 - math.exp(-rate * dt))
                    for b in ("variable", "money_market"):
                        st[b] *= math.exp(-rate * dt)
                    pv["pv_spousal_charge"] += in_force * disc * charge
                step["charges"] = variable_before - (st["variable"] + st["money_market"])
                # 3. deaths: the owner, the spouse, a separate annuitant
                q_owner = self.q_step(st["owner"], t)
                q_spouse = self.q_step(st["spouse"], t)
                q_annuitant = self.q_step(st["annuitant"], t)
                new = dict.fromkeys(weights, 0.0)
                for (spouse_alive, annuitant_alive), w in weights.items():
                    if w <= 0:
                        continue
                    died = self.share(w, q_owner, t, "owner")
                    if died > 0:
                        if (
                            owner_natural
                            and spouse_alive
                            and st["eligible"]
                            and not st["continuation_used"]
                        ):
                            continued = self.share(died, beh.spousal_continuation, t, "elect")
                            self.file_claim(claims, "continue_for_spouse", continued, t, True)
                            self.file_claim(claims, "pay", died - continued, t, True)
                        else:
                            self.file_claim(claims, "pay", died, t, True)
                        w -= died
                    if spouse_alive and w > 0:
                        died = self.share(w, q_spouse, t, "spouse")
                        if died > 0:
                            w -= died
                            if st["spousal_protection"] and not st["continuation_used"]:
                                self.file_claim(claims, "continue_for_owner", died, t)
                            else:
                                new[(False, annuitant_alive)] += died
                    if annuitant_alive and w > 0:
                        died = self.share(w, q_annuitant, t, "annuitant")
                        if died > 0:
                            w -= died
                            carry_on = (
                                self.share(died, beh.annuitant_death_continue, t, "elect")
                                if owner_natural
                                else 0.0
                            )
                            new[(spouse_alive, False)] += carry_on
                            self.file_claim(claims, "pay", died - carry_on, t)
                    new[(spouse_alive, annuitant_alive)] += w
                weights = new
                # 4.-6. surrenders, rider cancellations, annuitizations
                value = cv()
                q_lapse = 0.0
                if cfg.lapse.enabled:
                    annual = cfg.lapse.base[min(st["contract_year"], len(cfg.lapse.base)) - 1]
                    if cfg.lapse.dynamic.enabled:
                        d = cfg.lapse.dynamic
                        itm = (
                            st["ab_factor"] * st["benefit_base"] / value if value > 0 else math.inf
                        )
                        annual *= max(d.floor, min(d.cap, 1.0 - d.slope * (itm - d.shift)))
                    q_lapse = _annual_to_step(annual, dt)
                q_cancel = 0.0
                if st["window"] >= 0 and t + 1 > st["window"]:
                    ratio = value / st["benefit_base"] if st["benefit_base"] > 0 else math.inf
                    c = beh.cancel
                    q_cancel = _annual_to_step(c.rate_above if ratio >= c.threshold else c.rate, dt)
                q_annuitize = 0.0
                a = beh.annuitization
                if a.rate > 0 and st["owner_age"] + (t + 1) * dt >= a.from_age:
                    q_annuitize = _annual_to_step(a.rate, dt)
                lapsed = cancelled = annuitized = 0.0
                for key, w in weights.items():
                    x = self.share(w, q_lapse, t, "lapse")
                    y = self.share(w - x, q_cancel, t, "cancel")
                    z = self.share(w - x - y, q_annuitize, t, "annuitize")
                    weights[key] = w - x - y - z
                    lapsed, cancelled, annuitized = lapsed + x, cancelled + y, annuitized + z
                paying = (
                    lapsed * self.fee_on["surrender"]
                    + cancelled * self.fee_on["cancellation"]
                    + annuitized * self.fee_on["annuitization"]
                )
                if paying > 0:
                    termination_fee(paying, disc)
                if lapsed > 0:
                    # the termination Rider Fee comes out of the CV (pro rata, the fixed
                    # account too) on the surrender date, before the Settlement Value [003 III]
                    taken = (
                        min(st["fee"] * rider_fee_base(), value)
                        if self.fee_on["surrender"]
                        else 0.0
                    )
                    held = value - taken
                    fixed_held = st["fixed"] * held / value if value > 0 else 0.0
                    free = max(
                        product.free_withdrawal * st["premiums"] - st["withdrawn_this_year"], 0.0
                    )
                    charge = 0.0
                    if held > free and t + 1 > st["free_until"]:
                        charge = withdrawal_charge(held - free, t)[0]
                    pv["pv_withdrawal_charges"] += lapsed * disc * charge
                    lag = cfg.timing.surrender_days / 365.25
                    fixed_part = fixed_held * (1 - charge / held) if held > 0 else 0.0
                    fixed_factor = (
                        1.0
                        if lag > cfg.timing.fixed_interest_after_days / 365.25
                        else math.exp(-r_t * lag)
                    )
                    pv["pv_surrender_payments"] += (
                        lapsed
                        * disc
                        * (
                            (held - charge - fixed_part) * math.exp(-r_t * lag)
                            + fixed_part * fixed_factor
                        )
                    )
                # 7. claims arriving now: pay the death proceeds, or continue for the spouse
                due = [c for c in claims if c[0] == t]
                claims = [c for c in claims if c[0] != t]
                for order in ("pay", "continue_for_spouse", "continue_for_owner"):
                    for _, kind, within, amount, _ in [c for c in due if c[1] == order]:
                        guarantee = (
                            st["death_benefit_base"]
                            if product.death_benefit != "contract_value"
                            else 0.0
                        )
                        proceeds = max(value, guarantee) if within else value
                        if kind == "pay":
                            pv["pv_db_excess"] += (
                                amount
                                * disc
                                * math.exp(-r_t * cfg.timing.death_proceeds_days / 365.25)
                                * (proceeds - value)
                            )
                            if self.fee_on["death"]:
                                termination_fee(amount, disc)
                            continue
                        cancels = self.share(
                            amount, beh.cancel_on_continuation, t, "cancel_continuation"
                        )
                        if cancels > 0 and self.fee_on["cancellation"]:
                            termination_fee(cancels, disc)
                        pv["continuation_weight"] += amount
                        # the step-up credited to the continued contract is a death benefit cost
                        pv["pv_db_excess"] += amount * disc * (proceeds - value)
                        carry = amount - cancels
                        if carry <= 0:
                            continue
                        excess = proceeds - value
                        branch = dict(st)
                        if value > 0:
                            branch["variable"] = st["variable"] + excess * st["variable"] / value
                            branch["money_market"] = (
                                st["money_market"]
                                + excess * (st["money_market"] + st["fixed"]) / value
                            )
                        else:
                            branch["money_market"] = st["money_market"] + excess
                        # the continued contract keeps its death benefit guarantee
                        branch.update(
                            continuation_used=True,
                            spousal_protection=False,
                            free_until=t + 1 + m,
                            spouse=None,
                            annuitant=None,
                        )
                        if kind == "continue_for_spouse":
                            branch.update(owner="spouse", owner_age=row["spouse_age"])
                        self.segment(branch, {(False, False): carry}, t, True, main=False)
            # 9. first, when a payment made on the anniversary is part of the Benefit Base
            # "as of" it that the Rider Fee is on [003 III]: everything of the anniversary
            # (fees, true-up, step-up, withdrawal) comes after it
            paid_first = (
                rider.payment_on_anniversary == "before_fee"
                and t + 1 == pay_step
                and t + 1 == st["next_anniversary"]
            )
            if paid_first:
                credit_payment(step)
            # 8. contract anniversary, for the contracts in force and the claims pending
            alive = sum(weights.values())
            trade_now = False
            with_rider = alive + sum(c[3] for c in claims)
            if t + 1 == st["next_anniversary"]:
                st["next_anniversary"] += m
                maintenance = min(product.maintenance_fee, cv())
                take_pro_rata(maintenance, ("variable", "money_market", "fixed"))
                step["maintenance_fee"] = maintenance
                base = rider_fee_base()
                due_fee = st["fee"] * base
                fee = min(due_fee, st["variable"] + st["money_market"])
                take_pro_rata(fee, ("variable", "money_market"))
                if rider.fee_shortfall == "fixed_account" and due_fee > fee:
                    from_fixed = min(due_fee - fee, st["fixed"])
                    st["fixed"] -= from_fixed
                    fee += from_fixed
                step["rider_fee"] = fee
                pv["pv_fees"] += with_rider * disc * fee
                pv["pv_fee_base"] += with_rider * disc * base
                if t + 1 == st["maturity"]:
                    true_up = max(st["ab_factor"] * st["benefit_base"] - cv(), 0.0)
                    st["money_market"] += true_up
                    step["true_up"] = true_up
                    pv["pv_claims"] += with_rider * disc * true_up
                    pv["inforce_at_maturity"] += with_rider
                    guarantee = (
                        st["death_benefit_base"]
                        if product.death_benefit != "contract_value"
                        else 0.0
                    )
                    # every claim still pending: paid out or continued with a step-up, the
                    # excess over the trued-up CV is a death benefit cost
                    for _, _, within, amount, _ in claims:
                        if within and guarantee > cv():
                            pv["pv_db_excess"] += amount * disc * (guarantee - cv())
                else:
                    st["contract_year"] += 1
                    st["withdrawn_this_year"] = 0.0
                    if product.death_benefit == "max_anniversary_value":
                        st["death_benefit_base"] = max(st["death_benefit_base"], cv())
                    wd = cfg.withdrawals
                    share = 0.0
                    if wd.enabled and wd.rate > 0 and wd.utilisation > 0 and cv() > 0 and alive > 0:
                        if self.simulated:
                            u = uniform(
                                cfg.run.seed, row["contract_id"], s, t * 16 + KINDS["withdraw"]
                            )
                            share = wd.rate if u < wd.utilisation else 0.0
                        else:
                            share = (
                                wd.utilisation * wd.rate
                            )  # the expected withdrawal of the model point
                    if share > 0:
                        value = cv()
                        requested = wd.rate * value
                        withdrawing = share / wd.rate  # share of the contracts that withdraw
                        excess = requested - product.free_withdrawal * st["premiums"]
                        if excess > 0:
                            charge, old, new_ = withdrawal_charge(excess, t)
                            if t + 1 > st["free_until"]:  # free within a year of a continuation
                                pv["pv_withdrawal_charges"] += alive * disc * withdrawing * charge
                            # the payments are used up either way
                            st["old_payments_left"] -= withdrawing * old
                            st["new_payment_left"] -= withdrawing * new_
                        amount = share * value
                        lag = cfg.timing.withdrawal_days / 365.25
                        fixed_factor = (
                            1.0
                            if lag > cfg.timing.fixed_interest_after_days / 365.25
                            else math.exp(-r_t * lag)
                        )
                        fixed_share = st["fixed"] / value
                        pv["pv_withdrawals"] += (
                            alive
                            * disc
                            * amount
                            * (
                                (1 - fixed_share) * math.exp(-r_t * lag)
                                + fixed_share * fixed_factor
                            )
                        )
                        st["benefit_base"] = max(
                            st["benefit_base"] - amount / value * st["benefit_base"], 0.0
                        )
                        if product.death_benefit != "contract_value":
                            st["death_benefit_base"] -= amount / value * st["death_benefit_base"]
                        take_pro_rata(amount, ("variable", "money_market", "fixed"))
                        step["withdrawal"] = amount
                        st["withdrawn_this_year"] = amount
                    trade_now = True
            # 9. a scheduled purchase payment (after the anniversary's events otherwise)
            if t + 1 == pay_step and not paid_first:
                credit_payment(step)
            # 10. trade-in to a New Rider, decided on anniversaries from the 10th
            ti = beh.trade_in
            if (
                trade_now
                and not st["trade_in_used"]
                and st["window"] >= 0
                and t + 1 >= st["window"]
                and alive > 0
                and (ti.rate > 0 or ti.rate_above > 0)
            ):
                ratio = cv() / st["benefit_base"] if st["benefit_base"] > 0 else math.inf
                rate = ti.rate_above if ratio >= ti.threshold else ti.rate
                traded = {}
                for key, w in weights.items():
                    traded[key] = self.share(w, rate, t, "trade")
                    weights[key] = w - traded[key]
                if sum(traded.values()) > 0:
                    factor = ti.ab_factor
                    if factor is None:
                        factor = self._ab_table().lookup(ti.guarantee_option, ti.rider_period)
                    branch = dict(st)
                    branch.update(
                        benefit_base=cv(),
                        ab_factor=factor,
                        fee=self.trade_fee,
                        maturity=t + 1 + ti.rider_period * m,
                        next_anniversary=t + 1 + m,
                        window=t + 1 + 10 * m if ti.rider_period > 10 else -1,
                        trade_in_used=True,
                        free_until=-1,
                    )
                    self._pending_trades.append((branch, traded, t + 1))
            while self._pending_trades:
                branch, traded, start = self._pending_trades.pop()
                self.segment(branch, traded, start, False, main=False)
            if main:
                step.update(
                    weight=sum(weights.values()),
                    variable=st["variable"],
                    money_market=st["money_market"],
                    fixed=st["fixed"],
                    benefit_base=st["benefit_base"],
                    death_benefit_base=st["death_benefit_base"],
                    cv_end=cv(),
                )
                self.trace.append(step)

    _pending_trades: list = []

    def _ab_table(self):
        from sim.product.rider import AccumulationBenefitRider

        return AccumulationBenefitRider.from_config(self.config).ab_factors


def project_contract(
    row: dict,
    config: Config,
    scenarios: Scenarios,
    s: int,
    mortality=None,
    fee_rate: float | None = None,
) -> dict:
    """Project one contract (a row of ``validate_inforce``'s output) along scenario ``s``.

    Returns
    -------
    dict
        The kernel's MEASURES, and ``trace``: a list with one dict per step of the main
        segment (the contract on its original terms).
    """
    path = ContractPath(row, config, scenarios, s, mortality, fee_rate)
    path._pending_trades = []
    return path.run()
