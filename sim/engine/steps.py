"""One function per mechanism of a projection step, each a loop over the lanes of a tile.

:func:`sim.engine.kernels.run_segment` calls them in the order of events of
docs/methodology.md section 3. The product rules they apply live in :mod:`sim.product`
and :mod:`sim.assumptions.behaviour`; what depends only on the contract and the step
(rates of the step, whether it is an anniversary, the withdrawal charge rates in force)
is decided by the caller once per step and passed in as scalars.

Conventions: ``n`` lanes; ``disc`` (n_scen,) is the discount factor row of the step end and
``s0`` the tile's first scenario, so lane ``i`` is scenario ``s0 + i``; ``sim`` =
(simulated, seed, contract id), for the counter-based draws of simulated mode.

Two habits keep a step function's fixed cost (what it costs a call, whatever the lanes)
small: it binds the arrays it uses at its top, never inside a branch, and it has one
return at its end. numba otherwise counts references to every array of the ``Lanes`` and
``Terms`` records it holds on each call: measured at 0.3-0.5 us a call, against 10-100 ns.
Lane loops are written without branches where the rule allows, so that LLVM vectorises
them; cash flows by year are booked in a loop of their own, run only when they are wanted
(their runtime row index keeps a loop from vectorising).
"""

from __future__ import annotations

from .._numba import jit
from .draws import DRAWS_PER_STEP, event_weight, uniform_hash
from .lanes import INFORCE_ROW, N_FLOWS, Flow, Measure, Value
from .records import Carried, ClaimKind, Draw
from .rules import (
    SERIES_LIMIT,
    SERIES_MAX_DT,
    anniversary_death_benefit_base,
    benefit_base_after_withdrawal,
    claim_proceeds,
    continuation_step_up,
    dynamic_lapse_factor,
    fixed_renewal_rate,
    free_withdrawal_amount,
    layered_withdrawal_charge,
    maintenance_fee_taken,
    rider_fee_basis,
    rider_fee_deduction,
    settlement_factors,
    step_probability,
    step_probability_series,
    termination_rider_fee,
    true_up,
)

M = Measure
F = Flow
V = Value
#: Row of the discounted twin of a flow in ``Lanes.flows``.
PV = N_FLOWS


@jit
def begin_step(lanes, n, t, trace_on):
    """Start a step: close the free-withdrawal year of continuations made a year and a step
    ago; with a trace, record the CV at the step's start and clear the step's trace values
    (the mechanisms that set them run only on some steps)."""
    values = lanes.values
    recent = lanes.continued_recently
    recent[t % recent.shape[0], :n] = 0.0
    var, mm, fix = values[V.VARIABLE], values[V.MONEY_MARKET], values[V.FIXED]
    cv_start = values[V.CV_START]
    maint, rider_fee = values[V.MAINTENANCE_FEE], values[V.RIDER_FEE]
    withdrawal, true_ups = values[V.WITHDRAWAL], values[V.TRUE_UP]
    if trace_on:
        for i in range(n):
            cv_start[i] = var[i] + mm[i] + fix[i]
            maint[i] = 0.0
            rider_fee[i] = 0.0
            withdrawal[i] = 0.0
            true_ups[i] = 0.0


@jit
def renew_fixed_account(lanes, n, short_rate, spread, minimum, dt):
    """A fixed-account guarantee period ends: the new rate is the short rate less the
    spread, never below the minimum [000]. ``short_rate`` (n_scen,) row from ``s0``."""
    values = lanes.values
    rate, growth = values[V.FIXED_RATE], values[V.FIXED_GROWTH]
    for i in range(n):
        rate[i] = fixed_renewal_rate(short_rate[i], spread, minimum)
        growth[i] = (1.0 + rate[i]) ** dt


@jit
def grow(lanes, n, portfolio_growth, money_market_growth):
    """Market growth of the variable portfolio, the Money Market bucket and the fixed
    account over the step (rows from ``s0``)."""
    values = lanes.values
    var, mm, fix, fixed_growth = (
        values[V.VARIABLE],
        values[V.MONEY_MARKET],
        values[V.FIXED],
        values[V.FIXED_GROWTH],
    )
    growth = values[V.GROWTH]
    for i in range(n):
        g_var = var[i] * portfolio_growth[i]
        g_mm = mm[i] * money_market_growth[i]
        g_fix = fix[i] * fixed_growth[i]
        growth[i] = (g_var - var[i]) + (g_mm - mm[i]) + (g_fix - fix[i])
        var[i] = g_var
        mm[i] = g_mm
        fix[i] = g_fix


@jit
def proportional_charges(lanes, n, me_keep, spousal_keep, spousal_on, disc, year):
    """M&E and administration charge, and the Spousal Protection charge while that rider is
    in force, taken from the variable sub-accounts in proportion [000, 004 III]. The base
    contract's charge runs on while a claim is pending; the Spousal Protection rider ends
    on the owner's death [004 IV], so its charge leaves out the claims filed on an owner's
    death (``pending_owner``)."""
    values = lanes.values
    var, mm, fix, cv = values[V.VARIABLE], values[V.MONEY_MARKET], values[V.FIXED], values[V.CV]
    charges, weight, pending = values[V.CHARGES], lanes.weight, values[V.PENDING]
    pending_owner = values[V.PENDING_OWNER]
    pv_spousal = lanes.acc[M.SPOUSAL]
    flows = lanes.flows
    for i in range(n):
        before = var[i] + mm[i]
        var[i] *= me_keep
        mm[i] *= me_keep
        w_all = (
            weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + weight[4, i] + pending[i]
        )
        me_amount = w_all * (before - (var[i] + mm[i]))
        if year >= 0:
            flows[F.ME_CHARGES, year, i] += me_amount
            flows[PV + F.ME_CHARGES, year, i] += me_amount * disc[i]
        if spousal_on:
            amount = (var[i] + mm[i]) * (1.0 - spousal_keep)
            var[i] *= spousal_keep
            mm[i] *= spousal_keep
            w_rider = max(w_all - pending_owner[i], 0.0)
            pv_spousal[i] += w_rider * disc[i] * amount
            if year >= 0:
                flows[F.SPOUSAL_CHARGE, year, i] += w_rider * amount
                flows[PV + F.SPOUSAL_CHARGE, year, i] += w_rider * disc[i] * amount
        charges[i] = before - (var[i] + mm[i])
        cv[i] = var[i] + mm[i] + fix[i]


