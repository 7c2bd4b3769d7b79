"""One test per rule of the seed documents on rider termination, death and timing.

SPEC.md sections 2 (cancellation [003 IV], trade-in [003 V], death [003 VI], termination
[003 VII]), 3 (Spousal Protection [004]), 4 (Death of Owner / Annuitant [002]) and 5
(payment timing [000]).

Every test builds small contracts on a zero-volatility market (r = 3 %, no fund fees, no
M&E) so that the numbers can be worked by hand, runs the engine, checks every measure of
every scenario (and the main segment's trace) against the plain-Python twin
tests/reference.py, then checks a hand-worked number or a structural property.

Deaths are made certain with a user mortality table (CSV) that is 0 at every age but the
chosen ones, where it is 1, under a constant force within each year of age
(``mortality.fractional_age = "constant_force"``): an owner aged 70.0 with q(72) = 1 dies in
the first step at age 72, the first of projection year 2 (step t = 24, monthly steps), with
weight 1, in expected mode.
"""

from __future__ import annotations

import math

import pytest

from sim.config import ConfigError
from sim.engine import kernels as K
from sim.engine.driver import run_block
from sim.valuation import breakeven_fee

from .blocks import MEASURE as X
from .blocks import TRACE as F
from .blocks import contracts_frame, model_for
from .reference import project_contract
from .test_rider_rules import flat_config

R = 0.03
M = 12
G = math.exp(R / M)  # growth of the variable sub-accounts over one step


def D(t_end: int) -> float:
    """Discount factor to the end of step t_end - 1 (t_end steps from now)."""
    return math.exp(-R * t_end / M)


def flat(**changes):
    """Zero volatility, r = 3 %, no fund fee, no M&E, no decrements, fixed rate 0 % that
    renews at 0 %: the variable sub-accounts grow at e^{r dt} a step."""
    return flat_config(**changes)


def deaths(tmp_path, female=(), male=(), **changes):
    """A flat config whose mortality table is 1 at the given ages and 0 elsewhere."""
    path = tmp_path / "deaths.csv"
    rows = ["age,male,female"] + [
        f"{a},{1.0 if a in male else 0.0},{1.0 if a in female else 0.0}" for a in range(121)
    ]
    path.write_text("\n".join(rows) + "\n")
    return flat(
        **{
            "mortality.enabled": True,
            "mortality.table": str(path),
            "mortality.improvement": "none",
            "mortality.multiplier": 1.0,
            "mortality.fractional_age": "constant_force",  # q = 1: dead in the first step
            **changes,
        }
    )


def check(config, inforce, n_scenarios=2):
    """Run the engine with a trace; every measure of every contract and scenario, and the
    main segment's trace, equal the twin's. Returns (per-contract PVs of scenario 0 as a
    list of dicts, the trace of contract 0 in scenario 0, the run)."""
    # per-contract values: one contract per run keeps the block totals per contract
    out = []
    trace0 = None
    run0 = None
    for c in range(len(inforce)):
        one = inforce.iloc[[c]].reset_index(drop=True)
        model, scenarios, assumptions = model_for(config, one, n_scenarios)
        run = run_block(model, trace=True)
        row = one.iloc[0].to_dict()
        for s in range(n_scenarios):
            ref = project_contract(row, config, scenarios, s, assumptions.mortality)
            for name, k in X.items():
                assert run.scenario_totals[k, s] == pytest.approx(ref[name], rel=1e-10, abs=1e-8), (
                    c,
                    s,
                    name,
                )
            for t, step in enumerate(ref["trace"]):
                if t > 0 and ref["trace"][t - 1]["weight"] == 0.0:
                    break  # the main segment is empty: its later state carries no weight
                for f, field in enumerate(K.TRACE_FIELDS):
                    assert run.trace[0, s, t, f] == pytest.approx(
                        step[field], rel=1e-10, abs=1e-8
                    ), (c, s, t, field)
        # zero volatility: every scenario is the same path
        assert run.scenario_totals[:, 0] == pytest.approx(
            run.scenario_totals[:, 1], rel=1e-12, abs=1e-9
        )
        out.append({name: run.scenario_totals[k, 0] for name, k in X.items()})
        if c == 0:
            trace0, run0 = run.trace[0, 0], run
    return out, trace0, run0


def cv_path(cv0, steps, fees, start=0):
    """CV of an all-equity contract after steps start..steps-1 of growth, less ``fees``
    (a function of the step) taken on the anniversaries (t + 1 a multiple of 12)."""
    cv = cv0
    for t in range(start, steps):
        cv *= G
        if (t + 1) % M == 0:
            cv -= fees(t)
    return cv


def annuity(amount, years, first=1):
    return sum(amount * math.exp(-R * k) for k in range(first, first + years))


# ------------------------------------------------------------------ [003 IV] cancellation


def test_003_iv_cancellation_only_from_the_10th_rider_anniversary():
    """A 12-year rider cancelled at an annual rate of 100 %: nobody cancels before the
    10th rider anniversary (step 120); everybody cancels in the first step after it, off an
    anniversary, and pays a full Rider Fee if cancellation is a termination fee event."""
    config = flat(**{"behaviour.cancel": {"rate": 1.0, "rate_above": 1.0}})
    (pv,), tr, _ = check(config, contracts_frame(config, {"rider_period": 12, "ab_factor": 2.0}))
    assert (tr[:120, F["weight"]] == 1.0).all() and (tr[120:, F["weight"]] == 0.0).all()
    anniversary = annuity(1000.0, 10)  # fees on anniversaries 1..10, BB = 100,000
    assert pv["pv_fees"] == pytest.approx(anniversary + 1000.0 * D(121), rel=1e-12)
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 0.0
    # cancellation is not a termination fee event: only the anniversary fees
    off = flat(
        **{
            "behaviour.cancel": {"rate": 1.0, "rate_above": 1.0},
            "rider.termination_fee_events": ["surrender"],
        }
    )
    (pv_off,), _, _ = check(off, contracts_frame(off, {"rider_period": 12, "ab_factor": 2.0}))
    assert pv_off["pv_fees"] == pytest.approx(anniversary, rel=1e-12)
    # a rider of 10 years or less can never be cancelled
    (pv_short,), tr_short, _ = check(
        config, contracts_frame(config, {"rider_period": 10, "ab_factor": 2.0})
    )
    assert (tr_short[:, F["weight"]] == 1.0).all() and pv_short["inforce_at_maturity"] == 1.0
    # an in-force rider past its 10th anniversary may be cancelled at once
    (pv_old,), tr_old, _ = check(
        config,
        contracts_frame(
            config, {"rider_period": 12, "rider_years_elapsed": 10, "contract_year": 11}
        ),
    )
    assert tr_old[0, F["weight"]] == 0.0 and pv_old["pv_fees"] == pytest.approx(
        1000.0 * D(1), rel=1e-12
    )


