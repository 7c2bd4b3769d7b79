"""The hand-worked examples of docs/methodology.md, to the cent.

Every number hard-coded below was worked by hand in ``docs/methodology.md`` (sections
"Hand-worked anniversary" and "Hand-worked maturity") from the formulas of its section 2,
not taken from a run of the engine. The tests run the numba engine (``run_block`` with a
trace) and the plain-Python twin (``tests/reference.py``) on exactly those contracts and
check both against the document: ``abs(engine - doc) < 0.005``.

The market has zero volatility, so every scenario is the same deterministic path; mortality
and lapses are off, so the in-force weight stays 1 and no figure is an expectation.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.engine import kernels as K
from sim.engine.driver import run_block

from .blocks import make_config, model_for, one_contract
from .reference import project_contract

CENT = 0.005  # a figure "matches to the cent" when it is within half a cent of the doc's

#: The config of the hand-worked examples (docs/methodology.md, "Inputs of the examples").
HAND_WORKED_CONFIG = {
    "run.scenarios": 2,
    "run.steps_per_year": 12,
    "market.rate": 0.045,
    "market.indices": [{"name": "eq", "volatility": 0.0, "dividend_yield": 0.0}],
    "market.correlation": None,
    "market.funds": [{"name": "equity", "indices": {"eq": 1.0}, "fee": 0.005}],
    "allocations": {},
    "product.me_charge": 0.0125,
    "product.maintenance_fee": 35.0,
    "product.fixed_rate": 0.03,
    "product.withdrawal_charges": [0.07, 0.06],
    "product.free_withdrawal": 0.10,
    "product.death_benefit": "return_of_premium",
    "rider.fee_rate": 0.0125,
    "rider.fee_basis": "benefit_base",
    "mortality.enabled": False,
    "lapse.enabled": False,
    "withdrawals.enabled": True,
    "withdrawals.rate": 0.15,
    "withdrawals.utilisation": 1.0,
}

RATE = 0.045

# --- Hand-worked anniversary (doc tables A1-A4) -------------------------------------------

#: State after 11 months of the new contract (a): the in-force inputs of route (b).
AFTER_11_MONTHS = {"variable": 82_042.30, "fixed": 20_549.32, "cv_end": 102_591.62}

#: The anniversary step, the same by both routes.
ANNIVERSARY = {
    "cv_start": 102_591.62,
    "growth": 324.61,  # 273.93 variable + 50.68 fixed
    "charges": 85.70,  # M&E on the variable sub-accounts
    "maintenance_fee": 35.00,  # 27.99 variable + 7.01 fixed
    "rider_fee": 1_250.00,  # 1.25 % x BB 100,000.00, variable only
    "withdrawal": 15_231.83,  # 15 % x CV 101,545.53
    "payment": 0.0,
    "true_up": 0.0,
    "benefit_base": 85_000.00,  # 100,000.00 - 15,231.83 / 101,545.53 x 100,000.00
    "death_benefit_base": 85_000.00,
    "variable": 68_809.66,
    "money_market": 0.0,
    "fixed": 17_504.04,
    "cv_end": 86_313.70,
    "weight": 1.0,
}
WITHDRAWAL_CHARGE = 313.91  # 6 % x (15,231.83 - 10,000.00)
PV_WITHDRAWAL_CHARGE_NEW_BUSINESS = 300.10  # x exp(-0.045 x 1)
PV_WITHDRAWAL_CHARGE_IN_FORCE = 312.73  # x exp(-0.045 / 12)

# --- Hand-worked maturity (doc tables M1-M2) ----------------------------------------------

MATURITY_WITH_CLAIM = {
    "cv_start": 100_000.00,
    "growth": 316.44,
    "charges": 83.57,
    "maintenance_fee": 35.00,
    "rider_fee": 1_625.00,  # 1.25 % x BB 130,000.00
    "withdrawal": 0.0,  # no withdrawal on the Rider Maturity Date
    "payment": 0.0,
    "true_up": 18_427.13,  # AB 0.90 x 130,000.00 = 117,000.00 - CV 98,572.87
    "benefit_base": 130_000.00,
    "variable": 78_530.54,
    "money_market": 18_427.13,
    "fixed": 20_042.32,
    "cv_end": 117_000.00,
    "weight": 1.0,
}
MATURITY_WITH_CLAIM_PV = {
    "pv_claims": 18_358.16,
    "pv_fees": 1_618.92,
    "pv_fee_base": 129_513.41,
    "inforce_at_maturity": 1.0,
}
MATURITY_WITH_CLAIM_NET_COST_BPS = 1_292.47  # 1e4 x (18,358.16 - 1,618.92) / 129,513.41

MATURITY_NO_CLAIM = {
    "cv_start": 100_000.00,
    "growth": 316.44,
    "charges": 83.57,
    "maintenance_fee": 35.00,
    "rider_fee": 1_250.00,  # 1.25 % x BB 100,000.00
    "withdrawal": 0.0,
    "true_up": 0.0,  # AB 90,000.00 < CV 98,947.87
    "benefit_base": 100_000.00,
    "variable": 78_905.54,
    "money_market": 0.0,
    "fixed": 20_042.32,
    "cv_end": 98_947.87,
}
MATURITY_NO_CLAIM_PV = {"pv_claims": 0.0, "pv_fees": 1_245.32, "pv_fee_base": 99_625.70}


def hand_worked_config():
    return make_config(dict(HAND_WORKED_CONFIG))


#: The columns every hand-worked model point starts from (owner details do not matter:
#: mortality is off); each example gives its own contract value.
HAND_WORKED_CONTRACT = {
    "contract_id": 1,
    "owner_age": 60.0,
    "owner_sex": "F",
    "allocation": "equity",
    "rider_period": 10,
    "guarantee_option": 1,
}


def new_business(config) -> pd.DataFrame:
    """Route (a): issued now, 80,000.00 variable + 20,000.00 fixed, anniversary in 12 months."""
    return one_contract(
        config,
        defaults=HAND_WORKED_CONTRACT,
        contract_value=100_000.00,
        fixed_value=20_000.00,
        rider_years_elapsed=0,
        months_to_anniversary=12,
    )


def in_force_one_month_before(config) -> pd.DataFrame:
    """Route (b): the state of (a) after 11 months, to the cent, one month before the anniversary."""
    return one_contract(
        config,
        defaults=HAND_WORKED_CONTRACT,
        contract_value=AFTER_11_MONTHS["cv_end"],
        fixed_value=AFTER_11_MONTHS["fixed"],
        premiums=100_000.00,
        benefit_base=100_000.00,
        death_benefit_base=100_000.00,
        contract_year=1,
        rider_years_elapsed=0,
        months_to_anniversary=1,
    )


def maturing(config, benefit_base: float) -> pd.DataFrame:
    """In force with its Rider Maturity Date at the next step (Guarantee Option 2: AB Factor 0.90)."""
    return one_contract(
        config,
        defaults=HAND_WORKED_CONTRACT,
        contract_value=100_000.00,
        fixed_value=20_000.00,
        premiums=100_000.00,
        benefit_base=benefit_base,
        contract_year=10,
        guarantee_option=2,
        rider_period=10,
        rider_years_elapsed=9,
        months_to_anniversary=1,
    )


def engine(config, inforce):
    model, scenarios, assumptions = model_for(config, inforce)
    run = run_block(model, threads=1, trace=True)
    return model, scenarios, assumptions, run


def step_of(run, t: int, s: int = 0) -> dict:
    return {name: float(run.trace[0, s, t, f]) for f, name in enumerate(K.TRACE_FIELDS)}


def measures_of(run) -> dict:
    return {name: float(run.contract_mean[k, 0]) for k, name in enumerate(K.MEASURES)}


def assert_to_the_cent(actual: dict, doc: dict, where: str) -> None:
    for name, expected in doc.items():
        assert abs(actual[name] - expected) < CENT, (
            f"{where}: {name} = {actual[name]:.6f}, the doc says {expected:.2f}"
        )


# --- the anniversary -----------------------------------------------------------------------


def test_hand_worked_anniversary_new_business_matches_the_docs_to_the_cent():
    config = hand_worked_config()
    model, _, _, run = engine(config, new_business(config))
    assert model.contracts.steps_to_anniversary[0] == 12  # anniversary at the end of step 12
    assert model.contracts.maturity_step[0] == 120  # 12 + (10 - 0 - 1) x 12
    for s in range(model.n_scenarios):  # zero volatility: every scenario is the same path
        eleven = step_of(run, 10, s)
        assert_to_the_cent(eleven, AFTER_11_MONTHS, f"scenario {s}, after 11 months")
        assert_to_the_cent(step_of(run, 11, s), ANNIVERSARY, f"scenario {s}, anniversary step 12")
    # the schedule (7 %, 6 %) charges only the withdrawal of the first anniversary (contract year 2)
    pv_wc = measures_of(run)["pv_withdrawal_charges"]
    assert abs(pv_wc - PV_WITHDRAWAL_CHARGE_NEW_BUSINESS) < CENT
    assert abs(pv_wc / math.exp(-RATE * 1.0) - WITHDRAWAL_CHARGE) < CENT


def test_hand_worked_anniversary_in_force_one_month_before_matches_the_docs_to_the_cent():
    config = hand_worked_config()
    model, _, _, run = engine(config, in_force_one_month_before(config))
    assert model.contracts.steps_to_anniversary[0] == 1
    assert model.contracts.maturity_step[0] == 109  # 1 + (10 - 0 - 1) x 12
    for s in range(model.n_scenarios):
        assert_to_the_cent(step_of(run, 0, s), ANNIVERSARY, f"scenario {s}, anniversary step 1")
    pv_wc = measures_of(run)["pv_withdrawal_charges"]
    assert abs(pv_wc - PV_WITHDRAWAL_CHARGE_IN_FORCE) < CENT
    assert abs(pv_wc / math.exp(-RATE / 12) - WITHDRAWAL_CHARGE) < CENT


def test_new_business_and_in_force_reach_the_same_anniversary_to_the_cent():
    config = hand_worked_config()
    _, _, _, run_a = engine(config, new_business(config))
    _, _, _, run_b = engine(config, in_force_one_month_before(config))
    a, b = step_of(run_a, 11), step_of(run_b, 0)
    for name in K.TRACE_FIELDS:
        assert round(a[name], 2) == round(b[name], 2), (name, a[name], b[name])
    # and the anniversary after it (no withdrawal charge any more: contract year 3)
    a, b = step_of(run_a, 23), step_of(run_b, 12)
    for name in ("benefit_base", "rider_fee", "withdrawal"):
        assert abs(a[name] - b[name]) < 0.01, (name, a[name], b[name])


def test_the_anniversary_rider_fee_comes_from_the_variable_sub_accounts_only():
    config = hand_worked_config()
    _, _, _, run = engine(config, new_business(config))
    before, at = step_of(run, 10), step_of(run, 11)
    # fixed: grown 12th month, less its 35.00 maintenance share, less its withdrawal share; no fee
    fixed_before_withdrawal = 20_592.99  # doc table A2
    assert abs(at["fixed"] - fixed_before_withdrawal * (1 - 0.15)) < CENT
    assert abs(before["fixed"] * (1.03 ** (1 / 12)) - 20_600.00) < CENT


# --- the maturity --------------------------------------------------------------------------


def test_hand_worked_maturity_with_a_claim_matches_the_docs_to_the_cent():
    config = hand_worked_config()
    inforce = maturing(config, benefit_base=130_000.00)
    assert inforce["ab_factor"].iloc[0] == 0.90  # shipped illustrative table, option 2, 10 years
    model, _, _, run = engine(config, inforce)
    assert model.contracts.maturity_step[0] == 1
    for s in range(model.n_scenarios):
        assert_to_the_cent(step_of(run, 0, s), MATURITY_WITH_CLAIM, f"scenario {s}, maturity")
    m = measures_of(run)
    assert_to_the_cent(m, MATURITY_WITH_CLAIM_PV, "maturity with a claim")
    net_cost_bps = 1e4 * (m["pv_claims"] - m["pv_fees"]) / m["pv_fee_base"]
    assert abs(net_cost_bps - MATURITY_WITH_CLAIM_NET_COST_BPS) < CENT


def test_hand_worked_maturity_without_a_claim_matches_the_docs_to_the_cent():
    config = hand_worked_config()
    model, _, _, run = engine(config, maturing(config, benefit_base=100_000.00))
    for s in range(model.n_scenarios):
        assert_to_the_cent(step_of(run, 0, s), MATURITY_NO_CLAIM, f"scenario {s}, maturity")
    assert_to_the_cent(measures_of(run), MATURITY_NO_CLAIM_PV, "maturity without a claim")


# --- the plain-Python twin -----------------------------------------------------------------


@pytest.mark.parametrize(
    "route, step, doc",
    [
        ("new business", 10, AFTER_11_MONTHS),
        ("new business", 11, ANNIVERSARY),
        ("in force", 0, ANNIVERSARY),
        ("maturity with a claim", 0, MATURITY_WITH_CLAIM),
        ("maturity without a claim", 0, MATURITY_NO_CLAIM),
    ],
)
def test_the_reference_twin_reproduces_the_hand_worked_figures_to_the_cent(route, step, doc):
    config = hand_worked_config()
    inforce = {
        "new business": new_business,
        "in force": in_force_one_month_before,
        "maturity with a claim": lambda c: maturing(c, 130_000.00),
        "maturity without a claim": lambda c: maturing(c, 100_000.00),
    }[route](config)
    model, scenarios, assumptions, run = engine(config, inforce)
    row = inforce.to_dict("records")[0]
    ref = project_contract(row, config, scenarios, 0, assumptions.mortality)
    assert len(ref["trace"]) == model.contracts.maturity_step[0]
    assert_to_the_cent(ref["trace"][step], doc, f"twin, {route}, step {step + 1}")
    # and the twin equals the engine on every traced field of that step
    for name in K.TRACE_FIELDS:
        assert ref["trace"][step][name] == pytest.approx(
            step_of(run, step)[name], rel=1e-12, abs=1e-9
        ), name
    if route.startswith("maturity"):
        pv = MATURITY_NO_CLAIM_PV if route.endswith("without a claim") else MATURITY_WITH_CLAIM_PV
        assert_to_the_cent(ref, pv, f"twin, {route}")


# --- the document and these tests say the same ---------------------------------------------


def test_every_hard_coded_figure_is_written_in_the_methodology_document():
    """Each figure above appears in docs/methodology.md as written there (e.g. 15,231.83)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "methodology.md").read_text()
    figures = [
        *AFTER_11_MONTHS.values(),
        *ANNIVERSARY.values(),
        WITHDRAWAL_CHARGE,
        PV_WITHDRAWAL_CHARGE_NEW_BUSINESS,
        PV_WITHDRAWAL_CHARGE_IN_FORCE,
        *MATURITY_WITH_CLAIM.values(),
        *MATURITY_WITH_CLAIM_PV.values(),
        MATURITY_WITH_CLAIM_NET_COST_BPS,
        *MATURITY_NO_CLAIM.values(),
        *MATURITY_NO_CLAIM_PV.values(),
    ]
    missing = [f"{x:,.2f}" for x in figures if x > 1.0 and f"{x:,.2f}" not in text]
    assert not missing, missing


