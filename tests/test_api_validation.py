"""The Python API validates like the CLI: ``price(config, frame)`` raises the package's
ConfigError with the lines ``abrsim validate`` prints, and prices a raw frame as read from
a file exactly as it prices the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.config import ConfigError
from sim.inforce import load_inforce, read_inforce


@pytest.fixture
def config_and_file(small_config, tmp_path):
    """(config with 20 scenarios, its 5-contract inforce CSV)."""
    cfg = sim.load_config(small_config, ["run.scenarios=20"])
    return cfg, tmp_path / "inforce.csv"


def broken(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["contract_value"] = frame["contract_value"].astype(float)
    frame["benefit_base"] = frame.get("benefit_base", frame["contract_value"]).astype(float)
    frame.loc[0, "contract_value"] = -5.0
    frame.loc[2, "owner_age"] = 130
    frame.loc[3, "benefit_base"] = np.inf
    return frame


def test_price_of_an_invalid_frame_raises_config_error_with_the_cli_lines(
    config_and_file, small_config
):
    cfg, inforce_csv = config_and_file
    frame = broken(pd.read_csv(inforce_csv))
    with pytest.raises(ConfigError) as info:
        sim.price(cfg, frame)
    api_lines = info.value.problems
    # three bad cells; the negative contract value also puts fixed_value out of its range
    assert len(api_lines) == 4 and str(info.value) == "\n".join(api_lines)

    frame.to_csv(inforce_csv, index=False)  # the same frame, through the CLI
    result = CliRunner().invoke(app, ["validate", str(small_config)])
    assert result.exit_code == 2
    cli_lines = [line.removeprefix("error: ") for line in result.stderr.splitlines()]
    assert [line.replace(str(inforce_csv), "inforce", 1) for line in cli_lines] == api_lines
    assert "inforce row 1 (contract_id 1): contract_value: -5 must be > 0 and <= 1e+09" in api_lines
    assert "inforce row 3 (contract_id 3): owner_age: 130 not in 0-115" in api_lines
    assert "inforce row 4 (contract_id 4): benefit_base: 'inf' is not a finite number" in api_lines


def test_a_frame_read_raw_from_the_file_prices_exactly_like_the_file(config_and_file):
    cfg, inforce_csv = config_and_file
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"breakeven": False})})
    raw = pd.read_csv(inforce_csv)  # optional columns absent: once a KeyError
    assert "payment_amount" not in raw
    from_frame = sim.price(cfg, raw)
    from_file = sim.price(cfg)
    assert from_frame.block["pv_claims"] == from_file.block["pv_claims"]
    assert from_frame.block["pv_fees_se"] == from_file.block["pv_fees_se"]


def test_a_validated_frame_validates_again_unchanged(config_and_file):
    cfg, inforce_csv = config_and_file
    clean = load_inforce(cfg)
    again = sim.valuation.block_inputs(cfg, clean).inforce
    pd.testing.assert_frame_equal(again, clean)
    assert read_inforce(inforce_csv).shape[0] == len(clean)


def test_a_frame_missing_a_required_column_is_named(config_and_file):
    cfg, inforce_csv = config_and_file
    frame = pd.read_csv(inforce_csv).drop(columns=["rider_period"])
    with pytest.raises(ConfigError) as info:
        sim.price(cfg, frame)
    assert info.value.problems == ["inforce: missing required column(s) rider_period"]


def test_something_that_is_not_a_frame_is_refused(config_and_file):
    cfg, _ = config_and_file
    with pytest.raises(ConfigError) as info:
        sim.price(cfg, [{"contract_id": 1}])
    assert info.value.problems == ["inforce: expected a pandas DataFrame, got list"]