def test_003_iv_cancellation_rate_depends_on_cv_over_bb():
    """rate below the CV / BB threshold, rate_above at or above it."""
    config = flat(**{"behaviour.cancel": {"rate": 0.0, "threshold": 1.1, "rate_above": 1.0}})
    rich, poor = check(
        config,
        contracts_frame(
            config,
            {"rider_period": 12, "benefit_base": 80_000.0},
            {"rider_period": 12, "benefit_base": 120_000.0},
        ),
    )[0]
    # CV / BB = 1.25 and rising: all cancel after the 10th anniversary
    assert rich["inforce_at_maturity"] == 0.0
    assert rich["pv_fees"] == pytest.approx(annuity(800.0, 10) + 800.0 * D(121), rel=1e-12)
    # CV / BB stays below 1.1: cv_120 / 120,000 < 1.1, nobody cancels
    assert cv_path(100_000.0, 120, lambda t: 1200.0) / 120_000.0 < 1.1
    assert poor["inforce_at_maturity"] == 1.0
    assert poor["pv_fees"] == pytest.approx(annuity(1200.0, 12), rel=1e-12)


# --------------------------------------------------------------------- [003 V] trade-in


def test_003_v_trade_in_starts_a_new_rider_with_bb_equal_to_cv_and_no_fee():
    config = flat(
        **{
            "behaviour.trade_in": {
                "rate": 1.0,
                "rate_above": 1.0,
                "rider_period": 7,
                "ab_factor": 1.3,
                "fee_rate": 0.02,
            }
        }
    )
    (pv,), tr, _ = check(config, contracts_frame(config, {"rider_period": 12, "ab_factor": 2.0}))
    # everybody trades in on the 10th rider anniversary (step 120), after its Rider Fee
    cv_120 = cv_path(100_000.0, 120, lambda t: 1000.0)
    assert tr[118, F["weight"]] == 1.0 and tr[119, F["weight"]] == 0.0
    new_bb = cv_120
    cv_mat = cv_path(cv_120, 120 + 84, lambda t: 0.02 * new_bb, start=120)  # new maturity: 17 years
    claim = max(1.3 * new_bb - cv_mat, 0.0)
    assert claim > 0.0
    assert pv["pv_claims"] == pytest.approx(claim * math.exp(-R * 17), rel=1e-12)
    # fees: the old rider's 10, the new rider's 7 on the new BB at the new fee; no fee at
    # the trade-in itself
    assert pv["pv_fees"] == pytest.approx(
        annuity(1000.0, 10) + annuity(0.02 * new_bb, 7, first=11), rel=1e-12
    )
    assert pv["inforce_at_maturity"] == 1.0
    # a rider that is not traded in matures at year 12 on the old terms
    plain = flat()
    (pv_plain,), _, _ = check(plain, contracts_frame(plain, {"rider_period": 12, "ab_factor": 2.0}))
    assert pv_plain["pv_claims"] == pytest.approx(
        (200_000.0 - cv_path(100_000.0, 144, lambda t: 1000.0)) * math.exp(-R * 12), rel=1e-12
    )


@pytest.mark.parametrize("how", ["fixed", "searched"])
def test_003_v_breakeven_fee_of_the_new_rider_is_an_option(how):
    """Everybody trades in on the 10th rider anniversary into a 7-year New Rider whose own
    fee is 2 %. A block-wide fee of 1.5 % (what the break-even search tries) is the fee of
    the rider in force; the New Rider keeps its 2 % ("fixed") or takes 1.5 % too
    ("searched")."""
    trade = {
        "rate": 1.0,
        "rate_above": 1.0,
        "rider_period": 7,
        "ab_factor": 1.3,
        "fee_rate": 0.02,
        "fee_in_breakeven": how,
    }
    config = flat(**{"behaviour.trade_in": trade})
    inforce = contracts_frame(config, {"rider_period": 12, "ab_factor": 2.0})
    model, scenarios, assumptions = model_for(config, inforce, 2)
    fee = 0.015
    run = run_block(model, fee_rate=fee)
    ref = project_contract(
        inforce.iloc[0].to_dict(), config, scenarios, 0, assumptions.mortality, fee_rate=fee
    )
    for name, k in X.items():
        assert run.scenario_totals[k, 0] == pytest.approx(ref[name], rel=1e-10, abs=1e-8), name
    new_fee = fee if how == "searched" else 0.02
    new_bb = cv_path(100_000.0, 120, lambda t: fee * 100_000.0)
    expected = annuity(fee * 100_000.0, 10) + annuity(new_fee * new_bb, 7, first=11)
    assert run.scenario_totals[X["pv_fees"], 0] == pytest.approx(expected, rel=1e-12)
    # the break-even search: at its root PV claims = PV fees, the New Rider charged as set
    root, _, _ = breakeven_fee(model)
    gaps = [
        run_block(model, fee_rate=f).scenario_totals[:2, 0] @ [1.0, -1.0]
        for f in (root - 1e-5, root + 1e-5)
    ]
    assert gaps[0] > 0.0 > gaps[1]


# ----------------------------------------------------------------- [003 VI] death, rider