@jit
def deaths_expected(lanes, n, q_owner, q_spouse, q_annuitant, q_pool, terms, seg_flags):
    """Deaths in the step with expected decrements: the rule of :func:`deaths_simulated`
    with every event a share of the weight, written without branches so the lane loop
    vectorises. Classes: 0 owner only, 1 owner + annuitant, 2 owner + spouse, 3 all three;
    the pool (4) holds contracts continued by the spouse."""
    values = lanes.values
    owner_natural, spouse_may_continue, coannuitant_continues = seg_flags
    elect = terms.elect_continuation if spouse_may_continue else 0.0
    keep_on = terms.annuitant_death_continue if owner_natural else 0.0
    to_owner = 1.0 if coannuitant_continues else 0.0
    weight, pending, filed, pool_before = (
        lanes.weight,
        values[V.PENDING],
        lanes.filed,
        values[V.POOL_BEFORE],
    )
    pending_owner, filed_owner = values[V.PENDING_OWNER], values[V.FILED_OWNER]
    for i in range(n):
        pool = weight[4, i]
        pool_before[i] = pool
        d_pool = pool * q_pool  # the continuing spouse's death ends the contract
        w0, w1, w2, w3 = weight[0, i], weight[1, i], weight[2, i], weight[3, i]
        d0, d1, d2, d3 = w0 * q_owner, w1 * q_owner, w2 * q_owner, w3 * q_owner
        r1, r2, r3 = w1 - d1, w2 - d2, w3 - d3
        s2, s3 = r2 * q_spouse, r3 * q_spouse  # the spouse's death
        r2 -= s2
        r3 -= s3
        a1, a3 = r1 * q_annuitant, r3 * q_annuitant  # a separate annuitant's death
        r1 -= a1
        r3 -= a3
        continued = (d2 + d3) * elect
        kept1, kept3 = a1 * keep_on, a3 * keep_on
        term = d_pool + d0 + d1 + (d2 + d3 - continued) + (a1 - kept1) + (a3 - kept3)
        for_owner = (s2 + s3) * to_owner
        weight[0, i] = (w0 - d0) + (kept1 + s2 * (1.0 - to_owner))
        weight[1, i] = r1 + s3 * (1.0 - to_owner)
        weight[2, i] = r2 + kept3
        weight[3, i] = r3
        weight[4, i] = pool - d_pool
        filed[ClaimKind.TERMINATE, i] = term
        filed[ClaimKind.CONTINUE_FOR_SPOUSE, i] = continued
        filed[ClaimKind.CONTINUE_FOR_OWNER, i] = for_owner
        pending[i] += term + continued + for_owner
        # owners' deaths (the pool's owner is the continuing spouse) [004 IV]
        filed_owner[i] = d_pool + d0 + d1 + (d2 + d3 - continued)
        pending_owner[i] += d_pool + d0 + d1 + d2 + d3


@jit
def deaths_simulated(
    lanes, n, q_owner, q_spouse, q_annuitant, q_pool, sim, t, s0, terms, seg_flags
):
    """Deaths in the step: the continuing spouse of the pool, then for each class the owner,
    the spouse, a separate annuitant. Each death files a claim (``lanes.filed`` by kind);
    a surviving life that is not the claimant changes the class of the weight.

    ``sim`` = (simulated, seed, contract_id); ``seg_flags`` = (owner_natural, may continue
    for the spouse (eligible, not yet continued), spousal protection in force and not yet
    continued) [002 (c), (d); 004 II]."""
    values = lanes.values
    simulated, seed, cid = sim
    owner_natural, spouse_may_continue, coannuitant_continues = seg_flags
    elect = terms.elect_continuation
    keep_on_share = terms.annuitant_death_continue
    weight, pending, filed, pool_before = (
        lanes.weight,
        values[V.PENDING],
        lanes.filed,
        values[V.POOL_BEFORE],
    )
    pending_owner, filed_owner = values[V.PENDING_OWNER], values[V.FILED_OWNER]
    for i in range(n):
        s = s0 + i
        term = 0.0
        term_owner = 0.0  # of ``term``: owners' deaths
        for_spouse = 0.0
        for_owner = 0.0
        pool = weight[4, i]
        pool_before[i] = pool
        if pool > 0.0:  # the continuing spouse's death ends the contract
            d = event_weight(pool, q_pool, simulated, seed, cid, s, t, Draw.OWNER)
            term += d
            term_owner += d
            weight[4, i] = pool - d
        moved0 = 0.0
        moved1 = 0.0
        moved2 = 0.0
        for cls in range(4):
            wc = weight[cls, i]
            if wc <= 0.0:
                continue
            d_o = event_weight(wc, q_owner, simulated, seed, cid, s, t, Draw.OWNER)
            if d_o > 0.0:
                if cls >= 2 and spouse_may_continue:
                    cont = event_weight(d_o, elect, simulated, seed, cid, s, t, Draw.ELECT)
                    for_spouse += cont
                    term += d_o - cont
                    term_owner += d_o - cont
                else:
                    term += d_o
                    term_owner += d_o
                wc -= d_o
            if cls >= 2 and wc > 0.0:
                d_s = event_weight(wc, q_spouse, simulated, seed, cid, s, t, Draw.SPOUSE)
                if d_s > 0.0:
                    wc -= d_s
                    if coannuitant_continues:
                        for_owner += d_s  # Option D for the owner [004 II]
                    elif cls == 2:
                        moved0 += d_s  # the spouse is gone; nothing else changes
                    else:
                        moved1 += d_s
            if (cls & 1) == 1 and wc > 0.0:
                d_a = event_weight(wc, q_annuitant, simulated, seed, cid, s, t, Draw.ANNUITANT)
                if d_a > 0.0:
                    wc -= d_a
                    rest = d_a
                    if owner_natural:  # continue as if no death [002 (d) 1.a]
                        keep_on = event_weight(
                            d_a, keep_on_share, simulated, seed, cid, s, t, Draw.ELECT
                        )
                        if cls == 1:
                            moved0 += keep_on
                        else:
                            moved2 += keep_on
                        rest = d_a - keep_on
                    term += rest
            weight[cls, i] = wc
        weight[0, i] += moved0
        weight[1, i] += moved1
        weight[2, i] += moved2
        filed[ClaimKind.TERMINATE, i] = term
        filed[ClaimKind.CONTINUE_FOR_SPOUSE, i] = for_spouse
        filed[ClaimKind.CONTINUE_FOR_OWNER, i] = for_owner
        pending[i] += term + for_spouse + for_owner
        filed_owner[i] = term_owner
        pending_owner[i] += term_owner + for_spouse


