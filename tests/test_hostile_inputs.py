"""Hostile input, refused generally: every numeric config key and inforce column rejects
nan, inf, -inf and out-of-range values with one line per problem and exit status 2, from
both ``price`` and ``validate``, and nothing is written. Also: files that are not UTF-8,
folders, ``;``-separated CSVs, short mortality tables, absurd memory needs, messages that
would quote a file's content or a numpy repr.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from sim.cli import app
from sim.config import Config, load_config

EXIT_BAD_INPUT = 2
ROOT = Path(__file__).resolve().parents[1]
NON_FINITE = ["nan", "inf", "-inf"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result) -> list[str]:
    """A bad-input exit: status 2, no traceback, nothing on stdout, every stderr line one
    ``error:`` line; returns those lines."""
    assert result.exit_code == EXIT_BAD_INPUT, (
        result.exit_code,
        result.stdout,
        result.stderr,
        result.exception,
    )
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    assert not any("np.float" in line or "np.int" in line for line in lines), lines
    return lines


def refused_by_price_and_validate(config: Path, tmp_path: Path, *args) -> list[str]:
    """Run ``validate`` and ``price --output`` on the same input; both must refuse it in the
    same lines and ``price`` must leave its output folder unmade."""
    out = tmp_path / "results"
    by_validate = refused(run("validate", config, *args))
    by_price = refused(run("price", config, "--output", out, *args))
    assert by_price == by_validate
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    return by_validate


# --------------------------------------------------------------------------- config keys


def _unwrap(annotation):
    """(base type, is a list) of a field annotation: Optional and Annotated peeled off."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else (None, False)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is list:
        inner, _ = _unwrap(typing.get_args(annotation)[0])
        return inner, True
    return annotation, False


def _bounds(field) -> dict:
    """ge / gt / le / lt of a field or, for a list, of its items."""
    found = {}
    metadata = list(field.metadata)
    annotation = field.annotation
    for _ in range(3):  # Optional[list[Annotated[float, Field(...)]]]
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) is typing.Annotated:
                metadata += list(getattr(typing.get_args(arg)[1], "metadata", []))
            elif typing.get_origin(arg) is list:
                annotation = arg
        if typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Annotated:
        metadata += list(getattr(typing.get_args(annotation)[1], "metadata", []))
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    return found


def numeric_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple]:
    """Every int or float key of the config: (dotted path, is a list, bounds). A list of
    sections is entered through its first item (``market.indices.0.volatility``)."""
    keys = []
    for name, field in model.model_fields.items():
        base, is_list = _unwrap(field.annotation)
        path = f"{prefix}{name}"
        if isinstance(base, type) and issubclass(base, BaseModel):
            keys += numeric_keys(base, path + (".0." if is_list else "."))
        elif base in (int, float):
            keys.append((path, is_list, _bounds(field)))
    return keys


#: Numbers inside mappings and tuples, which the walk above does not enter: (path, bounds).
#: ``{fund}`` and ``{allocation}`` are the example config's first fund and allocation.
MAPPED_KEYS = [
    ("allocations.{allocation}.{fund}", {"ge": 0.0, "le": 1.0}),
    ("market.funds.0.indices.us_equity", {"ge": 0.0, "le": 1.0}),
    ("rider.investment_limits.1.max_weight.{fund}", {"ge": 0.0, "le": 1.0}),
    ("rider.investment_limits.1.min_weight.{fund}", {"ge": 0.0, "le": 1.0}),
    ("behaviour.claim_delay.0.0", {"ge": 0.0, "le": 3650.0}),
    ("behaviour.claim_delay.0.1", {"ge": 0.0, "le": 1.0}),
]
#: Keys whose range is checked by a model validator rather than field bounds.
RANGE_BY_VALIDATOR = {"market.correlation"}
ALL_KEYS = numeric_keys()


def _too_far(bounds: dict) -> list:
    values = []
    if "ge" in bounds:
        values.append(bounds["ge"] - 1)
    if "gt" in bounds:
        values.append(bounds["gt"])
    if "le" in bounds:
        values.append(bounds["le"] * 2 + 1 if bounds["le"] >= 0 else bounds["le"] + 1)
    if "lt" in bounds:
        values.append(bounds["lt"])
    return values


CASES = []
for _path, _is_list, _bnds in ALL_KEYS + [(p, False, b) for p, b in MAPPED_KEYS]:
    if _path == "base_dir":
        continue
    if _path in RANGE_BY_VALIDATOR:
        _bnds = {"ge": -1.0, "le": 1.0}  # a correlation
    for _value in [float(v) for v in NON_FINITE] + _too_far(_bnds):
        CASES.append(pytest.param(_path, _is_list, _value, id=f"{_path}={_value!r}"))