def _spouse_couple(**columns):
    """A woman of 70 (dies at 72 in the tables below) with a husband of 65 as sole Primary
    Beneficiary; ROP death benefit base 130,000; AB factor 1.5."""
    row = {
        "owner_age": 70.0,
        "owner_sex": "F",
        "spouse_age": 65.0,
        "spouse_sex": "M",
        "beneficiary": "spouse",
        "death_benefit_base": 130_000.0,
        "ab_factor": 1.5,
    }
    row.update(columns)
    return row


def test_003_vi_rider_continues_when_spouse_continues(tmp_path):
    cont = deaths(tmp_path, female=(72,))
    (pv,), tr, _ = check(cont, contracts_frame(cont, _spouse_couple()))
    assert tr[23, F["weight"]] == 1.0 and tr[24, F["weight"]] == 0.0  # the owner dies at step 24
    # continued with the CV reset to the death proceeds 130,000 and the same rider
    cv_mat = cv_path(130_000.0, 84, lambda t: 1000.0, start=25)
    assert pv["pv_claims"] == pytest.approx((150_000.0 - cv_mat) * math.exp(-7 * R), rel=1e-12)
    assert pv["pv_fees"] == pytest.approx(annuity(1000.0, 7), rel=1e-12)
    assert pv["continuation_weight"] == 1.0 and pv["inforce_at_maturity"] == 1.0
    # nobody continues: the rider ends at the death, the death benefit is paid
    none = deaths(tmp_path, female=(72,), **{"behaviour.spousal_continuation": 0.0})
    (pv0,), _, _ = check(none, contracts_frame(none, _spouse_couple()))
    cv_24 = cv_path(100_000.0, 25, lambda t: 1000.0)
    assert pv0["pv_claims"] == 0.0 and pv0["continuation_weight"] == 0.0
    assert pv0["pv_fees"] == pytest.approx(annuity(1000.0, 2), rel=1e-12)
    assert pv0["pv_db_excess"] == pytest.approx((130_000.0 - cv_24) * D(25), rel=1e-12)
    assert pv0["inforce_at_maturity"] == 0.0


@pytest.mark.parametrize("beneficiary", ["natural", "non_natural"])
def test_003_vi_rider_ends_when_the_contract_is_not_continued(tmp_path, beneficiary):
    config = deaths(tmp_path, female=(72,))
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple(beneficiary=beneficiary)))
    cv_24 = cv_path(100_000.0, 25, lambda t: 1000.0)
    assert pv["pv_claims"] == 0.0 and pv["continuation_weight"] == 0.0
    assert pv["inforce_at_maturity"] == 0.0
    assert pv["pv_fees"] == pytest.approx(annuity(1000.0, 2), rel=1e-12)  # no fee at death
    assert pv["pv_db_excess"] == pytest.approx((130_000.0 - cv_24) * D(25), rel=1e-12)


def test_003_vi_new_owner_may_cancel_at_continuation(tmp_path):
    all_cancel = deaths(tmp_path, female=(72,), **{"behaviour.cancel_on_continuation": 1.0})
    (pv1,), _, _ = check(all_cancel, contracts_frame(all_cancel, _spouse_couple()))
    assert pv1["continuation_weight"] == 1.0  # the contract is continued ...
    assert pv1["pv_claims"] == 0.0 and pv1["inforce_at_maturity"] == 0.0  # ... without the rider
    # a cancellation off an anniversary pays a full Rider Fee on the BB
    assert pv1["pv_fees"] == pytest.approx(annuity(1000.0, 2) + 1000.0 * D(25), rel=1e-12)
    half = deaths(tmp_path, female=(72,), **{"behaviour.cancel_on_continuation": 0.5})
    keep = deaths(tmp_path, female=(72,))
    (pv_half,), _, _ = check(half, contracts_frame(half, _spouse_couple()))
    (pv0,), _, _ = check(keep, contracts_frame(keep, _spouse_couple()))
    assert pv_half["pv_claims"] == pytest.approx(0.5 * pv0["pv_claims"], rel=1e-12)
    assert pv_half["inforce_at_maturity"] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("elect", [1.0, 0.0], ids=["continued", "paid out"])
def test_003_vi_claim_pending_at_maturity_keeps_its_death_benefit_excess(tmp_path, elect):
    """The owner (69.25) dies at 76, in step 81; her claim arrives 100 days (3 steps) later,
    after the Rider Maturity Date (step 84). Pending at maturity, it shares the true-up (none
    here: AB factor 1) and its death benefit's excess over the CV then, 130,000 - CV, is a
    death benefit cost whether the spouse continues (a step-up) or takes the proceeds."""
    config = deaths(
        tmp_path,
        female=(76,),
        **{"behaviour.claim_delay": [[100, 1.0]], "behaviour.spousal_continuation": elect},
    )
    row = _spouse_couple(owner_age=69.25, ab_factor=1.0)
    (pv,), tr, _ = check(config, contracts_frame(config, row))
    assert tr[80, F["weight"]] == 1.0 and tr[81, F["weight"]] == 0.0
    cv_84 = cv_path(100_000.0, 84, lambda t: 1000.0)
    assert 100_000.0 < cv_84 < 130_000.0
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 1.0
    assert pv["pv_db_excess"] == pytest.approx((130_000.0 - cv_84) * D(84), rel=1e-12)
    assert pv["continuation_weight"] == 0.0  # not settled before the rider ended


# ------------------------------------------------------------ [003 VII] payout start date