@jit
def pool_deaths_done(lanes, n):
    """After the deaths: the pool's free-withdrawal year shrinks with the pool."""
    values = lanes.values
    _scale_recent(lanes, n, values[V.POOL_BEFORE])


@jit
def _scale_recent(lanes, n, pool_was):
    """Scale the pool's recently-continued weights by the pool's change since ``pool_was``."""
    recent, weight = lanes.continued_recently, lanes.weight
    for i in range(n):
        if pool_was[i] > 0.0:
            ratio = weight[4, i] / pool_was[i]
            for k in range(recent.shape[0]):
                recent[k, i] *= ratio


@jit(inline=True)
def settlement_step(t, delay, grid, maturity):
    """Step at which a claim filed at step ``t`` and arriving ``delay`` steps later is
    settled: continuation claims on the next step of a grid of ``grid`` steps (1 = when
    they arrive), never later, for the grid's sake, than the Rider Maturity Date's step."""
    arrival = t + delay
    settle = ((arrival + grid) // grid) * grid - 1
    if settle > maturity - 1:
        settle = arrival if arrival > maturity - 1 else maturity - 1
    return settle


@jit
def file_claims(lanes, n, t, maturity, sim, s0, terms, kinds):
    """Put the step's claims (``lanes.filed``) in the settlement slots of the claim delay
    distribution: spread over it with expected decrements, one delay drawn when simulated.
    ``kinds``: the first ``kinds`` claim kinds may hold claims (1 when no continuation can
    be filed in the segment: the others are zero)."""
    values = lanes.values
    simulated, seed, cid = sim
    delay_steps, delay_prob = terms.delay_steps, terms.delay_prob
    filed, claims = lanes.filed, lanes.claims
    filed_owner, owner_claims = values[V.FILED_OWNER], lanes.owner_claims
    ring = claims.shape[2]
    n_k = delay_steps.shape[0]
    for kind in range(kinds):
        grid = 1 if kind == ClaimKind.TERMINATE else terms.continuation_grid
        if simulated:
            for i in range(n):
                amount = filed[kind, i]
                if amount <= 0.0:
                    continue
                u = uniform_hash(seed, cid, s0 + i, t * DRAWS_PER_STEP + Draw.DELAY)
                pick = n_k - 1
                acc = 0.0
                for k in range(n_k):
                    acc += delay_prob[k]
                    if u < acc:
                        pick = k
                        break
                slot = settlement_step(t, delay_steps[pick], grid, maturity) % ring
                claims[kind, pick, slot, i] += amount
                if kind == ClaimKind.TERMINATE:
                    owner_claims[pick, slot, i] += filed_owner[i]
        else:
            for k in range(n_k):
                slot = settlement_step(t, delay_steps[k], grid, maturity) % ring
                p = delay_prob[k]
                row = claims[kind, k, slot]
                for i in range(n):
                    row[i] += filed[kind, i] * p
                if kind == ClaimKind.TERMINATE:
                    owner_row = owner_claims[k, slot]
                    for i in range(n):
                        owner_row[i] += filed_owner[i] * p


@jit
def lapse_probabilities(lanes, n, exits, terms, ab_factor):
    """Step probability of a full surrender of each lane (``values[V.Q_LAPSE]``): the base
    rate, or with the dynamic lapse the base rate times the multiplier on the lane's
    moneyness AB / CV (SPEC section 7). When the dynamic rate stays within
    ``SERIES_LIMIT``, the step probability is the series, and the loop has no branch and
    no library call, so it vectorises."""
    values = lanes.values
    q_lapse = values[V.Q_LAPSE]
    cvs, bbs = values[V.CV], values[V.BENEFIT_BASE]
    base, dt = exits.lapse_base, terms.dt
    # the multiplier's parameters as scalars: an inlined rule that took ``terms`` (a record
    # holding arrays) would count references to them on every lane
    dynamic = (terms.dynamic_floor, terms.dynamic_cap, terms.dynamic_slope, terms.dynamic_shift)
    if not exits.dynamic:
        for i in range(n):
            q_lapse[i] = exits.q_lapse
    elif base * terms.dynamic_cap <= SERIES_LIMIT and dt <= SERIES_MAX_DT:
        for i in range(n):
            annual = _dynamic_lapse_rate(base, ab_factor, bbs[i], cvs[i], dynamic)
            q_lapse[i] = step_probability_series(annual, dt)
    else:
        for i in range(n):
            annual = _dynamic_lapse_rate(base, ab_factor, bbs[i], cvs[i], dynamic)
            q_lapse[i] = step_probability(annual, dt)


@jit(inline=True)
def _dynamic_lapse_rate(base, ab_factor, benefit_base, cv, dynamic):
    """The annual surrender rate of a lane: the base rate times the dynamic multiplier of
    its moneyness AB / CV; ``dynamic`` = (floor, cap, slope, shift)."""
    floor, cap, slope, shift = dynamic
    itm = ab_factor * benefit_base / cv if cv > 0.0 else 1e300
    return base * dynamic_lapse_factor(itm, floor, cap, slope, shift)


@jit
def exits_expected(lanes, n, exits, terms, ab_factor, pool_possible):
    """Surrenders, then rider cancellations, then annuitizations with expected decrements:
    each a share of the weight that the one before left; the shares by kind go to
    ``values[V.LAPSES]``, ``cancels``, ``annuitizations`` (and ``waived``: surrenders within a
    continued contract's free-withdrawal year). The same rule as :func:`exits_simulated`,
    written without branches so the lane loop vectorises."""
    values = lanes.values
    threshold = terms.cancel_threshold
    q_ann, q_ann_pool = exits.q_annuitize, exits.q_annuitize_pool
    q_lapses, waived = values[V.Q_LAPSE], values[V.WAIVED]
    weight, cvs, bbs = lanes.weight, values[V.CV], values[V.BENEFIT_BASE]
    lapses, cancels, annuitizations = values[V.LAPSES], values[V.CANCELS], values[V.ANNUITIZATIONS]
    lapse_probabilities(lanes, n, exits, terms, ab_factor)
    if pool_possible:
        _pool_exits(lanes, n, exits, terms, ab_factor)
    else:
        for i in range(n):
            waived[i] = 0.0
    for i in range(n):
        cv = cvs[i]
        bb = bbs[i]
        q_lapse = q_lapses[i]
        q_cancel = _cancel_probability(exits, threshold, bb, cv)
        live = weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i]
        pool = weight[4, i]
        stay = (1.0 - q_lapse) * (1.0 - q_cancel)
        lapses[i] = (live + pool) * q_lapse
        cancels[i] = (live + pool) * (1.0 - q_lapse) * q_cancel
        annuitizations[i] = live * stay * q_ann + pool * stay * q_ann_pool
        keep = stay * (1.0 - q_ann)
        weight[0, i] *= keep
        weight[1, i] *= keep
        weight[2, i] *= keep
        weight[3, i] *= keep
        weight[4, i] = pool * stay * (1.0 - q_ann_pool)


