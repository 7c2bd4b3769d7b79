"""One test per sentence of the amendatory endorsement [002] on Beneficiaries, Death of Owner,
Death of Annuitant and death proceeds (SPEC section 4), against sim.product.death."""

from __future__ import annotations

import pytest

from sim.product.death import (
    Beneficiaries,
    Designation,
    Person,
    Settlement,
    death_of_annuitant_options,
    death_of_owner_options,
    death_proceeds,
    engine_beneficiary_class,
    owner_is_natural,
    settle,
)

SPOUSE = Person("Pat", relation="spouse")
ANN = Person("Ann", relation="child")
BOB = Person("Bob", relation="child")
CAL = Person("Cal", relation="other")
DEE = Person("Dee", relation="other")
ACME = Person("Acme Corp", natural=False, relation="corporation")
TRUST = Person("Family Trust", natural=False, relation="trust")
CO_OWNER = Person("Jo", relation="other")

EVERYONE = {p.name for p in (SPOUSE, ANN, BOB, CAL, DEE, CO_OWNER)}


def shares(settlement: Settlement) -> dict[str, float]:
    return {p.person.name: p.share for p in settlement.payees}


# ---------------------------------------------------------------- (a) Beneficiary provision


def test_002_a_primary_beneficiary_is_first_entitled():
    b = Beneficiaries(primary=(Designation(CAL),), contingent=(Designation(DEE),))
    s = settle(b, EVERYONE, SPOUSE)
    assert s.source == "primary"
    assert shares(s) == {"Cal": 1.0}
    assert s.beneficiary_class == "natural"


def test_002_a_contingent_takes_when_all_primary_predeceased():
    b = Beneficiaries(primary=(Designation(CAL), Designation(DEE)), contingent=(Designation(ANN),))
    s = settle(b, EVERYONE - {"Cal", "Dee"}, SPOUSE)
    assert s.source == "contingent"
    assert shares(s) == {"Ann": 1.0}


def test_002_a_contingent_does_not_take_while_one_primary_lives():
    b = Beneficiaries(primary=(Designation(CAL), Designation(DEE)), contingent=(Designation(ANN),))
    s = settle(b, EVERYONE - {"Cal"}, SPOUSE)
    assert s.source == "primary"
    assert shares(s) == {"Dee": 1.0}


@pytest.mark.parametrize(
    "alive, source, expected",
    [
        pytest.param(EVERYONE - {"Cal"}, "default: spouse", {"Pat": 1.0}, id="i. the spouse"),
        pytest.param(
            EVERYONE - {"Cal", "Pat"},
            "default: children",
            {"Ann": 0.5, "Bob": 0.5},
            id="ii. surviving children equally",
        ),
        pytest.param(
            EVERYONE - {"Cal", "Pat", "Ann", "Bob"},
            "default: estate",
            {"estate": 1.0},
            id="iii. the estate",
        ),
    ],
)
def test_002_a_default_order_is_spouse_then_children_then_estate(alive, source, expected):
    b = Beneficiaries(primary=(Designation(CAL),))
    s = settle(b, alive, SPOUSE, children=(ANN, BOB))
    assert s.source == source
    assert shares(s) == pytest.approx(expected)


def test_002_a_default_order_applies_if_a_beneficiary_has_not_been_named():
    s = settle(Beneficiaries(), EVERYONE, SPOUSE, children=(ANN, BOB))
    assert s.source == "default: spouse"
    assert s.beneficiary_class == "spouse"


def test_002_a_only_surviving_children_share_equally():
    s = settle(Beneficiaries(), EVERYONE - {"Pat", "Bob"}, SPOUSE, children=(ANN, BOB))
    assert shares(s) == {"Ann": 1.0}
    assert s.beneficiary_class == "natural"


def test_002_a_the_estate_is_a_non_natural_person():
    s = settle(Beneficiaries(), set(), spouse=None)
    assert s.source == "default: estate"
    assert s.beneficiary_class == "non_natural"
    assert not s.payees[0].person.natural


