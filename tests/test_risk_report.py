"""abrsim hedge and the hedging report: files, sections, figures, errors; bump conventions;
common random numbers; thread independence; hedge positions."""

from __future__ import annotations

import base64
import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from sim.boundary import market_inputs
from sim.config import ConfigError
from sim.market import market_curve
from sim.risk import build_hedge_report, greeks, hedge_positions
from sim.risk.bumps import index_shares, key_rate_weights, shock_index_levels, with_curve_shift
from sim.risk.cashflows import CASHFLOW_COLUMNS, MONEY_COLUMNS
from sim.risk.report import FIGURES, OUTPUT_FILES, SECTIONS, render_html, write_hedge_report
from sim.valuation import Result, block_inputs

from .blocks import make_config, random_inforce
from .test_cli import error_lines, run
from .test_risk_greeks import textbook

ENGINE_HAS_CASHFLOWS = "cashflows" in {f.name for f in dataclasses.fields(Result)}
# a small report: 5 contracts x 40 scenarios, two key rates, a 3 x 3 grid
QUICK = [
    "--set",
    "run.scenarios=40",
    "--set",
    "hedge.real_world.scenarios=200",
    "--set",
    "hedge.key_rate_tenors=[5.0, 10.0]",
    "--set",
    "hedge.equity_shocks=[-0.2, 0.2]",
    "--set",
    "hedge.rate_shocks_bp=[-50.0, 50.0]",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def hand_built_cashflows(years: int = 3) -> pd.DataFrame:
    """A frame of the engine's Result.cashflows layout with made-up amounts."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"year": np.arange(1, years + 1)})
    for name in MONEY_COLUMNS:
        frame[name] = rng.uniform(0, 1000, years)
        frame[name + "_pv"] = frame[name] * np.exp(-0.03 * frame["year"])
    frame["inforce_year_end"] = np.linspace(0.95, 0.8, years)
    return frame[list(CASHFLOW_COLUMNS)]


@pytest.fixture(scope="module")
def tiny_report():
    config = make_config(
        {
            "run.scenarios": 16,
            "run.antithetic": True,
            "hedge.real_world.scenarios": 100,
            "hedge.key_rate_tenors": [5.0, 10.0],
            "hedge.equity_shocks": [-0.3, 0.3],
            "hedge.rate_shocks_bp": [50.0],
        }
    )
    return build_hedge_report(config, random_inforce(config, 4, 5, lives=False), progress=False)


def test_abrsim_hedge_writes_every_file_and_the_report_embeds_every_section_and_figure(
    small_config, tmp_path
):
    out = tmp_path / "hedge"
    result = run("hedge", small_config, *QUICK, "--output", out)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    expected = set(OUTPUT_FILES) - (set() if ENGINE_HAS_CASHFLOWS else {"cashflows.parquet"})
    assert {p.name for p in out.iterdir()} == expected  # and no partial folder left behind
    page = (out / "report.html").read_text()
    for section_id, title in SECTIONS:
        assert f'<section id="{section_id}"><h2>{title.replace("&", "&amp;")}</h2>' in page, (
            section_id
        )
    figures = dict(
        re.findall(r'<img id="([^"]+)" alt="[^"]*" src="data:image/png;base64,([^"]+)">', page)
    )
    wanted = set(FIGURES) - (set() if ENGINE_HAS_CASHFLOWS else {"fig-cash-flows"})
    assert set(figures) == wanted
    assert all(base64.b64decode(data).startswith(PNG_MAGIC) for data in figures.values())
    assert (
        "http://" not in page and "https://" not in page and "<script" not in page
    )  # self-contained
    table = pd.read_parquet(out / "greeks.parquet")
    assert set(table.greek) == {"delta", "gamma", "vega", "rho", "key_rate_rho"}
    assert set(table.factor) == {"us_equity", "us_bonds", "parallel", "5y", "10y"}
    assert (table.se >= 0).all() and table.value.notna().all()
    shocks = pd.read_parquet(out / "shocks.parquet")
    assert len(shocks) == 3 * 3 + 2  # equity x rate (0 added to each axis), two vol shocks
    tail = json.loads((out / "tail.json").read_text())
    assert (
        tail["scenario_basis"] == "real_world"
        and tail["generator"] == "rsln"
        and tail["scenarios"] == 200
    )
    ctes = {m["metric"]: m["value"] for m in tail["metrics"]}
    assert ctes["CTE70"] <= ctes["CTE90"] <= ctes["CTE98"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["block_passes"] == 1 + 4 + 4 + 2 * 3 + (3 * 3 - 1) + 2 + 1
    assert len(summary["run"]["config_hash"]) == 64 and summary["run"]["seed"] == 20261123
    assert (
        "greek of net cost" in result.stdout
        and "CTE98" in result.stdout
        and "index_future" in result.stdout
    )


@pytest.mark.parametrize(
    "override, key",
    [
        ("hedge.bump=0.01", "hedge.bump: unknown key"),
        ("hedge.equity_bump=-0.01", "hedge.equity_bump"),
        ("hedge.key_rate_tenors=[10.0, 5.0]", "hedge.key_rate_tenors"),
        ('hedge.equity_shock_indices=["nikkei"]', "hedge.equity_shock_indices"),
        ('hedge.real_world.model="gbm"', "hedge.real_world.model"),
    ],
)
def test_bad_hedge_keys_are_one_line_naming_the_key_with_exit_status_2(
    small_config, tmp_path, override, key
):
    out = tmp_path / "never"
    lines = error_lines(run("hedge", small_config, "--set", override, "--output", out), count=1)
    assert key in lines[0] and "small.toml" in lines[0], lines
    assert not out.exists()


def test_greeks_on_real_world_scenarios_are_refused_in_one_line():
    config = make_config(
        {
            "market.model": "rsln",
            "market.indices": [{"name": "eq"}],
            "market.correlation": None,
            "market.funds": [{"name": "equity", "indices": {"eq": 1.0}}],
            "allocations": {},
        }
    )
    with pytest.raises(ConfigError) as err:
        greeks(config)
    assert len(err.value.problems) == 1 and "risk-neutral" in err.value.problems[0]


def test_greeks_are_identical_for_1_and_2_threads():
    frames = []
    for threads in (1, 2):
        config = make_config(
            {
                "run.scenarios": 32,
                "run.antithetic": True,
                "run.threads": threads,
                "hedge.key_rate_tenors": [5.0],
            }
        )
        frames.append(greeks(config, random_inforce(config, 4, 9, lives=False)))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


def test_common_random_numbers_make_the_greeks_standard_errors_at_least_10x_smaller():
    """At the default bumps (1 % equity, 1 vol point, 1 bp): independent scenarios for the
    bumped runs leave the full noise of each run in the difference (SE ~ SE(V) / bump),
    common random numbers only the noise of the bump's effect."""
    config, inforce = textbook(
        10, 0.2, 0.03, 0.01, 100_000.0, 100_000.0, scenarios=4000, **{"hedge.equity_bump": 0.01}
    )
    crn = greeks(config, inforce).set_index(["greek", "factor", "measure"])
    independent = greeks(config, inforce, common_random_numbers=False).set_index(
        ["greek", "factor", "measure"]
    )
    for greek, factor in (("delta", "eq"), ("gamma", "eq"), ("vega", "eq"), ("rho", "parallel")):
        for measure in ("pv_claims", "net_cost"):
            se_crn = crn.loc[(greek, factor, measure), "se"]
            se_ind = independent.loc[(greek, factor, measure), "se"]
            assert se_ind >= 10 * se_crn, (greek, measure, se_crn, se_ind)


def test_an_index_shock_moves_each_variable_account_by_its_share_of_the_index(example_config_path):
    from sim import load_config

    config = load_config(example_config_path)
    inforce = block_inputs(config).inforce
    shares = index_shares(config, inforce)
    row = int(np.flatnonzero(inforce["allocation"].to_numpy() == "conservative")[0])
    # conservative: 30 % equity_index (us_equity), 60 % bond_fund (us_bonds), 10 % money market
    np.testing.assert_allclose(shares[row], [0.30, 0.60], rtol=1e-12)
    shocked = shock_index_levels(inforce, shares, [0.10, 0.0])
    variable = inforce["contract_value"] - inforce["fixed_value"]
    np.testing.assert_allclose(
        shocked["contract_value"] - shocked["fixed_value"], variable * (1 + 0.10 * shares[:, 0])
    )
    for column in ("fixed_value", "benefit_base", "death_benefit_base", "premiums"):
        pd.testing.assert_series_equal(shocked[column], inforce[column])


def test_key_rate_tents_sum_to_one_and_a_shift_keeps_the_rest_of_the_curve():
    config = make_config(
        {
            "market.rate": None,
            "market.curve": {"tenors": [0.5, 3.0, 15.0], "zero_rates": [0.02, 0.03, 0.04]},
        }
    )
    t = np.linspace(0.0, 40.0, 401)
    np.testing.assert_allclose(
        key_rate_weights(t, config.hedge.key_rate_tenors).sum(axis=0), 1.0, rtol=1e-12
    )
    base = market_curve(market_inputs(config))
    np.testing.assert_allclose(
        market_curve(market_inputs(with_curve_shift(config, 0.0))).zero_rate(t),
        base.zero_rate(t),
        rtol=0,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        market_curve(market_inputs(with_curve_shift(config, 10.0))).zero_rate(t),
        base.zero_rate(t) + 0.001,
        rtol=0,
        atol=1e-15,
    )
    ten = market_curve(market_inputs(with_curve_shift(config, 10.0, key=3)))  # the 10-year tent
    bump = ten.zero_rate(t) - base.zero_rate(t)
    assert bump[t == 10.0] == pytest.approx(0.001) and bump[t == 7.5] == pytest.approx(0.0005)
    assert np.all(bump[(t <= 5.0) | (t >= 20.0)] == pytest.approx(0.0, abs=1e-15))


def test_hedge_positions_neutralise_delta_with_futures_and_rho_with_swaps(tiny_report):
    positions = hedge_positions(make_config(), tiny_report.greeks).set_index(
        ["instrument", "factor"]
    )
    net = tiny_report.greeks[tiny_report.greeks.measure == "net_cost"].set_index(
        ["greek", "factor"]
    )
    for index in ("eq", "intl", "bond"):
        future = positions.loc[("index_future", index)]
        # a 1 % index move gains 1 % of the notional: exactly the liability's delta
        assert 0.01 * future.notional == pytest.approx(
            net.loc[("delta", index), "value"], rel=1e-12
        )
        assert future.side == ("long" if future.notional > 0 else "short")
    for tenor in ("5y", "10y"):
        swap = positions.loc[("payer_swap", tenor)]
        assert swap.dv01 == pytest.approx(net.loc[("key_rate_rho", tenor), "value"], rel=1e-12)
        assert np.sign(swap.notional) == np.sign(swap.dv01)


def test_the_report_shows_a_cash_flow_figure_and_table_when_the_engine_gives_cash_flows(
    tiny_report,
):
    frame = hand_built_cashflows()
    page = render_html(dataclasses.replace(tiny_report, cashflows=frame))
    section = page.split('<section id="cash-flows">')[1].split("</section>")[0]
    assert '<img id="fig-cash-flows"' in section
    assert (
        section.count("<tr>") >= len(frame) + 1 + 3
    )  # the flows and the three-line reconciliation
    without = render_html(dataclasses.replace(tiny_report, cashflows=None))
    assert "Not available" in without.split('<section id="cash-flows">')[1].split("</section>")[0]


def test_writing_the_report_leaves_the_matplotlib_backend_and_pyplot_figures_as_they_were(
    tiny_report, svg_backend, tmp_path
):
    # svg stands in for a notebook's inline backend, which forcing Agg would switch off
    import matplotlib
    import matplotlib.pyplot as plt

    write_hedge_report(tiny_report, tmp_path / "hedge")
    assert (tmp_path / "hedge" / "report.html").stat().st_size > 0
    assert matplotlib.get_backend() == "svg"
    assert plt.get_fignums() == svg_backend  # no figure left open in pyplot


def test_a_real_world_generator_that_cannot_run_fails_before_any_revaluation(monkeypatch):
    import sim.risk.bumps as bumps

    def never(*args, **kwargs):
        raise AssertionError("a revaluation ran")

    monkeypatch.setattr(bumps, "price", never)
    config = make_config({"run.steps_per_year": 4})
    with pytest.raises(ConfigError) as err:
        build_hedge_report(config, random_inforce(config, 2, 1, lives=False), progress=False)
    assert len(err.value.problems) == 1 and "run.steps_per_year must be 12" in err.value.problems[0]