@jit
def _pool_exits(lanes, n, exits, terms, ab_factor):
    """The pool's part of the expected exits: surrenders within the free year of a
    continuation are waived their charge, and the recently-continued weights shrink with
    the pool (by the pool's share staying)."""
    values = lanes.values
    threshold = terms.cancel_threshold
    recent, weight, cvs, bbs, waived, q_lapses = (
        lanes.continued_recently,
        lanes.weight,
        values[V.CV],
        values[V.BENEFIT_BASE],
        values[V.WAIVED],
        values[V.Q_LAPSE],
    )
    for i in range(n):
        waived[i] = 0.0
        if weight[4, i] <= 0.0:
            continue
        q_lapse = q_lapses[i]
        q_cancel = _cancel_probability(exits, threshold, bbs[i], cvs[i])
        in_window = 0.0
        for k in range(recent.shape[0]):
            in_window += recent[k, i]
        waived[i] = q_lapse * in_window
        stay = (1.0 - q_lapse) * (1.0 - q_cancel) * (1.0 - exits.q_annuitize_pool)
        for k in range(recent.shape[0]):
            recent[k, i] *= stay


@jit(inline=True)
def _cancel_probability(exits, threshold, benefit_base, cv):
    """Step probability of a rider cancellation of a lane (by its CV / BB ratio against
    ``threshold``)."""
    if not exits.cancel_on:
        return 0.0
    ratio = cv / benefit_base if benefit_base > 0.0 else 1e300
    return exits.q_cancel_above if ratio >= threshold else exits.q_cancel_below


@jit
def exits_simulated(lanes, n, exits, terms, ab_factor, sim, t, s0):
    """Surrenders, then rider cancellations, then annuitizations with simulated decrements:
    a counter-based draw for each, class by class; results as :func:`exits_expected`."""
    values = lanes.values
    threshold = terms.cancel_threshold
    simulated, seed, cid = sim
    lapse_probabilities(lanes, n, exits, terms, ab_factor)
    weight, recent, q_lapses = lanes.weight, lanes.continued_recently, values[V.Q_LAPSE]
    cvs, bbs = values[V.CV], values[V.BENEFIT_BASE]
    lapses_out, cancels_out, annuitizations_out, waived_out = (
        values[V.LAPSES],
        values[V.CANCELS],
        values[V.ANNUITIZATIONS],
        values[V.WAIVED],
    )
    n_recent = recent.shape[0]
    for i in range(n):
        lapses_out[i] = 0.0
        cancels_out[i] = 0.0
        annuitizations_out[i] = 0.0
        waived_out[i] = 0.0
        pool_mid = weight[4, i]
        if weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + pool_mid <= 0.0:
            continue
        s = s0 + i
        cv = cvs[i]
        bb = bbs[i]
        q_lapse = q_lapses[i]
        q_cancel = _cancel_probability(exits, threshold, bb, cv)
        lapses = 0.0
        cancels = 0.0
        annuitizations = 0.0
        waived = 0.0
        for cls in range(5):
            wc = weight[cls, i]
            if wc <= 0.0:
                continue
            x = event_weight(wc, q_lapse, simulated, seed, cid, s, t, Draw.LAPSE)
            if cls == 4:
                in_window = 0.0
                for k in range(n_recent):
                    in_window += recent[k, i]
                waived = x * in_window / wc
            wc -= x
            lapses += x
            y = event_weight(wc, q_cancel, simulated, seed, cid, s, t, Draw.CANCEL)
            wc -= y
            cancels += y
            q_ann = exits.q_annuitize_pool if cls == 4 else exits.q_annuitize
            z = event_weight(wc, q_ann, simulated, seed, cid, s, t, Draw.ANNUITIZE)
            wc -= z
            annuitizations += z
            weight[cls, i] = wc
        if pool_mid > 0.0:
            ratio = weight[4, i] / pool_mid
            for k in range(n_recent):
                recent[k, i] *= ratio
        lapses_out[i] = lapses
        cancels_out[i] = cancels
        annuitizations_out[i] = annuitizations
        waived_out[i] = waived


