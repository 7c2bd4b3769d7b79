"""Tests for sim.assumptions.mortality."""

from __future__ import annotations

import importlib.resources
import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.assumptions.mortality import (
    SEX_FEMALE,
    SEX_MALE,
    MortalityTable,
    annual_q_matrix,
    load_mortality,
    step_death_probabilities,
)


def read_soa_value(table_id: int, age: int) -> float:
    """Read one rate straight from pymort's XML file, independently of the module."""
    path = importlib.resources.files("pymort") / "table_xml" / f"t{table_id}.xml"
    with path.open("rb") as xml_file:
        root = ElementTree.parse(xml_file).getroot()
    for entry in root.iter("Y"):
        if int(entry.get("t")) == age:
            return float(entry.text)
    raise KeyError(f"age {age} not in SOA table {table_id}")


def write_csv(path, ages, male, female) -> str:
    pd.DataFrame({"age": ages, "male": male, "female": female}).to_csv(path, index=False)
    return str(path)


# ----------------------------------------------------------------- published spot values


def test_2012_iam_period_q65_male_matches_the_published_value():
    table = load_mortality("2012IAM_period", improvement="none")
    assert table.q_base[SEX_MALE, 65] == pytest.approx(0.008106, abs=1e-12)


def test_2012_iam_period_q65_female_matches_the_published_value():
    table = load_mortality("2012IAM_period", improvement="none")
    assert table.q_base[SEX_FEMALE, 65] == pytest.approx(0.006146, abs=1e-12)


def test_2012_iam_basic_q65_male_matches_the_published_value():
    table = load_mortality("2012IAM", improvement="G2")
    assert table.base_year == 2012
    assert table.q_base[SEX_MALE, 65] == pytest.approx(0.009007, abs=1e-12)
    assert float(table.q(SEX_MALE, 65, 2012)) == pytest.approx(0.009007, abs=1e-12)


def test_a2000_basic_q65_male_matches_the_published_value():
    table = load_mortality("A2000", improvement="none")
    assert table.base_year == 2000
    assert table.q_base[SEX_MALE, 65] == pytest.approx(0.010993, abs=1e-12)


def test_a2000_ages_outside_5_to_115_are_filled_with_first_rate_below_and_one_above():
    table = load_mortality("A2000", improvement="none")
    for sex, table_id in ((SEX_MALE, 885), (SEX_FEMALE, 884)):
        assert np.all(table.q_base[sex, :5] == read_soa_value(table_id, 5))
        assert np.all(table.q_base[sex, 116:] == 1.0)


def test_tables_have_shape_2_by_121_and_rates_within_zero_and_one():
    for name in ("2012IAM", "2012IAM_period", "A2000"):
        table = load_mortality(name)
        assert isinstance(table, MortalityTable)
        assert table.q_base.shape == (2, 121) and table.q_base.dtype == np.float64
        assert table.improvement.shape == (2, 121) and table.improvement.dtype == np.float64
        assert np.all((table.q_base >= 0.0) & (table.q_base <= 1.0))


def test_2012_iam_basic_keeps_its_age_120_rate_and_uses_it_beyond_120():
    table = load_mortality("2012IAM", improvement="none")
    assert table.q_base[SEX_MALE, 120] == pytest.approx(read_soa_value(2581, 120))
    assert table.q_base[SEX_MALE, 120] < 1.0
    assert float(table.q(SEX_MALE, 130, 2030)) == table.q_base[SEX_MALE, 120]


# ----------------------------------------------------------------- generational improvement


@pytest.mark.parametrize(
    ("sex", "q_table_id", "g2_table_id"), [(SEX_MALE, 2581, 2583), (SEX_FEMALE, 2582, 2584)]
)
@pytest.mark.parametrize("age", [40, 65, 85])
@pytest.mark.parametrize("years_after_2012", [0, 1, 13, 40])
def test_generational_rate_equals_2012_rate_times_one_minus_g2_to_the_years_elapsed(
    sex, q_table_id, g2_table_id, age, years_after_2012
):
    q_2012 = read_soa_value(q_table_id, age)
    g2 = read_soa_value(g2_table_id, age)
    expected = q_2012 * (1.0 - g2) ** years_after_2012
    table = load_mortality("2012IAM", "G2")
    assert float(table.q(sex, age, 2012 + years_after_2012)) == pytest.approx(expected, rel=1e-12)