# --- Hand-worked spousal continuation (doc section 11) -------------------------------------
#
# The owner (male, 70) is certain to die in the first month (a CSV mortality table with
# q = 1 at 70, no improvement, a constant force within the year of age); his spouse
# (female, 65, q = 0) is the sole beneficiary and continues the contract (Option D) with
# the CV stepped up to the ROP death benefit 120,000.00; the rider (AB Factor 1.00, BB
# 130,000.00) matures a month later.

CONTINUATION_STEP_1 = {
    "growth": 316.44,  # 267.11 variable + 49.33 fixed
    "charges": 83.57,  # M&E
    "cv_before_death": 100_232.87,
    "excess": 19_767.13,  # 120,000.00 - 100,232.87
    "excess_to_variable": 15_813.16,
    "excess_to_money_market": 3_953.97,  # the fixed account's share
    "variable": 95_996.71,
    "money_market": 3_953.97,
    "fixed": 20_049.33,
    "cv_continued": 120_000.00,
}
CONTINUATION_STEP_2 = {
    "growth": 384.83,  # 320.52 variable + 14.86 Money Market + 49.45 fixed
    "charges": 104.41,  # 100.28 variable + 4.13 Money Market
    "maintenance_fee": 35.00,  # 28.00 + 1.15 + 5.85
    "rider_fee": 1_625.00,  # 1,560.69 variable + 64.31 Money Market
    "cv_before_true_up": 118_620.41,
    "true_up": 11_379.59,  # AB 130,000.00 - 118,620.41
    "money_market": 15_278.81,
    "cv_end": 130_000.00,
}
CONTINUATION_PV = {
    "pv_claims": 11_294.56,  # 11,379.585057 x exp(-0.045 x 2 / 12)
    "pv_fees": 1_612.86,  # 1,625.00 x exp(-0.0075)
    "pv_fee_base": 129_028.65,  # 130,000.00 x exp(-0.0075)
    "pv_db_excess": 19_693.14,  # the step-up 19,767.131041 x exp(-0.045 / 12), credited to the CV
    "continuation_weight": 1.0,
    "inforce_at_maturity": 1.0,
}
#: The same contract when the spouse takes the death proceeds (spousal_continuation = 0).
NO_CONTINUATION_PV = {
    "pv_claims": 0.0,
    "pv_fees": 0.0,
    "pv_fee_base": 0.0,
    "pv_db_excess": 19_693.14,  # 19,767.131041 x exp(-0.045 / 12)
    "continuation_weight": 0.0,
    "inforce_at_maturity": 0.0,
}