@jit(inline=True)
def _surrender_lane(
    cv,
    benefit_base,
    fixed,
    premiums,
    withdrawn,
    first_left,
    second_left,
    lapses,
    cancels,
    annuitizations,
    waived,
    lag_discount,
    rates,
):
    """What one lane's exits pay (:func:`surrender_payments`); ``rates`` = (fee rate,
    termination fee on surrender, on cancellation, on annuitization (1.0 or 0.0), free
    share, charges apply, rate of the first payment, of the scheduled payment, surrender
    lag, fixed interest after, fee on the CV).

    Returns (termination fee paid, its weight, fee basis, weight charged, charge each,
    Settlement Values paid, their value at the step end after the lag)."""
    fee_rate, tf_surrender, tf_cancel, tf_annuitization, free_share = rates[:5]
    charges_apply, first_rate, second_rate, lag, fixed_interest_after, fee_on_cv = rates[5:]
    base = rider_fee_basis(fee_on_cv, cv, benefit_base)
    fee_weight = lapses * tf_surrender + cancels * tf_cancel + annuitizations * tf_annuitization
    fee_each = termination_rider_fee(fee_rate, base, cv)
    # what a surrendering contract holds after its termination Rider Fee
    net = cv - fee_each * tf_surrender
    fix = fixed * (net / cv) if cv > 0.0 else 0.0
    free = free_withdrawal_amount(free_share, premiums, withdrawn)
    charge = 0.0
    charged = 0.0
    if net > free and charges_apply:
        charged = lapses - waived
        charge, _, _ = layered_withdrawal_charge(
            net - free, first_left, first_rate, second_left, second_rate
        )
    var_factor, fix_factor = settlement_factors(lag_discount, lag, fixed_interest_after)
    fix_part = fix * (1.0 - charge / net) if net > 0.0 else 0.0
    paid_charged = ((net - charge) - fix_part) * var_factor + fix_part * fix_factor
    paid_free = (net - fix) * var_factor + fix * fix_factor
    paid = charged * (net - charge) + (lapses - charged) * net
    paid_lagged = charged * paid_charged + (lapses - charged) * paid_free
    return fee_weight * fee_each, fee_weight, base, charged, charge, paid, paid_lagged


@jit
def surrender_payments(lanes, n, exits, terms, fee_rate, disc, lag_discount, year):
    """What the step's exits (``values[V.LAPSES]``, ``cancels``, ``annuitizations``) pay: the
    termination Rider Fee, the withdrawal charge on surrenders, and the Settlement Value
    paid after the surrender lag [000, 003 III-IV]. On a surrender the termination Rider
    Fee is deducted from the Contract Value (pro rata, fixed account included) on the
    termination date [003 III], so the Settlement Value paid is that of the CV after it:
    the CV less the fee, less the withdrawal charge on what exceeds the free amount.
    ``lag_discount`` (n_scen,) row: exp(-r surrender lag).

    A lane's arithmetic is :func:`_surrender_lane`. The present values are added in one
    lane loop that LLVM vectorises; the cash flows of projection year ``year`` (none when
    -1) in a second loop, which does not vectorise (runtime row indices)."""
    values = lanes.values
    rates = (
        fee_rate,
        1.0 if terms.termination_fee_on_surrender else 0.0,
        1.0 if terms.termination_fee_on_cancellation else 0.0,
        1.0 if terms.termination_fee_on_annuitization else 0.0,
        terms.free_withdrawal,
        exits.charges_apply,
        exits.first_charge_rate,
        exits.second_charge_rate,
        terms.surrender_lag,
        terms.fixed_interest_after,
        terms.fee_on_contract_value,
    )
    cvs, bbs, fix_values = values[V.CV], values[V.BENEFIT_BASE], values[V.FIXED]
    premiums, withdrawn = values[V.PREMIUMS], values[V.WITHDRAWN]
    first_left, second_left = values[V.FIRST_LEFT], values[V.SECOND_LEFT]
    lapses, cancels, annuitizations, waived = (
        values[V.LAPSES],
        values[V.CANCELS],
        values[V.ANNUITIZATIONS],
        values[V.WAIVED],
    )
    pv_fees, pv_fee_base = lanes.acc[M.FEES], lanes.acc[M.FEE_BASE]
    pv_charges, pv_surrenders = lanes.acc[M.WITHDRAWAL_CHARGES], lanes.acc[M.SURRENDERS]
    for i in range(n):
        fee, fee_weight, base, charged, charge, _, paid_lagged = _surrender_lane(
            cvs[i],
            bbs[i],
            fix_values[i],
            premiums[i],
            withdrawn[i],
            first_left[i],
            second_left[i],
            lapses[i],
            cancels[i],
            annuitizations[i],
            waived[i],
            lag_discount[i],
            rates,
        )
        pv_fees[i] += disc[i] * fee
        pv_fee_base[i] += fee_weight * disc[i] * base
        pv_charges[i] += charged * disc[i] * charge
        pv_surrenders[i] += disc[i] * paid_lagged
    flows = lanes.flows  # bound outside the branch: see the module docstring
    if year >= 0:  # the cash flows of the projection year
        for i in range(n):
            fee, _, _, charged, charge, paid, paid_lagged = _surrender_lane(
                cvs[i],
                bbs[i],
                fix_values[i],
                premiums[i],
                withdrawn[i],
                first_left[i],
                second_left[i],
                lapses[i],
                cancels[i],
                annuitizations[i],
                waived[i],
                lag_discount[i],
                rates,
            )
            flows[F.RIDER_FEE, year, i] += fee
            flows[PV + F.RIDER_FEE, year, i] += disc[i] * fee
            flows[F.WITHDRAWAL_CHARGES, year, i] += charged * charge
            flows[PV + F.WITHDRAWAL_CHARGES, year, i] += charged * disc[i] * charge
            flows[F.SURRENDER_PAYMENTS, year, i] += paid
            flows[PV + F.SURRENDER_PAYMENTS, year, i] += disc[i] * paid_lagged


@jit(inline=True)
def _termination_claim(amount, cv, benefit_base, death_benefit_base, within, paid_discount, rates):
    """What one lane's claim ``amount`` that ends the contract pays
    (:func:`settle_terminations`); ``rates`` = (death benefit code, fee rate, termination
    fee on death (1.0 or 0.0), fee on the CV). Returns (death proceeds paid, their excess
    over the CV, termination Rider Fee, its weighted basis), all times ``amount``; the
    excess's value at the step end is ``paid_discount`` times it."""
    db_code, fee_rate, fee_on_death, fee_on_cv = rates
    proceeds = claim_proceeds(cv, death_benefit_base, within, db_code)  # >= cv
    base = rider_fee_basis(fee_on_cv, cv, benefit_base)
    fee_weight = fee_on_death * amount
    return (
        amount * proceeds,
        amount * (proceeds - cv),
        fee_weight * termination_rider_fee(fee_rate, base, cv),
        fee_weight * base,
    )