def test_003_vii_rider_terminates_at_the_payout_start_date():
    """Owner 60.0, annuitization at 100 % a year from age 62.4: all annuitize in step 28
    (60 + 29/12 >= 62.4); no claim, two anniversary fees, and a termination fee only if
    annuitization is a termination fee event (not by default)."""
    config = flat(**{"behaviour.annuitization": {"rate": 1.0, "from_age": 62.4}})
    (pv,), tr, _ = check(config, contracts_frame(config, {"ab_factor": 2.0}))
    assert tr[27, F["weight"]] == 1.0 and tr[28, F["weight"]] == 0.0
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 0.0
    assert pv["pv_fees"] == pytest.approx(annuity(1000.0, 2), rel=1e-12)
    charged = flat(
        **{
            "behaviour.annuitization": {"rate": 1.0, "from_age": 62.4},
            "rider.termination_fee_events": ["surrender", "cancellation", "annuitization"],
        }
    )
    (pv_c,), _, _ = check(charged, contracts_frame(charged, {"ab_factor": 2.0}))
    assert pv_c["pv_fees"] == pytest.approx(annuity(1000.0, 2) + 1000.0 * D(29), rel=1e-12)


# -------------------------------------------------------------- [004] spousal protection

SP = 0.0015


def _sp_path(cv0, start, stop, sp_on_until, fee=1000.0, disc_from=0):
    """All-equity CV from step start to stop with the Spousal Protection charge in the
    steps < sp_on_until; returns (cv, PV of the charge at weight 1)."""
    cv, pv = cv0, 0.0
    keep = math.exp(-SP / M)
    for t in range(start, stop):
        cv *= G
        if t < sp_on_until:
            pv += D(t + 1) * cv * (1.0 - keep)
            cv *= keep
        if (t + 1) % M == 0:
            cv -= fee
    return cv, pv


def test_004_ii_coannuitant_death_continues_the_contract_once(tmp_path):
    """The co-annuitant husband (65) dies at 66 (step 12): Option D continuation, the CV
    stepped up to the death benefit 200,000, Spousal Protection ends. The owner (70) dies at
    73 (step 36): no second continuation, the death benefit is paid, the rider ends."""
    config = deaths(tmp_path, female=(73,), male=(66,))
    # a Rider Fee of 8 % of BB makes the stepped-up CV fall below the death benefit again
    row = _spouse_couple(spousal_protection=True, death_benefit_base=200_000.0, rider_fee_rate=0.08)
    (pv,), tr, _ = check(config, contracts_frame(config, row))
    assert tr[11, F["weight"]] == 1.0 and tr[12, F["weight"]] == 0.0
    assert pv["continuation_weight"] == 1.0  # once
    cv_12, sp_pv = _sp_path(100_000.0, 0, 13, 13, fee=8000.0)
    cv_36, _ = _sp_path(200_000.0, 13, 37, 0, fee=8000.0)
    assert 200_000.0 - cv_36 > 1000.0
    assert pv["pv_spousal_charge"] == pytest.approx(sp_pv, rel=1e-12)
    # the step-up to the death benefit at the continuation, then the owner's death benefit
    assert pv["pv_db_excess"] == pytest.approx(
        (200_000.0 - cv_12) * D(13) + (200_000.0 - cv_36) * D(37), rel=1e-12
    )
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 0.0
    assert pv["pv_fees"] == pytest.approx(annuity(8000.0, 3), rel=1e-12)
    # without Spousal Protection the husband's death changes nothing; the owner's death
    # then finds no living spouse: no continuation either
    plain = dict(row, spousal_protection=False)
    (pv_plain,), _, _ = check(config, contracts_frame(config, plain))
    assert pv_plain["continuation_weight"] == 0.0 and pv_plain["pv_spousal_charge"] == 0.0
    assert pv_plain["pv_db_excess"] == pytest.approx(
        (200_000.0 - cv_path(100_000.0, 37, lambda t: 8000.0)) * D(37), rel=1e-12
    )


def test_004_iii_spousal_charge_is_0_15_percent_on_variable_accounts_until_the_rider_ends():
    config = flat()
    row = {
        "owner_age": 60.0,
        "spouse_age": 60.0,
        "spouse_sex": "M",
        "beneficiary": "spouse",
        "spousal_protection": True,
        "allocation": "mix",
        "fixed_value": 40_000.0,
    }
    (pv, pv_plain), tr, _ = check(
        config, contracts_frame(config, row, dict(row, spousal_protection=False))
    )
    # on the variable sub-accounts only (60,000 here), every step to maturity, weight 1
    var, expected = 60_000.0, 0.0
    keep = math.exp(-SP / M)
    for t in range(84):
        var *= G
        expected += D(t + 1) * var * (1.0 - keep)
        var *= keep
        if (t + 1) % M == 0:
            var -= 1000.0
    assert pv["pv_spousal_charge"] == pytest.approx(expected, rel=1e-12)
    assert tr[0, F["charges"]] == pytest.approx(60_000.0 * G * (1.0 - keep), rel=1e-12)
    assert (tr[:84, F["fixed"]] == 40_000.0).all()  # the fixed account is not charged
    assert pv_plain["pv_spousal_charge"] == 0.0


def test_004_iv_spousal_protection_ends_on_the_owners_death(tmp_path):
    config = deaths(tmp_path, female=(72,))
    row = _spouse_couple(spousal_protection=True)
    (pv,), _, _ = check(config, contracts_frame(config, row))
    # charged through the step of the owner's death (step 24), not after
    _, charge = _sp_path(100_000.0, 0, 25, 25)
    assert pv["pv_spousal_charge"] == pytest.approx(charge, rel=1e-12)
    assert pv["continuation_weight"] == 1.0  # the spouse continues, without the rider's charge
    nobody_dies = flat()
    (pv_all,), _, _ = check(nobody_dies, contracts_frame(nobody_dies, row))
    assert pv_all["pv_spousal_charge"] > 2.5 * charge