def continuation_config(tmp_path, **changes):
    """The hand-worked config with a mortality table: q = 1 for men aged 70, 0 otherwise,
    at a constant force within the year of age (the first month's q is 1)."""
    ages = list(range(0, 121))
    table = tmp_path / "certain_death_at_70.csv"
    table.write_text(
        "age,male,female\n" + "".join(f"{a},{1.0 if a == 70 else 0.0},0.0\n" for a in ages)
    )
    data = dict(HAND_WORKED_CONFIG)
    data.update(
        {
            "mortality.enabled": True,
            "mortality.table": str(table),
            "mortality.improvement": "none",
            "mortality.fractional_age": "constant_force",
        }
    )
    data.update(changes)
    return make_config(data)


def continuing(config) -> pd.DataFrame:
    return one_contract(
        config,
        defaults=HAND_WORKED_CONTRACT,
        owner_age=70.0,
        owner_sex="M",
        spouse_age=65.0,
        spouse_sex="F",
        beneficiary="spouse",
        contract_value=100_000.00,
        fixed_value=20_000.00,
        premiums=120_000.00,
        death_benefit_base=120_000.00,
        benefit_base=130_000.00,
        contract_year=10,
        guarantee_option=1,
        rider_period=10,
        rider_years_elapsed=9,
        months_to_anniversary=2,
    )


