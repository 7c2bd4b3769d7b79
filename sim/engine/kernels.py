"""Numba kernels: project each (contract, scenario) path and write its present values.

Kernels see flat arrays and scalars only. A path is projected as one or more
**segments**. The main segment starts at the valuation date; an event that changes the
contract's state for part of the in-force weight (a spousal continuation with its
stepped-up Contract Value, a rider trade-in with its new Benefit Base) starts a new
segment from that step with that weight, so expected decrements never average such
states away. Segments wait on a small stack and are projected one after the other.

Order of events within a step (docs/methodology.md section 3, tests/reference.py):

1. fixed account renewal when its guarantee period ends; market growth of the variable
   portfolio, the Money Market bucket and the fixed account;
2. proportional charges on the variable sub-accounts (M&E/admin, spousal protection);
3. deaths in the step: the owner, then the spouse, then a separate annuitant; each death
   files a claim that arrives after the claim delay;
4. surrenders, 5. rider cancellations (from the 10th rider anniversary), 6. annuitizations;
7. claims arriving now are settled: death proceeds paid (Death Benefit within 180 days,
   else the Contract Value), or the contract continues for the spouse (Option D) with the
   Contract Value reset to the death proceeds: a new segment when that is a step-up, the
   segment's own pool of continued contracts (class 4) when it is not;
8. on a contract anniversary, for the contracts in force (and claims still pending):
   maintenance fee, Rider Fee on the BB, maturity true-up (the segment ends), MAV
   step-up, partial withdrawal with the pro-rata BB adjustment;
9. a scheduled purchase payment (added to the BB up to the first anniversary after the
   Rider Date);
10. on anniversaries from the 10th rider anniversary, trade-in to a New Rider (a new
    segment).

With ``simulated`` decrements every probability above becomes a draw from a counter-based
hash of (seed, contract_id, scenario, step, kind), so a path holds weight 1 in one state.
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
    "uniform_hash",
    "N_PARAMS",
]

#: Per-path outputs, in the order of the kernel's ``out`` axis 0.
MEASURES = (
    "pv_claims",  # maturity true-ups
    "pv_fees",  # anniversary Rider Fees + termination Rider Fees
    "pv_db_excess",  # death proceeds in excess of CV
    "pv_spousal_charge",  # Spousal Protection rider charge
    "pv_fee_base",  # PV of the fee basis (BB) at each fee date: the fee's annuity
    "pv_withdrawal_charges",  # charges on partial withdrawals and surrenders
    "persistency_at_maturity",  # weight reaching the Rider Maturity Date (any segment)
    "pv_surrender_payments",  # Settlement Values paid on surrender (with settlement lag)
    "pv_withdrawals",  # partial withdrawals paid (with settlement lag)
    "continuation_weight",  # weight continued by a spouse (Option D)
)
N_MEASURES = len(MEASURES)
M_CLAIMS, M_FEES, M_DB, M_SP, M_BASE, M_WC, M_PERSIST, M_SURR, M_WD, M_CONT = range(N_MEASURES)

#: Per-step trace fields of the main segment (kernel ``trace`` axis 3), at each step end.
TRACE_FIELDS = (
    "weight",
    "variable",
    "money_market",
    "fixed",
    "benefit_base",
    "death_benefit_base",
    "cv_start",
    "growth",
    "charges",
    "maintenance_fee",
    "rider_fee",
    "withdrawal",
    "payment",
    "true_up",
    "cv_end",
)
N_TRACE = len(TRACE_FIELDS)

# ---- per-contract float inputs: contract_f[c, CF_*]
(
    CF_VAR,
    CF_FIX,
    CF_BB,
    CF_DBB,
    CF_PREM,
    CF_ABF,
    CF_FEE,
    CF_SP_CHARGE,
    CF_PAY,
    CF_FIXED_RATE,
    CF_OWNER_AGE,
    CF_SPOUSE_AGE,
) = range(12)
N_CF = 12
# ---- per-contract integer inputs: contract_i[c, CI_*]
(
    CI_ID,
    CI_ALLOC,
    CI_CY,
    CI_ANNIV,
    CI_MAT,
    CI_PAY_STEP,
    CI_PAY_IN_BB,
    CI_HAS_SPOUSE,
    CI_HAS_ANNUITANT,
    CI_OWNER_NATURAL,
    CI_CONT_ELIGIBLE,
    CI_WINDOW,
    CI_RENEWAL,
    CI_FIXED_PERIOD,
    CI_SP,
) = range(15)
N_CI = 15
# ---- lives: q_lives[c, LIFE_*, year] = probability of death within one step
LIFE_OWNER, LIFE_SPOUSE, LIFE_ANNUITANT = 0, 1, 2

# ---- the float parameter vector
(
    P_DT,
    P_ME,
    P_MAINT,
    P_FREE,
    P_WD_RATE,
    P_WD_UTIL,
    P_DYN_FLOOR,
    P_DYN_CAP,
    P_DYN_SLOPE,
    P_DYN_SHIFT,
    P_DB_CODE,
    P_FEE_BASIS,
    P_LAPSE_ON,
    P_DYN_ON,
    P_STEPS_PER_YEAR,
    P_FEE_SHORTFALL,
    P_TF_SURRENDER,
    P_TF_CANCEL,
    P_TF_DEATH,
    P_TF_ANNUITIZATION,
    P_E_CONT,
    P_X_CANCEL_CONT,
    P_E_ANN_CONT,
    P_CANCEL_RATE,
    P_CANCEL_THRESHOLD,
    P_CANCEL_RATE_ABOVE,
    P_TRADE_RATE,
    P_TRADE_THRESHOLD,
    P_TRADE_RATE_ABOVE,
    P_TRADE_PERIOD,
    P_TRADE_ABF,
    P_TRADE_FEE,
    P_ANNUIT_RATE,
    P_ANNUIT_FROM_AGE,
    P_RENEW_SPREAD,
    P_RENEW_MIN,
    P_LAG_DEATH,
    P_LAG_SURRENDER,
    P_LAG_WITHDRAWAL,
    P_FIXED_INTEREST_AFTER,
    P_SIMULATED,
    P_SEED,
    P_CONT_GRID,
) = range(43)
N_PARAMS = 43

# ---- a segment's starting state: stack[k, S_*]
(
    S_START,
    S_PHASE,
    S_VAR,
    S_MM,
    S_FIX,
    S_BB,
    S_DBB,
    S_PREM,
    S_FIRST_LEFT,
    S_SECOND_LEFT,
    S_WITHDRAWN,
    S_CY,
    S_ABF,
    S_FEE,
    S_MAT,
    S_NEXT_ANNIV,
    S_WINDOW,
    S_CONT_USED,
    S_TRADE_USED,
    S_SP_ACTIVE,
    S_FREE_UNTIL,
    S_FIXED_RATE,
    S_RENEWAL,
    S_OWNER_LIFE,
    S_SPOUSE_LIFE,
    S_ANN_LIFE,
    S_W0,
    S_W1,
    S_W2,
    S_W3,
    S_OWNER_AGE,
    S_MAIN,
    S_W4,
) = range(33)
N_S = 33

# ---- draw kinds for simulated decrements (draw id = step * 16 + kind)
(
    D_OWNER,
    D_SPOUSE,
    D_ANNUITANT,
    D_LAPSE,
    D_CANCEL,
    D_ANNUITIZE,
    D_ELECT,
    D_DELAY,
    D_WITHDRAW,
    D_TRADE,
    D_CANCEL_CONT,
) = range(11)

# claim kinds
K_TERMINATE, K_CONT_OWNER, K_CONT_COANNUITANT = 0, 1, 2

_MASK64 = 0xFFFFFFFFFFFFFFFF


@jit
def _mix64(z):
    """SplitMix64 finaliser on a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def uniform_hash(seed, contract_id, scenario, draw):
    """A uniform number in [0, 1) from the counter (seed, contract_id, scenario, draw).

    Counter-based: the same inputs give the same number whatever thread, chunk or
    machine computes it.
    """
    golden = np.uint64(0x9E3779B97F4A7C15)
    h = _mix64(np.uint64(seed) + golden)
    h = _mix64(h ^ (np.uint64(contract_id) + golden))
    h = _mix64(h ^ (np.uint64(scenario) + golden))
    h = _mix64(h ^ (np.uint64(draw) + golden))
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


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
    charge = from_first * _charge_rate(withdrawal_charges, first_year) + from_second * _charge_rate(
        withdrawal_charges, second_year
    )
    return charge, from_first, from_second