def test_generational_rate_male_65_in_2025_matches_a_hand_computed_number():
    # 2012 IAM Basic male q65 = 0.009007, G2 male at 65 = 0.015: 0.009007 * 0.985**13
    table = load_mortality("2012IAM", "G2")
    assert float(table.q(SEX_MALE, 65, 2025)) == pytest.approx(0.009007 * 0.985**13, rel=1e-12)


def test_g2_improvement_is_zero_beyond_age_105_and_matches_the_scale_up_to_105():
    table = load_mortality("2012IAM", "G2")
    assert np.all(table.improvement[:, 106:] == 0.0)
    assert table.improvement[SEX_MALE, 65] == pytest.approx(read_soa_value(2583, 65))
    assert table.improvement[SEX_FEMALE, 65] == pytest.approx(read_soa_value(2584, 65))
    assert np.any(table.improvement[:, :106] > 0.0)
    q_110_base = table.q_base[SEX_FEMALE, 110]
    assert float(table.q(SEX_FEMALE, 110, 2060)) == q_110_base


def test_improvement_none_gives_zero_improvement_and_year_independent_rates():
    table = load_mortality("2012IAM", "none")
    assert np.all(table.improvement == 0.0)
    np.testing.assert_array_equal(table.q(SEX_MALE, 70, 2012), table.q(SEX_MALE, 70, 2050))


def test_g2_with_a2000_is_applied_from_the_year_2000():
    table = load_mortality("A2000", "G2")
    q_2000 = read_soa_value(885, 70)
    g2 = read_soa_value(2583, 70)
    assert float(table.q(SEX_MALE, 70, 2010)) == pytest.approx(q_2000 * (1 - g2) ** 10, rel=1e-12)


def test_q_broadcasts_over_array_inputs_and_clips_ages():
    table = load_mortality()
    ages = np.array([[-3, 0, 65, 120, 150]])
    years = np.array([[2012], [2030]])
    rates = table.q(SEX_FEMALE, ages, years)
    assert rates.shape == (2, 5)
    assert rates[0, 0] == rates[0, 1] == table.q_base[SEX_FEMALE, 0]
    assert rates[0, 3] == rates[0, 4]


def test_repeated_loads_are_cached_and_tables_are_read_only():
    assert load_mortality("2012IAM", "G2") is load_mortality("2012IAM", "G2")
    table = load_mortality("2012IAM", "G2")
    with pytest.raises(ValueError):
        table.q_base[0, 0] = 0.5


def test_invalid_sex_code_is_rejected():
    with pytest.raises(ValueError, match="sex"):
        load_mortality().q(2, 65, 2012)


# ----------------------------------------------------------------- annual_q_matrix


def test_annual_q_matrix_has_one_row_per_contract_and_one_column_per_year():
    table = load_mortality()
    q_matrix = annual_q_matrix(table, np.array([0, 1, 0]), np.array([60.0, 65.5, 70.2]), 2024, 30)
    assert q_matrix.shape == (3, 30)
    assert q_matrix.dtype == np.float64


def test_annual_q_matrix_uses_floor_of_attained_age_and_calendar_year():
    table = load_mortality("2012IAM", "G2")
    sex = np.array([SEX_MALE, SEX_FEMALE])
    age = np.array([64.6, 70.0])
    q_matrix = annual_q_matrix(table, sex, age, valuation_year=2024, n_years=5)
    for i in range(2):
        for k in range(5):
            attained_age = int(np.floor(age[i] + k))
            expected = table.q_base[sex[i], attained_age] * (
                1 - table.improvement[sex[i], attained_age]
            ) ** (2024 + k - 2012)
            assert q_matrix[i, k] == pytest.approx(expected, rel=1e-12)
    assert q_matrix[0, 0] == pytest.approx(float(table.q(SEX_MALE, 64, 2024)))
    assert q_matrix[0, 1] == pytest.approx(float(table.q(SEX_MALE, 65, 2025)))


def test_annual_q_matrix_clips_attained_ages_above_120():
    table = load_mortality("2012IAM", "none")
    q_matrix = annual_q_matrix(table, np.array([SEX_MALE]), np.array([118.0]), 2024, 6)
    np.testing.assert_array_equal(q_matrix[0, 2:], table.q_base[SEX_MALE, 120])


