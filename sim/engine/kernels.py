"""Numba kernels: project each (contract, scenario) path and write its present values.

Kernels see flat arrays and scalars only. The order of events within a step is the one
of ``docs/methodology.md`` section 2 and of ``tests/reference.py``:

1. market growth of the variable portfolio, the Money Market bucket and the fixed account;
2. proportional charges on the variable sub-accounts (M&E/admin, spousal protection);
3. deaths in the step (death benefit excess over CV paid at the step end);
4. surrenders in the step (dynamic in AB / CV; a termination Rider Fee is collected);
5. on a contract anniversary, for the survivors: maintenance fee, Rider Fee on the BB,
   maturity true-up (rider ends), MAV step-up, partial withdrawal with the pro-rata BB
   adjustment;
6. a scheduled purchase payment (added to the BB up to the first anniversary after the
   Rider Date).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit, prange

__all__ = [
    "MEASURES",
    "TRACE_FIELDS",
    "project_block",
    "accumulate_scenario_totals",
    "N_PARAMS",
]

#: Per-path outputs, in the order of the kernel's ``out`` axis 0.
MEASURES = (
    "pv_claims",  # maturity true-ups
    "pv_fees",  # anniversary Rider Fees + termination Rider Fees
    "pv_db_excess",  # death benefit in excess of CV
    "pv_spousal_charge",  # Spousal Protection rider charge
    "pv_fee_base",  # PV of the fee basis (BB) at each fee date: the fee's annuity
    "pv_withdrawal_charges",  # charges on partial withdrawals and surrenders
    "persistency_at_maturity",  # in-force weight reaching the Rider Maturity Date
)
N_MEASURES = len(MEASURES)

#: Per-step trace fields (kernel ``trace`` axis 3), recorded at each step end.
TRACE_FIELDS = (
    "weight", "variable", "money_market", "fixed", "benefit_base", "death_benefit_base",
    "cv_start", "growth", "charges", "maintenance_fee", "rider_fee", "withdrawal",
    "payment", "true_up", "cv_end",
)
N_TRACE = len(TRACE_FIELDS)

# indices into the float parameter vector
P_DT = 0
P_ME = 1
P_MAINT = 2
P_FREE = 3
P_FIXED_GROWTH = 4
P_WD_RATE = 5
P_WD_UTIL = 6
P_DYN_FLOOR = 7
P_DYN_CAP = 8
P_DYN_SLOPE = 9
P_DYN_SHIFT = 10
P_DB_CODE = 11
P_FEE_BASIS = 12
P_TERM_FEE = 13
P_LAPSE_ON = 14
P_DYN_ON = 15
P_STEPS_PER_YEAR = 16
P_FEE_SHORTFALL = 17
N_PARAMS = 18


@jit
def _charge_rate(withdrawal_charges, year):
    """Withdrawal charge rate in the given year since a purchase payment (1-based)."""
    if 1 <= year <= withdrawal_charges.shape[0]:
        return withdrawal_charges[year - 1]
    return 0.0


@jit
def _layered_charge(amount, first_left, first_year, second_left, second_year, withdrawal_charges):
    """Withdrawal charge on ``amount`` (the excess over the free amount) taken from the
    purchase payments oldest first, each at the rate of its own age; what exceeds the
    payments (earnings) is free. Returns (charge, from_first, from_second)."""
    from_first = amount if amount < first_left else first_left
    if from_first < 0.0:
        from_first = 0.0
    rest = amount - from_first
    from_second = rest if rest < second_left else second_left
    if from_second < 0.0:
        from_second = 0.0
    charge = (from_first * _charge_rate(withdrawal_charges, first_year)
              + from_second * _charge_rate(withdrawal_charges, second_year))
    return charge, from_first, from_second


@jit
def _path(c, s, alloc, variable0, fixed0, benefit_base0, db_base0, premiums0, ab_factor,
          fee_rate, spousal_charge, contract_year0, steps_to_anniversary, maturity_step,
          payment_amount, payment_step, payment_in_bb, death_step_rate,
          portfolio_growth, money_market_growth, discount, params, withdrawal_charges,
          lapse_base, trace):
    """Project one contract along one scenario; returns the tuple of MEASURES."""
    dt = params[P_DT]
    m = int(params[P_STEPS_PER_YEAR])
    me_keep = math.exp(-params[P_ME] * dt)
    sp_keep = math.exp(-spousal_charge[c] * dt)
    fixed_growth = params[P_FIXED_GROWTH]
    db_code = int(params[P_DB_CODE])
    fee_on_cv = params[P_FEE_BASIS] > 0.5
    term_fee = params[P_TERM_FEE] > 0.5
    lapse_on = params[P_LAPSE_ON] > 0.5
    dyn_on = params[P_DYN_ON] > 0.5
    shortfall_from_fixed = params[P_FEE_SHORTFALL] > 0.5
    wd_rate = params[P_WD_RATE]
    wd_util = params[P_WD_UTIL]
    n_lapse = lapse_base.shape[0]
    do_trace = trace.shape[0] > 0

    a = alloc[c]
    var = variable0[c]
    mm = 0.0
    fix = fixed0[c]
    bb = benefit_base0[c]
    dbb = db_base0[c]
    prem = premiums0[c]
    abf = ab_factor[c]
    fee = fee_rate[c]
    cy = contract_year0[c]
    next_anniv = steps_to_anniversary[c]
    t_mat = maturity_step[c]
    pay_step = payment_step[c]
    w = 1.0
    withdrawn_this_year = 0.0
    # purchase payments still subject to withdrawal charges: those to date (aged by the
    # contract year) and the scheduled payment (aged from its own date)
    first_left = premiums0[c]
    second_left = 0.0

    pv_claims = 0.0
    pv_fees = 0.0
    pv_db = 0.0
    pv_sp = 0.0
    pv_base = 0.0
    pv_wc = 0.0
    persist = 0.0

    for t in range(t_mat):
        cv_start = var + mm + fix
        # 1. growth
        g_var = var * portfolio_growth[a, s, t]
        g_mm = mm * money_market_growth[s, t]
        g_fix = fix * fixed_growth
        growth = (g_var - var) + (g_mm - mm) + (g_fix - fix)
        var = g_var
        mm = g_mm
        fix = g_fix
        # 2. proportional charges on the variable sub-accounts
        v_before = var + mm
        var *= me_keep
        mm *= me_keep
        sp_amount = (var + mm) * (1.0 - sp_keep)
        var *= sp_keep
        mm *= sp_keep
        charges = v_before - (var + mm)
        disc = discount[s, t + 1]
        pv_sp += w * disc * sp_amount
        cv = var + mm + fix
        # 3. deaths in the step
        q_death = death_step_rate[c, t // m]
        deaths = w * q_death
        if db_code > 0 and dbb > cv:
            pv_db += deaths * disc * (dbb - cv)
        # 4. surrenders in the step
        lapses = 0.0
        if lapse_on:
            idx = cy - 1
            if idx >= n_lapse:
                idx = n_lapse - 1
            annual = lapse_base[idx]
            if dyn_on:
                itm = abf * bb / cv if cv > 0.0 else 1e300
                mult = 1.0 - params[P_DYN_SLOPE] * (itm - params[P_DYN_SHIFT])
                if mult > params[P_DYN_CAP]:
                    mult = params[P_DYN_CAP]
                if mult < params[P_DYN_FLOOR]:
                    mult = params[P_DYN_FLOOR]
                annual *= mult
            if annual > 1.0:
                annual = 1.0
            q_lapse = 1.0 - (1.0 - annual) ** dt
            lapses = w * (1.0 - q_death) * q_lapse
            if lapses > 0.0:
                if term_fee:
                    base = cv if fee_on_cv else bb
                    tf = fee * base
                    if tf > cv:
                        tf = cv
                    pv_fees += lapses * disc * tf
                    pv_base += lapses * disc * base
                free = params[P_FREE] * prem - withdrawn_this_year
                if free < 0.0:
                    free = 0.0
                if cv > free:
                    second_year = (t + 1 - pay_step) // m + 1
                    sc = _layered_charge(cv - free, first_left, cy, second_left, second_year,
                                         withdrawal_charges)[0]
                    pv_wc += lapses * disc * sc
        w = w - deaths - lapses
        maint = 0.0
        rider_fee = 0.0
        withdrawal = 0.0
        payment = 0.0
        true_up = 0.0
        # 5. contract anniversary
        if t + 1 == next_anniv:
            next_anniv += m
            maint = params[P_MAINT]
            if maint > cv:
                maint = cv
            if maint > 0.0:
                keep = 1.0 - maint / cv
                var *= keep
                mm *= keep
                fix *= keep
                cv = var + mm + fix
            base = cv if fee_on_cv else bb
            rider_fee = fee * base
            vsub = var + mm
            from_fixed = 0.0
            if rider_fee > vsub:
                if shortfall_from_fixed:
                    from_fixed = rider_fee - vsub
                    if from_fixed > fix:
                        from_fixed = fix
                rider_fee = vsub + from_fixed
            if vsub > 0.0:
                keep = 1.0 - (rider_fee - from_fixed) / vsub
                var *= keep
                mm *= keep
            fix -= from_fixed
            cv = var + mm + fix
            pv_fees += w * disc * rider_fee
            pv_base += w * disc * base
            if t + 1 == t_mat:
                ab = abf * bb
                if ab > cv:
                    true_up = ab - cv
                    mm += true_up
                    pv_claims += w * disc * true_up
                persist = w
            else:
                cy += 1
                withdrawn_this_year = 0.0
                if db_code == 2 and cv > dbb:
                    dbb = cv
                if wd_rate > 0.0 and wd_util > 0.0 and cv > 0.0:
                    wanted = wd_rate * cv
                    withdrawal = wd_util * wanted
                    excess = wanted - params[P_FREE] * prem
                    if excess > 0.0:
                        second_year = (t + 1 - pay_step) // m + 1
                        charge, from_first, from_second = _layered_charge(
                            excess, first_left, cy, second_left, second_year, withdrawal_charges)
                        pv_wc += w * disc * wd_util * charge
                        first_left -= wd_util * from_first
                        second_left -= wd_util * from_second
                    keep = 1.0 - withdrawal / cv
                    bb *= keep
                    if bb < 0.0:
                        bb = 0.0
                    if db_code > 0:
                        dbb *= keep
                    var *= keep
                    mm *= keep
                    fix *= keep
                    withdrawn_this_year = withdrawal
        # 6. scheduled purchase payment
        if t + 1 == pay_step:
            payment = payment_amount[c]
            var += payment
            prem += payment
            second_left += payment
            if payment_in_bb[c]:
                bb += payment
            if db_code > 0:
                dbb += payment
        if do_trace:
            trace[c, s, t, 0] = w
            trace[c, s, t, 1] = var
            trace[c, s, t, 2] = mm
            trace[c, s, t, 3] = fix
            trace[c, s, t, 4] = bb
            trace[c, s, t, 5] = dbb
            trace[c, s, t, 6] = cv_start
            trace[c, s, t, 7] = growth
            trace[c, s, t, 8] = charges
            trace[c, s, t, 9] = maint
            trace[c, s, t, 10] = rider_fee
            trace[c, s, t, 11] = withdrawal
            trace[c, s, t, 12] = payment
            trace[c, s, t, 13] = true_up
            trace[c, s, t, 14] = var + mm + fix
    return pv_claims, pv_fees, pv_db, pv_sp, pv_base, pv_wc, persist


@jit(parallel=True)
def project_block(alloc, variable0, fixed0, benefit_base0, db_base0, premiums0, ab_factor,
                  fee_rate, spousal_charge, contract_year0, steps_to_anniversary, maturity_step,
                  payment_amount, payment_step, payment_in_bb, death_step_rate,
                  portfolio_growth, money_market_growth, discount, params, withdrawal_charges,
                  lapse_base, out, trace):
    """Project a chunk of contracts along every scenario.

    Parameters
    ----------
    alloc : ndarray(int64, (n_c,))
        Row of ``portfolio_growth`` each contract invests in.
    variable0, fixed0, benefit_base0, db_base0, premiums0, ab_factor, fee_rate,
    spousal_charge : ndarray(float64, (n_c,))
        Starting state and per-contract terms.
    contract_year0, steps_to_anniversary, maturity_step, payment_step : ndarray(int64, (n_c,))
        Current contract year; step of the next anniversary; step of the Rider Maturity
        Date; step of a scheduled payment (0 = none).
    payment_amount : ndarray(float64, (n_c,))
    payment_in_bb : ndarray(bool, (n_c,))
    death_step_rate : ndarray(float64, (n_c, n_years))
        Probability of death within one step, by projection year.
    portfolio_growth : ndarray(float64, (n_alloc, n_scen, n_steps))
        Growth of each rebalanced allocation over each step, net of fund fees.
    money_market_growth : ndarray(float64, (n_scen, n_steps))
        Growth of the Money Market sub-account, net of its fund fee.
    discount : ndarray(float64, (n_scen, n_steps + 1))
    params : ndarray(float64, (N_PARAMS,))
    withdrawal_charges, lapse_base : ndarray(float64, (k,))
        By contract year 1, 2, ...
    out : ndarray(float64, (N_MEASURES, n_c, n_scen))
        Written: the present values of every path.
    trace : ndarray(float64, (n_c, n_scen, n_steps, N_TRACE)) or shape (0, 0, 0, 0)
        Written when not empty: the state at every step end.
    """
    n_c = alloc.shape[0]
    n_s = discount.shape[0]
    for c in prange(n_c):
        for s in range(n_s):
            r = _path(c, s, alloc, variable0, fixed0, benefit_base0, db_base0, premiums0,
                      ab_factor, fee_rate, spousal_charge, contract_year0,
                      steps_to_anniversary, maturity_step, payment_amount, payment_step,
                      payment_in_bb, death_step_rate, portfolio_growth, money_market_growth,
                      discount, params, withdrawal_charges, lapse_base, trace)
            out[0, c, s] = r[0]
            out[1, c, s] = r[1]
            out[2, c, s] = r[2]
            out[3, c, s] = r[3]
            out[4, c, s] = r[4]
            out[5, c, s] = r[5]
            out[6, c, s] = r[6]


@jit(parallel=True)
def accumulate_scenario_totals(out, totals):
    """Add a chunk's paths to the block totals, contract by contract in order.

    The additions per scenario happen in contract order whatever the chunk size or thread
    count, so block totals are identical bit for bit across runs.

    Parameters
    ----------
    out : ndarray(float64, (n_measures, n_c, n_scen))
    totals : ndarray(float64, (n_measures, n_scen))
        Updated in place.
    """
    n_k, n_c, n_s = out.shape
    for s in prange(n_s):
        for k in range(n_k):
            acc = totals[k, s]
            for c in range(n_c):
                acc += out[k, c, s]
            totals[k, s] = acc


def empty_trace() -> np.ndarray:
    """The placeholder passed as ``trace`` when no trace is wanted."""
    return np.zeros((0, 0, 0, 0))
