"""Shared fixtures: the example config, and small configs written to ``tmp_path``."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "configs" / "example.toml"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return (
            ("inf" if v > 0 else "-inf") if math.isinf(v) else "nan" if math.isnan(v) else repr(v)
        )
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = [f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dump_toml(data: dict) -> str:
    """A config mapping as TOML: one ``key = inline value`` line per top-level key."""
    return "".join(
        f"{json.dumps(str(k))} = {_toml_value(v)}\n" for k, v in data.items() if v is not None
    )


@pytest.fixture
def example_config_path() -> Path:
    """Absolute path of configs/example.toml."""
    return EXAMPLE_CONFIG


@pytest.fixture
def example_inforce_path() -> Path:
    """Absolute path of the example config's inforce file."""
    data = tomllib.loads(EXAMPLE_CONFIG.read_text())
    return (EXAMPLE_CONFIG.parent / data["inforce"]["file"]).resolve()


@pytest.fixture
def example_config_data(example_inforce_path) -> dict:
    """The example config as a fresh dict, its inforce file made an absolute path."""
    data = tomllib.loads(EXAMPLE_CONFIG.read_text())
    data["inforce"]["file"] = str(example_inforce_path)
    return data


@pytest.fixture
def write_config(tmp_path):
    """``write_config(data, name="config.toml") -> Path``: a config mapping written as TOML."""

    def write(data: dict, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(dump_toml(data))
        return path

    return write


@pytest.fixture
def small_config(tmp_path, example_config_data, example_inforce_path, write_config) -> Path:
    """The example config with 200 scenarios, no break-even search and its first 5 contracts
    (in ``tmp_path/inforce.csv``, named relative to the config)."""
    pd.read_csv(example_inforce_path).head(5).to_csv(tmp_path / "inforce.csv", index=False)
    data = example_config_data
    data["run"].update(scenarios=200, breakeven=False)
    data["inforce"] = {"file": "inforce.csv"}
    return write_config(data, "small.toml")


@pytest.fixture
def svg_backend():
    """matplotlib switched to the ``svg`` backend (any backend but Agg shows whether a plot
    writer forces Agg, as a notebook's inline backend would), restored after the test.
    Yields pyplot's figure numbers at the start."""
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        yield plt.get_fignums()
    finally:
        matplotlib.use(before)