def test_002_a_one_non_natural_beneficiary_makes_all_non_natural():
    b = Beneficiaries(primary=(Designation(CAL), Designation(DEE), Designation(ACME)))
    s = settle(b, EVERYONE, SPOUSE)
    assert s.beneficiary_class == "non_natural"
    assert death_of_owner_options(s) == ("lump_sum", "five_year_rule")
    # ... even when the spouse is one of them
    b = Beneficiaries(primary=(Designation(SPOUSE), Designation(TRUST)))
    assert settle(b, EVERYONE, SPOUSE).beneficiary_class == "non_natural"


def test_002_a_predeceased_share_is_split_pro_rata_within_the_class():
    b = Beneficiaries(primary=(Designation(CAL, 50), Designation(DEE, 30), Designation(ANN, 20)))
    s = settle(b, EVERYONE - {"Cal"}, SPOUSE)
    assert shares(s) == pytest.approx({"Dee": 0.6, "Ann": 0.4})
    assert sum(shares(s).values()) == pytest.approx(1.0)


def test_002_a_predeceased_share_stays_in_its_class():
    b = Beneficiaries(
        primary=(Designation(CAL, 0.5), Designation(DEE, 0.5)), contingent=(Designation(ANN),)
    )
    s = settle(b, EVERYONE - {"Cal"}, SPOUSE)
    assert shares(s) == {"Dee": 1.0}


def test_002_a_equal_shares_unless_directed():
    equal = settle(
        Beneficiaries(primary=(Designation(CAL), Designation(DEE), Designation(ANN))),
        EVERYONE,
        SPOUSE,
    )
    assert shares(equal) == pytest.approx({"Cal": 1 / 3, "Dee": 1 / 3, "Ann": 1 / 3})
    directed = settle(
        Beneficiaries(primary=(Designation(CAL, 3), Designation(DEE, 1))), EVERYONE, SPOUSE
    )
    assert shares(directed) == pytest.approx({"Cal": 0.75, "Dee": 0.25})


def test_002_a_directions_must_cover_the_whole_class():
    with pytest.raises(ValueError):
        Beneficiaries(primary=(Designation(CAL, 0.5), Designation(DEE)))
    with pytest.raises(ValueError):
        Designation(CAL, 0.0)


def test_002_a_corporations_trusts_and_estates_are_non_natural_persons():
    with pytest.raises(ValueError):
        Person("Acme", relation="corporation")  # natural=True by default
    with pytest.raises(ValueError):
        Person("Pat", natural=False, relation="spouse")
    with pytest.raises(ValueError):
        Person("X", relation="cousin")


# ---------------------------------------------------------------- (b) Owner provision


def test_002_b_grantor_trust_owner_is_non_natural():
    assert owner_is_natural("natural") is True
    assert owner_is_natural("non_natural") is False
    assert owner_is_natural("grantor_trust") is False
    assert death_of_annuitant_options(owner_is_natural("grantor_trust")) == (
        "lump_sum",
        "five_year_rule",
    )
    with pytest.raises(ValueError):
        owner_is_natural("partnership")


# ---------------------------------------------------------------- (c) Death of Owner


def test_002_c_surviving_joint_owner_becomes_the_new_owner():
    b = Beneficiaries(primary=(Designation(CAL),))
    s = settle(b, EVERYONE, SPOUSE, surviving_owner=CO_OWNER)
    assert s.source == "surviving_owner"
    assert shares(s) == {"Jo": 1.0}
    assert s.beneficiary_class == "natural"
    assert death_of_owner_options(s) == ("lump_sum", "income_plan", "five_year_rule")


def test_002_c_1_spouse_as_sole_surviving_owner_may_continue():
    s = settle(Beneficiaries(primary=(Designation(CAL),)), EVERYONE, SPOUSE, surviving_owner=SPOUSE)
    assert s.new_owner_is_spouse
    assert s.beneficiary_class == "spouse"
    assert "continuation" in death_of_owner_options(s)


def test_002_c_1_spouse_as_sole_beneficiary_may_continue():
    s = settle(Beneficiaries(primary=(Designation(SPOUSE),)), EVERYONE, SPOUSE)
    assert s.new_owner_is_spouse
    assert s.beneficiary_class == "spouse"
    assert death_of_owner_options(s) == ("lump_sum", "income_plan", "continuation")