def test_annual_q_matrix_applies_the_multiplier_and_caps_at_one():
    table = load_mortality("2012IAM_period", "none")
    sex = np.array([SEX_MALE, SEX_FEMALE])
    age = np.array([65.0, 100.0])
    base = annual_q_matrix(table, sex, age, 2024, 25)
    scaled = annual_q_matrix(table, sex, age, 2024, 25, multiplier=3.0)
    np.testing.assert_allclose(scaled, np.minimum(base * 3.0, 1.0), rtol=1e-12)
    assert scaled.max() == 1.0
    assert np.all(scaled <= 1.0)


def test_annual_q_matrix_with_zero_years_or_contracts_is_empty():
    table = load_mortality()
    assert annual_q_matrix(table, np.array([0]), np.array([60.0]), 2024, 0).shape == (1, 0)
    empty = annual_q_matrix(table, np.array([], dtype=int), np.array([]), 2024, 4)
    assert empty.shape == (0, 4)


def test_annual_q_matrix_rejects_mismatched_sex_and_age_lengths():
    with pytest.raises(ValueError, match="equal length"):
        annual_q_matrix(load_mortality(), np.array([0, 1]), np.array([60.0]), 2024, 3)


# ----------------------------------------------------------------- CSV tables


def test_csv_table_is_loaded_and_filled_below_the_first_and_above_the_last_age(tmp_path):
    ages = np.arange(50, 56)
    male = np.linspace(0.01, 0.02, 6)
    female = np.linspace(0.005, 0.01, 6)
    path = write_csv(tmp_path / "custom.csv", ages, male, female)
    table = load_mortality(path, improvement="none")
    np.testing.assert_allclose(table.q_base[SEX_MALE, 50:56], male)
    np.testing.assert_allclose(table.q_base[SEX_FEMALE, 50:56], female)
    assert np.all(table.q_base[SEX_MALE, :50] == male[0])
    assert np.all(table.q_base[SEX_FEMALE, :50] == female[0])
    assert np.all(table.q_base[:, 56:] == 1.0)
    assert np.all(table.improvement == 0.0)


def test_csv_table_with_g2_uses_2012_as_base_year(tmp_path):
    path = write_csv(
        tmp_path / "flat.csv", np.arange(0, 121), np.full(121, 0.01), np.full(121, 0.02)
    )
    table = load_mortality(path, improvement="G2")
    assert table.base_year == 2012
    g2 = read_soa_value(2583, 65)
    assert float(table.q(SEX_MALE, 65, 2022)) == pytest.approx(0.01 * (1 - g2) ** 10, rel=1e-12)


def test_missing_csv_file_error_names_the_file(tmp_path):
    missing = tmp_path / "does_not_exist.csv"
    with pytest.raises(ValueError, match=re.escape(str(missing))) as error:
        load_mortality(str(missing))
    assert "not found" in str(error.value)
    assert "\n" not in str(error.value)