@pytest.mark.parametrize("elect", [1.0, 0.0], ids=["continued", "paid out"])
def test_004_iv_spousal_charge_stops_at_the_owners_death_while_the_claim_is_pending(
    tmp_path, elect
):
    """The owner dies at step 24; her claim arrives 100 days (3 steps) later. The Spousal
    Protection rider ended with her death, so its charge is not taken in steps 25-27 while
    the claim (a continuation or a death benefit paid out) waits."""
    config = deaths(
        tmp_path,
        female=(72,),
        **{"behaviour.claim_delay": [[100, 1.0]], "behaviour.spousal_continuation": elect},
    )
    row = _spouse_couple(spousal_protection=True)
    (pv,), _, _ = check(config, contracts_frame(config, row))
    _, charge = _sp_path(100_000.0, 0, 25, 25)
    assert pv["pv_spousal_charge"] == pytest.approx(charge, rel=1e-12)
    # the old reading (charged on the pending claim to its settlement at step 27) is 3 steps more
    _, charged_while_pending = _sp_path(100_000.0, 0, 28, 28)
    assert charged_while_pending - charge > 1e-3 * charge


def test_004_ii_spousal_charge_runs_on_until_a_coannuitant_claim_is_settled(tmp_path):
    """The co-annuitant husband dies at step 12; his claim arrives 3 steps later (step 15),
    when the death proceeds are determined: the rider and its charge end then [004 II],
    not at his death (which is no owner's death)."""
    config = deaths(tmp_path, male=(66,), **{"behaviour.claim_delay": [[100, 1.0]]})
    row = _spouse_couple(spousal_protection=True, death_benefit_base=100_000.0)
    (pv,), _, _ = check(config, contracts_frame(config, row))
    assert pv["continuation_weight"] == 1.0
    _, charge = _sp_path(100_000.0, 0, 16, 16)
    assert pv["pv_spousal_charge"] == pytest.approx(charge, rel=1e-12)


# --------------------------------------------------------- [002] Death of Owner, (c) 1.


def test_002_c_1_continuation_resets_cv_to_the_death_proceeds_excess_to_variable_fixed_part_to_money_market(
    tmp_path,
):
    """Owner dies at step 24 holding var (equity, 3 %) + 40,000 fixed (0 %); the CV is reset
    to the death benefit 200,000: the excess goes to the variable sub-accounts pro rata, the
    fixed account's share to Money Market (3 %), the fixed account stays. Checked through
    the maturity true-up (AB factor 2.5)."""
    config = deaths(tmp_path, female=(72,))
    row = _spouse_couple(death_benefit_base=200_000.0, ab_factor=2.5, fixed_value=40_000.0)
    (pv,), tr, _ = check(config, contracts_frame(config, row))
    var = cv_path(60_000.0, 25, lambda t: 1000.0)
    assert tr[24, F["variable"]] == pytest.approx(var, rel=1e-12)
    assert tr[24, F["fixed"]] == 40_000.0
    cv = var + 40_000.0
    excess = 200_000.0 - cv
    growing = var + excess * var / cv + excess * 40_000.0 / cv  # variable + Money Market
    growing = cv_path(growing, 84, lambda t: 1000.0, start=25)
    claim = 250_000.0 - (growing + 40_000.0)
    assert pv["pv_claims"] == pytest.approx(claim * math.exp(-7 * R), rel=1e-12)
    # the fixed account's share did not stay in the (0 %) fixed account
    stayed = (
        cv_path(var + excess * var / cv, 84, lambda t: 1000.0, start=25)
        + 40_000.0
        + excess * 40_000.0 / cv
    )
    assert pv["pv_claims"] > (250_000.0 - stayed) * math.exp(-7 * R) * (1 + 1e-6) or pv[
        "pv_claims"
    ] < (250_000.0 - stayed) * math.exp(-7 * R) * (1 - 1e-6)
    # credited to the contract rather than paid out, the step-up is still a death benefit cost
    assert pv["pv_db_excess"] == pytest.approx(excess * D(25), rel=1e-12)


def test_002_c_1_continuation_step_up_is_a_death_benefit_cost(tmp_path):
    config = deaths(tmp_path, female=(72,))
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple()))
    cv_24 = cv_path(100_000.0, 25, lambda t: 1000.0)
    assert pv["pv_db_excess"] == pytest.approx((130_000.0 - cv_24) * D(25), rel=1e-12)


@pytest.mark.parametrize(
    "dbb", [200_000.0, 50_000.0], ids=["stepped-up segment", "no step-up pool"]
)
def test_002_c_1_only_one_spousal_continuation_per_contract(tmp_path, dbb):
    """The owner (70) dies at 72 (step 24), the husband (65) continues; he dies at 69
    (step 48): no further continuation, the contract and the rider end."""
    config = deaths(tmp_path, female=(72,), male=(69,))
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple(death_benefit_base=dbb)))
    assert pv["continuation_weight"] == 1.0
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 0.0
    assert pv["pv_fees"] == pytest.approx(annuity(1000.0, 4), rel=1e-12)
    # Spousal Protection: the co-annuitant continues first (husband dies at 66), then the
    # owner's death at 72 finds Option D used
    sp = deaths(tmp_path, female=(72,), male=(66,))
    (pv_sp,), _, _ = check(
        sp, contracts_frame(sp, _spouse_couple(death_benefit_base=dbb, spousal_protection=True))
    )
    assert pv_sp["continuation_weight"] == 1.0 and pv_sp["inforce_at_maturity"] == 0.0


def test_002_c_1_free_withdrawal_within_a_year_of_continuation(tmp_path):
    """Contract value death benefit (no step-up): the continued contract has the same
    values as one where nobody died, so its withdrawal charges differ by exactly the
    charge of the first anniversary withdrawal after the continuation (step 35, within a
    year of the death at step 24); the one at step 47 is charged again."""
    changes = {
        "withdrawals.enabled": True,
        "withdrawals.rate": 0.2,
        "withdrawals.utilisation": 1.0,
        "product.death_benefit": "contract_value",
    }
    config = deaths(tmp_path, female=(72,), **changes)
    row = _spouse_couple(death_benefit_base=None)
    row.pop("death_benefit_base")
    (pv,), _, _ = check(config, contracts_frame(config, row))
    alive = flat(**changes)
    (pv_alive,), tr, _ = check(alive, contracts_frame(alive, row))
    assert pv["continuation_weight"] == 1.0
    # year 4 (contract year 4 after the anniversary): charge 5 % on the excess over 10 %
    # of the purchase payments
    w35 = tr[35, F["withdrawal"]]
    charge = (w35 - 10_000.0) * 0.05
    assert charge > 0.0
    assert pv_alive["pv_withdrawal_charges"] - pv["pv_withdrawal_charges"] == pytest.approx(
        charge * math.exp(-3 * R), rel=1e-9
    )
    assert pv["pv_claims"] == pytest.approx(pv_alive["pv_claims"], rel=1e-12)