def test_002_c_1_spouse_as_one_of_two_beneficiaries_is_not_the_sole_beneficiary():
    s = settle(Beneficiaries(primary=(Designation(SPOUSE), Designation(ANN))), EVERYONE, SPOUSE)
    assert not s.new_owner_is_spouse
    assert s.beneficiary_class == "natural"
    assert "continuation" not in death_of_owner_options(s)


def test_002_c_1_spouse_is_sole_beneficiary_when_the_other_primary_predeceased():
    s = settle(
        Beneficiaries(primary=(Designation(SPOUSE), Designation(ANN))), EVERYONE - {"Ann"}, SPOUSE
    )
    assert s.beneficiary_class == "spouse"


def test_002_c_2_natural_new_owner_not_the_spouse_has_the_five_year_rule():
    s = settle(Beneficiaries(primary=(Designation(ANN),)), EVERYONE, SPOUSE)
    assert s.beneficiary_class == "natural"
    assert death_of_owner_options(s) == ("lump_sum", "income_plan", "five_year_rule")


def test_002_c_3_non_natural_new_owner_takes_lump_sum_or_five_year_rule():
    s = settle(Beneficiaries(primary=(Designation(ACME),)), EVERYONE, SPOUSE)
    assert s.beneficiary_class == "non_natural"
    assert death_of_owner_options(s) == ("lump_sum", "five_year_rule")


def test_002_c_death_proceeds_are_the_death_benefit_within_180_days():
    assert death_proceeds(120.0, 100.0, 95.0, claim_delay_days=0) == 120.0
    assert death_proceeds(120.0, 100.0, 95.0, claim_delay_days=180) == 120.0


def test_002_c_otherwise_death_proceeds_are_the_greater_of_cv_and_settlement_value():
    assert death_proceeds(120.0, 100.0, 95.0, claim_delay_days=181) == 100.0
    assert death_proceeds(120.0, 90.0, 95.0, claim_delay_days=181) == 95.0


def test_002_c_we_may_extend_the_180_day_period():
    assert death_proceeds(120.0, 100.0, 95.0, claim_delay_days=181, window_days=365) == 120.0
    with pytest.raises(ValueError):
        death_proceeds(120.0, 100.0, 95.0, claim_delay_days=-1)


# ---------------------------------------------------------------- (d) Death of Annuitant


def test_002_d_natural_owner_may_continue_or_take_lump_sum_or_income_plan():
    assert death_of_annuitant_options(True) == ("continue", "lump_sum", "income_plan")


def test_002_d_non_natural_owner_takes_lump_sum_or_five_year_rule():
    assert death_of_annuitant_options(False) == ("lump_sum", "five_year_rule")


# ---------------------------------------------------------------- engine mapping


@pytest.mark.parametrize(
    "beneficiary, spouse_alive, contingent, expected",
    [
        ("spouse", True, "none", "spouse"),
        ("spouse", False, "none", "non_natural"),  # default order: no children modelled -> estate
        ("spouse", False, "natural", "natural"),
        ("spouse", False, "non_natural", "non_natural"),
        ("spouse", False, "estate", "non_natural"),
        ("spouse", True, "non_natural", "spouse"),  # contingent only if all primary predeceased
        ("natural", True, "none", "natural"),
        ("natural", False, "none", "natural"),
        ("natural", True, "non_natural", "natural"),
        ("non_natural", True, "none", "non_natural"),
        ("non_natural", False, "natural", "non_natural"),
        ("estate", True, "none", "spouse"),  # no beneficiary named: default order, spouse first
        ("estate", False, "none", "non_natural"),
        ("estate", True, "natural", "natural"),  # a named contingent is a named beneficiary
        ("estate", True, "estate", "non_natural"),
    ],
)
def test_002_a_engine_beneficiary_class_mapping(beneficiary, spouse_alive, contingent, expected):
    assert engine_beneficiary_class(beneficiary, spouse_alive, contingent) == expected


def test_engine_beneficiary_class_rejects_unknown_codes():
    with pytest.raises(ValueError):
        engine_beneficiary_class("cousin", True)
    with pytest.raises(ValueError):
        engine_beneficiary_class("spouse", True, "spouse")