def set_key(data: dict, path: str, value) -> None:
    """Set a dotted key in a config mapping, creating sections; a number steps into a list."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {}
        node = node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


@pytest.fixture
def example_copy(example_config_data, write_config) -> Path:
    """The example config (its inforce file named by an absolute path) in tmp_path."""
    return write_config(example_config_data, "example.toml")


def _documented_ranges() -> dict[str, tuple[str, str]]:
    """The table "Ranges of the numbers" of docs/configuration.md: key -> (from, to)."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = text.split("## Ranges of the numbers", 1)[1]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].split("`")[1]] = (cells[1], cells[2])
    return rows


def _number(text: str) -> float:
    return float(text.split(" ", 1)[1].replace(",", ""))


def test_every_numeric_config_key_has_a_range_and_the_docs_state_it():
    documented = _documented_ranges()
    for path, _, bounds in ALL_KEYS:
        if path == "base_dir" or path in RANGE_BY_VALIDATOR:
            continue
        assert {"ge", "gt"} & set(bounds) and {"le", "lt"} & set(bounds), (path, bounds)
        low, high = documented[path]
        sign, bound = ("≥", bounds["ge"]) if "ge" in bounds else (">", bounds["gt"])
        assert low.startswith(sign) and _number(low) == pytest.approx(bound), (path, low, bounds)
        sign, bound = ("≤", bounds["le"]) if "le" in bounds else ("<", bounds["lt"])
        assert high.startswith(sign) and _number(high) == pytest.approx(bound), (path, high, bounds)
    assert len(ALL_KEYS) > 60  # the walk found the nested sections too


@pytest.mark.parametrize(("path", "is_list", "value"), CASES)
def test_a_numeric_config_key_refuses_non_finite_and_out_of_range_values(
    example_config_data, write_config, tmp_path, path, is_list, value
):
    data = example_config_data
    path = path.format(
        allocation=next(iter(data["allocations"])), fund=data["market"]["funds"][0]["name"]
    )
    if path.startswith("behaviour.claim_delay"):
        data.setdefault("behaviour", {})["claim_delay"] = [[0.0, 1.0]]
    if path == "market.correlation":
        value_set = [[1.0, value], [value, 1.0]]
    else:
        value_set = [value] if is_list else value
    set_key(data, path, value_set)
    config = write_config(data, "hostile.toml")
    lines = refused_by_price_and_validate(config, tmp_path)
    name = [part for part in path.split(".") if not part.isdigit()][-1]
    mine = [line for line in lines if line.startswith(f"error: {config}: ") and name in line]
    assert mine, lines
    if value != value or value in (float("inf"), float("-inf")):
        assert any("finite number" in line for line in mine), mine


def test_nan_is_reported_as_not_finite_not_as_out_of_range(example_copy):
    (line,) = refused(run("validate", example_copy, "--set", "withdrawals.rate=nan"))
    assert line == f"error: {example_copy}: withdrawals.rate: Input should be a finite number"


def test_an_absurd_scenario_count_is_refused_by_its_range(example_copy, tmp_path):
    (line,) = refused_by_price_and_validate(example_copy, tmp_path, "--set", "run.scenarios=1e12")
    assert "run.scenarios" in line and "less than or equal to 10000000" in line


def test_a_run_that_needs_more_memory_than_allowed_is_refused_before_allocating(
    example_copy, tmp_path
):
    lines = refused_by_price_and_validate(
        example_copy, tmp_path, "--set", "run.scenarios=2000000", "--set", "run.max_memory_gb=1"
    )
    (line,) = lines
    assert line.startswith(f"error: {example_copy}: run.scenarios: 2,000,000 scenarios need about ")
    assert "run.max_memory_gb = 1" in line


def test_a_chunk_size_that_needs_more_memory_than_allowed_is_refused_naming_the_chunk(
    example_copy, tmp_path
):
    # 200 contracts x 100,000 scenarios: about 2.6 GiB with the chunk sized automatically
    # (64 MiB), but a chunk of all 200 contracts holds 200 x 100,000 paths of every measure
    # (about 2.4 GiB more): within 4 GiB only with the automatic chunk
    args = ["--set", "run.scenarios=100000", "--set", "run.max_memory_gb=4"]
    (line,) = refused_by_price_and_validate(
        example_copy, tmp_path, *args, "--set", "run.chunk_size=200"
    )
    assert line.startswith(
        f"error: {example_copy}: run.chunk_size: 200 contracts a chunk with 100,000 scenarios "
        "need about "
    )
    assert "use a smaller chunk (0 sizes it automatically)" in line
    assert run("validate", example_copy, *args).exit_code == 0