def test_002_c_2_non_spouse_natural_beneficiary_ends_the_rider(tmp_path):
    config = deaths(tmp_path, female=(72,))
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple(beneficiary="natural")))
    assert pv["continuation_weight"] == 0.0 and pv["pv_claims"] == 0.0
    assert pv["pv_db_excess"] == pytest.approx(
        (130_000.0 - cv_path(100_000.0, 25, lambda t: 1000.0)) * D(25), rel=1e-12
    )


@pytest.mark.parametrize(
    "beneficiary, contingent",
    [
        ("non_natural", "none"),
        ("non_natural", "natural"),
        ("estate", "estate"),
        ("estate", "non_natural"),
    ],
)
def test_002_c_3_non_natural_beneficiary_ends_the_rider(tmp_path, beneficiary, contingent):
    config = deaths(tmp_path, female=(72,))
    (pv,), _, _ = check(
        config,
        contracts_frame(
            config, _spouse_couple(beneficiary=beneficiary, contingent_beneficiary=contingent)
        ),
    )
    assert pv["continuation_weight"] == 0.0 and pv["pv_claims"] == 0.0
    assert pv["inforce_at_maturity"] == 0.0
    assert pv["pv_db_excess"] == pytest.approx(
        (130_000.0 - cv_path(100_000.0, 25, lambda t: 1000.0)) * D(25), rel=1e-12
    )


def test_002_c_3_no_primary_beneficiary_named_goes_to_the_living_spouse_first(tmp_path):
    """Default order [002 (a)]: with no Primary Beneficiary the spouse takes (and may
    continue); the named Contingent Beneficiary comes before the default order."""
    config = deaths(tmp_path, female=(72,))
    spouse, contingent = check(
        config,
        contracts_frame(
            config,
            _spouse_couple(beneficiary="estate"),
            _spouse_couple(beneficiary="estate", contingent_beneficiary="natural"),
        ),
    )[0]
    assert spouse["continuation_weight"] == 1.0 and spouse["inforce_at_maturity"] == 1.0
    assert contingent["continuation_weight"] == 0.0 and contingent["pv_claims"] == 0.0


def test_002_b_grantor_trust_owner_is_non_natural(tmp_path):
    config = deaths(tmp_path, female=(72,))
    natural, trust = check(
        config,
        contracts_frame(config, _spouse_couple(), _spouse_couple(owner_type="grantor_trust")),
    )[0]
    assert natural["continuation_weight"] == 1.0
    assert trust["continuation_weight"] == 0.0 and trust["pv_claims"] == 0.0
    assert trust["pv_db_excess"] == pytest.approx(
        (130_000.0 - cv_path(100_000.0, 25, lambda t: 1000.0)) * D(25), rel=1e-12
    )
    with pytest.raises(ConfigError, match="natural-person owner"):
        contracts_frame(config, _spouse_couple(owner_type="grantor_trust", spousal_protection=True))


@pytest.mark.parametrize("days, steps, within", [(100, 3, True), (200, 7, False)])
def test_002_c_death_proceeds_are_the_death_benefit_within_180_days_else_the_contract_value(
    tmp_path, days, steps, within
):
    config = deaths(tmp_path, female=(72,), **{"behaviour.claim_delay": [[days, 1.0]]})
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple(beneficiary="natural")))
    arrival = 24 + steps  # the claim arrives `steps` steps after the death
    cv = cv_path(100_000.0, arrival + 1, lambda t: 1000.0)
    if within:
        assert pv["pv_db_excess"] == pytest.approx((130_000.0 - cv) * D(arrival + 1), rel=1e-12)
        assert pv["pv_db_excess"] > 0.0
    else:
        assert pv["pv_db_excess"] == 0.0
    assert pv["pv_fees"] == pytest.approx(annuity(1000.0, 2), rel=1e-12)


# ------------------------------------------------------------ [002] (d) Death of Annuitant


def test_002_d_annuitant_death_natural_owner_continues_or_takes_proceeds(tmp_path):
    """A man of 60 owns the contract; the annuitant, a woman of 70, dies at 72 (step 24)."""
    row = {
        "owner_age": 60.0,
        "owner_sex": "M",
        "annuitant_age": 70.0,
        "annuitant_sex": "F",
        "death_benefit_base": 130_000.0,
        "ab_factor": 1.5,
    }
    go_on = deaths(tmp_path, female=(72,))
    (pv,), tr, _ = check(go_on, contracts_frame(go_on, row))
    assert (tr[:84, F["weight"]] == 1.0).all()  # as if the death had not occurred
    cv_mat = cv_path(100_000.0, 84, lambda t: 1000.0)
    assert pv["pv_claims"] == pytest.approx((150_000.0 - cv_mat) * math.exp(-7 * R), rel=1e-12)
    assert pv["pv_db_excess"] == 0.0 and pv["continuation_weight"] == 0.0
    take = deaths(tmp_path, female=(72,), **{"behaviour.annuitant_death_continue": 0.0})
    (pv0,), _, _ = check(take, contracts_frame(take, row))
    assert pv0["pv_claims"] == 0.0
    assert pv0["pv_db_excess"] == pytest.approx(
        (130_000.0 - cv_path(100_000.0, 25, lambda t: 1000.0)) * D(25), rel=1e-12
    )