def test_csv_missing_column_error_names_the_file_and_the_column(tmp_path):
    path = tmp_path / "no_female.csv"
    pd.DataFrame({"age": [60, 61], "male": [0.01, 0.011]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=re.escape(str(path))) as error:
        load_mortality(str(path))
    assert "female" in str(error.value)
    assert "\n" not in str(error.value)


def test_csv_rate_above_one_error_names_the_file(tmp_path):
    path = write_csv(tmp_path / "too_high.csv", [60, 61], [0.01, 1.5], [0.01, 0.02])
    with pytest.raises(ValueError, match=re.escape(str(path))) as error:
        load_mortality(path)
    assert "[0, 1]" in str(error.value)
    assert "\n" not in str(error.value)


def test_csv_with_non_consecutive_ages_is_rejected(tmp_path):
    path = write_csv(tmp_path / "gap.csv", [60, 62], [0.01, 0.02], [0.01, 0.02])
    with pytest.raises(ValueError, match="consecutive"):
        load_mortality(path)


def test_unknown_table_name_error_names_the_table():
    with pytest.raises(ValueError, match="CSO2017"):
        load_mortality("CSO2017")


def test_unknown_improvement_scale_is_rejected():
    with pytest.raises(ValueError, match="MP2021"):
        load_mortality("2012IAM", improvement="MP2021")


# ----------------------------------------------------------------- step_death_probabilities
#
# Hand-worked: a man aged 64.8 at the valuation date, monthly steps, a table with
# q_64 = 0.012 and q_65 = 0.015 (no improvement). Step 0 runs from age 64.8 to 64.88333 (in
# the year of age 64); step 2 from 64.96667 to 65.05: 1/30 of a year at age 64, then 1/20
# at age 65.
#
# UDD (s p_x = 1 - s q_x within a year of age):
#   step 0: 1 - (1 - 0.88333 q_64) / (1 - 0.8 q_64) = (1/12) 0.012 / 0.9904
#         = 0.00100969305331179321...
#   step 2: 1 - (1 - q_64) / (1 - 0.96667 q_64) x (1 - 0.05 q_65)
#         = 1 - 0.988 / 0.9884 x 0.99925 = 0.00115439093484419263...
#   12 months: (1 - q_64) / (1 - 0.8 q_64) x (1 - 0.8 q_65) = 0.988 / 0.9904 x 0.988
#         = 0.98560581583198707592...
# Constant force (s p_x = (1 - q_x) ** s):
#   step 0: 1 - 0.988 ** (1/12) = 0.00100554253912766192...
#   step 2: 1 - 0.988 ** (1/30) x 0.985 ** (1/20) = 0.00115743092450709896...
#   12 months: 0.988 ** 0.2 x 0.985 ** 0.8 = 0.98559927036846436079...
# Floor (versions up to 0.1): steps 0-11 at age floor(64.8) = 64 with a constant force,
#   1 - 0.988 ** (1/12); steps 12-23 at age floor(65.8) = 65: 1 - 0.985 ** (1/12)
#   = 0.00125867701826391393...; 12 months: 0.988.

HAND = {
    "udd": (0.00100969305331179321, 0.00115439093484419263, 0.98560581583198707592),
    "constant_force": (0.00100554253912766192, 0.00115743092450709896, 0.98559927036846436079),
    "floor": (0.00100554253912766192, 0.00100554253912766192, 0.988),
}


def hand_csv(tmp_path) -> str:
    """A CSV table: q = 0.012 at 64, 0.015 at 65, 0.01 elsewhere (both sexes)."""
    ages = np.arange(0, 121)
    q = np.where(ages == 64, 0.012, np.where(ages == 65, 0.015, 0.01))
    return write_csv(tmp_path / "hand.csv", ages, q, q)


def hand_table(tmp_path):
    """The hand-worked table, no improvement."""
    return load_mortality(hand_csv(tmp_path), improvement="none")


@pytest.mark.parametrize("assumption", list(HAND))
def test_monthly_death_rates_of_a_fractional_age_match_the_hand_worked_numbers(
    tmp_path, assumption
):
    table = hand_table(tmp_path)
    q = step_death_probabilities(
        table, np.array([SEX_MALE]), np.array([64.8]), 2026, 24, 12, fractional_age=assumption
    )[0]
    step_0, step_2, survival_12 = HAND[assumption]
    assert q[0] == pytest.approx(step_0, abs=1e-12)
    assert q[2] == pytest.approx(step_2, abs=1e-12)
    assert np.prod(1.0 - q[:12]) == pytest.approx(survival_12, abs=1e-12)
    if assumption == "floor":
        assert (q[:12] == q[0]).all()
        assert q[12] == pytest.approx(0.00125867701826391393, abs=1e-12)


def test_floor_gives_the_rates_of_versions_up_to_0_1_bit_for_bit():
    """The rule before attained ages: the projection year's annual q of age floor(age + k)
    (annual_q_matrix), turned into a step rate 1 - (1 - q) ** (1 / m) for every step of
    that year."""
    table = load_mortality("2012IAM", "G2")
    rng = np.random.default_rng(3)
    sex = rng.integers(0, 2, 50)
    age = rng.uniform(40, 119, 50).round(2)
    for m, n_steps, multiplier in ((12, 240, 1.0), (4, 37, 1.7), (1, 9, 0.6)):
        n_years = -(-n_steps // m)
        old = 1.0 - (1.0 - annual_q_matrix(table, sex, age, 2026, n_years, multiplier)) ** (1.0 / m)
        new = step_death_probabilities(
            table, sex, age, 2026, n_steps, m, multiplier, fractional_age="floor"
        )
        expected = old[:, np.arange(n_steps) // m]
        assert new.shape == (50, n_steps)
        assert np.array_equal(new, expected)


@settings(max_examples=60, deadline=None)
@given(
    age=st.integers(0, 110),
    m=st.sampled_from([1, 2, 4, 12, 52]),
    multiplier=st.floats(0.0, 10.0),
    assumption=st.sampled_from(["udd", "constant_force"]),
)
def test_a_whole_year_of_age_survives_with_probability_one_minus_q(age, m, multiplier, assumption):
    """Both fractional-age assumptions only spread q_x within the year of age x."""
    table = load_mortality("2012IAM_period", "none")
    q = step_death_probabilities(
        table, np.array([SEX_FEMALE]), np.array([float(age)]), 2026, m, m, multiplier, assumption
    )[0]
    annual = min(1.0, float(table.q(SEX_FEMALE, age, 2026)) * multiplier)
    assert np.prod(1.0 - q) == pytest.approx(1.0 - annual, abs=1e-12)
    assert ((q >= 0.0) & (q <= 1.0)).all()


@settings(max_examples=60, deadline=None)
@given(
    age=st.floats(30.0, 118.0),
    m=st.sampled_from([1, 3, 12, 26]),
    assumption=st.sampled_from(["udd", "constant_force"]),
)
def test_step_survivals_multiply_to_the_survival_between_attained_ages(age, m, assumption):
    """Survival over the steps of two years equals the survival function of the assumption
    from the age at the valuation date to the age two years on (the calendar year fixed,
    no improvement), worked piece by piece over the years of age."""
    table = load_mortality("A2000", "none")
    q = step_death_probabilities(
        table, np.array([SEX_MALE]), np.array([age]), 2026, 2 * m, m, 1.0, assumption
    )[0]

    def survive_within(x, a, b):  # from x + a to x + b, 0 <= a <= b <= 1
        qx = float(table.q(SEX_MALE, min(x, 120), 2026))
        if assumption == "udd":
            return (1 - b * qx) / (1 - a * qx)
        return (1 - qx) ** (b - a)

    x, expected = int(np.floor(age)), 1.0
    expected *= survive_within(x, age - x, 1.0)
    expected *= survive_within(x + 1, 0.0, 1.0)
    expected *= survive_within(x + 2, 0.0, age - x)
    assert np.prod(1.0 - q) == pytest.approx(expected, rel=1e-11, abs=1e-13)


def test_step_death_probabilities_reject_an_unknown_assumption():
    with pytest.raises(ValueError, match="fractional_age"):
        step_death_probabilities(
            load_mortality(), np.array([0]), np.array([60.0]), 2026, 12, 12, 1.0, "balducci"
        )


def test_a_rate_of_one_ends_the_life_in_the_year_of_that_age_under_each_assumption(tmp_path):
    """q = 1 at 70, a life aged 69.5: under UDD its deaths are spread evenly over the year
    of age 70 (month k of it takes 1 / (12 - k) of those still alive, the last month all);
    under a constant force it dies in the first step at age 70; under floor, in the first
    step of projection year 1 (age floor(70.5) = 70)."""
    ages = np.arange(0, 121)
    q = np.where(ages == 70, 1.0, 0.0)
    table = load_mortality(write_csv(tmp_path / "one.csv", ages, q, q), improvement="none")
    sex, age = np.array([SEX_MALE]), np.array([69.5])
    udd = step_death_probabilities(table, sex, age, 2026, 24, 12, 1.0, "udd")[0]
    assert (udd[:6] == 0.0).all()
    for k in range(12):  # month k of age 70: 1/12 of the 1 - k/12 still alive
        assert udd[6 + k] == pytest.approx(1.0 / (12 - k), abs=1e-12)
    force = step_death_probabilities(table, sex, age, 2026, 24, 12, 1.0, "constant_force")[0]
    assert (force[:6] == 0.0).all() and force[6] == 1.0
    floor = step_death_probabilities(table, sex, age, 2026, 24, 12, 1.0, "floor")[0]
    assert (floor[:12] == 0.0).all() and (floor[12:] == 1.0).all()  # age floor(70.5) = 70


# ----------------------------------------------------------------- in the engine and the twin


@pytest.mark.parametrize("assumption", list(HAND))
def test_every_life_of_a_contract_gets_the_hand_worked_monthly_rates(tmp_path, assumption):
    """Owner, spouse and a separate annuitant, each aged 64.8, in the engine's mortality
    input (Model.death_step_rates, one rate per life and step)."""
    from .blocks import model_for, one_contract
    from .test_rider_rules import flat_config

    config = flat_config(
        **{
            "mortality.enabled": True,
            "mortality.table": hand_csv(tmp_path),
            "mortality.improvement": "none",
            "mortality.fractional_age": assumption,
        }
    )
    inforce = one_contract(
        config,
        owner_age=64.8,
        owner_sex="M",
        spouse_age=64.8,
        spouse_sex="F",
        annuitant_age=64.8,
        annuitant_sex="F",
    )
    model, _, _ = model_for(config, inforce, 2)
    q = model.death_step_rates(model.contracts)
    assert q.shape == (1, 3, model.discount.shape[1] - 1)
    step_0, step_2, survival_12 = HAND[assumption]
    for life in range(3):
        assert q[0, life, 0] == pytest.approx(step_0, abs=1e-12)
        assert q[0, life, 2] == pytest.approx(step_2, abs=1e-12)
        assert np.prod(1.0 - q[0, life, :12]) == pytest.approx(survival_12, abs=1e-12)


@pytest.mark.parametrize("assumption", list(HAND))
def test_engine_and_twin_keep_the_hand_worked_survival_of_a_fractional_age(tmp_path, assumption):
    """A man aged 64.8 whose rider matures in 12 months, no lapses: the expected number in
    force at maturity is the hand-worked 12-month survival, in the engine and in the twin
    (``traced`` checks the twin on every step)."""
    from .blocks import MEASURE, TRACE, one_contract
    from .test_rider_rules import flat_config, traced

    config = flat_config(
        **{
            "mortality.enabled": True,
            "mortality.table": hand_csv(tmp_path),
            "mortality.improvement": "none",
            "mortality.fractional_age": assumption,
        }
    )
    inforce = one_contract(
        config, owner_age=64.8, owner_sex="M", rider_period=7, rider_years_elapsed=6
    )
    _, run, tr = traced(config, inforce)
    step_0, step_2, survival_12 = HAND[assumption]
    assert tr[0, TRACE["weight"]] == pytest.approx(1.0 - step_0, abs=1e-12)
    assert tr[2, TRACE["weight"]] / tr[1, TRACE["weight"]] == pytest.approx(1.0 - step_2, abs=1e-12)
    assert run.scenario_totals[MEASURE["inforce_at_maturity"], 0] == pytest.approx(
        survival_12, abs=1e-12
    )


def test_an_unknown_fractional_age_assumption_is_one_line_naming_the_key():
    from sim.config import ConfigError

    from .blocks import make_config

    with pytest.raises(ConfigError) as error:
        make_config({"mortality.fractional_age": "balducci"})
    assert error.value.problems == [
        "config: mortality.fractional_age: Input should be 'udd', 'constant_force' or 'floor'"
    ]


@pytest.mark.parametrize(("assumption", "reaches"), [("udd", 80), ("floor", 79)])
def test_the_table_must_cover_the_attained_ages_the_steps_reach(tmp_path, assumption, reaches):
    """An owner aged 73.5 with 84 months to go: the last step ends at 80.5, so attained ages
    reach 80; under floor the last projection year takes age floor(73.5 + 6) = 79."""
    from sim.validation import mortality_coverage_problems

    from .blocks import one_contract
    from .test_rider_rules import flat_config

    ages = np.arange(0, 80)  # covers 0-79, the last rate below 1
    path = write_csv(tmp_path / "short.csv", ages, np.full(80, 0.02), np.full(80, 0.02))
    config = flat_config(
        **{
            "mortality.enabled": True,
            "mortality.table": path,
            "mortality.improvement": "none",
            "mortality.fractional_age": assumption,
        }
    )
    inforce = one_contract(config, owner_age=73.5, rider_period=7)
    problems = mortality_coverage_problems(config, inforce, (0, 79), "short.csv")
    if reaches > 79:
        assert problems == [
            "mortality.table: short.csv gives rates for ages 0-79; the block reaches ages "
            "73-80, so ages 80-80 are missing (give every age, or end the table with a rate "
            "of 1)"
        ]
    else:
        assert problems == []
