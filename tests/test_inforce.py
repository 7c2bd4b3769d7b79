"""sim.inforce: schema, defaults, per-row errors, CSV/Parquet reading, synthetic blocks."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError, load_config
from sim.inforce import (
    COLUMNS,
    MAX_LINES_PER_RULE,
    REQUIRED,
    allocation_weights,
    load_inforce,
    read_inforce,
    synthetic_inforce,
    validate_inforce,
)
from sim.product.rider import AccumulationBenefitRider

# The columns DESIGN.md promises, in its order.
DESIGN_COLUMNS = [
    "contract_id",
    "owner_age",
    "owner_sex",
    "owner_type",
    "spouse_age",
    "spouse_sex",
    "beneficiary",
    "spousal_protection",
    "contract_value",
    "fixed_value",
    "fixed_guarantee_years",
    "allocation",
    "premiums",
    "contract_year",
    "benefit_base",
    "death_benefit_base",
    "rider_period",
    "rider_years_elapsed",
    "guarantee_option",
    "ab_factor",
    "rider_fee_rate",
    "months_to_anniversary",
]


@pytest.fixture
def config(example_config_path):
    # A fee rate unlike the shipped default, so the default is seen to come from the config.
    return load_config(example_config_path, ["rider.fee_rate=0.0111"])


@pytest.fixture
def rider(config):
    return AccumulationBenefitRider.from_config(config)


def required_only(n: int = 3) -> pd.DataFrame:
    """``n`` valid contracts with only the required columns."""
    return pd.DataFrame(
        {
            "contract_id": np.arange(101, 101 + n),
            "owner_age": np.linspace(50.0, 70.0, n),
            "owner_sex": ["M", "F", "female"][:n] + ["m"] * max(0, n - 3),
            "contract_value": np.linspace(50_000.0, 150_000.0, n),
            "allocation": "conservative",
            "rider_period": [10, 12, 7][:n] + [20] * max(0, n - 3),
        }
    )


def full_frame() -> pd.DataFrame:
    """Four valid contracts using every column, with some optional cells blank."""
    return pd.DataFrame(
        {
            "contract_id": [1, 2, 3, 4],
            "owner_age": [60.5, 71.0, 55.0, 80.0],
            "owner_sex": ["M", "F", "F", "M"],
            "owner_type": ["natural", "grantor_trust", None, "non_natural"],
            "spouse_age": [58.0, None, 57.5, None],
            "spouse_sex": ["F", None, "M", None],
            "beneficiary": ["spouse", "natural", "spouse", "estate"],
            "spousal_protection": [True, False, False, False],
            "contract_value": [100_000.0, 80_000.0, 120_000.0, 60_000.0],
            "fixed_value": [10_000.0, None, 0.0, 5_000.0],
            "fixed_guarantee_years": [5, 1, None, 7],
            "allocation": ["conservative", "balanced", "growth", "bond_fund"],
            "premiums": [95_000.0, 70_000.0, None, 60_000.0],
            "contract_year": [3, None, 2, 9],
            "benefit_base": [96_000.0, None, 110_000.0, 62_000.0],
            "death_benefit_base": [95_000.0, 75_000.0, None, 60_000.0],
            "rider_period": [10, 12, 15, 8],
            "rider_years_elapsed": [2, 0, 1, 7],
            "guarantee_option": [1, 2, 3, 1],
            "ab_factor": [1.2, None, None, 0.95],
            "rider_fee_rate": [None, 0.015, None, 0.01],
            "months_to_anniversary": [4, 12, None, 1],
            "payment_amount": [None, 5_000.0, None, None],
            "payment_month": [None, 6, None, None],
        }
    )


# --------------------------------------------------------------------------- defaults


def test_validate_inforce_fills_the_documented_defaults(config, rider):
    frame = required_only()
    clean, problems = validate_inforce(frame, config, rider)
    assert problems == []
    assert sorted(clean.columns) == sorted(COLUMNS)
    cv = frame["contract_value"].to_numpy()
    np.testing.assert_array_equal(clean["benefit_base"], cv)
    np.testing.assert_array_equal(clean["premiums"], cv)
    np.testing.assert_array_equal(clean["death_benefit_base"], cv)  # = premiums (return of premium)
    expected_ab = [rider.ab_factors.lookup(1, n) for n in frame["rider_period"]]
    np.testing.assert_array_equal(clean["ab_factor"], expected_ab)
    assert clean["ab_factor"].tolist() == [1.00, 1.10, 1.00]  # the shipped table, option 1
    np.testing.assert_array_equal(clean["rider_fee_rate"], 0.0111)
    np.testing.assert_array_equal(clean["guarantee_option"], 1)
    np.testing.assert_array_equal(clean["rider_years_elapsed"], 0)
    np.testing.assert_array_equal(clean["contract_year"], 1)
    np.testing.assert_array_equal(clean["months_to_anniversary"], 12)
    np.testing.assert_array_equal(clean["fixed_value"], 0.0)
    np.testing.assert_array_equal(clean["fixed_guarantee_years"], 1)
    np.testing.assert_array_equal(clean["payment_amount"], 0.0)
    np.testing.assert_array_equal(clean["policies"], 1.0)  # each row is one contract
    assert clean["owner_type"].tolist() == ["natural"] * 3
    assert clean["beneficiary"].tolist() == ["estate"] * 3
    assert clean["spousal_protection"].tolist() == [False] * 3
    assert clean["spouse_age"].isna().all()
    assert clean["spouse_sex"].tolist() == [-1] * 3
    assert clean["owner_sex"].tolist() == [0, 1, 1]  # M, F, female
    assert clean["contract_id"].tolist() == [101, 102, 103]
    assert clean["contract_id"].dtype == np.int64


def test_blank_cells_take_defaults_and_given_cells_are_kept(config, rider):
    frame = full_frame()
    clean, problems = validate_inforce(frame, config, rider)
    assert problems == []
    assert clean["benefit_base"].tolist() == [96_000.0, 80_000.0, 110_000.0, 62_000.0]
    assert clean["premiums"].tolist() == [95_000.0, 70_000.0, 120_000.0, 60_000.0]
    # a blank death_benefit_base is the premiums (return of premium), not the contract value
    assert clean["death_benefit_base"].tolist() == [95_000.0, 75_000.0, 120_000.0, 60_000.0]
    assert clean["ab_factor"].tolist() == [
        1.2,
        rider.ab_factors.lookup(2, 12),
        rider.ab_factors.lookup(3, 15),
        0.95,
    ]
    assert clean["rider_fee_rate"].tolist() == [0.0111, 0.015, 0.0111, 0.01]
    assert clean["contract_year"].tolist() == [3, 1, 2, 9]
    assert clean["months_to_anniversary"].tolist() == [4, 12, 12, 1]
    assert clean["fixed_value"].tolist() == [10_000.0, 0.0, 0.0, 5_000.0]
    assert clean["fixed_guarantee_years"].tolist() == [5, 1, 1, 7]
    assert clean["owner_type"].tolist() == ["natural", "grantor_trust", "natural", "non_natural"]
    assert clean["spouse_sex"].tolist() == [1, -1, 0, -1]
    assert clean["spousal_protection"].tolist() == [True, False, False, False]
    assert clean["payment_amount"].tolist() == [0.0, 5_000.0, 0.0, 0.0]
    assert clean["payment_month"].tolist() == [0, 6, 0, 0]


def test_max_anniversary_value_death_benefit_base_defaults_to_the_contract_value(
    example_config_path,
):
    config = load_config(example_config_path, ['product.death_benefit="max_anniversary_value"'])
    rider = AccumulationBenefitRider.from_config(config)
    frame = required_only()
    frame["premiums"] = [1.0, 2.0, 3.0]
    clean, problems = validate_inforce(frame, config, rider)
    assert problems == []
    np.testing.assert_array_equal(clean["death_benefit_base"], frame["contract_value"])


def test_the_allocation_may_name_a_fund_or_an_allocation_model(config):
    assert allocation_weights(config, "balanced") == {"equity_index": 0.55, "bond_fund": 0.45}
    assert allocation_weights(config, "bond_fund") == {"bond_fund": 1.0}
    assert allocation_weights(config, "nothing") is None


def test_validate_inforce_leaves_its_input_frame_alone(config, rider):
    frame = full_frame()
    frame.columns = [f" {c} " if c == "owner_age" else c for c in frame.columns]
    before = frame.copy()
    clean, problems = validate_inforce(frame, config, rider)
    assert problems == [] and "owner_age" in clean
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------- reading


def test_parquet_and_csv_read_and_validate_identically(tmp_path, config, rider):
    frame = full_frame()
    frame.to_csv(tmp_path / "block.csv", index=False)
    frame.to_parquet(tmp_path / "block.parquet", index=False)
    from_csv, p1 = validate_inforce(read_inforce(tmp_path / "block.csv"), config, rider)
    from_parquet, p2 = validate_inforce(read_inforce(tmp_path / "block.parquet"), config, rider)
    assert p1 == p2 == []
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_the_example_inforce_reads_the_same_from_csv_and_parquet(
    tmp_path, config, rider, example_inforce_path
):
    pd.read_csv(example_inforce_path).to_parquet(tmp_path / "example.parquet", index=False)
    from_csv, p1 = validate_inforce(read_inforce(example_inforce_path), config, rider)
    from_parquet, p2 = validate_inforce(read_inforce(tmp_path / "example.parquet"), config, rider)
    assert p1 == p2 == []
    assert len(from_csv) == 200
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_a_csv_with_spaces_after_the_commas_reads_cleanly(tmp_path, config, rider):
    path = tmp_path / "spaced.csv"
    path.write_text(
        "contract_id, owner_age, owner_sex, contract_value, allocation, rider_period\n"
        "1, 60, M, 100000, growth, 10\n"
    )
    clean, problems = validate_inforce(read_inforce(path), config, rider)
    # growth breaks option 1's equity limit, so choose an option whose limits it meets
    assert problems == [
        (
            "inforce row 1 (contract_id 1): allocation: 'growth' breaks the investment "
            "limits: equity_index 0.8 above the option 1 maximum 0.4"
        )
    ]
    path.write_text(
        "contract_id, owner_age, owner_sex, contract_value, allocation, rider_period,"
        " guarantee_option\n1, 60, M, 100000, growth, 10, 3\n"
    )
    clean, problems = validate_inforce(read_inforce(path), config, rider)
    assert problems == []
    assert clean["allocation"].tolist() == ["growth"]


def test_a_missing_inforce_file_is_one_problem(tmp_path):
    with pytest.raises(ConfigError) as info:
        read_inforce(tmp_path / "nope.csv")
    assert info.value.problems == [f"{tmp_path / 'nope.csv'}: inforce file not found"]


def test_an_unreadable_parquet_file_is_one_problem(tmp_path):
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError) as info:
        read_inforce(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: cannot read inforce file: ") and "\n" not in problem


# --------------------------------------------------------------------------- bad values


BAD_VALUES = [
    # (column, bad value, words the message should contain)
    ("contract_id", 2.5, "whole number"),
    ("owner_age", -1, "not in 0-115"),
    ("owner_age", 116, "not in 0-115"),
    ("owner_age", "old", "is not a number"),
    ("owner_sex", "X", "is not M or F"),
    ("owner_type", "corporation", "not one of"),
    ("spouse_age", 130, "not in 0-115"),
    ("beneficiary", "cat", "not one of"),
    ("spousal_protection", "maybe", "is not true/false"),
    ("contract_value", 0, "must be > 0"),
    ("contract_value", -5, "must be > 0"),
    ("fixed_value", 1e9, "not in 0-contract_value"),
    ("fixed_value", -1, "not in 0-contract_value"),
    ("fixed_guarantee_years", 3, "not 1, 5 or 7"),
    ("premiums", -1, "must be >= 0"),
    ("contract_year", 0, "rider_years_elapsed + 1"),
    ("benefit_base", -1, "must be >= 0"),
    ("death_benefit_base", -1, "must be >= 0"),
    ("rider_period", 6, "7-20"),
    ("rider_period", 21, "7-20"),
    ("rider_period", 25, "7-20"),
    ("rider_period", 10.5, "7-20"),
    ("rider_years_elapsed", 12, "0-(rider_period - 1)"),
    ("rider_years_elapsed", -1, "0-(rider_period - 1)"),
    ("rider_years_elapsed", 1.5, "0-(rider_period - 1)"),
    ("guarantee_option", 0, "whole number >= 1"),
    ("guarantee_option", 1.5, "whole number >= 1"),
    ("ab_factor", 3.5, "not in 0.50-3.00"),
    ("ab_factor", 0.4, "not in 0.50-3.00"),
    ("rider_fee_rate", 0.3, "not in 0-0.2"),
    ("rider_fee_rate", -0.01, "not in 0-0.2"),
    ("months_to_anniversary", 0, "not a whole number in 1-12"),
    ("months_to_anniversary", 13, "not a whole number in 1-12"),
    ("payment_amount", -1, "must be >= 0"),
    ("allocation", "", "neither an allocation model nor a fund"),
    ("allocation", "aggressive", "neither an allocation model nor a fund"),
    ("allocation", "equity_index", "breaks the investment limits"),
    ("policies", 0, "must be > 0"),
    ("policies", -3, "must be > 0"),
    ("policies", "nan", "is not a finite number"),
    ("policies", "inf", "is not a finite number"),
    ("policies", "many", "is not a number"),
    ("policies", 2e9, "must be > 0 and <= 1e+09"),
]


@pytest.mark.parametrize(
    ("column", "value", "words"), BAD_VALUES, ids=[f"{c}={v!r}" for c, v, _ in BAD_VALUES]
)
def test_each_bad_value_is_rejected_naming_the_row_and_the_column(
    config, rider, column, value, words
):
    frame = full_frame().astype(object)
    row = 1  # the second contract: period 12, option 2, no spouse
    frame.loc[row, column] = value
    _, problems = validate_inforce(frame, config, rider, source="block.csv")
    assert problems, f"{column}={value!r} was accepted"
    mine = [
        p
        for p in problems
        if p.startswith(f"block.csv row {row + 1} (contract_id ") and f": {column}: " in p
    ]
    assert mine, problems
    assert any(words in p for p in mine), mine
    assert all(f"row {row + 1} " in p for p in problems), problems  # no other row is blamed


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"spouse_sex": "Q", "spouse_age": 60.0}, "spouse_sex", "is not M or F"),
        ({"spouse_age": 60.0}, "spouse_age", "both be given or both blank"),
        ({"spouse_sex": "F"}, "spouse_age", "both be given or both blank"),
        ({"spousal_protection": True}, "spousal_protection", "needs a spouse"),
        (
            {"payment_amount": 1000.0, "payment_month": 0},
            "payment_month",
            "whole number of months >= 1",
        ),
        ({"guarantee_option": 9}, "ab_factor", "has no option 9, period 12"),
        (
            {"contract_year": 2, "rider_years_elapsed": 3},
            "contract_year",
            "rider_years_elapsed + 1",
        ),
    ],
)
def test_inconsistent_columns_are_rejected_naming_the_row_and_the_column(
    config, rider, change, column, words
):
    frame = full_frame().astype(object)
    for c, v in change.items():
        frame.loc[1, c] = v
    _, problems = validate_inforce(frame, config, rider, source="block.csv")
    assert any(
        p.startswith("block.csv row 2 (contract_id 2): ") and f": {column}: " in p and words in p
        for p in problems
    ), problems


def test_a_duplicate_contract_id_is_reported_on_the_repeat(config, rider):
    frame = full_frame()
    frame.loc[3, "contract_id"] = 2
    _, problems = validate_inforce(frame, config, rider, source="block.csv")
    assert problems == ["block.csv row 4 (contract_id 2): contract_id: duplicate"]


def test_steps_that_do_not_fit_the_months_to_anniversary_are_rejected(example_config_path):
    config = load_config(example_config_path, ["run.steps_per_year=4"])
    rider = AccumulationBenefitRider.from_config(config)
    frame = full_frame()  # months_to_anniversary 4, 12, blank, 1: 4 and 1 are not whole quarters
    _, problems = validate_inforce(frame, config, rider, source="q.csv")
    assert [p.split(": ")[0] for p in problems] == [
        "q.csv row 1 (contract_id 1)",
        "q.csv row 4 (contract_id 4)",
    ]
    assert all("months_to_anniversary" in p and "4 steps a year" in p for p in problems)


def test_every_problem_in_a_file_is_listed(config, rider):
    frame = full_frame().astype(object)
    frame.loc[0, "owner_sex"] = "X"
    frame.loc[1, "rider_period"] = 30
    frame.loc[2, "contract_value"] = -1
    frame.loc[3, "months_to_anniversary"] = 13
    frame.loc[3, "beneficiary"] = "cat"
    _, problems = validate_inforce(frame, config, rider, source="f.csv")
    found = {(re.match(r"f\.csv row (\d+) ", p).group(1), p.split(": ")[1]) for p in problems}
    assert {
        ("1", "owner_sex"),
        ("2", "rider_period"),
        ("3", "contract_value"),
        ("4", "months_to_anniversary"),
        ("4", "beneficiary"),
    } <= found


def test_a_problem_on_many_rows_is_listed_up_to_a_limit_then_counted(config, rider):
    n = MAX_LINES_PER_RULE + 5
    frame = required_only(n)
    frame["owner_sex"] = "X"
    _, problems = validate_inforce(frame, config, rider, source="big.csv")
    assert len(problems) == MAX_LINES_PER_RULE + 1
    assert problems[-1] == "big.csv: owner_sex: 5 more rows with the same problem"


def test_a_missing_required_column_is_named(config, rider):
    for column in REQUIRED:
        _, problems = validate_inforce(required_only().drop(columns=column), config, rider, "f.csv")
        assert problems == [f"f.csv: missing required column(s) {column}"]


def test_an_unknown_column_is_named(config, rider):
    frame = required_only().assign(shoe_size=42)
    _, problems = validate_inforce(frame, config, rider, "f.csv")
    assert problems == ["f.csv: unknown column(s) shoe_size"]


def test_an_empty_file_has_no_contracts(config, rider):
    _, problems = validate_inforce(required_only().iloc[:0], config, rider, "f.csv")
    assert problems == ["f.csv: no contracts"]


def test_load_inforce_raises_every_problem_naming_the_file(
    tmp_path, write_config, example_config_data
):
    frame = full_frame().astype(object)
    frame.loc[0, "owner_sex"] = "X"
    frame.loc[2, "rider_period"] = 99
    frame.to_csv(tmp_path / "bad.csv", index=False)
    example_config_data["inforce"]["file"] = "bad.csv"
    config = load_config(write_config(example_config_data))
    with pytest.raises(ConfigError) as info:
        load_inforce(config)
    path = tmp_path / "bad.csv"
    assert any(
        p.startswith(f"{path} row 1 (contract_id 1): owner_sex: ") for p in info.value.problems
    )
    assert any(
        p.startswith(f"{path} row 3 (contract_id 3): rider_period: ") for p in info.value.problems
    )


def test_load_inforce_reads_the_example_block(example_config_path):
    clean = load_inforce(load_config(example_config_path))
    assert len(clean) == 200
    assert clean["contract_id"].is_unique


# --------------------------------------------------------------------------- synthetic


def test_a_synthetic_block_is_the_same_for_the_same_seed_and_differs_for_another():
    a, b, c = synthetic_inforce(40, 7), synthetic_inforce(40, 7), synthetic_inforce(40, 8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_synthetic_block_validates_and_stays_in_range(config, rider, seed):
    frame = synthetic_inforce(300, seed, config, rider)
    assert set(frame.columns) <= set(DESIGN_COLUMNS)
    assert set(REQUIRED) <= set(frame.columns)
    clean, problems = validate_inforce(frame, config, rider, source="synthetic")
    assert problems == []
    assert len(clean) == 300 and clean["contract_id"].is_unique
    assert clean["rider_period"].between(7, 20).all()
    assert (clean["rider_years_elapsed"] < clean["rider_period"]).all()
    assert clean["months_to_anniversary"].between(1, 12).all()
    assert set(frame["owner_sex"]) == {"M", "F"}
    assert set(frame["allocation"]) <= set(config.allocations)
    for option, allocation in zip(clean["guarantee_option"], clean["allocation"], strict=False):
        assert not rider.allocation_problems(option, allocation_weights(config, allocation))


def test_a_model_point_may_stand_for_a_fractional_number_of_policies(config, rider):
    """After compression a model point often stands for a non-whole number of contracts."""
    frame = full_frame()
    frame["policies"] = [2.75, None, 40.0, 1.0]  # blank: one contract
    clean, problems = validate_inforce(frame, config, rider, source="block.csv")
    assert problems == []
    assert clean["policies"].tolist() == [2.75, 1.0, 40.0, 1.0]