@jit
def settle_terminations(lanes, n, slot, terms, fee_rate, disc, lag_discount, year):
    """Claims arriving now that end the contract: death proceeds paid after the
    death-proceeds lag (the excess over the CV is the death benefit cost), and the
    termination Rider Fee when death is one of its events [002 (c); 003 III].

    A lane's arithmetic is :func:`_termination_claim`; a lane with no claim adds zeros, so
    the lane loop has no branch and vectorises. The cash flows of projection year ``year``
    (none when -1) are booked first, in their own loop."""
    values = lanes.values
    within = terms.delay_within
    rates = (
        terms.death_benefit_code,
        fee_rate,
        1.0 if terms.termination_fee_on_death else 0.0,
        terms.fee_on_contract_value,
    )
    cvs, bbs, dbbs = values[V.CV], values[V.BENEFIT_BASE], values[V.DEATH_BENEFIT_BASE]
    pending, pending_owner = values[V.PENDING], values[V.PENDING_OWNER]
    pv_db_excess, pv_fees, pv_fee_base = (
        lanes.acc[M.DB_EXCESS],
        lanes.acc[M.FEES],
        lanes.acc[M.FEE_BASE],
    )
    flows = lanes.flows
    for k in range(within.shape[0]):
        row = lanes.claims[ClaimKind.TERMINATE, k, slot]
        owner_row = lanes.owner_claims[k, slot]
        within_k = within[k]
        if year >= 0:
            for i in range(n):
                paid_discount = disc[i] * lag_discount[i]
                proceeds, excess, fee, _ = _termination_claim(
                    row[i], cvs[i], bbs[i], dbbs[i], within_k, paid_discount, rates
                )
                flows[F.DEATH_PROCEEDS, year, i] += proceeds
                flows[PV + F.DEATH_PROCEEDS, year, i] += paid_discount * proceeds
                flows[F.DB_EXCESS, year, i] += excess
                flows[PV + F.DB_EXCESS, year, i] += paid_discount * excess
                flows[F.RIDER_FEE, year, i] += fee
                flows[PV + F.RIDER_FEE, year, i] += disc[i] * fee
        for i in range(n):
            amount = row[i]
            paid_discount = disc[i] * lag_discount[i]
            _, excess, fee, fee_base = _termination_claim(
                amount, cvs[i], bbs[i], dbbs[i], within_k, paid_discount, rates
            )
            pv_db_excess[i] += paid_discount * excess
            pv_fees[i] += disc[i] * fee
            pv_fee_base[i] += disc[i] * fee_base
            pending[i] = max(pending[i] - amount, 0.0)
            pending_owner[i] = max(pending_owner[i] - owner_row[i], 0.0)
            row[i] = 0.0
            owner_row[i] = 0.0


@jit
def any_claims(row, n):
    """Whether any of the ``n`` lanes of a claims row holds a claim."""
    for i in range(n):
        if row[i] > 0.0:
            return True
    return False


@jit
def settle_continuations(
    lanes, n, kind, k, slot, t, to_pool, terms, fee_rate, sim, s0, disc, saved, year
):
    """Continuation claims (``kind``, delay entry ``k``) arriving now: the contract
    continues for the survivor (Option D) with the CV raised to the death proceeds, unless
    the new owner cancels the rider [002 (c) 1.c; 003 VI.1]. Continued weight with no
    step-up joins the segment's pool when ``to_pool``; the rest is written to the stack slot
    ``saved`` (N_CARRIED, n) as a new segment's start. Returns that segment's weight."""
    values = lanes.values
    simulated, seed, cid = sim
    within_window = terms.delay_within[k]
    db_code = terms.death_benefit_code
    fee_on_cv = terms.fee_on_contract_value
    fee_on_cancel = terms.termination_fee_on_cancellation
    x_cancel = terms.cancel_on_continuation
    flows = lanes.flows
    row = lanes.claims[kind, k, slot]
    var, mm, fix = values[V.VARIABLE], values[V.MONEY_MARKET], values[V.FIXED]
    cvs, bbs, dbbs, pending, acc = (
        values[V.CV],
        values[V.BENEFIT_BASE],
        values[V.DEATH_BENEFIT_BASE],
        values[V.PENDING],
        lanes.acc,
    )
    weight, recent = lanes.weight, lanes.continued_recently
    n_recent = recent.shape[0]
    total = 0.0
    for i in range(n):
        saved[Carried.VARIABLE, i] = var[i]
        saved[Carried.MONEY_MARKET, i] = mm[i]
        saved[Carried.WEIGHT_0, i] = 0.0
        amount = row[i]
        if amount <= 0.0:
            continue
        row[i] = 0.0
        pending[i] = max(pending[i] - amount, 0.0)
        if kind == ClaimKind.CONTINUE_FOR_SPOUSE:  # filed on the owner's death
            values[V.PENDING_OWNER, i] = max(values[V.PENDING_OWNER, i] - amount, 0.0)
        cv = cvs[i]
        proceeds = claim_proceeds(cv, dbbs[i], within_window, db_code)
        cancel_now = event_weight(
            amount, x_cancel, simulated, seed, cid, s0 + i, t, Draw.CANCEL_CONTINUED
        )
        if cancel_now > 0.0 and fee_on_cancel:
            base = rider_fee_basis(fee_on_cv, cv, bbs[i])
            fee = cancel_now * termination_rider_fee(fee_rate, base, cv)
            acc[M.FEES, i] += disc[i] * fee
            acc[M.FEE_BASE, i] += cancel_now * disc[i] * base
            if year >= 0:
                flows[F.RIDER_FEE, year, i] += fee
                flows[PV + F.RIDER_FEE, year, i] += disc[i] * fee
        carry = amount - cancel_now
        acc[M.CONTINUED, i] += amount
        # the step-up credited to the continued contract is a death benefit cost
        acc[M.DB_EXCESS, i] += amount * disc[i] * (proceeds - cv)
        if year >= 0:
            flows[F.DB_EXCESS, year, i] += amount * (proceeds - cv)
            flows[PV + F.DB_EXCESS, year, i] += amount * disc[i] * (proceeds - cv)
        if carry <= 0.0:
            continue
        excess = proceeds - cv
        if to_pool and excess <= 0.0:  # no step-up: the same account values, the same segment
            weight[4, i] += carry
            recent[t % n_recent, i] += carry
            continue
        var_b, mm_b = continuation_step_up(var[i], mm[i], fix[i], excess)
        saved[Carried.VARIABLE, i] = var_b
        saved[Carried.MONEY_MARKET, i] = mm_b
        saved[Carried.WEIGHT_0, i] = carry
        total += carry
    return total


