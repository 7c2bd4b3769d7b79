"""Property-based test (hypothesis): random valid inforce rows and configs, drawn within the
documented ranges (sim/inforce.py, docs/configuration.md), always validate and price to
finite, sensible numbers.

Checked on every draw: no NaN or inf in any output (block figures, per-contract and
per-scenario tables, raw run arrays); PVs of claims and fees >= 0 for every contract and
every scenario; standard errors >= 0; the Benefit Base and the Contract Value never
negative at any step of the trace. Blocks are tiny (1-3 contracts, 6 scenarios) so the
whole test runs in seconds once the kernels are compiled.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.config import config_from_dict
from sim.engine.driver import run_block
from sim.valuation import prepare

from .blocks import TRACE

# Allocation models of configs/example.toml allowed by each Guarantee Option's limits.
ALLOWED = {
    1: ["conservative"],
    2: ["conservative", "balanced"],
    3: ["conservative", "balanced", "growth"],
}
AMOUNT = st.floats(1.0, 1e9)  # MAX_AMOUNT of sim.inforce


@st.composite
def inforce_rows(draw, n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        period = draw(st.integers(7, 20))
        elapsed = draw(st.integers(0, period - 1))
        option = draw(st.integers(1, 3))
        cv = draw(AMOUNT)
        owner_type = draw(st.sampled_from(["natural", "non_natural", "grantor_trust"]))
        row = {
            "contract_id": i + 1,
            "owner_age": draw(st.floats(0.0, 115.0)),
            "owner_sex": draw(st.sampled_from(["M", "F", "male", "female"])),
            "owner_type": owner_type,
            "contract_value": cv,
            "fixed_value": cv * draw(st.floats(0.0, 1.0)),
            "fixed_guarantee_years": draw(st.sampled_from([1, 5, 7])),
            "allocation": draw(st.sampled_from(ALLOWED[option])),
            "premiums": draw(st.floats(0.0, 1e9)),
            "contract_year": elapsed + 1 + draw(st.integers(0, 100 - elapsed - 1)),
            "benefit_base": draw(st.floats(0.0, 1e9)),
            "death_benefit_base": draw(st.floats(0.0, 1e9)),
            "rider_period": period,
            "rider_years_elapsed": elapsed,
            "guarantee_option": option,
            "months_to_anniversary": draw(st.integers(1, 12)),
            "rider_fee_rate": draw(st.floats(0.0, 0.2)),
            "fixed_rate": draw(st.floats(0.0, 0.2)),
        }
        if draw(st.booleans()):
            row["ab_factor"] = draw(st.floats(0.5, 3.0))
        if draw(st.booleans()):
            row["payment_amount"] = draw(st.floats(0.0, 1e9))
            row["payment_month"] = draw(st.integers(1, 1200))
        if draw(st.booleans()):  # a spouse, the sole primary beneficiary
            row.update(
                spouse_age=draw(st.floats(0.0, 115.0)),
                spouse_sex=draw(st.sampled_from("MF")),
                beneficiary="spouse",
            )
            row["spousal_protection"] = owner_type == "natural" and draw(st.booleans())
        else:
            row["beneficiary"] = draw(st.sampled_from(["natural", "non_natural", "estate"]))
        if owner_type == "natural" and draw(st.booleans()):
            row.update(
                annuitant_age=draw(st.floats(0.0, 115.0)), annuitant_sex=draw(st.sampled_from("MF"))
            )
        rows.append(row)
    return pd.DataFrame(rows)


RATE = st.floats(0.0, 1.0)


@st.composite
def configs(draw, base: dict) -> sim.Config:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    data["run"] = {
        **base["run"],
        "scenarios": 6,
        "antithetic": False,
        "breakeven": False,
        "decrements": draw(st.sampled_from(["expected", "simulated"])),
        "seed": draw(st.integers(0, 2**63 - 1)),
    }
    market = dict(base["market"])
    market["rate"] = draw(st.floats(-0.1, 0.5))
    market["indices"] = [
        {**ix, "volatility": draw(st.floats(0.0, 2.0)), "dividend_yield": draw(st.floats(0.0, 0.5))}
        for ix in market["indices"]
    ]
    data["market"] = market
    data["product"] = {
        **base.get("product", {}),
        "me_charge": draw(RATE),
        "maintenance_fee": draw(st.floats(0.0, 10_000.0)),
        "death_benefit": draw(
            st.sampled_from(["contract_value", "return_of_premium", "max_anniversary_value"])
        ),
    }
    data["rider"] = {
        **base["rider"],
        "fee_rate": draw(RATE),
        "fee_basis": draw(st.sampled_from(["benefit_base", "contract_value"])),
    }
    data["mortality"] = {**base.get("mortality", {}), "multiplier": draw(st.floats(0.0, 10.0))}
    floor = draw(st.floats(0.0, 10.0))
    data["lapse"] = {
        **base.get("lapse", {}),
        "base": [draw(RATE) for _ in range(3)],
        "dynamic": {
            "floor": floor,
            "cap": draw(st.floats(floor, 10.0)),
            "slope": draw(st.floats(-100.0, 100.0)),
            "shift": draw(st.floats(0.0, 10.0)),
        },
    }
    data["withdrawals"] = {"enabled": True, "rate": draw(RATE), "utilisation": draw(RATE)}
    return config_from_dict(data)


def finite_numbers(block: dict) -> list[str]:
    """Keys of the block whose value is a number (or list of numbers) that is not finite."""
    bad = []
    for key, value in block.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isfinite(v):
                bad.append(key)
    return bad


@pytest.fixture(scope="module")
def base_data():
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "configs" / "example.toml"
    data = tomllib.loads(path.read_text())
    data["inforce"] = {"synthetic": {"contracts": 1}}  # replaced by the drawn frame
    return data


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_random_valid_blocks_price_to_finite_non_negative_figures(base_data, data):
    config = data.draw(configs(base_data))
    frame = data.draw(st.integers(1, 3).flatmap(inforce_rows))
    result = sim.price(config, frame)

    assert finite_numbers(result.block) == [], result.block
    for table in (result.contracts, result.scenarios):
        numbers = table.select_dtypes("number").to_numpy(float)
        assert np.isfinite(numbers).all(), table
    for name in ("pv_claims", "pv_fees"):
        assert (result.contracts[name] >= 0).all() and (result.scenarios[name] >= 0).all()
        assert result.block[name] >= 0 and result.block[name + "_se"] >= 0
    se_columns = [c for c in result.contracts if c.endswith("_se")]
    assert (result.contracts[se_columns].to_numpy() >= 0).all()
    raw = result.raw
    for array in (raw.contract_mean, raw.contract_se, raw.scenario_totals):
        assert np.isfinite(array).all()

    traced = run_block(prepare(config, frame), threads=1, progress=False, trace=True).trace
    assert np.isfinite(traced).all()
    for name in ("benefit_base", "cv_start", "cv_end", "variable", "fixed", "money_market"):
        assert (traced[..., TRACE[name]] >= 0).all(), (name, traced[..., TRACE[name]].min())
