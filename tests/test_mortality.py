"""Tests for sim.assumptions.mortality."""

from __future__ import annotations

import importlib.resources
import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest

from sim.assumptions.mortality import (
    SEX_FEMALE,
    SEX_MALE,
    MortalityTable,
    annual_q_matrix,
    load_mortality,
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
