"""External scenario files (sim.market.files): round trips, derived rates, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError
from sim.market.curve import ZeroCurve
from sim.market.files import read_scenarios, scenarios_to_frame, write_scenarios
from sim.market.gbm import generate_gbm

ARRAYS = ("index_growth", "money_market_growth", "discount", "short_rate")


def _gbm(n=7, steps=25, **kwargs):
    curve = ZeroCurve(np.array([1.0, 5.0, 10.0]), np.array([0.02, 0.035, 0.04]))
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    return generate_gbm(
        curve,
        np.array([0.2, 0.35]),
        np.array([0.015, 0.0]),
        corr,
        n,
        steps,
        12,
        7,
        index_names=("equity", "bonds"),
        **kwargs,
    )


def _assert_same(a, b):
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None:
            assert y is None, name
        else:
            assert y.dtype == np.float64 and np.array_equal(x, y), name
    assert (a.index_names, a.steps_per_year, a.basis, a.sample_group) == (
        b.index_names,
        b.steps_per_year,
        b.basis,
        b.sample_group,
    )


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("kind", ["pseudo", "antithetic", "sobol"])
def test_writing_and_reading_back_reproduces_every_array_bit_for_bit(tmp_path, suffix, kind):
    # antithetic pairs and two Sobol scrambles need an even count: 8 scenarios there
    sc = {
        "pseudo": lambda: _gbm(),
        "antithetic": lambda: _gbm(8, antithetic=True),
        "sobol": lambda: _gbm(8, method="sobol", scrambles=2),
    }[kind]()
    assert sc.sample_group == {"pseudo": 1, "antithetic": 2, "sobol": 4}[kind]
    path = write_scenarios(sc, tmp_path / f"scenarios.{suffix}")
    _assert_same(sc, read_scenarios(path))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_growth_factors_below_one_half_round_trip_exactly_which_simple_returns_would_not(
    tmp_path, suffix
):
    sc = _gbm(3, 4)
    growth = sc.index_growth.copy()
    growth[0, 0, 0] = 0.1
    growth[1, 2, 1] = 0.3
    assert 1.0 + (0.1 - 1.0) != 0.1  # why the format stores growth factors
    sc = dataclasses.replace(sc, index_growth=growth)
    _assert_same(sc, read_scenarios(write_scenarios(sc, tmp_path / f"s.{suffix}")))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_real_world_scenarios_without_a_short_rate_round_trip(tmp_path, suffix):
    sc = dataclasses.replace(_gbm(4, 6), basis="real_world", short_rate=None)
    back = read_scenarios(write_scenarios(sc, tmp_path / f"s.{suffix}"))
    _assert_same(sc, back)
    assert back.basis == "real_world" and back.short_rate is None


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_rows_in_any_order_read_back_the_same(tmp_path, suffix):
    sc = _gbm()
    frame = scenarios_to_frame(sc).sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert not frame["scenario"].is_monotonic_increasing
    path = tmp_path / f"shuffled.{suffix}"
    if suffix == "csv":
        with open(path, "w") as f:
            f.write("# basis: risk_neutral\n# steps_per_year: 12\n")
            frame.to_csv(f, index=False, float_format="%.17g")
    else:
        frame.to_parquet(path)
    _assert_same(sc, read_scenarios(path, steps_per_year=12, basis="risk_neutral"))


def test_the_csv_carries_its_metadata_in_leading_comment_lines(tmp_path):
    path = write_scenarios(_gbm(8, 3, antithetic=True), tmp_path / "s.csv")
    lines = path.read_text().splitlines()
    assert "# basis: risk_neutral" in lines[:5]
    assert "# steps_per_year: 12" in lines[:5]
    assert "# sample_group: 2" in lines[:5]
    header = next(ln for ln in lines if not ln.startswith("#"))
    assert (
        header == "scenario,step,growth_equity,growth_bonds,money_market_growth,short_rate,discount"
    )


def test_the_parquet_file_carries_its_metadata_in_the_schema(tmp_path):
    import pyarrow.parquet as pq

    path = write_scenarios(_gbm(8, 3, antithetic=True), tmp_path / "s.parquet")
    meta = pq.read_schema(path).metadata
    assert meta[b"basis"] == b"risk_neutral"
    assert meta[b"steps_per_year"] == b"12"
    assert meta[b"sample_group"] == b"2"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_writing_replaces_an_existing_file_and_leaves_no_temporary_file(tmp_path, suffix):
    path = tmp_path / f"s.{suffix}"
    write_scenarios(_gbm(2, 3), path)
    sc = _gbm(3, 5)
    write_scenarios(sc, path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    _assert_same(sc, read_scenarios(path))


def test_writing_to_an_unknown_suffix_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match=r"s\.txt: scenario file must end in \.csv or \.parquet"):
        write_scenarios(_gbm(2, 2), tmp_path / "s.txt")


# --------------------------------------------------------------------------- derived rates


def _write_csv(path, header, rows, meta=("# basis: risk_neutral", "# steps_per_year: 12")):
    text = (
        "\n".join(list(meta) + [",".join(header)] + [",".join(str(c) for c in r) for r in rows])
        + "\n"
    )
    path.write_text(text)
    return path


def test_discount_and_money_market_growth_are_derived_from_the_short_rate_alone(tmp_path):
    rates = np.array([[0.03, 0.031, 0.029], [0.02, -0.01, 0.05]])
    rows = [(s, t + 1, 0.01, repr(float(rates[s, t]))) for s in range(2) for t in range(3)]
    sc = read_scenarios(
        _write_csv(tmp_path / "r.csv", ["scenario", "step", "return_eq", "short_rate"], rows)
    )
    dt = 1.0 / 12
    assert np.array_equal(sc.short_rate, rates)
    assert np.array_equal(sc.discount[:, 0], [1.0, 1.0])
    assert np.array_equal(sc.discount[:, 1:], np.exp(-np.cumsum(rates * dt, axis=1)))
    assert np.array_equal(sc.money_market_growth, np.exp(rates * dt))
    np.testing.assert_allclose(sc.discount[:, -1], np.exp(-rates.sum(axis=1) * dt), rtol=1e-15)


def test_money_market_growth_is_derived_from_the_discount_when_neither_it_nor_a_rate_is_given(
    tmp_path,
):
    rows = [(0, 1, 0.01, 0.99), (0, 2, 0.02, 0.97), (1, 1, -0.01, 0.995), (1, 2, 0.0, 0.985)]
    sc = read_scenarios(
        _write_csv(tmp_path / "d.csv", ["scenario", "step", "return_eq", "discount"], rows)
    )
    assert sc.short_rate is None
    assert np.array_equal(sc.discount, [[1.0, 0.99, 0.97], [1.0, 0.995, 0.985]])
    assert np.array_equal(
        sc.money_market_growth, [[1 / 0.99, 0.99 / 0.97], [1 / 0.995, 0.995 / 0.985]]
    )
    assert np.array_equal(sc.index_growth[:, :, 0], [[1.01, 1.02], [0.99, 1.0]])
    assert sc.index_names == ("eq",) and sc.sample_group == 1


def test_metadata_missing_from_the_file_can_be_given_as_arguments(tmp_path):
    path = _write_csv(
        tmp_path / "m.csv",
        ["scenario", "step", "growth_eq", "short_rate"],
        [(0, 1, 1.01, 0.03), (0, 2, 1.0, 0.03)],
        meta=(),
    )
    sc = read_scenarios(path, steps_per_year=4, basis="real_world")
    assert (sc.steps_per_year, sc.basis) == (4, "real_world")
    assert np.array_equal(sc.money_market_growth, np.exp(np.array([[0.03, 0.03]]) * 0.25))


# --------------------------------------------------------------------------- validation

HEADER = ["scenario", "step", "return_eq", "short_rate", "discount"]
ROWS = [
    [0, 1, 0.01, 0.03, 0.9975],
    [0, 2, -0.02, 0.03, 0.995],
    [1, 1, 0.03, 0.03, 0.9975],
    [1, 2, 0.0, 0.03, 0.995],
]
META = ["# basis: risk_neutral", "# steps_per_year: 12"]


def _cell(row, col, value):
    def change(header, rows, meta):
        rows[row - 1][header.index(col)] = value

    return change


def _drop_column(col):
    def change(header, rows, meta):
        i = header.index(col)
        header.pop(i)
        for r in rows:
            r.pop(i)

    return change


def _add_column(col, value):
    def change(header, rows, meta):
        header.append(col)
        for r in rows:
            r.append(value)

    return change


def _drop_row(row):
    return lambda header, rows, meta: rows.pop(row - 1)


def _meta(*lines):
    def change(header, rows, meta):
        meta[:] = list(lines)

    return change


# (id, change to the valid file, read_scenarios arguments, fragments the one message must contain)
MALFORMED = [
    ("missing scenario column", _drop_column("scenario"), {}, ["column scenario is missing"]),
    ("missing step column", _drop_column("step"), {}, ["column step is missing"]),
    ("no index column", _drop_column("return_eq"), {}, ["no index columns"]),
    (
        "neither discount nor short rate",
        lambda h, r, m: (_drop_column("discount")(h, r, m), _drop_column("short_rate")(h, r, m)),
        {},
        ["discount and short_rate are both missing"],
    ),
    (
        "index named like the built-in money market",
        _add_column("growth_money_market", 1.0),
        {},
        ["column growth_money_market: 'money_market' is the built-in short-rate index"],
    ),
    (
        "unknown column",
        _add_column("discout", 0.9),
        {},
        ["column 'discout' is not part of the scenario format"],
    ),
    (
        "growth and return for one index",
        _add_column("growth_eq", 1.0),
        {},
        ["column growth_eq", "return_eq"],
    ),
    (
        "non-numeric value",
        _cell(3, "return_eq", "abc"),
        {},
        ["row 3: return_eq: 'abc' is not a number"],
    ),
    ("blank value", _cell(2, "discount", ""), {}, ["row 2: discount: value is blank or NaN"]),
    ("NaN value", _cell(4, "short_rate", "nan"), {}, ["row 4: short_rate: value is blank or NaN"]),
    ("infinite value", _cell(1, "return_eq", "inf"), {}, ["row 1: return_eq: inf is not finite"]),
    (
        "return of -100 %",
        _cell(2, "return_eq", -1.0),
        {},
        ["row 2: return_eq: return -1 is not > -1"],
    ),
    (
        "zero growth",
        lambda h, r, m: (
            h.__setitem__(2, "growth_eq"),
            [x.__setitem__(2, 1.0) for x in r],
            r[0].__setitem__(2, 0.0),
        ),
        {},
        ["row 1: growth_eq: growth 0 is not > 0"],
    ),
    ("zero discount", _cell(3, "discount", 0.0), {}, ["row 3: discount: 0 is not in (0, 1.5]"]),
    (
        "discount above 1.5",
        _cell(4, "discount", 1.6),
        {},
        ["row 4: discount: 1.6 is not in (0, 1.5]"],
    ),
    (
        "negative money market growth",
        lambda h, r, m: (
            _add_column("money_market_growth", 1.0)(h, r, m),
            r[0].__setitem__(5, -1.0),
        ),
        {},
        ["row 1: money_market_growth: -1 is not > 0"],
    ),
    (
        "negative scenario number",
        _cell(1, "scenario", -1),
        {},
        ["row 1: scenario: -1 is not a whole number >= 0"],
    ),
    ("fractional step", _cell(2, "step", 1.5), {}, ["row 2: step: 1.5 is not a whole number >= 1"]),
    ("step zero", _cell(2, "step", 0), {}, ["row 2: step: 0 is not a whole number >= 1"]),
    (
        "gap in the scenario numbers",
        lambda h, r, m: (r[2].__setitem__(0, 2), r[3].__setitem__(0, 2)),
        {},
        ["column scenario: scenarios must run 0..2 without gaps; missing 1"],
    ),
    (
        "a scenario short of steps",
        _drop_row(4),
        {},
        ["scenario 1: column step: steps must run 1..2", "missing 2"],
    ),
    (
        "duplicate scenario and step",
        lambda h, r, m: r.append(list(r[1])),
        {},
        ["row 5: scenario, step: (scenario 0, step 2) repeats row 2"],
    ),
    ("missing basis", _meta("# steps_per_year: 12"), {}, ["metadata basis is missing"]),
    (
        "missing steps per year",
        _meta("# basis: risk_neutral"),
        {},
        ["metadata steps_per_year is missing"],
    ),
    (
        "unknown basis",
        _meta("# basis: market_consistent", "# steps_per_year: 12"),
        {},
        ["metadata basis: 'market_consistent' is not one of risk_neutral, real_world"],
    ),
    (
        "steps per year not a whole number",
        _meta("# basis: real_world", "# steps_per_year: 12.5"),
        {},
        ["metadata steps_per_year: '12.5' is not a whole number in 1..365"],
    ),
    (
        "sample group not dividing the scenarios",
        _meta("# basis: risk_neutral", "# steps_per_year: 12", "# sample_group: 3"),
        {},
        ["metadata sample_group = 3 does not divide the 2 scenarios"],
    ),
    (
        "steps per year argument conflicting with the file",
        lambda h, r, m: None,
        {"steps_per_year": 4},
        ["metadata steps_per_year = 12 conflicts with the requested steps_per_year = 4"],
    ),
    (
        "basis argument conflicting with the file",
        lambda h, r, m: None,
        {"basis": "real_world"},
        ["metadata basis = risk_neutral conflicts with the requested basis = real_world"],
    ),
    ("header only", lambda h, r, m: r.clear(), {}, ["no data rows"]),
]


@pytest.mark.parametrize(
    "change, kwargs, fragments", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_each_malformed_file_gives_a_one_line_error_naming_the_file_and_the_row_or_column(
    tmp_path, change, kwargs, fragments
):
    header, rows, meta = list(HEADER), [list(r) for r in ROWS], list(META)
    change(header, rows, meta)
    path = _write_csv(tmp_path / "bad.csv", header, rows, meta)
    with pytest.raises(ConfigError) as info:
        read_scenarios(path, **kwargs)
    problems = info.value.problems
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line and line.startswith(f"{path}")
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def test_the_valid_file_of_the_malformed_cases_reads(tmp_path):
    sc = read_scenarios(_write_csv(tmp_path / "ok.csv", HEADER, ROWS, META))
    assert sc.index_growth.shape == (2, 2, 1) and sc.index_names == ("eq",)


def test_a_missing_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "nowhere.parquet"
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    assert info.value.problems == [f"{path}: scenario file not found"]


@pytest.mark.parametrize(
    "name, content",
    [("junk.parquet", b"this is not parquet"), ("junk.csv", b"\xff\xfe\x00 not utf-8 \xff")],
)
def test_an_unreadable_file_is_a_one_line_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: cannot read scenario file:") and "\n" not in line


def test_a_file_with_an_unknown_suffix_is_a_one_line_error(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_text("x")
    with pytest.raises(ConfigError, match=r"must end in \.csv or \.parquet"):
        read_scenarios(path)


def test_parquet_without_metadata_reports_both_missing_keys(tmp_path):
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"scenario": [0], "step": [1], "growth_eq": [1.0], "discount": [0.99]}).to_parquet(
        path
    )
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    assert info.value.problems == [
        f"{path}: metadata steps_per_year is missing (add it to the file or pass steps_per_year)",
        f"{path}: metadata basis is missing (add it to the file or pass basis)",
    ]
    assert read_scenarios(path, steps_per_year=12, basis="risk_neutral").n_steps == 1


def test_a_parquet_row_number_counts_data_rows_in_file_order(tmp_path):
    sc = _gbm(2, 3)
    frame = scenarios_to_frame(sc).iloc[::-1].reset_index(drop=True)
    frame.loc[4, "discount"] = 2.0
    path = tmp_path / "rev.parquet"
    frame.to_parquet(path)
    with pytest.raises(ConfigError) as info:
        read_scenarios(path, steps_per_year=12, basis="risk_neutral")
    assert info.value.problems == [f"{path} row 5: discount: 2 is not in (0, 1.5]"]


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][2] = "x"
    rows[3][4] = 7.0
    path = _write_csv(
        tmp_path / "two.csv", HEADER + ["extra"], [r + [1] for r in rows], ["# basis: nope"]
    )
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    text = "\n".join(info.value.problems)
    for fragment in [
        "column 'extra'",
        "steps_per_year is missing",
        "basis: 'nope'",
        "row 1: return_eq",
        "row 4: discount",
    ]:
        assert fragment in text
    assert all("\n" not in line for line in info.value.problems)


def test_a_file_with_many_bad_rows_reports_ten_rows_a_rule_and_at_most_twenty_lines(tmp_path):
    rows = [[s, t, -2.0, 0.03, 0.99] for s in range(10) for t in range(1, 11)]
    path = _write_csv(tmp_path / "many.csv", HEADER, rows)
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    problems = info.value.problems
    assert len(problems) == 11
    assert problems[-1] == f"{path}: return_eq: 90 more rows with the same problem"
    for row in rows:
        row[4] = 2.0  # a second rule on every row: 22 lines, cut to 20 and a count
    path = _write_csv(tmp_path / "more.csv", HEADER, rows)
    with pytest.raises(ConfigError) as info:
        read_scenarios(path)
    problems = info.value.problems
    assert len(problems) == 21
    assert problems[-1] == f"{path}: 2 more problems not shown"