def test_hand_worked_spousal_continuation_by_hand_formulas():
    """The doc's arithmetic, line by line (guards the table against typos)."""
    g_var, keep, g_mm, g_fix = (
        math.exp(0.04 / 12),
        math.exp(-0.0125 / 12),
        math.exp(0.045 / 12),
        1.03 ** (1 / 12),
    )
    v, f = 80_000.00 * g_var, 20_000.00 * g_fix
    assert abs((v - 80_000.00) + (f - 20_000.00) - CONTINUATION_STEP_1["growth"]) < CENT
    assert abs(v * (1 - keep) - CONTINUATION_STEP_1["charges"]) < CENT
    v *= keep
    cv = v + f
    assert abs(cv - CONTINUATION_STEP_1["cv_before_death"]) < CENT
    excess = 120_000.00 - cv
    to_v, to_mm = excess * v / cv, excess * f / cv
    for name, x in (
        ("excess", excess),
        ("excess_to_variable", to_v),
        ("excess_to_money_market", to_mm),
        ("variable", v + to_v),
        ("money_market", to_mm),
        ("fixed", f),
        ("cv_continued", v + to_v + to_mm + f),
    ):
        assert abs(x - CONTINUATION_STEP_1[name]) < CENT, name
    v, mm = v + to_v, to_mm
    growth = v * (g_var - 1) + mm * (g_mm - 1) + f * (g_fix - 1)
    v, mm, f = v * g_var, mm * g_mm, f * g_fix
    charges = (v + mm) * (1 - keep)
    v, mm = v * keep, mm * keep
    cv = v + mm + f
    v, mm, f = v * (1 - 35 / cv), mm * (1 - 35 / cv), f * (1 - 35 / cv)
    v, mm = v * (1 - 1_625 / (v + mm)), mm * (1 - 1_625 / (v + mm))
    cv = v + mm + f
    true_up = 130_000.00 - cv
    got = {
        "growth": growth,
        "charges": charges,
        "maintenance_fee": 35.0,
        "rider_fee": 1_625.0,
        "cv_before_true_up": cv,
        "true_up": true_up,
        "money_market": mm + true_up,
        "cv_end": cv + true_up,
    }
    assert_to_the_cent(got, CONTINUATION_STEP_2, "by hand, month 2")
    d2 = math.exp(-RATE * 2 / 12)
    assert abs(true_up * d2 - CONTINUATION_PV["pv_claims"]) < CENT
    assert abs(excess * math.exp(-RATE / 12) - NO_CONTINUATION_PV["pv_db_excess"]) < CENT