@jit
def anniversary_charges(lanes, n, terms, fee_rate, disc, year):
    """On a contract anniversary, for the contracts in force and the claims pending: the
    contract maintenance fee, then the Rider Fee on the Benefit Base [000; 003 III]."""
    values = lanes.values
    maintenance_fee = terms.maintenance_fee
    fee_on_cv = terms.fee_on_contract_value
    shortfall_from_fixed = terms.fee_shortfall_from_fixed
    var, mm, fix, bbs = (
        values[V.VARIABLE],
        values[V.MONEY_MARKET],
        values[V.FIXED],
        values[V.BENEFIT_BASE],
    )
    weight, pending, acc, flows = lanes.weight, values[V.PENDING], lanes.acc, lanes.flows
    maint_taken, fee_taken = values[V.MAINTENANCE_FEE], values[V.RIDER_FEE]
    for i in range(n):
        cv = var[i] + mm[i] + fix[i]
        maint = maintenance_fee_taken(maintenance_fee, cv)
        if maint > 0.0:
            keep = 1.0 - maint / cv
            var[i] *= keep
            mm[i] *= keep
            fix[i] *= keep
            cv = var[i] + mm[i] + fix[i]
        maint_taken[i] = maint
        base = rider_fee_basis(fee_on_cv, cv, bbs[i])
        variable_value = var[i] + mm[i]
        fee, from_fixed = rider_fee_deduction(
            fee_rate * base, variable_value, fix[i], shortfall_from_fixed
        )
        if variable_value > 0.0:
            keep = 1.0 - (fee - from_fixed) / variable_value
            var[i] *= keep
            mm[i] *= keep
        fix[i] -= from_fixed
        fee_taken[i] = fee
        w_rider = (
            weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + weight[4, i] + pending[i]
        )
        acc[M.FEES, i] += w_rider * disc[i] * fee
        acc[M.FEE_BASE, i] += w_rider * disc[i] * base
        if year >= 0:
            flows[F.RIDER_FEE, year, i] += w_rider * fee
            flows[PV + F.RIDER_FEE, year, i] += w_rider * disc[i] * fee


@jit
def maturity(lanes, n, ab_factor, terms, disc, year):
    """The Rider Maturity Date: the true-up to the Accumulation Benefit is added to the
    Money Market sub-account [003 II]; claims still pending, of every kind, are settled
    with the death proceeds of the trued-up contract: the death benefit's excess over that
    CV is paid out (a claim that ends the contract) or credited to the continued contract
    (a continuation's step-up, Option D), a death benefit cost either way."""
    values = lanes.values
    within = terms.delay_within
    db_code = terms.death_benefit_code
    var, mm, fix, bbs, dbbs = (
        values[V.VARIABLE],
        values[V.MONEY_MARKET],
        values[V.FIXED],
        values[V.BENEFIT_BASE],
        values[V.DEATH_BENEFIT_BASE],
    )
    weight, pending, acc, claims, true_ups = (
        lanes.weight,
        values[V.PENDING],
        lanes.acc,
        lanes.claims,
        values[V.TRUE_UP],
    )
    ring = claims.shape[2]
    flows = lanes.flows
    for i in range(n):
        cv = var[i] + mm[i] + fix[i]
        amount = true_up(ab_factor, bbs[i], cv)
        w_rider = (
            weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + weight[4, i] + pending[i]
        )
        if amount > 0.0:
            mm[i] += amount
            acc[M.CLAIMS, i] += w_rider * disc[i] * amount
            if year >= 0:
                flows[F.TRUE_UP, year, i] += w_rider * amount
                flows[PV + F.TRUE_UP, year, i] += w_rider * disc[i] * amount
        true_ups[i] = amount
        acc[M.AT_MATURITY, i] += w_rider
        if db_code > 0:
            for kind in range(3):  # payment claims and continuations alike
                for k in range(within.shape[0]):
                    if not within[k]:
                        continue
                    for slot in range(ring):
                        waiting = claims[kind, k, slot, i]
                        if waiting > 0.0 and dbbs[i] > cv + amount:
                            excess = waiting * (dbbs[i] - cv - amount)
                            acc[M.DB_EXCESS, i] += disc[i] * excess
                            if year >= 0:
                                flows[F.DB_EXCESS, year, i] += excess
                                flows[PV + F.DB_EXCESS, year, i] += disc[i] * excess


