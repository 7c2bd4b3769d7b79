"""The ``abrsim`` command line: price, validate, inforce; errors are one line and exit 2."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.inforce import REQUIRED
from sim.valuation import package_version

EXIT_BAD_INPUT = 2
# The summary JSON of DESIGN.md.
BLOCK_KEYS = {
    "pv_claims",
    "pv_claims_se",
    "pv_fees",
    "pv_fees_se",
    "pv_spousal_charge",
    "pv_db_excess",
    "net_cost",
    "net_cost_se",
    "net_cost_bps",
    "breakeven_fee",
    "contracts",
    "scenarios",
}
RUN_KEYS = {"seconds", "contract_scenario_steps_per_second", "seed", "threads", "version"}
# The inforce columns of DESIGN.md.
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
FAST = ["--set", "run.scenarios=200", "--set", "run.breakeven=true"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def strict_json(text: str):
    """Parse exactly one JSON document; NaN and Infinity are not JSON."""

    def reject(constant):
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=reject)


def error_lines(result, count: int | None = None) -> list[str]:
    """Check a bad-input exit (status 2, no traceback, nothing on stdout); return stderr lines."""
    assert result.exit_code == EXIT_BAD_INPUT, (
        result.exit_code,
        result.stdout,
        result.stderr,
        result.exception,
    )
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    if count is not None:
        assert len(lines) == count, lines
    return lines


# --------------------------------------------------------------------------- price


@pytest.fixture(scope="module")
def example_json(tmp_path_factory):
    """``price --json`` on the example (200 contracts), kept for the module: (result, summary)."""
    config = Path(__file__).resolve().parents[1] / "configs" / "example.toml"
    result = run("price", config, "--json", *FAST)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result, strict_json(result.stdout)


def test_price_json_prints_only_the_summary_json(example_json):
    result, summary = example_json
    assert result.stdout.count("\n") == 1 and result.stdout.endswith("}\n")  # one document
    assert set(summary) == {"block", "run", "provenance"}  # provenance: docs/outputs.md
    assert BLOCK_KEYS <= set(summary["block"])
    assert RUN_KEYS <= set(summary["run"])


def test_price_json_figures_are_finite_numbers(example_json):
    _, summary = example_json
    for section, keys in (("block", BLOCK_KEYS), ("run", RUN_KEYS - {"version"})):
        for key in keys:
            value = summary[section][key]
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
            assert math.isfinite(value), (key, value)
    b = summary["block"]
    for key in (
        "pv_claims",
        "pv_fees",
        "pv_claims_se",
        "pv_fees_se",
        "pv_spousal_charge",
        "pv_db_excess",
        "net_cost_se",
    ):
        assert b[key] >= 0, key
    assert summary["run"]["seconds"] > 0
    assert summary["run"]["contract_scenario_steps_per_second"] > 0


def test_price_json_block_describes_the_example_run(example_json):
    _, summary = example_json
    b, r = summary["block"], summary["run"]
    assert b["contracts"] == 200
    assert b["scenarios"] == 200
    assert isinstance(b["contracts"], int) and isinstance(b["scenarios"], int)
    assert b["net_cost"] == pytest.approx(b["pv_claims"] - b["pv_fees"], rel=1e-12, abs=1e-6)
    assert r["seed"] == 20261123
    assert isinstance(r["threads"], int) and r["threads"] >= 1
    assert r["version"] == package_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", r["version"])


def test_price_json_breakeven_fee_lies_on_the_side_the_net_cost_says(example_json):
    # At the example's 1.25 % fee the block's net cost is many standard errors from zero, so the
    # fee that zeroes it must lie below 1.25 % when the net cost is negative and above when positive.
    _, summary = example_json
    b = summary["block"]
    assert abs(b["net_cost"]) > 4 * b["net_cost_se"]
    assert 0 < b["breakeven_fee"] < 0.25
    assert (b["breakeven_fee"] < 0.0125) == (b["net_cost"] < 0)


def test_price_is_reproducible_for_a_seed_and_changes_with_it(small_config):
    first = strict_json(run("price", small_config, "--json").stdout)["block"]
    again = strict_json(run("price", small_config, "--json").stdout)["block"]
    other = strict_json(run("price", small_config, "--json", "--set", "run.seed=7").stdout)
    assert first == again
    assert other["run"]["seed"] == 7
    assert other["block"]["pv_claims"] != first["pv_claims"]


def test_set_overrides_change_the_result(small_config):
    base = strict_json(run("price", small_config, "--json").stdout)["block"]
    fewer = strict_json(run("price", small_config, "--json", "--set", "run.scenarios=100").stdout)
    assert base["scenarios"] == 200 and fewer["block"]["scenarios"] == 100
    assert fewer["block"]["pv_claims"] != base["pv_claims"]
    higher_fee = strict_json(
        run("price", small_config, "--json", "--set", "rider.fee_rate=0.02").stdout
    )
    assert higher_fee["block"]["pv_fees"] > base["pv_fees"]


def test_price_output_writes_contracts_scenarios_cashflows_and_summary(small_config, tmp_path):
    out = tmp_path / "results"
    result = run("price", small_config, "--output", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "PV rider claims" in result.stdout and "Net cost" in result.stdout
    assert f"results written to {out}" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "cashflows.parquet",
        "contracts.parquet",
        "scenarios.parquet",
        "summary.json",
    ]  # no .partial-* folder left
    contracts = pd.read_parquet(out / "contracts.parquet")
    scenarios = pd.read_parquet(out / "scenarios.parquet")
    summary = strict_json((out / "summary.json").read_text())
    assert contracts["contract_id"].tolist() == [1, 2, 3, 4, 5]
    assert len(scenarios) == 200 == summary["block"]["scenarios"]
    assert BLOCK_KEYS <= set(summary["block"]) and RUN_KEYS <= set(summary["run"])
    # The block figure is the sum over contracts and the mean over scenarios.
    for key in ("pv_claims", "pv_fees", "net_cost"):
        assert contracts[key].sum() == pytest.approx(summary["block"][key], rel=1e-9)
        assert scenarios[key].mean() == pytest.approx(summary["block"][key], rel=1e-9)


def test_price_json_with_output_prints_what_it_writes(small_config, tmp_path):
    out = tmp_path / "a" / "b"
    result = run("price", small_config, "--json", "--output", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert strict_json(result.stdout) == strict_json((out / "summary.json").read_text())
    # a second run into the same folder replaces the files and still leaves no partial folder
    again = run(
        "price", small_config, "--json", "--output", out, "--set", "run.scenarios=100", "--force"
    )
    assert again.exit_code == 0
    assert strict_json((out / "summary.json").read_text())["block"]["scenarios"] == 100
    assert len(pd.read_parquet(out / "scenarios.parquet")) == 100
    assert not [p for p in out.iterdir() if p.name.startswith(".partial-")]


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("run.bogus=1", "run.bogus: unknown key"),
        ("scenarios", "'scenarios' is not of the form key.path=value"),
        ("=200", "'=200' is not of the form key.path=value"),
        ("run.scenarios.x=1", "run.scenarios.x: 'scenarios' is not a section"),
        ("run.scenarios=many", "run.scenarios: "),
        (
            "rider.payment_on_anniversary=before",
            "rider.payment_on_anniversary: Input should be 'before_fee' or 'after_withdrawal'",
        ),
        (
            "product.death_claim_window_days=90",
            "product.death_claim_window_days: Input should be greater than or equal to 180",
        ),
    ],
)
def test_a_bad_set_is_a_one_line_error_with_exit_2(small_config, override, words):
    (line,) = error_lines(run("price", small_config, "--set", override), count=1)
    assert words in line


def test_price_output_onto_an_existing_file_is_a_one_line_error(small_config, tmp_path):
    # Regression: this was a FileExistsError traceback (exit 1) after the whole run.
    target = tmp_path / "taken"
    target.write_text("keep me")
    (line,) = error_lines(run("price", small_config, "--output", target), count=1)
    assert str(target) in line
    assert target.read_text() == "keep me"


def test_price_json_is_valid_json_when_no_fee_breaks_even(small_config, monkeypatch):
    # Regression: the break-even fee was NaN here, printed as the bare token NaN (not JSON).
    # Wild markets and no decrements, and the search capped at 5 %: no fee breaks even.
    monkeypatch.setattr("sim.valuation.MAX_FEE", 0.05)
    result = run(
        "price",
        small_config,
        "--json",
        "--set",
        "run.scenarios=50",
        "--set",
        "run.breakeven=true",
        "--set",
        "lapse.enabled=false",
        "--set",
        "mortality.multiplier=0",
        "--set",
        'market.indices=[{name="us_equity", volatility=1.5}, {name="us_bonds", volatility=1.0}]',
    )
    assert result.exit_code == 0, result.stderr
    assert strict_json(result.stdout)["block"]["breakeven_fee"] is None


# --------------------------------------------------------------------------- validate


def test_validate_accepts_the_example(example_config_path):
    result = run("validate", example_config_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{example_config_path}: OK (200 contracts)"
    assert result.stderr == ""


def _set(data: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        data = data.setdefault(p, {})
    data[leaf] = value


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("rider.bogus", 1, "rider.bogus"),  # unknown key
        ("run.scenarios", "many", "run.scenarios"),  # wrong type
        ("run.antithetic", "maybe", "run.antithetic"),  # wrong type
        ("rider.fee_rate", 2, "rider.fee_rate"),  # out of range
        ("allocations.growth", {"equity_index": 0.9, "bond_fund": 0.2}, "allocations.growth"),
        ("allocations.growth", {"equity_index": 0.8, "hedge_fund": 0.2}, "allocations.growth"),
        ("rider.investment_limits.1.max_weight", {"hedge_fund": 0.3}, "rider.investment_limits.1"),
    ],
    ids=[
        "unknown-key",
        "wrong-type-int",
        "wrong-type-bool",
        "fee-rate-2",
        "weights-sum",
        "unknown-fund",
        "limit-unknown-fund",
    ],
)
def test_validate_names_the_file_and_the_key_of_a_broken_config(
    write_config, example_config_data, key, value, named
):
    _set(example_config_data, key, value)
    path = write_config(example_config_data, "broken.toml")
    (line,) = error_lines(run("validate", path), count=1)
    assert line.startswith(f"error: {path}: ")
    assert named in line
    if "hedge_fund" in str(value):
        assert "hedge_fund" in line


def test_validate_lists_every_problem_of_a_broken_config(write_config, example_config_data):
    _set(example_config_data, "rider.bogus", 1)
    _set(example_config_data, "run.scenarios", "many")
    _set(example_config_data, "rider.fee_rate", 2)
    _set(example_config_data, "lapse.dynamic.floor", -1)
    _set(example_config_data, "allocations.growth", {"equity_index": 0.8, "hedge_fund": 0.2})
    path = write_config(example_config_data, "broken.toml")
    lines = error_lines(run("validate", path), count=5)
    assert all(line.startswith(f"error: {path}: ") for line in lines)
    assert {line.split(": ")[2] for line in lines} == {
        "rider.bogus",
        "run.scenarios",
        "rider.fee_rate",
        "lapse.dynamic.floor",
        "allocations.growth",
    }


def test_validate_rejects_an_odd_antithetic_run_and_unknown_decrements(example_config_path):
    (line,) = error_lines(
        run("validate", example_config_path, "--set", "run.scenarios=201"), count=1
    )
    assert "run.scenarios must be even when run.antithetic = true" in line
    (line,) = error_lines(
        run("validate", example_config_path, "--set", "run.decrements=sampled"), count=1
    )
    assert "run.decrements" in line


@pytest.fixture
def broken_inforce(tmp_path, example_inforce_path):
    """The example inforce with one problem on each of several rows: {(row, column): path}."""
    frame = pd.read_csv(example_inforce_path).astype(object)
    frame.loc[2, "owner_sex"] = "X"  # row 3
    frame.loc[4, "rider_period"] = 25  # row 5
    frame.loc[6, "contract_id"] = frame.loc[5, "contract_id"]  # row 7 repeats row 6's id
    frame.loc[8, "allocation"] = None  # row 9: names nothing
    frame.loc[9, "allocation"] = "hedge_fund"  # row 10: names no model or fund
    assert frame.loc[10, "guarantee_option"] == 1
    frame.loc[10, "allocation"] = "growth"  # row 11: 80 % equity > option 1's 40 %
    path = tmp_path / "broken_inforce.csv"
    frame.to_csv(path, index=False)
    expected = {
        (3, "owner_sex"),
        (5, "rider_period"),
        (7, "contract_id"),
        (9, "allocation"),
        (10, "allocation"),
        (11, "allocation"),
    }
    return path, expected


def test_validate_lists_every_problem_of_a_broken_inforce_file(
    broken_inforce, write_config, example_config_data
):
    path, expected = broken_inforce
    example_config_data["inforce"]["file"] = str(path)
    lines = error_lines(run("validate", write_config(example_config_data)))
    found = set()
    for line in lines:
        m = re.fullmatch(
            rf"error: {re.escape(str(path))} row (\d+) \(contract_id \d+\): (\w+): .+", line
        )
        assert m, line  # each line names the file, the row and the column
        found.add((int(m.group(1)), m.group(2)))
    assert expected <= found
    assert {row for row, _ in found} == {row for row, _ in expected}  # no good row is blamed


def test_validate_names_a_missing_inforce_column(
    tmp_path, example_inforce_path, write_config, example_config_data
):
    path = tmp_path / "no_sex.csv"
    pd.read_csv(example_inforce_path).drop(columns="owner_sex").to_csv(path, index=False)
    example_config_data["inforce"]["file"] = str(path)
    (line,) = error_lines(run("validate", write_config(example_config_data)), count=1)
    assert line == f"error: {path}: missing required column(s) owner_sex"


def test_validate_reports_a_missing_inforce_file_in_one_line(
    tmp_path, write_config, example_config_data
):
    example_config_data["inforce"]["file"] = "nope.csv"
    (line,) = error_lines(run("validate", write_config(example_config_data)), count=1)
    assert line == f"error: {tmp_path / 'nope.csv'}: inforce file not found"


def test_validate_reports_a_missing_config_file_in_one_line(tmp_path):
    (line,) = error_lines(run("validate", tmp_path / "nope.toml"), count=1)
    assert line == f"error: {tmp_path / 'nope.toml'}: file not found"


def test_validate_reports_a_config_that_is_not_toml_in_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run]\nscenarios = = 3\n")
    (line,) = error_lines(run("validate", path), count=1)
    assert line.startswith(f"error: {path}: not valid TOML")


def test_price_reports_a_broken_inforce_like_validate(
    broken_inforce, write_config, example_config_data
):
    path, _ = broken_inforce
    example_config_data["inforce"]["file"] = str(path)
    config = write_config(example_config_data)
    assert error_lines(run("price", config, "--json")) == error_lines(run("validate", config))


# --------------------------------------------------------------------------- inforce


def read_any(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_inforce_writes_a_synthetic_block_that_validates(
    tmp_path, suffix, write_config, example_config_data
):
    path = tmp_path / f"block{suffix}"
    result = run("inforce", "--contracts", 50, "--seed", 3, "--output", path)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout.strip() == f"wrote 50 contracts to {path}"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left
    frame = read_any(path)
    assert len(frame) == 50
    # Every column is one of DESIGN.md's and every required one is there; the generator leaves
    # ab_factor and rider_fee_rate out so that they take the table's and the config's values.
    assert set(frame.columns) <= set(DESIGN_COLUMNS)
    assert set(DESIGN_COLUMNS) - set(frame.columns) <= {"ab_factor", "rider_fee_rate"}
    assert set(REQUIRED) <= set(frame.columns)
    assert frame["contract_id"].tolist() == list(range(1, 51))
    assert frame["owner_age"].between(0, 115).all()
    assert set(frame["owner_sex"]) <= {"M", "F"}
    assert set(frame["spouse_sex"].dropna()) - {""} <= {"M", "F"}
    assert frame["rider_period"].between(7, 20).all()
    assert frame["rider_years_elapsed"].between(0, 19).all()
    assert (frame["rider_years_elapsed"] < frame["rider_period"]).all()
    assert frame["months_to_anniversary"].between(1, 12).all()
    assert (frame["contract_value"] > 0).all()

    example_config_data["inforce"]["file"] = str(path)
    check = run("validate", write_config(example_config_data))
    assert check.exit_code == 0, check.stderr
    assert check.stdout.strip().endswith(": OK (50 contracts)")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_inforce_with_the_same_seed_writes_the_same_file(tmp_path, suffix):
    paths = [tmp_path / f"{name}{suffix}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (3, 3, 4), strict=False):
        assert run("inforce", "--contracts", 50, "--seed", seed, "--output", path).exit_code == 0
    pd.testing.assert_frame_equal(read_any(paths[0]), read_any(paths[1]))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert not read_any(paths[0]).equals(read_any(paths[2]))


def test_inforce_with_a_config_uses_its_allocation_models(
    tmp_path, example_config_path, write_config, example_config_data
):
    path = tmp_path / "block.csv"
    result = run(
        "inforce", "--contracts", 60, "--seed", 1, "--output", path, "--config", example_config_path
    )
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(path)
    assert set(frame["allocation"]) <= {"conservative", "balanced", "growth"}
    assert frame["allocation"].nunique() > 1
    example_config_data["inforce"]["file"] = str(path)
    assert run("validate", write_config(example_config_data)).exit_code == 0


@pytest.mark.parametrize("name", ["block.txt", "block", "block.csv.gz"])
def test_inforce_with_a_bad_suffix_is_a_one_line_error(tmp_path, name):
    (line,) = error_lines(run("inforce", "--contracts", 5, "--output", tmp_path / name), count=1)
    assert line == f"error: {tmp_path / name}: the output must end in .csv or .parquet"
    assert list(tmp_path.iterdir()) == []


def test_inforce_needs_at_least_one_contract(tmp_path):
    result = run("inforce", "--contracts", 0, "--output", tmp_path / "x.csv")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_inforce_output_below_a_file_is_a_one_line_error(tmp_path):
    # Regression: this was a FileExistsError traceback (exit 1).
    (tmp_path / "taken").write_text("")
    target = tmp_path / "taken" / "x.csv"
    (line,) = error_lines(run("inforce", "--contracts", 5, "--output", target), count=1)
    assert str(target) in line


# --------------------------------------------------------------------------- the real entry point


def abrsim() -> str:
    exe = Path(sys.executable).parent / "abrsim"
    assert exe.exists(), f"console script not installed next to {sys.executable}"
    return str(exe)


def test_the_abrsim_script_exits_2_without_a_traceback_on_bad_input(tmp_path):
    proc = subprocess.run(
        [abrsim(), "validate", str(tmp_path / "nope.toml")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in proc.stderr
    assert proc.stderr == f"error: {tmp_path / 'nope.toml'}: file not found\n"
    assert proc.stdout == ""


def test_the_abrsim_script_prints_the_summary_json(small_config):
    proc = subprocess.run(
        [abrsim(), "price", str(small_config), "--json", "--set", "run.scenarios=20"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = strict_json(proc.stdout)
    assert summary["block"]["contracts"] == 5 and summary["block"]["scenarios"] == 20
