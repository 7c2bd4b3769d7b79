"""Numba kernels: project each contract along tiles of scenario lanes.

For each contract, the scenarios are taken in tiles of up to :data:`TILE` lanes; a tile is
projected **segment by segment** with the time loop outside and the lanes inside. The main
segment starts at the valuation date; an event that changes the contract's state for part
of the in-force weight (a spousal continuation with its stepped-up Contract Value, a rider
trade-in with its new Benefit Base) starts a new segment from that step, in every lane of
the tile at once (lanes without such weight carry zero), so expected decrements never
average such states away. New segments wait on a stack and are projected one after the
other, last first.

Order of events within a step (docs/methodology.md section 3, tests/reference.py), each a
function of :mod:`sim.engine.steps` called from :func:`run_segment` (``begin_step`` first):

1. fixed account renewal when its guarantee period ends (``renew_fixed_account``); market
   growth (``grow``);
2. proportional charges on the variable sub-accounts (``proportional_charges``);
3. deaths (``deaths_expected`` / ``deaths_simulated``, ``pool_deaths_done``), each filing a
   claim (``file_claims``);
4.-6. surrenders, rider cancellations, annuitizations (``exits_expected`` /
   ``exits_simulated``) and what they pay (``surrender_payments``);
7. claims arriving now (``settle_terminations``; ``settle_continuations`` through
   :func:`_continuations`, which starts new segments);
8. on a contract anniversary: maintenance fee and Rider Fee (``anniversary_charges``),
   maturity true-up (``maturity``), MAV step-up and partial withdrawal
   (``anniversary_withdrawal``);
9. a scheduled purchase payment (``purchase_payment``); one made on an anniversary comes
   before phase 8 with ``rider.payment_on_anniversary = "before_fee"`` (the default);
10. trade-in to a New Rider (``trade_in``, a new segment);

then the in-force weight at a year end (``year_end``) and the trace (``record_trace``).

With ``simulated`` decrements every probability becomes a draw from a counter-based hash of
(seed, contract_id, scenario, step, kind), so a path holds weight 1 in one state and results
do not depend on threads, chunks or tiles.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit, prange
from . import steps
from .draws import uniform_hash
from .lanes import (
    FLOW_ROWS,
    MEASURES,
    N_FLOWS,
    N_MEASURES,
    TRACE_FIELDS,
    Flow,
    allocate_lanes,
    load_segment,
    save_lanes,
)
from .records import N_CARRIED, Carried, ClaimKind, Life, Policy, SegmentStart, StepExits
from .rules import (
    base_lapse_rate,
    payment_before_anniversary,
    step_probability,
    withdrawal_charge_rate,
)

__all__ = [
    "MEASURES",
    "N_MEASURES",
    "TRACE_FIELDS",
    "N_TRACE",
    "TILE",
    "project_block",
    "accumulate_scenario_totals",
    "uniform_hash",
    "empty_trace",
    "empty_flows",
    "add_contract_flows",
    "FLOW_ROWS",
    "N_FLOWS",
    "Flow",
]

N_TRACE = len(TRACE_FIELDS)
# Life rows as plain integers (a segment's lives are int fields of its start record)
_OWNER, _SPOUSE, _ANNUITANT, _NONE = (
    int(Life.OWNER),
    int(Life.SPOUSE),
    int(Life.ANNUITANT),
    int(Life.NONE),
)
#: Scenario lanes per tile at most (results do not depend on it).
TILE = 1024
#: Memory for one thread's segment stack; the tile shrinks to fit it (contracts that can
#: start new segments: spousal continuations, trade-ins).
STACK_BYTES = 32 * 2**20


@jit
def _step_exits(seg, terms, cy, t, pay_step, spouse_age):
    """The exit rates of step ``t`` of a segment in contract year ``cy``."""
    dt = terms.dt
    lapse_base = base_lapse_rate(terms.lapse_base, cy) if terms.lapse_on else 0.0
    dynamic = terms.lapse_on and terms.dynamic_on
    from_age = terms.annuitize_from_age
    q_annuitize = step_probability(terms.annuitize_rate, dt)
    charges_apply, first_rate, second_rate = _charge_rates(seg, terms, cy, t, pay_step)
    return StepExits(
        step_probability(lapse_base, dt),
        dynamic,
        lapse_base,
        (terms.cancel_rate > 0.0 or terms.cancel_rate_above > 0.0) and 0 <= seg.window < t + 1,
        step_probability(terms.cancel_rate, dt),
        step_probability(terms.cancel_rate_above, dt),
        q_annuitize if seg.owner_age + (t + 1) * dt >= from_age else 0.0,
        q_annuitize if spouse_age + (t + 1) * dt >= from_age else 0.0,
        charges_apply,
        first_rate,
        second_rate,
    )


@jit
def _charge_rates(seg, terms, cy, t, pay_step):
    """(charges apply, rate of the first payment, rate of the scheduled payment) at step t:
    the first payment is in its ``cy``-th year, the scheduled one in the year since it."""
    second_year = (t + 1 - pay_step) // terms.steps_per_year + 1
    return (
        t + 1 > seg.free_until,
        withdrawal_charge_rate(terms.withdrawal_charges, cy),
        withdrawal_charge_rate(terms.withdrawal_charges, second_year),
    )


@jit
def _continuation_start(seg, terms, policy, kind, t, cy, next_anniversary, renewal):
    """The lane-independent start of a segment continued by the survivor at step t: the
    spouse owns it (or the owner after the co-annuitant's death); one free withdrawal year;
    no further continuation; the Spousal Protection rider has ended."""
    to_spouse = kind == ClaimKind.CONTINUE_FOR_SPOUSE
    return SegmentStart(
        t,
        True,
        cy,
        seg.ab_factor,
        seg.fee_rate,
        seg.maturity,
        next_anniversary,
        seg.window,
        True,
        seg.trade_used,
        False,
        t + 1 + terms.steps_per_year,
        renewal,
        _SPOUSE if to_spouse else seg.owner_life,
        _NONE,
        _NONE,
        policy.spouse_age if to_spouse else seg.owner_age,
        False,
    )


@jit
def _trade_in_start(seg, terms, t, cy, renewal):
    """The lane-independent start of a New Rider's segment from step t + 1 [003 V]."""
    m = terms.steps_per_year
    period = terms.trade_period
    return SegmentStart(
        t + 1,
        False,
        cy,
        terms.trade_ab_factor,
        terms.trade_fee_rate,
        t + 1 + period * m,
        t + 1 + m,
        t + 1 + 10 * m if period > 10 else -1,
        seg.continuation_used,
        True,
        seg.spousal_protection,
        -1,
        renewal,
        seg.owner_life,
        seg.spouse_life,
        seg.annuitant_life,
        seg.owner_age,
        False,
    )


@jit
def _q(q_lives, c, life, step):
    return q_lives[c, life, step] if life >= 0 else 0.0


@jit
def _continuations(seg, lanes, n, s0, slot, clock, stack, segs, policy, terms, sim, disc):
    """Settle the continuation claims arriving in ``slot`` at step ``t`` of ``clock`` =
    (t, contract year, next anniversary, next renewal, cash-flow year), kind by kind and delay entry by
    delay entry; weight continued with a step-up starts a new segment (pushed)."""
    t, cy, next_anniversary, renewal, flow_year = clock
    for kind in (ClaimKind.CONTINUE_FOR_SPOUSE, ClaimKind.CONTINUE_FOR_OWNER):
        # with no Spousal Protection, a spouse continuing with no step-up joins the pool
        to_pool = kind == ClaimKind.CONTINUE_FOR_SPOUSE and not seg.spousal_protection
        for k in range(terms.delay_steps.shape[0]):
            if not steps.any_claims(lanes.claims[kind, k, slot], n):
                continue
            top = len(segs)
            save_lanes(lanes, stack[top], n)
            carried = steps.settle_continuations(
                lanes,
                n,
                kind,
                k,
                slot,
                t,
                to_pool,
                terms,
                seg.fee_rate,
                sim,
                s0,
                disc,
                stack[top],
                flow_year,
            )
            if carried > 0.0:
                segs.append(
                    _continuation_start(seg, terms, policy, kind, t, cy, next_anniversary, renewal)
                )


@jit
def _segment_flags(seg, policy):
    """(owner is a natural person, a spouse may still continue after the owner's death,
    the owner continues after the co-annuitant's death [004 II], a pool of continued
    contracts can exist (no Spousal Protection))."""
    owner_natural = policy.owner_natural
    spouse_may_continue = (
        owner_natural and policy.continuation_eligible and not seg.continuation_used
    )
    coannuitant_continues = seg.spousal_protection and not seg.continuation_used
    return (
        owner_natural,
        spouse_may_continue,
        coannuitant_continues,
        spouse_may_continue and not seg.spousal_protection,
    )


@jit
def _events_in_step(c, policy, seg, lanes, n, s0, clock, stack, segs, terms, market, q_lives):
    """Phases 1-7 of step ``t`` of ``clock`` = (t, contract year, next anniversary, next
    renewal, cash-flow year): renewal and growth, charges, deaths and claims, exits, claims
    arriving. Returns the step of the next fixed-account renewal."""
    t, cy, next_anniversary, renewal, flow_year = clock
    dt = terms.dt
    sim = (terms.simulated, terms.seed, policy.contract_id)
    flags = _segment_flags(seg, policy)
    disc = market.discount[t + 1, s0:]
    if renewal > 0 and t == renewal:
        steps.renew_fixed_account(
            lanes, n, market.short_rate[t, s0:], terms.renewal_spread, terms.renewal_minimum, dt
        )
        renewal += policy.fixed_period_steps
    alloc = policy.allocation
    steps.grow(lanes, n, market.portfolio_growth[alloc, t, s0:], market.money_market_growth[t, s0:])
    spousal_rate = policy.spousal_charge
    steps.proportional_charges(
        lanes,
        n,
        math.exp(-terms.me_charge * dt),
        math.exp(-spousal_rate * dt),
        seg.spousal_protection and spousal_rate > 0.0,
        disc,
        flow_year,
    )
    at = min(t, q_lives.shape[2] - 1)  # mortality of step t, at its attained ages
    q_owner = _q(q_lives, c, seg.owner_life, at)
    q_spouse = _q(q_lives, c, seg.spouse_life, at)
    q_annuitant = _q(q_lives, c, seg.annuitant_life, at)
    q_pool = q_lives[c, _SPOUSE, at]
    death_flags = (flags[0], flags[1], flags[2])
    if terms.simulated:
        steps.deaths_simulated(
            lanes, n, q_owner, q_spouse, q_annuitant, q_pool, sim, t, s0, terms, death_flags
        )
    else:
        steps.deaths_expected(lanes, n, q_owner, q_spouse, q_annuitant, q_pool, terms, death_flags)
    if flags[3]:
        steps.pool_deaths_done(lanes, n)
    kinds = 3 if flags[1] or flags[2] else 1  # continuation claims can be filed
    steps.file_claims(lanes, n, t, seg.maturity, sim, s0, terms, kinds)
    exits = _step_exits(seg, terms, cy, t, policy.payment_step, policy.spouse_age)
    if terms.simulated:
        steps.exits_simulated(lanes, n, exits, terms, seg.ab_factor, sim, t, s0)
    else:
        steps.exits_expected(lanes, n, exits, terms, seg.ab_factor, flags[3])
    steps.surrender_payments(
        lanes, n, exits, terms, seg.fee_rate, disc, market.surrender_lag_discount[t, s0:], flow_year
    )
    slot = t % lanes.claims.shape[2]
    steps.settle_terminations(
        lanes, n, slot, terms, seg.fee_rate, disc, market.death_lag_discount[t, s0:], flow_year
    )
    if flags[1] or flags[2]:
        clock = (t, cy, next_anniversary, renewal, flow_year)
        _continuations(seg, lanes, n, s0, slot, clock, stack, segs, policy, terms, sim, disc)
    return renewal


@jit
def _anniversary(policy, seg, lanes, n, s0, t, cy, flow_year, terms, market):
    """Phase 8, on a contract anniversary: maintenance fee and Rider Fee, then the maturity
    true-up or the MAV step-up and the partial withdrawal. Returns the contract year after
    it and whether a trade-in may be decided (not at maturity)."""
    disc = market.discount[t + 1, s0:]
    steps.anniversary_charges(lanes, n, terms, seg.fee_rate, disc, flow_year)
    at_maturity = t + 1 == seg.maturity
    if at_maturity:
        steps.maturity(lanes, n, seg.ab_factor, terms, disc, flow_year)
    else:
        cy += 1
        sim = (terms.simulated, terms.seed, policy.contract_id)
        steps.anniversary_withdrawal(
            lanes,
            n,
            terms,
            _charge_rates(seg, terms, cy, t, policy.payment_step),
            sim,
            t,
            s0,
            disc,
            market.withdrawal_lag_discount[t, s0:],
            flow_year,
        )
    # one return: in numba an early return from a function holding the lane and term
    # records costs about half a microsecond a call in reference counting
    return cy, not at_maturity


@jit
def _purchase_payment(policy, lanes, n, terms):
    """Phase 9: credit the contract's scheduled purchase payment; returns its amount."""
    amount = policy.payment_amount
    steps.purchase_payment(lanes, n, amount, policy.payment_in_bb, terms.death_benefit_code)
    return amount


@jit
def run_segment(c, policy, seg, lanes, n, s0, stack, segs, terms, market, q_lives, trace):
    """Project one segment (start ``seg``, lanes loaded) over ``n`` lanes from scenario
    ``s0`` to its Rider Maturity Date, pushing new segments on ``segs``/``stack``: the
    time loop, calling each phase of a step in the order of events."""
    m = terms.steps_per_year
    sim = (terms.simulated, terms.seed, policy.contract_id)
    pay_step = policy.payment_step
    trading = (terms.trade_rate > 0.0 or terms.trade_rate_above > 0.0) and not seg.trade_used
    trace_on = seg.main and trace.shape[0] > 0
    book_flows = lanes.flows.shape[1] > 0
    cy = seg.contract_year
    next_anniversary = seg.next_anniversary
    renewal = seg.renewal
    for t in range(seg.start, seg.maturity):
        # projection year of the step for the cash flows; -1 = book none
        flow_year = t // m if book_flows else -1
        steps.begin_step(lanes, n, t, trace_on)
        if not (seg.skip_first and t == seg.start):  # a continuation starts after phase 7
            clock = (t, cy, next_anniversary, renewal, flow_year)
            renewal = _events_in_step(
                c, policy, seg, lanes, n, s0, clock, stack, segs, terms, market, q_lives
            )
        anniversary_now = t + 1 == next_anniversary
        # phase 9 before phase 8 when a payment made on the anniversary is in its Benefit
        # Base for the Rider Fee (rider.payment_on_anniversary = "before_fee") [003 III]
        pay_first = payment_before_anniversary(
            terms.payment_before_anniversary, t + 1 == pay_step, anniversary_now
        )
        payment = _purchase_payment(policy, lanes, n, terms) if pay_first else 0.0
        trade_now = False
        if anniversary_now:
            next_anniversary += m
            cy, trade_now = _anniversary(policy, seg, lanes, n, s0, t, cy, flow_year, terms, market)
        if t + 1 == pay_step and not pay_first:  # phase 9
            payment = _purchase_payment(policy, lanes, n, terms)
        if trade_now and trading and 0 <= seg.window <= t + 1:  # phase 10
            top = len(segs)
            save_lanes(lanes, stack[top], n)
            if steps.trade_in(lanes, n, terms, sim, t, s0, stack[top]) > 0.0:
                segs.append(_trade_in_start(seg, terms, t, cy, renewal))
        if (t + 1) % m == 0 and book_flows:
            steps.year_end(lanes, n, flow_year)
        if trace_on:
            steps.record_trace(lanes, n, trace, c, s0, t, payment)


@jit
def policy_of(contracts, c):
    """The :class:`~sim.engine.records.Policy` scalars of contract ``c``."""
    return Policy(
        contracts.contract_id[c],
        contracts.allocation[c],
        contracts.spousal_charge[c],
        contracts.payment_step[c],
        contracts.payment_amount[c],
        contracts.payment_in_bb[c],
        contracts.spouse_age[c],
        contracts.fixed_period_steps[c],
        contracts.owner_natural[c],
        contracts.continuation_eligible[c],
    )


@jit
def _main_start(contracts, c, saved, n):
    """The main segment at the valuation date: lane values in ``saved``, and its start."""
    saved[:, :n] = 0.0
    saved[Carried.VARIABLE, :n] = contracts.variable_value[c]
    saved[Carried.FIXED, :n] = contracts.fixed_value[c]
    saved[Carried.BENEFIT_BASE, :n] = contracts.benefit_base[c]
    saved[Carried.DEATH_BENEFIT_BASE, :n] = contracts.death_benefit_base[c]
    saved[Carried.PREMIUMS, :n] = contracts.premiums[c]
    saved[Carried.FIRST_PAYMENT_LEFT, :n] = contracts.premiums[c]
    saved[Carried.FIXED_RATE, :n] = contracts.fixed_rate[c]
    has_spouse = contracts.has_spouse[c]
    has_annuitant = contracts.has_annuitant[c]
    cls = (2 if has_spouse else 0) + (1 if has_annuitant else 0)
    saved[Carried.WEIGHT_0 + cls, :n] = 1.0
    return SegmentStart(
        0,
        False,
        contracts.contract_year[c],
        contracts.ab_factor[c],
        contracts.fee_rate[c],
        contracts.maturity_step[c],
        contracts.anniversary_step[c],
        contracts.window_step[c],
        False,
        False,
        contracts.spousal_protection[c],
        -1,
        contracts.fixed_renewal_step[c],
        _OWNER,
        _SPOUSE if has_spouse else _NONE,
        _ANNUITANT if has_annuitant else _NONE,
        contracts.owner_age[c],
        True,
    )


@jit
def stack_depth(terms, horizon):
    """Segments that may wait on the stack at once: those of the main segment (two kinds
    of continuation per claim-delay entry per step, a trade-in per anniversary), of one of
    them and of one of theirs (a continuation's trade-in, a trade-in's continuations)."""
    per_segment = (
        2 * terms.delay_steps.shape[0] * (horizon + 1) + horizon // terms.steps_per_year + 2
    )
    return 3 * per_segment + 1


@jit
def may_start_segments(contracts, c, terms):
    """Whether contract ``c`` can start new segments (a spousal continuation, the owner's
    continuation under Spousal Protection, a trade-in); when not, its segment stack holds
    only the main segment's start."""
    trading = terms.trade_rate > 0.0 or terms.trade_rate_above > 0.0
    spouse_may_continue = contracts.owner_natural[c] and contracts.continuation_eligible[c]
    return trading or spouse_may_continue or contracts.spousal_protection[c]


@jit
def _tile_and_depth(contracts, c, terms, n_s, depth, tile_size):
    """(lanes per tile, stack depth) of contract ``c``: :data:`TILE` lanes, fewer when the
    segment stack would pass :data:`STACK_BYTES`; ``tile_size`` > 0 forces the tile."""
    if not may_start_segments(contracts, c, terms):
        depth = 1
    tile = min(TILE, n_s, max(8, STACK_BYTES // (depth * N_CARRIED * 8)))
    if tile_size > 0:
        tile = min(tile_size, n_s)
    return tile, depth


@jit
def _add_flows(flows, n, total):
    """Add a tile's cash flows (FLOW_ROWS, n_years, lanes) to a contract's ``total``
    (FLOW_ROWS, n_years), lane by lane in scenario order (so tiles do not matter), and
    clear them for the next tile."""
    for r in range(flows.shape[0]):
        for y in range(flows.shape[1]):
            acc = total[r, y]
            for i in range(n):
                acc += flows[r, y, i]
                flows[r, y, i] = 0.0
            total[r, y] = acc


@jit(parallel=True)
def project_block(contracts, terms, market, q_lives, out, trace, flows_out, tile_size=0):
    """Project a chunk of contracts along every scenario.

    Parameters
    ----------
    contracts : records.ContractRecords
        The chunk's contracts (arrays of shape (n_c,)).
    terms : records.Terms
    market : records.MarketPaths
        Scenario inputs, time-major (n_steps, n_scen).
    q_lives : ndarray(float64, (n_c, 3, n_steps))
        Probability of death within each step of the owner, the spouse and a separate
        annuitant, at their attained ages (``Model.death_step_rates``).
    out : ndarray(float64, (N_MEASURES, n_c, n_scen))
        Written: the present values of every path.
    trace : ndarray(float64, (n_c, n_scen, n_steps, N_TRACE)) or shape (0, 0, 0, 0)
        Written when not empty: the main segment's state at every step end.
    flows_out : ndarray(float64, (n_c, FLOW_ROWS, n_years)) or shape (0, 0, 0)
        When not empty, zeros on entry; added to: each contract's cash flows by projection
        year (``lanes.Flow``), summed over scenarios.
    tile_size : int
        Scenario lanes per tile; 0 = :data:`TILE`, fewer for a contract that can start new
        segments when its segment stack would pass :data:`STACK_BYTES`. Results do not
        depend on it.
    """
    n_c = contracts.contract_id.shape[0]
    n_s = market.discount.shape[1]
    horizon = market.discount.shape[0] - 1
    full_depth = stack_depth(terms, horizon)
    n_flow_years = -(-horizon // terms.steps_per_year) if flows_out.shape[0] > 0 else 0
    ring = int(terms.delay_steps.max()) + terms.continuation_grid
    for c in prange(n_c):
        policy = policy_of(contracts, c)
        tile, depth = _tile_and_depth(contracts, c, terms, n_s, full_depth, tile_size)
        lanes = allocate_lanes(
            tile, terms.delay_steps.shape[0], ring, terms.steps_per_year, n_flow_years
        )
        stack = np.empty((depth, N_CARRIED, tile))
        for s0 in range(0, n_s, tile):
            n = min(tile, n_s - s0)
            lanes.acc[:] = 0.0
            segs = [_main_start(contracts, c, stack[0], n)]
            while len(segs) > 0:
                seg = segs.pop()
                load_segment(lanes, stack[len(segs)], n, terms.dt)
                run_segment(
                    c, policy, seg, lanes, n, s0, stack, segs, terms, market, q_lives, trace
                )
            out[:, c, s0 : s0 + n] = lanes.acc[:, :n]
            if flows_out.shape[0] > 0:
                _add_flows(lanes.flows, n, flows_out[c])


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


def empty_flows() -> np.ndarray:
    """The placeholder passed as ``flows_out`` when no cash flows are wanted."""
    return np.zeros((0, 0, 0))


@jit
def add_contract_flows(flows, totals):
    """Add contracts' cash flows ``flows`` (n_c, FLOW_ROWS, n_years) to the block
    ``totals`` (FLOW_ROWS, n_years) contract by contract in order (chunks do not matter)."""
    for c in range(flows.shape[0]):
        for r in range(flows.shape[1]):
            for y in range(flows.shape[2]):
                totals[r, y] += flows[c, r, y]