def test_a_run_within_the_memory_limit_validates_and_reports_its_need(example_copy):
    result = run("validate", example_copy, "--set", "run.max_memory_gb=1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("OK (200 contracts)\n")


def test_base_dir_is_not_a_user_key(tmp_path, example_copy):
    config = tmp_path / "with_base_dir.toml"
    config.write_text('base_dir = "/etc"\n' + example_copy.read_text())
    (line,) = refused(run("validate", config))
    assert line == (
        f"error: {config}: base_dir: unknown key (relative paths start from the "
        "config file's folder)"
    )
    (line,) = refused(run("validate", example_copy, "--set", 'base_dir="/etc"'))
    assert "base_dir: unknown key" in line


# --------------------------------------------------------------------------- config files


def test_a_config_that_is_not_utf8_names_the_byte_and_line_and_says_how_to_fix_it(tmp_path):
    config = tmp_path / "latin1.toml"
    config.write_bytes("# caf\u00e9\n[run]\n".encode("latin-1"))
    (line,) = refused(run("validate", config))
    assert line == (
        f"error: {config}: not UTF-8 text: byte 0xe9 at line 1, column 6 (byte offset "
        "5); save the file as UTF-8"
    )


def test_a_config_path_that_is_a_folder_is_one_line(tmp_path):
    (line,) = refused(run("price", tmp_path))
    assert line == f"error: {tmp_path}: is a folder; give the file itself"


# --------------------------------------------------------------------------- inforce columns

#: Every numeric inforce column with values below and above its documented range.
OUT_OF_RANGE = {
    "contract_id": [1.5, 2.0**60],
    "owner_age": [-1, 116],
    "spouse_age": [-1, 116],
    "annuitant_age": [-1, 116],
    "contract_value": [0, 2e9],
    "fixed_value": [-1, 1e10],
    "fixed_guarantee_years": [3, 8],
    "premiums": [-1, 2e9],
    "contract_year": [0, 101],
    "benefit_base": [-1, 2e9],
    "death_benefit_base": [-1, 2e9],
    "rider_period": [6, 21],
    "rider_years_elapsed": [-1, 25],
    "guarantee_option": [0, 101],
    "ab_factor": [0.4, 3.5],
    "rider_fee_rate": [-0.01, 0.3],
    "months_to_anniversary": [0, 13],
    "payment_amount": [-1, 2e9],
    "payment_month": [0, 1201],
    "fixed_rate": [-0.01, 0.3],
    "fixed_months_remaining": [0, 85],
    "policies": [0, 2e9],
}
#: Cells that make the column apply (a second life's sex, a payment to schedule).
CONTEXT = {
    "spouse_age": {"spouse_sex": "F"},
    "annuitant_age": {"annuitant_sex": "F"},
    "payment_month": {"payment_amount": 1000.0},
}
INFORCE_CASES = [
    pytest.param(column, value, id=f"{column}={value}")
    for column, values in OUT_OF_RANGE.items()
    for value in [*NON_FINITE, *values]
]


def test_every_numeric_inforce_column_is_covered():
    from sim.inforce import COLUMNS

    text = {
        "owner_sex",
        "owner_type",
        "spouse_sex",
        "beneficiary",
        "spousal_protection",
        "allocation",
        "annuitant_sex",
        "contingent_beneficiary",
    }
    assert set(OUT_OF_RANGE) == set(COLUMNS) - text


@pytest.fixture
def three_contracts(tmp_path, example_config_data, example_inforce_path, write_config):
    """(config path, inforce frame): the example's first three contracts, as strings."""
    frame = pd.read_csv(example_inforce_path, dtype=str, keep_default_na=False).head(3)
    data = example_config_data
    data["inforce"] = {"file": "inforce.csv"}
    return write_config(data, "three.toml"), frame


@pytest.mark.parametrize(("column", "value"), INFORCE_CASES)
def test_a_numeric_inforce_column_refuses_non_finite_and_out_of_range_values(
    three_contracts, tmp_path, column, value
):
    config, frame = three_contracts
    frame = frame.copy()
    for col, cell in {**CONTEXT.get(column, {}), column: value}.items():
        if col not in frame:
            frame[col] = ""
        frame.loc[1, col] = str(value) if col == column else str(cell)
    frame.to_csv(tmp_path / "inforce.csv", index=False)
    lines = refused_by_price_and_validate(config, tmp_path)
    source = tmp_path / "inforce.csv"
    mine = [
        line
        for line in lines
        if line.startswith(f"error: {source} row 2 (contract_id ") and f": {column}: " in line
    ]
    assert mine, lines
    assert all(" row 2 " in line for line in lines if " row " in line), lines  # no other row
    if value in NON_FINITE:
        assert mine[0].endswith(f"'{value}' is not a finite number"), mine


def test_an_inforce_that_is_not_utf8_names_the_byte_and_line(three_contracts, tmp_path):
    config, frame = three_contracts
    text = frame.to_csv(index=False).replace("M", "\u00c9", 1)
    (tmp_path / "inforce.csv").write_bytes(text.encode("latin-1"))
    (line,) = refused_by_price_and_validate(config, tmp_path)
    assert line.startswith(
        f"error: {tmp_path / 'inforce.csv'}: not UTF-8 text: byte 0xc9 at line 2"
    )
    assert line.endswith("save the file as UTF-8")


def test_a_semicolon_separated_inforce_is_named_as_such(three_contracts, tmp_path):
    config, frame = three_contracts
    frame.to_csv(tmp_path / "inforce.csv", index=False, sep=";")
    (line,) = refused_by_price_and_validate(config, tmp_path)
    assert line == (
        f"error: {tmp_path / 'inforce.csv'}: the columns are separated by semicolons; "
        "an inforce CSV is comma-separated: save it with commas"
    )


def test_an_inforce_path_that_is_a_folder_is_one_line(three_contracts, tmp_path):
    config, _ = three_contracts
    (tmp_path / "inforce.csv").mkdir()
    (line,) = refused_by_price_and_validate(config, tmp_path)
    assert line == f"error: {tmp_path / 'inforce.csv'}: is a folder; give the inforce file itself"


@pytest.mark.parametrize(
    "secret",
    ["AWS_SECRET_ACCESS_KEY=abc123xyz", "password,hunter2", "contract_id;owner_age;hunter2"],
)
def test_a_file_that_is_not_an_inforce_is_refused_without_quoting_it(
    three_contracts, tmp_path, secret
):
    config, _ = three_contracts
    (tmp_path / "inforce.csv").write_text(f"{secret}\nmore secret text\n")
    lines = refused_by_price_and_validate(config, tmp_path)
    assert len(lines) == 1
    for word in ("abc123xyz", "hunter2", "secret", "AWS"):
        assert word not in lines[0], lines


def test_the_text_nan_in_an_optional_amount_is_not_taken_for_a_blank(three_contracts, tmp_path):
    config, frame = three_contracts
    frame = frame.copy()
    frame["benefit_base"] = ["", "NaN", ""]
    frame.to_csv(tmp_path / "inforce.csv", index=False)
    (line,) = refused_by_price_and_validate(config, tmp_path)
    assert line.endswith("benefit_base: 'NaN' is not a finite number")


# --------------------------------------------------------------------------- mortality tables


@pytest.fixture
def with_mortality_csv(three_contracts, tmp_path, example_config_data, write_config):
    """``write(rows) -> config``: a mortality CSV with the given rows, named by the config."""
    _, frame = three_contracts
    frame.to_csv(tmp_path / "inforce.csv", index=False)

    def write(rows: str) -> Path:
        (tmp_path / "table.csv").write_text("age,male,female\n" + rows)
        data = example_config_data
        data["inforce"] = {"file": "inforce.csv"}
        data.setdefault("mortality", {})["table"] = "table.csv"
        return write_config(data, "mortality.toml")

    return write


def test_a_short_mortality_table_names_the_missing_ages(with_mortality_csv, tmp_path):
    config = with_mortality_csv("60,0.01,0.008\n")
    (line,) = refused_by_price_and_validate(config, tmp_path)
    assert line.startswith(
        f"error: {config}: mortality.table: table.csv gives rates for ages 60-60; "
        "the block reaches ages "
    )
    assert "are missing" in line


def test_a_mortality_table_that_ends_with_a_rate_of_one_covers_every_later_age(
    with_mortality_csv, tmp_path
):
    rows = "".join(
        f"{age},{min(0.001 * 1.1 ** (age - 20), 1.0)},{min(0.0008 * 1.1 ** (age - 20), 1.0)}\n"
        for age in range(20, 101)
    )
    rows += "101,1.0,1.0\n"
    config = with_mortality_csv(rows)
    result = run("validate", config)
    assert result.exit_code == 0, result.stderr


def test_a_mortality_csv_error_names_the_key_and_every_bad_row(with_mortality_csv, tmp_path):
    rows = "".join(f"{age},{1.5 if age in (41, 43, 47) else 0.01},0.01\n" for age in range(40, 121))
    config = with_mortality_csv(rows)
    (line,) = refused(run("validate", config))
    assert line.startswith(f"error: {config}: mortality.table: mortality CSV ")
    assert line.endswith("column male: q outside [0, 1] on row(s) 2, 4, 8")


def test_an_unknown_mortality_table_names_the_key(three_contracts, tmp_path):
    config, frame = three_contracts
    frame.to_csv(tmp_path / "inforce.csv", index=False)
    (line,) = refused(run("validate", config, "--set", 'mortality.table="2099XYZ"'))
    assert line.startswith(f"error: {config}: mortality.table: unknown mortality table '2099XYZ'")


def test_load_config_reads_the_example_unchanged():
    cfg = load_config(ROOT / "configs" / "example.toml")
    assert cfg.run.max_memory_gb is None