@jit
def anniversary_withdrawal(lanes, n, terms, charge_rates, sim, t, s0, disc, lag_discount, year):
    """After the anniversary's charges: the Maximum Anniversary Value step-up of the death
    benefit base, then the partial withdrawal with its layered charge and the pro-rata
    reduction of the Benefit Base and of the death benefit base [000; 003 III].
    ``charge_rates`` = (charges apply, rate of the first payment, of the scheduled payment)
    in the new contract year; ``lag_discount``: exp(-r withdrawal lag) row."""
    values = lanes.values
    charges_apply, first_rate, second_rate = charge_rates
    simulated, seed, cid = sim
    db_code = terms.death_benefit_code
    rate = terms.withdrawal_rate
    utilisation = terms.withdrawal_utilisation
    free_share = terms.free_withdrawal
    var, mm, fix, bbs, dbbs = (
        values[V.VARIABLE],
        values[V.MONEY_MARKET],
        values[V.FIXED],
        values[V.BENEFIT_BASE],
        values[V.DEATH_BENEFIT_BASE],
    )
    weight, acc, recent, flows = lanes.weight, lanes.acc, lanes.continued_recently, lanes.flows
    premiums, withdrawn, withdrawals = values[V.PREMIUMS], values[V.WITHDRAWN], values[V.WITHDRAWAL]
    first_left, second_left, trade_now = (
        values[V.FIRST_LEFT],
        values[V.SECOND_LEFT],
        lanes.trade_now,
    )
    for i in range(n):
        cv = var[i] + mm[i] + fix[i]
        w_live = weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + weight[4, i]
        trade_now[i] = w_live > 0.0
        withdrawn[i] = 0.0
        dbbs[i] = anniversary_death_benefit_base(db_code, cv, dbbs[i])
        if rate <= 0.0 or utilisation <= 0.0 or cv <= 0.0 or w_live <= 0.0:
            continue
        if simulated:
            u = uniform_hash(seed, cid, s0 + i, t * DRAWS_PER_STEP + Draw.WITHDRAW)
            share = rate if u < utilisation else 0.0
        else:
            share = utilisation * rate
        if share <= 0.0:
            continue
        withdrawal = share * cv
        taken = share / rate  # share of contracts withdrawing
        excess = rate * cv - free_withdrawal_amount(free_share, premiums[i], withdrawn[i])
        if excess > 0.0:
            charge, from_first, from_second = layered_withdrawal_charge(
                excess, first_left[i], first_rate, second_left[i], second_rate
            )
            # the free withdrawal within a year of a continuation still uses up purchase
            # payments; only its charge is waived
            if charges_apply:
                in_window = 0.0
                for k in range(recent.shape[0]):
                    in_window += recent[k, i]
                charged = (w_live - in_window) * taken * charge
                acc[M.WITHDRAWAL_CHARGES, i] += disc[i] * charged
                if year >= 0:
                    flows[F.WITHDRAWAL_CHARGES, year, i] += charged
                    flows[PV + F.WITHDRAWAL_CHARGES, year, i] += disc[i] * charged
            first_left[i] -= taken * from_first
            second_left[i] -= taken * from_second
        var_factor, fix_factor = settlement_factors(
            lag_discount[i], terms.withdrawal_lag, terms.fixed_interest_after
        )
        fix_share = fix[i] / cv
        paid_pv = (
            w_live
            * disc[i]
            * withdrawal
            * ((1.0 - fix_share) * var_factor + fix_share * fix_factor)
        )
        acc[M.WITHDRAWALS, i] += paid_pv
        if year >= 0:
            flows[F.WITHDRAWALS, year, i] += w_live * withdrawal
            flows[PV + F.WITHDRAWALS, year, i] += paid_pv
        keep = 1.0 - share
        bbs[i] = benefit_base_after_withdrawal(bbs[i], keep)
        if db_code > 0:
            dbbs[i] *= keep
        var[i] *= keep
        mm[i] *= keep
        fix[i] *= keep
        withdrawn[i] = withdrawal
        withdrawals[i] = withdrawal


@jit
def year_end(lanes, n, year):
    """At the end of a projection year: the weight in force (every class and the pool)."""
    weight, inforce = lanes.weight, lanes.flows[INFORCE_ROW, year]
    for i in range(n):
        inforce[i] += weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i] + weight[4, i]


@jit
def purchase_payment(lanes, n, amount, into_benefit_base, db_code):
    """A scheduled purchase payment, credited to the variable sub-accounts; it enters the
    Benefit Base up to the first anniversary after the Rider Date [000; 003 III]."""
    values = lanes.values
    var, prem, second_left = values[V.VARIABLE], values[V.PREMIUMS], values[V.SECOND_LEFT]
    bbs, dbbs = values[V.BENEFIT_BASE], values[V.DEATH_BENEFIT_BASE]
    for i in range(n):
        var[i] += amount
        prem[i] += amount
        second_left[i] += amount
        if into_benefit_base:
            bbs[i] += amount
        if db_code > 0:
            dbbs[i] += amount


@jit
def trade_in(lanes, n, terms, sim, t, s0, saved):
    """Trade-in to a New Rider on an anniversary from the 10th rider anniversary [003 V]:
    the traded weight leaves the segment and is written to the stack slot ``saved`` as a
    new segment whose Benefit Base is the CV. Returns its weight."""
    values = lanes.values
    simulated, seed, cid = sim
    threshold, rate_below, rate_above = (
        terms.trade_threshold,
        terms.trade_rate,
        terms.trade_rate_above,
    )
    var, mm, fix, bbs = (
        values[V.VARIABLE],
        values[V.MONEY_MARKET],
        values[V.FIXED],
        values[V.BENEFIT_BASE],
    )
    weight, recent, trade_now = lanes.weight, lanes.continued_recently, lanes.trade_now
    n_recent = recent.shape[0]
    total = 0.0
    for i in range(n):
        for cls in range(5):
            saved[Carried.WEIGHT_0 + cls, i] = 0.0
        saved[Carried.BENEFIT_BASE, i] = var[i] + mm[i] + fix[i]
        if not trade_now[i]:
            continue
        cv = var[i] + mm[i] + fix[i]
        ratio = cv / bbs[i] if bbs[i] > 0.0 else 1e300
        rate = rate_above if ratio >= threshold else rate_below
        pool_was = weight[4, i]
        for cls in range(5):
            x = event_weight(weight[cls, i], rate, simulated, seed, cid, s0 + i, t, Draw.TRADE)
            saved[Carried.WEIGHT_0 + cls, i] = x
            weight[cls, i] -= x
            total += x
        if pool_was > 0.0:
            ratio = weight[4, i] / pool_was
            for k in range(n_recent):
                recent[k, i] *= ratio
    return total


@jit
def record_trace(lanes, n, trace, c, s0, t, payment):
    """The main segment's state at the step end, per lane (``trace[c, s0 + i, t, :]``)."""
    values = lanes.values
    var, mm, fix, weight = values[V.VARIABLE], values[V.MONEY_MARKET], values[V.FIXED], lanes.weight
    for i in range(n):
        row = trace[c, s0 + i, t]
        row[0] = weight[0, i] + weight[1, i] + weight[2, i] + weight[3, i]
        row[1] = var[i]
        row[2] = mm[i]
        row[3] = fix[i]
        row[4] = values[V.BENEFIT_BASE, i]
        row[5] = values[V.DEATH_BENEFIT_BASE, i]
        row[6] = values[V.CV_START, i]
        row[7] = values[V.GROWTH, i]
        row[8] = values[V.CHARGES, i]
        row[9] = values[V.MAINTENANCE_FEE, i]
        row[10] = values[V.RIDER_FEE, i]
        row[11] = values[V.WITHDRAWAL, i]
        row[12] = payment
        row[13] = values[V.TRUE_UP, i]
        row[14] = var[i] + mm[i] + fix[i]