def test_002_d_non_natural_owner_annuitant_death_ends_the_contract(tmp_path):
    """A non-natural owner's annuitant is the life in owner_age / owner_sex: her death ends
    the contract even when natural owners would all continue."""
    config = deaths(tmp_path, female=(72,), **{"behaviour.annuitant_death_continue": 1.0})
    row = {
        "owner_age": 70.0,
        "owner_sex": "F",
        "owner_type": "non_natural",
        "death_benefit_base": 130_000.0,
        "ab_factor": 1.5,
    }
    (pv,), _, _ = check(config, contracts_frame(config, row))
    assert pv["pv_claims"] == 0.0 and pv["inforce_at_maturity"] == 0.0
    assert pv["pv_db_excess"] == pytest.approx(
        (130_000.0 - cv_path(100_000.0, 25, lambda t: 1000.0)) * D(25), rel=1e-12
    )


# ------------------------------------------------------------------- [000] payment timing


def test_000_settlement_lag_delays_death_proceeds_and_surrender_payments(tmp_path):
    # death proceeds: discounted over the lag at the short rate
    base = deaths(tmp_path, female=(72,))
    lagged = deaths(tmp_path, female=(72,), **{"timing.death_proceeds_days": 60.0})
    row = _spouse_couple(beneficiary="natural")
    (pv0,), _, _ = check(base, contracts_frame(base, row))
    (pv_l,), _, _ = check(lagged, contracts_frame(lagged, row))
    assert pv_l["pv_db_excess"] == pytest.approx(
        pv0["pv_db_excess"] * math.exp(-R * 60 / 365.25), rel=1e-12
    )
    # surrenders: the variable part waits the lag at the short rate; the fixed-account part
    # earns interest when deferred more than 30 days (discount factor 1 over the lag)
    lapse = {
        "lapse.enabled": True,
        "lapse.base": [0.12],
        "lapse.dynamic": {"enabled": False},
        "product.withdrawal_charges": [0.0],
    }
    row = {"allocation": "equity", "fixed_value": 40_000.0}

    def expected(lag_days):
        q = 1.0 - 0.88 ** (1 / 12)
        var, w, total = 60_000.0, 1.0, 0.0
        lag = lag_days / 365.25
        fixed_factor = 1.0 if lag_days > 30 else math.exp(-R * lag)
        for t in range(84):
            var *= G
            # the termination Rider Fee (1 % of BB 100,000) leaves the CV pro rata first
            keep = 1.0 - 1000.0 / (var + 40_000.0)
            total += w * q * D(t + 1) * keep * (var * math.exp(-R * lag) + 40_000.0 * fixed_factor)
            w *= 1 - q
            if (t + 1) % M == 0:
                var -= 1000.0
        return total

    for days in (0.0, 20.0, 60.0):
        config = flat(**lapse, **{"timing.surrender_days": days})
        (pv,), _, _ = check(config, contracts_frame(config, row))
        assert pv["pv_surrender_payments"] == pytest.approx(expected(days), rel=1e-12), days


@pytest.mark.parametrize("events", [["surrender", "cancellation"], ["cancellation"]])
def test_003_iii_termination_rider_fee_is_deducted_from_the_surrender_payment(events):
    """Everybody surrenders in the first step (base lapse 100 % a year). The full Rider Fee
    (1 % of BB 100,000) is deducted from the CV on that date [003 III]; the Settlement Value
    paid is the CV after it less the 7 % withdrawal charge on what exceeds the free 10 % of
    purchase payments; the cash-flow rows add up to the CV."""
    config = flat(
        **{
            "lapse.enabled": True,
            "lapse.base": [1.0],
            "lapse.dynamic": {"enabled": False},
            "rider.termination_fee_events": events,
        }
    )
    inforce = contracts_frame(config)
    (pv,), _, _ = check(config, inforce)
    cv = 100_000.0 * G
    fee = 1000.0 if "surrender" in events else 0.0
    charge = 0.07 * (cv - fee - 10_000.0)
    paid = cv - fee - charge
    assert pv["pv_surrender_payments"] == pytest.approx(paid * D(1), rel=1e-12)
    assert pv["pv_withdrawal_charges"] == pytest.approx(charge * D(1), rel=1e-12)
    assert pv["pv_fees"] == pytest.approx(fee * D(1), rel=1e-12)
    model, _, _ = model_for(config, inforce, 2)
    flows = run_block(model, cashflows=True).cashflows
    paid_row = flows[K.Flow.SURRENDER_PAYMENTS, 0]
    fee_row = flows[K.Flow.RIDER_FEE, 0]
    charge_row = flows[K.Flow.WITHDRAWAL_CHARGES, 0]
    assert paid_row == pytest.approx(paid, rel=1e-12)
    assert fee_row == pytest.approx(fee, rel=1e-12, abs=1e-12)
    assert paid_row + fee_row + charge_row == pytest.approx(cv, rel=1e-12)


def test_000_payment_by_check_is_credited_when_received():
    """24 steps a year (15.2 days a step), a 50,000 payment by check on the first Contract
    Anniversary (step 24) that takes 15 days to clear: it is credited when received, so it
    enters the CV and the Benefit Base then (before, the 15 days moved it to step 25, after
    the first anniversary, and out of the Benefit Base) [000, 003 II]."""
    config = flat(**{"run.steps_per_year": 24, "timing.payment_days": 15.0})
    row = {"payment_amount": 50_000.0, "payment_month": 12}
    (pv,), tr, _ = check(config, contracts_frame(config, row))
    g = math.exp(R / 24)
    # the payment, then the first anniversary's fee on BB 150,000 (rider.payment_on_anniversary)
    cv_24 = 100_000.0 * g**24 + 50_000.0 - 1500.0
    assert tr[23, F["payment"]] == 50_000.0
    assert tr[23, F["benefit_base"]] == pytest.approx(150_000.0, rel=1e-15)
    assert tr[23, F["cv_end"]] == pytest.approx(cv_24, rel=1e-12)
    assert (tr[24:, F["payment"]] == 0.0).all()
    # every fee of the rider is on BB 150,000 (anniversaries 1 to 7)
    fees = sum(1500.0 * math.exp(-R * k) for k in range(1, 8))
    assert pv["pv_fees"] == pytest.approx(fees, rel=1e-12)
    # a clearing time longer than a step is refused, not ignored
    with pytest.raises(ConfigError, match="timing.payment_days = 8 is longer than a step"):
        flat(**{"run.steps_per_year": 52, "timing.payment_days": 8.0})