@jit
def _step_prob(annual, dt):
    """Probability within one step of an annual rate (constant force within the year)."""
    if annual >= 1.0:
        return 1.0
    if annual <= 0.0:
        return 0.0
    return 1.0 - (1.0 - annual) ** dt


@jit
def _event(weight, prob, simulated, seed, cid, s, t, kind):
    """The weight that undergoes an event of probability ``prob``: a share in expected
    mode, all or nothing (a counter-based draw) in simulated mode."""
    if weight <= 0.0 or prob <= 0.0:
        return 0.0
    if simulated:
        return weight if uniform_hash(seed, cid, s, t * 16 + kind) < prob else 0.0
    return weight * prob


@jit
def _file_claim(
    pend, kind, amount, t, delay_steps, delay_prob, simulated, seed, cid, s, grid, t_mat
):
    """A death at step t files a claim that arrives ``delay`` steps later; continuation
    claims are settled on the next step of a grid of ``grid`` steps (1 = when they arrive),
    but never later, for the grid's sake, than the Rider Maturity Date's step."""
    if amount <= 0.0:
        return
    ring = pend.shape[2]
    n_k = delay_steps.shape[0]
    g = grid if kind != K_TERMINATE else 1
    if simulated:
        u = uniform_hash(seed, cid, s, t * 16 + D_DELAY)
        acc = 0.0
        k_pick = n_k - 1
        for k in range(n_k):
            acc += delay_prob[k]
            if u < acc:
                k_pick = k
                break
        arrival = t + delay_steps[k_pick]
        settle = ((arrival + g) // g) * g - 1
        if settle > t_mat - 1:
            settle = arrival if arrival > t_mat - 1 else t_mat - 1
        pend[kind, k_pick, settle % ring] += amount
    else:
        for k in range(n_k):
            arrival = t + delay_steps[k]
            settle = ((arrival + g) // g) * g - 1
            if settle > t_mat - 1:
                settle = arrival if arrival > t_mat - 1 else t_mat - 1
            pend[kind, k, settle % ring] += amount * delay_prob[k]


@jit
def _push_segment(
    stack,
    n_stack,
    start,
    phase,
    var,
    mm,
    fix,
    bb,
    dbb,
    prem,
    first_left,
    second_left,
    withdrawn,
    cy,
    abf,
    fee,
    t_mat,
    next_anniv,
    window,
    cont_used,
    trade_used,
    sp_active,
    free_until,
    fixed_rate,
    renewal,
    owner_life,
    spouse_life,
    ann_life,
    owner_age,
    w0,
    w1,
    w2,
    w3,
    w4,
):
    """Write a new segment's starting state on top of ``stack``; returns the new size."""
    b = stack[n_stack]
    b[S_START] = start
    b[S_PHASE] = phase
    b[S_VAR] = var
    b[S_MM] = mm
    b[S_FIX] = fix
    b[S_BB] = bb
    b[S_DBB] = dbb
    b[S_PREM] = prem
    b[S_FIRST_LEFT] = first_left
    b[S_SECOND_LEFT] = second_left
    b[S_WITHDRAWN] = withdrawn
    b[S_CY] = cy
    b[S_ABF] = abf
    b[S_FEE] = fee
    b[S_MAT] = t_mat
    b[S_NEXT_ANNIV] = next_anniv
    b[S_WINDOW] = window
    b[S_CONT_USED] = 1.0 if cont_used else 0.0
    b[S_TRADE_USED] = 1.0 if trade_used else 0.0
    b[S_SP_ACTIVE] = 1.0 if sp_active else 0.0
    b[S_FREE_UNTIL] = free_until
    b[S_FIXED_RATE] = fixed_rate
    b[S_RENEWAL] = renewal
    b[S_OWNER_LIFE] = owner_life
    b[S_SPOUSE_LIFE] = spouse_life
    b[S_ANN_LIFE] = ann_life
    b[S_OWNER_AGE] = owner_age
    b[S_W0] = w0
    b[S_W1] = w1
    b[S_W2] = w2
    b[S_W3] = w3
    b[S_W4] = w4
    b[S_MAIN] = 0.0
    return n_stack + 1


@jit
def _segment(
    c,
    s,
    st,
    stack,
    n_stack,
    acc,
    pend,
    work,
    ring_new,
    contract_f,
    contract_i,
    q_lives,
    portfolio_growth,
    money_market_growth,
    short_rate,
    discount,
    params,
    withdrawal_charges,
    lapse_base,
    delay_steps,
    delay_prob,
    delay_within,
    trace,
):
    """Project one segment from its starting state ``st`` (ndarray (N_S,)) to its Rider
    Maturity Date, adding present values to ``acc`` and new segments to ``stack``.
    ``pend`` (claims waiting, by kind, delay entry and arrival slot), ``work`` (class
    weights) and ``ring_new`` (weight continued for a spouse in each of the last
    ``steps_per_year + 1`` steps: still inside its free-withdrawal year) are scratch arrays.

    Weight classes: ``w[2 * spouse_alive + annuitant_alive]`` for the lives of the segment,
    and ``w[4]``: contracts continued by the spouse (Option D) with no step-up, which share
    the segment's account values exactly (same state, the spouse's mortality, no further
    continuation). Continuations with a step-up start new segments instead.
    Returns the new stack size."""
    dt = params[P_DT]
    m = int(params[P_STEPS_PER_YEAR])
    simulated = params[P_SIMULATED] > 0.5
    seed = int(params[P_SEED])
    cid = contract_i[c, CI_ID]
    me_keep = math.exp(-params[P_ME] * dt)
    sp_rate = contract_f[c, CF_SP_CHARGE]
    db_code = int(params[P_DB_CODE])
    fee_on_cv = params[P_FEE_BASIS] > 0.5
    lapse_on = params[P_LAPSE_ON] > 0.5
    dyn_on = params[P_DYN_ON] > 0.5
    shortfall_from_fixed = params[P_FEE_SHORTFALL] > 0.5
    grid = int(params[P_CONT_GRID])
    lag_surrender = params[P_LAG_SURRENDER]
    lag_death = params[P_LAG_DEATH]
    n_lapse = lapse_base.shape[0]
    n_wc = withdrawal_charges.shape[0]
    n_years = q_lives.shape[2]
    n_k = delay_steps.shape[0]
    ring = pend.shape[2]
    do_trace = trace.shape[0] > 0 and st[S_MAIN] > 0.5
    a = contract_i[c, CI_ALLOC]
    pay_step = contract_i[c, CI_PAY_STEP]
    pay_in_bb = contract_i[c, CI_PAY_IN_BB] > 0
    owner_natural = contract_i[c, CI_OWNER_NATURAL] > 0
    cont_eligible = contract_i[c, CI_CONT_ELIGIBLE] > 0
    fixed_period = contract_i[c, CI_FIXED_PERIOD]

    t0 = int(st[S_START])
    skip_first = st[S_PHASE] > 0.5
    var = st[S_VAR]
    mm = st[S_MM]
    fix = st[S_FIX]
    bb = st[S_BB]
    dbb = st[S_DBB]
    prem = st[S_PREM]
    first_left = st[S_FIRST_LEFT]
    second_left = st[S_SECOND_LEFT]
    withdrawn_this_year = st[S_WITHDRAWN]
    cy = int(st[S_CY])
    abf = st[S_ABF]
    fee = st[S_FEE]
    t_mat = int(st[S_MAT])
    next_anniv = int(st[S_NEXT_ANNIV])
    window = int(st[S_WINDOW])
    cont_used = st[S_CONT_USED] > 0.5
    trade_used = st[S_TRADE_USED] > 0.5
    sp_active = st[S_SP_ACTIVE] > 0.5
    free_until = int(st[S_FREE_UNTIL])
    fixed_rate = st[S_FIXED_RATE]
    renewal = int(st[S_RENEWAL])
    owner_life = int(st[S_OWNER_LIFE])
    spouse_life = int(st[S_SPOUSE_LIFE])
    ann_life = int(st[S_ANN_LIFE])
    owner_age0 = st[S_OWNER_AGE]
    w = work[0:5]
    moved = work[5:10]  # weight that changes class lives through the step once
    traded = work[10:15]
    w[0] = st[S_W0]
    w[1] = st[S_W1]
    w[2] = st[S_W2]
    w[3] = st[S_W3]
    w[4] = st[S_W4]
    ring_new[:] = 0.0
    n_ring = ring_new.shape[0]
    pool_age0 = contract_f[c, CF_SPOUSE_AGE]
    pend[:, :, :] = 0.0
    pending = 0.0
    fixed_growth = (1.0 + fixed_rate) ** dt
    # rates that are constant over the segment, computed once
    sp_keep = math.exp(-sp_rate * dt)
    q_cancel_below = _step_prob(params[P_CANCEL_RATE], dt)
    q_cancel_above = _step_prob(params[P_CANCEL_RATE_ABOVE], dt)
    cancel_on = params[P_CANCEL_RATE] > 0.0 or params[P_CANCEL_RATE_ABOVE] > 0.0
    q_annuit_rate = _step_prob(params[P_ANNUIT_RATE], dt)
    last_annual = -1.0  # the lapse rate's step probability is recomputed only when it moves
    last_q_lapse = 0.0

    for t in range(t0, t_mat):
        disc = discount[s, t + 1]
        r_t = short_rate[s, t]
        cv_start = var + mm + fix
        growth = 0.0
        charges = 0.0
        maint = 0.0
        rider_fee = 0.0
        withdrawal = 0.0
        payment = 0.0
        true_up = 0.0
        cv = cv_start
        ring_new[t % n_ring] = 0.0  # continued a year and a step ago: window closed
        if not (skip_first and t == t0):
            # 1. fixed account renewal, then growth
            if renewal > 0 and t == renewal:
                rate = math.exp(short_rate[s, t]) - 1.0 - params[P_RENEW_SPREAD]
                fixed_rate = rate if rate > params[P_RENEW_MIN] else params[P_RENEW_MIN]
                fixed_growth = (1.0 + fixed_rate) ** dt
                renewal += fixed_period
            g_var = var * portfolio_growth[a, s, t]
            g_mm = mm * money_market_growth[s, t]
            g_fix = fix * fixed_growth
            growth = (g_var - var) + (g_mm - mm) + (g_fix - fix)
            var = g_var
            mm = g_mm
            fix = g_fix
            # 2. proportional charges on the variable sub-accounts
            w_all = w[0] + w[1] + w[2] + w[3] + w[4] + pending
            v_before = var + mm
            var *= me_keep
            mm *= me_keep
            if sp_active and sp_rate > 0.0:
                sp_amount = (var + mm) * (1.0 - sp_keep)
                var *= sp_keep
                mm *= sp_keep
                acc[M_SP] += w_all * disc * sp_amount
            charges = v_before - (var + mm)
            cv = var + mm + fix
            year = t // m
            if year >= n_years:
                year = n_years - 1
            # 3. deaths: owner, spouse, separate annuitant (class = 2 * spouse + annuitant)
            q_o = q_lives[c, owner_life, year]
            q_s = q_lives[c, spouse_life, year] if spouse_life >= 0 else 0.0
            q_a = q_lives[c, ann_life, year] if ann_life >= 0 else 0.0
            moved[:] = 0.0
            pool_before = w[4]
            if pool_before > 0.0:
                # the continuing spouse's death ends the contract
                d_p = _event(
                    pool_before, q_lives[c, LIFE_SPOUSE, year], simulated, seed, cid, s, t, D_OWNER
                )
                _file_claim(
                    pend,
                    K_TERMINATE,
                    d_p,
                    t,
                    delay_steps,
                    delay_prob,
                    simulated,
                    seed,
                    cid,
                    s,
                    grid,
                    t_mat,
                )
                pending += d_p
                w[4] = pool_before - d_p
            for cls in range(4):
                wc = w[cls]
                if wc <= 0.0:
                    continue
                d_o = _event(wc, q_o, simulated, seed, cid, s, t, D_OWNER)
                if d_o > 0.0:
                    if owner_natural and cls >= 2 and cont_eligible and not cont_used:
                        cont = _event(d_o, params[P_E_CONT], simulated, seed, cid, s, t, D_ELECT)
                        _file_claim(
                            pend,
                            K_CONT_OWNER,
                            cont,
                            t,
                            delay_steps,
                            delay_prob,
                            simulated,
                            seed,
                            cid,
                            s,
                            grid,
                            t_mat,
                        )
                        _file_claim(
                            pend,
                            K_TERMINATE,
                            d_o - cont,
                            t,
                            delay_steps,
                            delay_prob,
                            simulated,
                            seed,
                            cid,
                            s,
                            grid,
                            t_mat,
                        )
                    else:
                        _file_claim(
                            pend,
                            K_TERMINATE,
                            d_o,
                            t,
                            delay_steps,
                            delay_prob,
                            simulated,
                            seed,
                            cid,
                            s,
                            grid,
                            t_mat,
                        )
                    pending += d_o
                    wc -= d_o
                if cls >= 2 and wc > 0.0:
                    d_s = _event(wc, q_s, simulated, seed, cid, s, t, D_SPOUSE)
                    if d_s > 0.0:
                        wc -= d_s
                        if sp_active and not cont_used:
                            # co-annuitant's death: Option D continuation [004 II]
                            _file_claim(
                                pend,
                                K_CONT_COANNUITANT,
                                d_s,
                                t,
                                delay_steps,
                                delay_prob,
                                simulated,
                                seed,
                                cid,
                                s,
                                grid,
                                t_mat,
                            )
                            pending += d_s
                        else:
                            moved[cls - 2] += d_s  # the spouse is gone; nothing else changes
                if (cls & 1) == 1 and wc > 0.0:
                    d_a = _event(wc, q_a, simulated, seed, cid, s, t, D_ANNUITANT)
                    if d_a > 0.0:
                        wc -= d_a
                        if owner_natural:
                            keep_on = _event(
                                d_a, params[P_E_ANN_CONT], simulated, seed, cid, s, t, D_ELECT
                            )
                            moved[cls - 1] += keep_on  # continue as if no death [002 (d) 1.a]
                            rest = d_a - keep_on
                        else:
                            rest = d_a
                        _file_claim(
                            pend,
                            K_TERMINATE,
                            rest,
                            t,
                            delay_steps,
                            delay_prob,
                            simulated,
                            seed,
                            cid,
                            s,
                            grid,
                            t_mat,
                        )
                        pending += rest
                w[cls] = wc
            for cls in range(4):
                w[cls] += moved[cls]
            # 4.-6. surrenders, cancellations, annuitizations of the survivors
            w_live = w[0] + w[1] + w[2] + w[3] + w[4]
            pool_mid = w[4]
            if pool_before > 0.0:
                for k in range(n_ring):
                    ring_new[k] *= pool_mid / pool_before
            if w_live > 0.0:
                q_lapse = 0.0
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
                    if annual != last_annual:
                        last_annual = annual
                        last_q_lapse = _step_prob(annual, dt)
                    q_lapse = last_q_lapse
                q_cancel = 0.0
                if cancel_on and window >= 0 and t + 1 > window:
                    ratio = cv / bb if bb > 0.0 else 1e300
                    q_cancel = (
                        q_cancel_above if ratio >= params[P_CANCEL_THRESHOLD] else q_cancel_below
                    )
                q_annuit = 0.0
                q_annuit_pool = 0.0
                if params[P_ANNUIT_RATE] > 0.0:
                    if owner_age0 + (t + 1) * dt >= params[P_ANNUIT_FROM_AGE]:
                        q_annuit = q_annuit_rate
                    if pool_age0 + (t + 1) * dt >= params[P_ANNUIT_FROM_AGE]:
                        q_annuit_pool = q_annuit_rate
                lapses = 0.0
                cancels = 0.0
                annuitizations = 0.0
                waived_lapses = 0.0  # surrenders within the free-withdrawal year
                for cls in range(5):
                    wc = w[cls]
                    if wc <= 0.0:
                        continue
                    x = _event(wc, q_lapse, simulated, seed, cid, s, t, D_LAPSE)
                    if cls == 4:
                        in_window = 0.0
                        for k in range(n_ring):
                            in_window += ring_new[k]
                        waived_lapses = x * in_window / wc
                    wc -= x
                    lapses += x
                    y = _event(wc, q_cancel, simulated, seed, cid, s, t, D_CANCEL)
                    wc -= y
                    cancels += y
                    z = _event(
                        wc,
                        q_annuit_pool if cls == 4 else q_annuit,
                        simulated,
                        seed,
                        cid,
                        s,
                        t,
                        D_ANNUITIZE,
                    )
                    wc -= z
                    annuitizations += z
                    w[cls] = wc
                if pool_mid > 0.0:
                    for k in range(n_ring):
                        ring_new[k] *= w[4] / pool_mid
                base = cv if fee_on_cv else bb
                tf = fee * base
                if tf > cv:
                    tf = cv
                fee_weight = (
                    lapses * params[P_TF_SURRENDER]
                    + cancels * params[P_TF_CANCEL]
                    + annuitizations * params[P_TF_ANNUITIZATION]
                )
                if fee_weight > 0.0:
                    acc[M_FEES] += fee_weight * disc * tf
                    acc[M_BASE] += fee_weight * disc * base
                if lapses > 0.0:
                    free = params[P_FREE] * prem - withdrawn_this_year
                    if free < 0.0:
                        free = 0.0
                    sc = 0.0
                    charged = lapses - waived_lapses
                    if cv > free and t + 1 > free_until:
                        # the layered charge, inline (this runs on every step): payments to
                        # date first at the contract year's rate, then the scheduled payment
                        # at its own year's rate; earnings are free
                        amount = cv - free
                        part = amount if amount < first_left else first_left
                        if part > 0.0 and cy <= n_wc:
                            sc = part * withdrawal_charges[cy - 1]
                        rest = amount - (part if part > 0.0 else 0.0)
                        if rest > 0.0 and second_left > 0.0:
                            second_year = (t + 1 - pay_step) // m + 1
                            if 1 <= second_year <= n_wc:
                                sc += (
                                    rest if rest < second_left else second_left
                                ) * withdrawal_charges[second_year - 1]
                    else:
                        charged = 0.0
                    acc[M_WC] += charged * disc * sc
                    # Settlement Value paid after the surrender lag; the fixed-account part
                    # earns interest when deferred beyond the threshold [000]
                    if lag_surrender > 0.0:
                        var_factor = math.exp(-r_t * lag_surrender)
                        fix_factor = (
                            1.0 if lag_surrender > params[P_FIXED_INTEREST_AFTER] else var_factor
                        )
                        fix_part = fix * (1.0 - sc / cv) if cv > 0.0 else 0.0
                        acc[M_SURR] += (
                            charged
                            * disc
                            * (((cv - sc) - fix_part) * var_factor + fix_part * fix_factor)
                        )
                        # surrenders free of charge pay the whole CV
                        acc[M_SURR] += (
                            (lapses - charged) * disc * ((cv - fix) * var_factor + fix * fix_factor)
                        )
                    else:
                        acc[M_SURR] += disc * (charged * (cv - sc) + (lapses - charged) * cv)
            # 7. claims arriving now
            slot = t % ring
            for kind in range(3):
                for k in range(n_k):
                    amt = pend[kind, k, slot]
                    if amt <= 0.0:
                        continue
                    pend[kind, k, slot] = 0.0
                    pending -= amt
                    if pending < 0.0:
                        pending = 0.0
                    proceeds = cv
                    if delay_within[k] > 0 and db_code > 0 and dbb > cv:
                        proceeds = dbb
                    if kind == K_TERMINATE:
                        if proceeds > cv:
                            lag_factor = math.exp(-r_t * lag_death) if lag_death > 0.0 else 1.0
                            acc[M_DB] += amt * disc * lag_factor * (proceeds - cv)
                        if params[P_TF_DEATH] > 0.5:
                            base = cv if fee_on_cv else bb
                            tf = fee * base
                            acc[M_FEES] += amt * disc * (tf if tf < cv else cv)
                            acc[M_BASE] += amt * disc * base
                        continue
                    # Option D: the contract continues for the spouse; the rider continues
                    # unless the new owner cancels it [003 VI.1]
                    cancel_now = _event(
                        amt, params[P_X_CANCEL_CONT], simulated, seed, cid, s, t, D_CANCEL_CONT
                    )
                    if cancel_now > 0.0 and params[P_TF_CANCEL] > 0.5:
                        base = cv if fee_on_cv else bb
                        tf = fee * base
                        acc[M_FEES] += cancel_now * disc * (tf if tf < cv else cv)
                        acc[M_BASE] += cancel_now * disc * base
                    carry = amt - cancel_now
                    acc[M_CONT] += amt
                    # the step-up credited to the continued contract is a death benefit cost
                    acc[M_DB] += amt * disc * (proceeds - cv)
                    if carry <= 0.0:
                        continue
                    excess = proceeds - cv
                    if kind == K_CONT_OWNER and excess <= 0.0 and not sp_active:
                        # no step-up: the same account values, so the same segment
                        w[4] += carry
                        ring_new[t % n_ring] += carry
                        continue
                    if cv > 0.0:
                        # excess to the variable sub-accounts pro rata; the part due to the
                        # fixed account goes to Money Market [002 (c) 1.c]
                        var_b = var + excess * var / cv
                        mm_b = mm + excess * (mm + fix) / cv
                    else:
                        var_b = var
                        mm_b = mm + excess
                    # the survivor owns the contract: the spouse, or the owner after the
                    # co-annuitant's death
                    new_owner = owner_life
                    new_owner_age = owner_age0
                    if kind == K_CONT_OWNER:
                        new_owner = LIFE_SPOUSE
                        new_owner_age = contract_f[c, CF_SPOUSE_AGE]
                    # the continued contract keeps its death benefit guarantee; one free
                    # withdrawal within the year; no further continuation
                    n_stack = _push_segment(
                        stack,
                        n_stack,
                        t,
                        1.0,
                        var_b,
                        mm_b,
                        fix,
                        bb,
                        dbb,
                        prem,
                        first_left,
                        second_left,
                        withdrawn_this_year,
                        cy,
                        abf,
                        fee,
                        t_mat,
                        next_anniv,
                        window,
                        True,
                        trade_used,
                        False,
                        t + 1 + m,
                        fixed_rate,
                        renewal,
                        new_owner,
                        -1,
                        -1,
                        new_owner_age,
                        carry,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                    )
        # 8. contract anniversary, for the contracts in force and the claims pending
        w_live = w[0] + w[1] + w[2] + w[3] + w[4]
        w_rider = w_live + pending
        trade_now = False
        cv = var + mm + fix
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
            acc[M_FEES] += w_rider * disc * rider_fee
            acc[M_BASE] += w_rider * disc * base
            if t + 1 == t_mat:
                ab = abf * bb
                if ab > cv:
                    true_up = ab - cv
                    mm += true_up
                    acc[M_CLAIMS] += w_rider * disc * true_up
                acc[M_PERSIST] += w_rider
                # claims still pending at maturity: their death proceeds are settled now
                for k in range(n_k):
                    for slot in range(ring):
                        amt = pend[K_TERMINATE, k, slot]
                        if amt > 0.0 and delay_within[k] > 0 and db_code > 0 and dbb > cv + true_up:
                            acc[M_DB] += amt * disc * (dbb - cv - true_up)
            else:
                cy += 1
                withdrawn_this_year = 0.0
                if db_code == 2 and cv > dbb:
                    dbb = cv
                wd_share = 0.0
                if (
                    params[P_WD_RATE] > 0.0
                    and params[P_WD_UTIL] > 0.0
                    and cv > 0.0
                    and w_live > 0.0
                ):
                    if simulated:
                        if uniform_hash(seed, cid, s, t * 16 + D_WITHDRAW) < params[P_WD_UTIL]:
                            wd_share = params[P_WD_RATE]
                    else:
                        wd_share = params[P_WD_UTIL] * params[P_WD_RATE]
                if wd_share > 0.0:
                    wanted = params[P_WD_RATE] * cv
                    withdrawal = wd_share * cv
                    taken = wd_share / params[P_WD_RATE]  # share of contracts withdrawing
                    excess = wanted - params[P_FREE] * prem
                    if excess > 0.0:
                        second_year = (t + 1 - pay_step) // m + 1
                        charge, from_first, from_second = _layered_charge(
                            excess, first_left, cy, second_left, second_year, withdrawal_charges
                        )
                        # the free withdrawal within a year of a continuation still uses up
                        # purchase payments; only its charge is waived
                        if t + 1 > free_until:
                            in_window = 0.0
                            for k in range(n_ring):
                                in_window += ring_new[k]
                            acc[M_WC] += (w_live - in_window) * disc * taken * charge
                        first_left -= taken * from_first
                        second_left -= taken * from_second
                    lag = params[P_LAG_WITHDRAWAL]
                    fix_factor = (
                        1.0 if lag > params[P_FIXED_INTEREST_AFTER] else math.exp(-r_t * lag)
                    )
                    fix_share = fix / cv
                    acc[M_WD] += (
                        w_live
                        * disc
                        * withdrawal
                        * ((1.0 - fix_share) * math.exp(-r_t * lag) + fix_share * fix_factor)
                    )
                    keep = 1.0 - wd_share
                    bb *= keep
                    if bb < 0.0:
                        bb = 0.0
                    if db_code > 0:
                        dbb *= keep
                    var *= keep
                    mm *= keep
                    fix *= keep
                    withdrawn_this_year = withdrawal
                    cv = var + mm + fix
                trade_now = True
        # 9. scheduled purchase payment
        if t + 1 == pay_step:
            payment = contract_f[c, CF_PAY]
            var += payment
            prem += payment
            second_left += payment
            if pay_in_bb:
                bb += payment
            if db_code > 0:
                dbb += payment
        # 10. trade-in to a New Rider [003 V], decided on anniversaries from the 10th
        if (
            trade_now
            and not trade_used
            and window >= 0
            and t + 1 >= window
            and w_live > 0.0
            and (params[P_TRADE_RATE] > 0.0 or params[P_TRADE_RATE_ABOVE] > 0.0)
        ):
            cv = var + mm + fix
            ratio = cv / bb if bb > 0.0 else 1e300
            rate = (
                params[P_TRADE_RATE_ABOVE]
                if ratio >= params[P_TRADE_THRESHOLD]
                else params[P_TRADE_RATE]
            )
            traded[:] = 0.0
            total = 0.0
            pool_was = w[4]
            for cls in range(5):
                x = _event(w[cls], rate, simulated, seed, cid, s, t, D_TRADE)
                traded[cls] = x
                w[cls] -= x
                total += x
            if pool_was > 0.0:
                for k in range(n_ring):
                    ring_new[k] *= w[4] / pool_was
            if total > 0.0:
                # new BB = CV on the new Rider Date; the New Rider's factor, fee and period;
                # a trade-in ends any free-withdrawal year
                new_maturity = t + 1 + int(params[P_TRADE_PERIOD]) * m
                new_window = -1
                if params[P_TRADE_PERIOD] > 10:
                    new_window = t + 1 + 10 * m
                n_stack = _push_segment(
                    stack,
                    n_stack,
                    t + 1,
                    0.0,
                    var,
                    mm,
                    fix,
                    cv,
                    dbb,
                    prem,
                    first_left,
                    second_left,
                    withdrawn_this_year,
                    cy,
                    params[P_TRADE_ABF],
                    params[P_TRADE_FEE],
                    new_maturity,
                    t + 1 + m,
                    new_window,
                    cont_used,
                    True,
                    sp_active,
                    -1,
                    fixed_rate,
                    renewal,
                    owner_life,
                    spouse_life,
                    ann_life,
                    owner_age0,
                    traded[0],
                    traded[1],
                    traded[2],
                    traded[3],
                    traded[4],
                )
        if do_trace:
            trace[c, s, t, 0] = w[0] + w[1] + w[2] + w[3]  # alive on the segment's own terms
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
        if simulated and w[0] + w[1] + w[2] + w[3] + w[4] + pending <= 0.0 and not do_trace:
            break
    return n_stack


@jit
def _main_state(c, st, contract_f, contract_i):
    """The main segment's starting state at the valuation date."""
    st[:] = 0.0
    st[S_START] = 0
    st[S_VAR] = contract_f[c, CF_VAR]
    st[S_FIX] = contract_f[c, CF_FIX]
    st[S_BB] = contract_f[c, CF_BB]
    st[S_DBB] = contract_f[c, CF_DBB]
    st[S_PREM] = contract_f[c, CF_PREM]
    st[S_FIRST_LEFT] = contract_f[c, CF_PREM]
    st[S_CY] = contract_i[c, CI_CY]
    st[S_ABF] = contract_f[c, CF_ABF]
    st[S_FEE] = contract_f[c, CF_FEE]
    st[S_MAT] = contract_i[c, CI_MAT]
    st[S_NEXT_ANNIV] = contract_i[c, CI_ANNIV]
    st[S_WINDOW] = contract_i[c, CI_WINDOW]
    st[S_SP_ACTIVE] = 1.0 if contract_i[c, CI_SP] > 0 else 0.0
    st[S_FREE_UNTIL] = -1
    st[S_FIXED_RATE] = contract_f[c, CF_FIXED_RATE]
    st[S_RENEWAL] = contract_i[c, CI_RENEWAL]
    st[S_OWNER_LIFE] = LIFE_OWNER
    has_spouse = contract_i[c, CI_HAS_SPOUSE] > 0
    has_ann = contract_i[c, CI_HAS_ANNUITANT] > 0
    st[S_SPOUSE_LIFE] = LIFE_SPOUSE if has_spouse else -1
    st[S_ANN_LIFE] = LIFE_ANNUITANT if has_ann else -1
    cls = (2 if has_spouse else 0) + (1 if has_ann else 0)
    st[S_W0 + cls] = 1.0
    st[S_OWNER_AGE] = contract_f[c, CF_OWNER_AGE]
    st[S_MAIN] = 1.0


@jit(parallel=True)
def project_block(
    contract_f,
    contract_i,
    q_lives,
    portfolio_growth,
    money_market_growth,
    short_rate,
    discount,
    params,
    withdrawal_charges,
    lapse_base,
    delay_steps,
    delay_prob,
    delay_within,
    out,
    trace,
):
    """Project a chunk of contracts along every scenario.

    Parameters
    ----------
    contract_f : ndarray(float64, (n_c, N_CF))
        Per-contract amounts and rates (columns ``CF_*``).
    contract_i : ndarray(int64, (n_c, N_CI))
        Per-contract integers and flags (columns ``CI_*``): ids, allocation row, contract
        year, steps of the next anniversary, of the Rider Maturity Date, of the scheduled
        payment, of the 10th rider anniversary and of the fixed account renewal.
    q_lives : ndarray(float64, (n_c, 3, n_years))
        Probability of death within one step for the owner, the spouse and a separate
        annuitant, by projection year.
    portfolio_growth : ndarray(float64, (n_alloc, n_scen, n_steps))
        Growth of each rebalanced allocation over each step, net of fund fees.
    money_market_growth : ndarray(float64, (n_scen, n_steps))
        Growth of the Money Market sub-account over each step, net of its fund fee.
    short_rate : ndarray(float64, (n_scen, n_steps))
        Continuously compounded short rate at each step's start (fixed account renewal).
    discount : ndarray(float64, (n_scen, n_steps + 1))
    params : ndarray(float64, (N_PARAMS,))
    withdrawal_charges, lapse_base : ndarray(float64, (k,))
        By year since payment / contract year 1, 2, ...
    delay_steps, delay_prob, delay_within : ndarray((n_delays,))
        Claim delay distribution: delay in steps (int64), probability, whether the claim
        arrives within 180 days of death (int64 0/1).
    out : ndarray(float64, (N_MEASURES, n_c, n_scen))
        Written: the present values of every path.
    trace : ndarray(float64, (n_c, n_scen, n_steps, N_TRACE)) or shape (0, 0, 0, 0)
        Written when not empty: the main segment's state at every step end.
    """
    n_c = contract_f.shape[0]
    n_s = discount.shape[0]
    m = int(params[P_STEPS_PER_YEAR])
    ring = int(delay_steps.max()) + int(params[P_CONT_GRID])
    n_k = delay_steps.shape[0]
    horizon = discount.shape[1] - 1
    for c in prange(n_c):
        # Segments waiting at once, at most: the main segment's continuations (two kinds
        # per claim-delay entry per step) and trade-ins (one per anniversary), plus those of
        # one trade-in segment; so the stack never overflows.
        max_segments = 2 * (2 * n_k + 1) * (horizon + 1) + 64
        stack = np.zeros((max_segments, N_S))
        st = np.zeros(N_S)
        acc = np.zeros(N_MEASURES)
        pend = np.zeros((3, n_k, ring))
        work = np.zeros(16)
        ring_new = np.zeros(m + 1)
        for s in range(n_s):
            acc[:] = 0.0
            _main_state(c, stack[0], contract_f, contract_i)
            n_stack = 1
            while n_stack > 0:
                n_stack -= 1
                st[:] = stack[n_stack]
                n_stack = _segment(
                    c,
                    s,
                    st,
                    stack,
                    n_stack,
                    acc,
                    pend,
                    work,
                    ring_new,
                    contract_f,
                    contract_i,
                    q_lives,
                    portfolio_growth,
                    money_market_growth,
                    short_rate,
                    discount,
                    params,
                    withdrawal_charges,
                    lapse_base,
                    delay_steps,
                    delay_prob,
                    delay_within,
                    trace,
                )
            for k in range(N_MEASURES):
                out[k, c, s] = acc[k]


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