def test_hand_worked_spousal_continuation_engine_matches_the_docs_to_the_cent(tmp_path):
    config = continuation_config(tmp_path)
    inforce = continuing(config)
    model, _, _, run = engine(config, inforce)
    assert model.contracts.maturity_step[0] == 2  # 2 + (10 - 9 - 1) x 12
    assert bool(model.contracts.continuation_eligible[0])
    assert_to_the_cent(measures_of(run), CONTINUATION_PV, "engine, spousal continuation")
    for s in range(model.n_scenarios):
        # the main segment (the contract on the owner's life) ends with the owner's death
        # in month 1; its trace holds the path the contract would have had without a death
        first = step_of(run, 0, s)
        assert first["weight"] == 0.0
        assert abs(first["cv_end"] - CONTINUATION_STEP_1["cv_before_death"]) < CENT
        assert abs(first["growth"] - CONTINUATION_STEP_1["growth"]) < CENT
        assert abs(first["charges"] - CONTINUATION_STEP_1["charges"]) < CENT


def test_hand_worked_spousal_continuation_twin_matches_the_docs_to_the_cent(tmp_path):
    config = continuation_config(tmp_path)
    inforce = continuing(config)
    model, scenarios, assumptions, run = engine(config, inforce)
    ref = project_contract(
        inforce.to_dict("records")[0], config, scenarios, 0, assumptions.mortality
    )
    assert_to_the_cent(ref, CONTINUATION_PV, "twin, spousal continuation")
    for name in K.MEASURES:
        assert ref[name] == pytest.approx(measures_of(run)[name], rel=1e-12, abs=1e-9), name


def test_hand_worked_death_without_continuation_pays_the_death_benefit(tmp_path):
    config = continuation_config(tmp_path, **{"behaviour.spousal_continuation": 0.0})
    inforce = continuing(config)
    model, scenarios, assumptions, run = engine(config, inforce)
    assert_to_the_cent(measures_of(run), NO_CONTINUATION_PV, "engine, no continuation")
    ref = project_contract(
        inforce.to_dict("records")[0], config, scenarios, 0, assumptions.mortality
    )
    assert_to_the_cent(ref, NO_CONTINUATION_PV, "twin, no continuation")


def test_every_spousal_continuation_figure_is_written_in_the_methodology_document():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "methodology.md").read_text()
    figures = [
        *CONTINUATION_STEP_1.values(),
        *CONTINUATION_STEP_2.values(),
        *CONTINUATION_PV.values(),
        *NO_CONTINUATION_PV.values(),
    ]
    missing = [f"{x:,.2f}" for x in figures if x > 1.0 and f"{x:,.2f}" not in text]
    assert not missing, missing