@pytest.mark.parametrize("order", ["before_fee", "after_withdrawal"])
def test_003_iii_rider_fee_on_the_first_anniversary_includes_a_payment_made_that_day(order):
    """A 50,000 payment on the first Contract Anniversary (step 12) enters the Benefit Base
    [003 II]; "the Benefit Base as of the applicable Contract Anniversary" [003 III] holds it
    under ``rider.payment_on_anniversary = "before_fee"`` (the default): the fee is 1 % of
    150,000, and the anniversary's 10 % withdrawal sees the payment. Under
    ``"after_withdrawal"`` the payment comes after the fee (on 100,000) and the withdrawal.
    The engine equals the twin under each setting; the numbers are worked by hand."""
    config = flat(
        **{
            "rider.payment_on_anniversary": order,
            "withdrawals.enabled": True,
            "withdrawals.rate": 0.10,
            "withdrawals.utilisation": 1.0,
        }
    )
    assert config.rider.payment_on_anniversary == order
    row = {"payment_amount": 50_000.0, "payment_month": 12}
    (pv,), tr, _ = check(config, contracts_frame(config, row))
    grown = 100_000.0 * math.exp(R)  # CV at the first anniversary before its events
    if order == "before_fee":
        fee_1 = 0.01 * 150_000.0  # 1,500.00
        cv_before_withdrawal = grown + 50_000.0 - fee_1
        bb_1 = 150_000.0 * 0.9  # the withdrawal adjustment W / CV x BB, W = 10 % of CV
        cv_1 = 0.9 * cv_before_withdrawal
    else:
        fee_1 = 0.01 * 100_000.0  # 1,000.00
        cv_before_withdrawal = grown - fee_1
        bb_1 = 100_000.0 * 0.9 + 50_000.0
        cv_1 = 0.9 * cv_before_withdrawal + 50_000.0
    assert tr[11, F["payment"]] == 50_000.0
    assert tr[11, F["rider_fee"]] == pytest.approx(fee_1, rel=1e-15)
    assert tr[11, F["withdrawal"]] == pytest.approx(0.1 * cv_before_withdrawal, rel=1e-12)
    assert tr[11, F["benefit_base"]] == pytest.approx(bb_1, rel=1e-12)
    assert tr[11, F["cv_end"]] == pytest.approx(cv_1, rel=1e-12)
    # later fees: 1 % of BB, which each anniversary's withdrawal cuts by 10 % (none at
    # maturity, anniversary 7): before_fee 1,500.00, 1,350.00, 1,215.00, ...;
    # after_withdrawal 1,000.00, 1,400.00, 1,260.00, ...
    fees = [fee_1] + [0.01 * bb_1 * 0.9 ** (k - 2) for k in range(2, 8)]
    assert pv["pv_fees"] == pytest.approx(
        sum(f * math.exp(-R * k) for k, f in enumerate(fees, start=1)), rel=1e-12
    )


@pytest.mark.parametrize("window, within", [(180.0, False), (210.0, True)])
def test_002_c_the_180_day_window_of_the_death_benefit_may_be_extended(tmp_path, window, within):
    """The company "reserve[s] the right to extend ... the 180-day period in which the death
    proceeds will equal the Death Benefit" [002 (c)]: a claim arriving 200 days after the death (7
    steps) earns the Death Benefit only with ``product.death_claim_window_days`` >= 200; a
    window shorter than 180 days is refused in one line naming the key."""
    config = deaths(
        tmp_path,
        female=(72,),
        **{"behaviour.claim_delay": [[200, 1.0]], "product.death_claim_window_days": window},
    )
    (pv,), _, _ = check(config, contracts_frame(config, _spouse_couple(beneficiary="natural")))
    arrival = 24 + 7
    cv = cv_path(100_000.0, arrival + 1, lambda t: 1000.0)
    expected = (130_000.0 - cv) * D(arrival + 1) if within else 0.0
    assert pv["pv_db_excess"] == pytest.approx(expected, rel=1e-12, abs=0.0)
    with pytest.raises(ConfigError) as error:
        flat(**{"product.death_claim_window_days": 179.0})
    assert error.value.problems == [
        "config: product.death_claim_window_days: Input should be greater than or equal to 180"
    ]


@pytest.mark.parametrize("years", [1, 5, 7])
@pytest.mark.parametrize(
    "spread, minimum, renewed", [(0.01, 0.015, math.exp(R) - 1.0 - 0.01), (0.02, 0.015, 0.015)]
)
def test_002_second_endorsement_fixed_account_renews_at_the_current_rate_less_spread_with_a_minimum(
    years, spread, minimum, renewed
):
    config = flat(
        **{
            "product.fixed_rate": 0.05,
            "product.fixed_renewal_spread": spread,
            "product.fixed_minimum_rate": minimum,
        }
    )
    inforce = contracts_frame(config, {"fixed_value": 40_000.0, "fixed_guarantee_years": years})
    (_,), tr, _ = check(config, inforce)
    renewal = 12 * years  # the guarantee period ends on the anniversary years from now
    for t in range(84):
        before = min(t + 1, renewal)
        after = max(t + 1 - renewal, 0)
        assert tr[t, F["fixed"]] == pytest.approx(
            40_000.0 * 1.05 ** (before / 12) * (1 + renewed) ** (after / 12), rel=1e-12
        ), t
    if years < 7:  # the rate changes exactly at the renewal step
        g = tr[renewal, F["fixed"]] / tr[renewal - 1, F["fixed"]]
        assert g == pytest.approx((1 + renewed) ** (1 / 12), rel=1e-12)
        assert tr[renewal - 1, F["fixed"]] / tr[renewal - 2, F["fixed"]] == pytest.approx(
            1.05 ** (1 / 12), rel=1e-12
        )
