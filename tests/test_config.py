"""sim.config: defaults, unknown keys, overrides, cross-field rules and error messages."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.config import Config, ConfigError, apply_overrides, config_from_dict, load_config


def minimal() -> dict:
    """The smallest valid config: one index, one fund, a synthetic inforce."""
    return {
        "market": {
            "rate": 0.03,
            "indices": [{"name": "eq", "volatility": 0.2}],
            "funds": [{"name": "equity", "indices": {"eq": 1.0}}],
        },
        "inforce": {"synthetic": {"contracts": 3}},
    }


def two_indices() -> dict:
    data = minimal()
    data["market"]["indices"].append({"name": "bond", "volatility": 0.05})
    data["market"]["funds"].append({"name": "bonds", "indices": {"bond": 1.0}})
    return data


def problems_of(data: dict, source: str = "cfg.toml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, source=source)
    return info.value.problems


def one_problem(data: dict) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------- defaults


def test_a_minimal_config_takes_the_documented_defaults():
    cfg = config_from_dict(minimal())
    assert cfg.run.scenarios == 1000
    assert cfg.run.steps_per_year == 12
    assert cfg.run.decrements == "expected"
    assert cfg.run.antithetic is False
    assert cfg.run.threads == 0
    assert cfg.run.chunk_size == 0
    assert cfg.run.breakeven is True
    assert cfg.market.model == "gbm"
    assert cfg.market.curve is None
    assert cfg.market.correlation is None
    assert cfg.market.indices[0].dividend_yield == 0.0
    assert cfg.market.funds[0].fee == 0.0
    assert cfg.product.death_benefit == "return_of_premium"
    assert cfg.product.withdrawal_charges == [0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02]
    assert cfg.allocations == {}
    assert cfg.rider.fee_rate == 0.0125
    assert cfg.rider.fee_basis == "benefit_base"
    assert cfg.rider.ab_factors == "default"
    assert cfg.rider.investment_limits == {}
    assert cfg.spousal_protection.charge == 0.0015
    assert cfg.mortality.table == "2012IAM"
    assert cfg.mortality.improvement == "G2"
    assert cfg.mortality.multiplier == 1.0
    assert cfg.lapse.enabled is True
    assert cfg.lapse.dynamic.enabled is True
    assert cfg.withdrawals.utilisation == 0.0
    assert cfg.inforce.file is None
    assert cfg.inforce.synthetic.contracts == 3
    assert cfg.inforce.synthetic.seed == 0


def test_the_example_config_loads_with_its_values(example_config_path):
    cfg = load_config(example_config_path)
    assert cfg.run.antithetic is True
    assert cfg.market.rate == 0.035
    assert [f.name for f in cfg.market.funds] == ["equity_index", "bond_fund", "money_market"]
    assert set(cfg.allocations) == {"conservative", "balanced", "growth"}
    assert set(cfg.rider.investment_limits) == {1, 2, 3}
    assert cfg.rider.investment_limits[3].min_weight == {"bond_fund": 0.20}


def test_relative_paths_start_from_the_config_files_folder(example_config_path):
    cfg = load_config(example_config_path)
    assert Path(cfg.base_dir) == example_config_path.parent
    assert cfg.resolve(cfg.inforce.file) == example_config_path.parent / "example_inforce.csv"
    assert cfg.resolve("/abs/file.csv") == Path("/abs/file.csv")


def test_the_test_config_writer_round_trips_the_example(
    example_config_path, example_config_data, write_config
):
    written = load_config(write_config(example_config_data))
    original = load_config(example_config_path)
    assert written.model_dump(exclude={"base_dir", "inforce"}) == original.model_dump(
        exclude={"base_dir", "inforce"}
    )


def test_a_config_is_frozen():
    cfg = config_from_dict(minimal())
    with pytest.raises(ValidationError):
        cfg.run.scenarios = 5


# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    "path",
    [
        "bogus",
        "run.bogus",
        "market.bogus",
        "market.indices.0.bogus",
        "market.funds.0.bogus",
        "market.curve.bogus",
        "product.bogus",
        "rider.bogus",
        "rider.investment_limits.1.bogus",
        "spousal_protection.bogus",
        "mortality.bogus",
        "lapse.bogus",
        "lapse.dynamic.bogus",
        "withdrawals.bogus",
        "inforce.bogus",
        "inforce.synthetic.bogus",
    ],
)
def test_an_unknown_key_is_rejected_in_every_section(path):
    data = minimal()
    if path.startswith("market.curve"):
        data["market"]["rate"] = None
        data["market"]["curve"] = {"tenors": [1.0], "zero_rates": [0.03]}
    if path.startswith("rider.investment_limits"):
        data["rider"] = {"investment_limits": {1: {}}}
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    node[leaf] = 1
    problem = one_problem(data)
    assert problem == f"cfg.toml: {path}: unknown key"


@pytest.mark.parametrize(
    "value",
    [{"lump_sum": 0.6, "income_plan": 0.1, "five_year_rule": 0.3}, {"lump_sum": 1.0}],
)
def test_002_c_2_removed_non_spouse_elections_key_is_refused_with_one_line(value):
    """behaviour.non_spouse_elections changed nothing and was removed: an old config that
    holds it gets one line saying so, not "unknown key" and not a silent price."""
    data = minimal()
    data["behaviour"] = {"non_spouse_elections": value}
    problem = one_problem(data)
    assert problem.startswith("cfg.toml: behaviour.non_spouse_elections: removed (")
    assert problem.endswith("; delete it") and "\n" not in problem
    with pytest.raises(ConfigError, match="non_spouse_elections: removed"):
        config_from_dict(apply_overrides(minimal(), ["behaviour.non_spouse_elections.lump_sum=1"]))


def test_every_problem_is_reported_each_on_its_own_line():
    data = minimal()
    data["run"] = {"scenarios": "many", "bogus": 1}
    data["rider"] = {"fee_rate": 2}
    problems = problems_of(data)
    assert len(problems) == 3
    assert all(p.startswith("cfg.toml: ") and "\n" not in p for p in problems)
    assert {p.split(": ")[1] for p in problems} == {"run.scenarios", "run.bogus", "rider.fee_rate"}


def test_config_error_carries_its_problems_and_joins_them_in_its_message():
    err = ConfigError(["a: one", "b: two"])
    assert err.problems == ["a: one", "b: two"]
    assert str(err) == "a: one\nb: two"
    assert isinstance(err, ValueError)


def test_a_missing_required_section_is_named():
    data = minimal()
    del data["market"]
    assert one_problem(data) == "cfg.toml: market: required key is missing"


# --------------------------------------------------------------------------- overrides


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("-3", -3),
        ("0.0125", 0.0125),
        ("1e-3", 1e-3),
        ("true", True),
        ("false", False),
        ('"gbm"', "gbm"),
        ("gbm", "gbm"),
        ("data/inforce.csv", "data/inforce.csv"),
        ("2012IAM", "2012IAM"),
        ("[0.07, 0.06]", [0.07, 0.06]),
        ("[]", []),
        ("{ equity = 0.4, bonds = 0.6 }", {"equity": 0.4, "bonds": 0.6}),
        ("a=b", "a=b"),
    ],
)
def test_apply_overrides_parses_values_as_toml_else_as_strings(text, value):
    out = apply_overrides({}, [f"section.key={text}"])
    assert out == {"section": {"key": value}}
    assert type(out["section"]["key"]) is type(value)


def test_apply_overrides_replaces_nested_keys_and_leaves_the_input_alone():
    data = {"run": {"scenarios": 10, "seed": 1}, "lapse": {"dynamic": {"floor": 0.2}}}
    before = copy.deepcopy(data)
    out = apply_overrides(
        data, ["run.scenarios=20", " lapse.dynamic.cap = 0.9 ", "rider.fee_rate=0.01"]
    )
    assert data == before
    assert out == {
        "run": {"scenarios": 20, "seed": 1},
        "lapse": {"dynamic": {"floor": 0.2, "cap": 0.9}},
        "rider": {"fee_rate": 0.01},
    }


def test_apply_overrides_with_nothing_to_apply_returns_a_copy():
    data = {"run": {"scenarios": 10}}
    for overrides in (None, []):
        out = apply_overrides(data, overrides)
        assert out == data and out is not data and out["run"] is not data["run"]


def test_apply_overrides_lists_every_malformed_item():
    with pytest.raises(ConfigError) as info:
        apply_overrides(
            {"run": {"scenarios": 10}},
            ["scenarios", "=3", "run.scenarios.x=1", "run.seed=4"],
            source="--set",
        )
    assert info.value.problems == [
        "--set: 'scenarios' is not of the form key.path=value",
        "--set: '=3' is not of the form key.path=value",
        "--set: run.scenarios.x: 'scenarios' is not a section",
    ]


def test_load_config_applies_overrides_before_validating(example_config_path):
    cfg = load_config(
        example_config_path,
        [
            "run.scenarios=64",
            "rider.fee_rate=0.011",
            "run.antithetic=false",
            "mortality.improvement=none",
        ],
    )
    assert cfg.run.scenarios == 64
    assert cfg.rider.fee_rate == 0.011
    assert cfg.run.antithetic is False
    assert cfg.mortality.improvement == "none"


def test_an_override_to_a_bad_value_is_reported_against_the_config_file(example_config_path):
    with pytest.raises(ConfigError) as info:
        load_config(example_config_path, ["rider.fee_rate=2"])
    assert info.value.problems == [
        f"{example_config_path}: rider.fee_rate: Input should be less than or equal to 1"
    ]


# --------------------------------------------------------------------------- run


def test_antithetic_sampling_with_an_odd_number_of_scenarios_is_rejected():
    data = minimal()
    data["run"] = {"antithetic": True, "scenarios": 201}
    problem = one_problem(data)
    assert problem.startswith("cfg.toml: run: ")
    assert "run.scenarios must be even when run.antithetic = true" in problem
    data["run"]["scenarios"] = 200
    assert config_from_dict(data).run.scenarios == 200


def test_decrements_are_expected_or_simulated_and_nothing_else():
    data = minimal()
    data["run"] = {"decrements": "simulated"}
    assert config_from_dict(data).run.decrements == "simulated"
    data["run"] = {"decrements": "sampled"}
    problem = one_problem(data)
    assert problem.startswith("cfg.toml: run.decrements: ")


def test_an_unknown_decrements_choice_is_rejected():
    data = minimal()
    data["run"] = {"decrements": "stochastic"}
    assert one_problem(data).startswith("cfg.toml: run.decrements: ")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("scenarios", 1),
        ("seed", -1),
        ("steps_per_year", 0),
        ("threads", -1),
        ("chunk_size", -5),
        ("scenarios", 2.5),
        ("antithetic", "sometimes"),
    ],
)
def test_out_of_range_run_settings_are_rejected(key, value):
    data = minimal()
    data["run"] = {key: value}
    assert one_problem(data).startswith(f"cfg.toml: run.{key}: ")


# --------------------------------------------------------------------------- market


def test_market_rate_and_market_curve_together_are_rejected():
    data = minimal()
    data["market"]["curve"] = {"tenors": [1.0, 10.0], "zero_rates": [0.03, 0.04]}
    problem = one_problem(data)
    assert (
        problem
        == "cfg.toml: market: give exactly one of market.rate, market.curve or market.par_swaps"
    )


def test_neither_market_rate_nor_market_curve_is_rejected():
    data = minimal()
    del data["market"]["rate"]
    assert (
        one_problem(data)
        == "cfg.toml: market: give exactly one of market.rate, market.curve or market.par_swaps"
    )


def test_a_curve_alone_is_accepted():
    data = minimal()
    data["market"]["rate"] = None
    data["market"]["curve"] = {"tenors": [1.0, 10.0], "zero_rates": [0.03, 0.04]}
    cfg = config_from_dict(data)
    assert cfg.market.rate is None and cfg.market.curve.tenors == [1.0, 10.0]


@pytest.mark.parametrize(
    "curve",
    [
        {"tenors": [1.0, 10.0], "zero_rates": [0.03]},
        {"tenors": [], "zero_rates": []},
        {"tenors": [10.0, 1.0], "zero_rates": [0.03, 0.04]},
    ],
)
def test_a_malformed_curve_is_rejected(curve):
    data = minimal()
    data["market"]["rate"] = None
    data["market"]["curve"] = curve
    assert one_problem(data).startswith("cfg.toml: market.curve: ")


def test_a_correlation_matrix_that_is_not_positive_semi_definite_is_rejected():
    data = two_indices()
    data["market"]["indices"].append({"name": "intl", "volatility": 0.25})
    # Symmetric, unit diagonal, entries in [-1, 1], but eigenvalue 1 - 0.9 - 0.9 < 0.
    data["market"]["correlation"] = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
    assert one_problem(data) == "cfg.toml: market: correlation is not positive semi-definite"


def test_a_positive_definite_correlation_is_accepted():
    data = two_indices()
    data["market"]["correlation"] = [[1.0, -0.3], [-0.3, 1.0]]
    assert config_from_dict(data).market.correlation == [[1.0, -0.3], [-0.3, 1.0]]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1.0]], "correlation must be 2x2 (one row per index)"),
        ([[1.0, 0.2], [0.3, 1.0]], "correlation must be symmetric with a unit diagonal"),
        ([[0.9, 0.2], [0.2, 1.0]], "correlation must be symmetric with a unit diagonal"),
        ([[1.0, 1.2], [1.2, 1.0]], "correlation is not positive semi-definite"),
    ],
)
def test_a_malformed_correlation_is_rejected(matrix, message):
    data = two_indices()
    data["market"]["correlation"] = matrix
    assert one_problem(data) == f"cfg.toml: market: {message}"


def test_an_unknown_market_model_is_rejected_by_name():
    # the models themselves are tested in test_market_models.py
    data = minimal()
    data["market"]["model"] = "heston"
    assert one_problem(data) == (
        "cfg.toml: market.model: Input should be 'gbm', 'hull_white', 'rsln', 'slv' or 'file'"
    )


def test_fund_index_weights_must_sum_to_one():
    data = two_indices()
    data["market"]["funds"][0]["indices"] = {"eq": 0.5, "bond": 0.4}
    problem = one_problem(data)
    assert problem.startswith("cfg.toml: market.funds.0.indices: ")
    assert "sum to 1 (they sum to 0.9)" in problem


def test_a_fund_on_an_unknown_index_is_rejected():
    data = minimal()
    data["market"]["funds"][0]["indices"] = {"nikkei": 1.0}
    assert one_problem(data) == "cfg.toml: market: fund 'equity' uses unknown index 'nikkei'"


def test_a_fund_may_follow_the_built_in_money_market_index():
    data = minimal()
    data["market"]["funds"].append({"name": "cash", "indices": {"money_market": 1.0}})
    assert config_from_dict(data).market.funds[1].name == "cash"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["indices"].append({"name": "eq", "volatility": 0.1}),
            "index names must be unique",
        ),
        (
            lambda m: m["indices"].append({"name": "money_market", "volatility": 0.0}),
            "'money_market' is the built-in short-rate index",
        ),
        (
            lambda m: m["funds"].append({"name": "equity", "indices": {"eq": 1.0}}),
            "fund names must be unique",
        ),
    ],
)
def test_clashing_market_names_are_rejected(change, message):
    data = minimal()
    change(data["market"])
    assert one_problem(data) == f"cfg.toml: market: {message}"


# --------------------------------------------------------------------------- allocations, rider


def test_allocation_weights_not_summing_to_one_are_rejected():
    data = two_indices()
    data["allocations"] = {"mix": {"equity": 0.5, "bonds": 0.6}}
    problem = one_problem(data)
    assert "allocations.mix: weights sum to 1.1, not 1" in problem


def test_an_allocation_naming_an_unknown_fund_is_rejected():
    data = two_indices()
    data["allocations"] = {"mix": {"equity": 0.5, "hedge_fund": 0.5}}
    assert "allocations.mix: unknown fund(s) hedge_fund" in one_problem(data)


def test_an_allocation_model_may_not_share_a_funds_name():
    data = two_indices()
    data["allocations"] = {"equity": {"equity": 0.5, "bonds": 0.5}}
    assert "allocations.equity: an allocation model may not share a fund's name" in one_problem(
        data
    )


def test_an_allocation_weight_above_one_is_rejected_by_key():
    data = two_indices()
    data["allocations"] = {"mix": {"equity": 1.5, "bonds": -0.5}}
    problems = problems_of(data)
    assert {p.split(": ")[1] for p in problems} == {
        "allocations.mix.equity",
        "allocations.mix.bonds",
    }


def test_investment_limits_naming_an_unknown_fund_are_rejected():
    data = two_indices()
    data["rider"] = {"investment_limits": {2: {"max_weight": {"crypto": 0.1}}}}
    assert "rider.investment_limits.2: unknown fund 'crypto'" in one_problem(data)


def test_investment_limit_options_are_whole_numbers():
    data = two_indices()
    data["rider"] = {"investment_limits": {"2": {"max_weight": {"equity": 0.5}}}}
    assert config_from_dict(data).rider.investment_limits[2].max_weight == {"equity": 0.5}


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("rider", "fee_rate", 2),
        ("rider", "fee_rate", -0.01),
        ("rider", "fee_basis", "premium"),
        ("product", "me_charge", 1.5),
        ("product", "death_benefit", "enhanced"),
        ("product", "withdrawal_charges", [0.07, 1.2]),
        ("spousal_protection", "charge", 3),
        ("mortality", "improvement", "MP-2021"),
        ("mortality", "multiplier", -1),
        ("withdrawals", "utilisation", 1.5),
        ("lapse", "base", []),
    ],
)
def test_out_of_range_product_and_assumption_settings_name_their_key(section, key, value):
    data = minimal()
    data[section] = {key: value}
    problems = problems_of(data)
    assert all(p.startswith(f"cfg.toml: {section}.{key}") for p in problems), problems


def test_a_dynamic_lapse_floor_above_its_cap_is_rejected():
    data = minimal()
    data["lapse"] = {"dynamic": {"floor": 1.2, "cap": 1.0}}
    assert one_problem(data) == "cfg.toml: lapse.dynamic: floor must not exceed cap"


# --------------------------------------------------------------------------- inforce, files


@pytest.mark.parametrize("inforce", [{}, {"file": "x.csv", "synthetic": {"contracts": 3}}])
def test_the_inforce_needs_exactly_one_source(inforce):
    data = minimal()
    data["inforce"] = inforce
    assert (
        one_problem(data)
        == "cfg.toml: inforce: give exactly one of inforce.file or inforce.synthetic"
    )


def test_a_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.problems == [f"{tmp_path / 'nope.toml'}: file not found"]


def test_a_config_that_is_not_toml_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run]\nscenarios = [1,\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: not valid TOML: ") and "\n" not in problem


def test_problems_name_the_config_file(write_config):
    data = minimal()
    data["rider"] = {"fee_rate": 2}
    path = write_config(data, "mine.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(f"{path}: rider.fee_rate: ")


def test_config_is_the_validated_model():
    assert isinstance(config_from_dict(minimal()), Config)


def test_allocation_problems_are_reported_alongside_other_problems():
    # Regression: the cross-section checks (allocations, investment limits) ran only when every
    # field was valid, so they hid behind any other problem.
    data = two_indices()
    data["rider"] = {"fee_rate": 2}
    data["allocations"] = {"mix": {"equity": 0.5, "hedge_fund": 0.5}}
    problems = problems_of(data)
    assert any("rider.fee_rate" in p for p in problems)
    assert any("allocations.mix: unknown fund(s) hedge_fund" in p for p in problems)
    assert len(problems) == 2


def test_several_allocation_problems_are_all_reported():
    data = two_indices()
    data["allocations"] = {
        "a": {"equity": 0.5, "hedge_fund": 0.5},
        "b": {"equity": 0.5, "bonds": 0.6},
    }
    data["rider"] = {"investment_limits": {1: {"excluded": ["crypto"]}}}
    problems = problems_of(data)
    for words in (
        "allocations.a: unknown fund(s) hedge_fund",
        "allocations.b: weights sum to 1.1, not 1",
        "rider.investment_limits.1: unknown fund 'crypto'",
    ):
        assert sum(words in p for p in problems) == 1, (words, problems)
    assert all(p.startswith("cfg.toml: ") for p in problems)


def test_a_whole_number_in_an_override_path_indexes_a_list():
    data = {
        "market": {"indices": [{"name": "a", "volatility": 0.1}, {"name": "b", "volatility": 0.2}]}
    }
    out = apply_overrides(data, ["market.indices.1.volatility=0.3"])
    assert out["market"]["indices"] == [
        {"name": "a", "volatility": 0.1},
        {"name": "b", "volatility": 0.3},
    ]
    assert data["market"]["indices"][1]["volatility"] == 0.2
    with pytest.raises(
        ConfigError,
        match=r"--set: market.indices.2.volatility: '2' is not a position in "
        r"market.indices \(0-1\)",
    ):
        apply_overrides(data, ["market.indices.2.volatility=0.3"])


def test_a_sweep_section_is_accepted_and_kept_apart_from_the_block(example_config_data):
    example_config_data["sweep"] = {"axes": {"market.rate": [0.03, 0.04]}}
    config = config_from_dict(example_config_data)
    assert config.sweep == {"axes": {"market.rate": [0.03, 0.04]}}
    assert config.market.rate == example_config_data["market"]["rate"]
