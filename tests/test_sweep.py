"""Sweeps (issue 9): cells equal `abrsim price` alone, the same results serial or on Dask,
resume after a kill, one-line errors for bad definitions, `price --scheduler`.

Small on purpose: 4 new-business contracts with a 7-year rider, 100 antithetic scenarios,
so a cell (price + break-even search) takes well under a second once numba's cache is warm.
The Dask tests share one LocalCluster (2 worker processes, 1 thread each) per module.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import load_config
from sim.cli import EXIT_BAD_INPUT, app
from sim.config import ConfigError
from sim.sweep import RESULT_COLUMNS, parse_sweep, sweep, write_plots

from .conftest import EXAMPLE_CONFIG, dump_toml

distributed = pytest.importorskip("distributed")

#: The sweep of most tests: a market key (a list element) and an inforce column, 3 x 2 cells.
AXES = {"market.indices.0.volatility": [0.15, 0.2, 0.25], "rider_period": [7, 8]}


def _results(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column but the wall time."""
    return frame.drop(columns="seconds").reset_index(drop=True)


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """A folder with ``inforce.csv`` (4 contracts) and ``config.toml`` (with AXES as its
    [sweep]); returns the folder."""
    folder = tmp_path_factory.mktemp("sweep")
    inforce = pd.read_csv(EXAMPLE_CONFIG.parent / "example_inforce.csv")
    inforce = inforce[inforce["rider_years_elapsed"] == 0].head(4).copy()
    inforce["rider_period"] = 7
    inforce["contract_year"] = 1
    inforce.to_csv(folder / "inforce.csv", index=False)
    data = tomllib.loads(EXAMPLE_CONFIG.read_text())
    data["run"].update(scenarios=100, antithetic=True)
    data["inforce"] = {"file": "inforce.csv"}
    data["sweep"] = {"axes": AXES}
    (folder / "config.toml").write_text(dump_toml(data))
    return folder


@pytest.fixture(scope="module")
def reference(block, tmp_path_factory):
    """The uninterrupted serial sweep of AXES, through the CLI: its folder."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = _cli("sweep", block / "config.toml", "--output", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return out


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        c.wait_for_workers(2)
        yield c


# --------------------------------------------------------------------------- definitions


def test_axes_make_the_cartesian_product_with_the_first_axis_slowest():
    d = parse_sweep(axes={"rider.fee_rate": [0.01, 0.02], "rider_period": [7, 8, 9]})
    assert d.keys == ("rider.fee_rate", "rider_period")
    assert d.cells == ((0.01, 7), (0.01, 8), (0.01, 9), (0.02, 7), (0.02, 8), (0.02, 9))


def test_ranges_include_the_stop_and_give_the_numbers_a_user_would_type():
    d = parse_sweep(
        {
            "axes": {
                "rider.fee_rate": {"start": 0.005, "stop": 0.015, "step": 0.005},
                "rider_period": {"start": 7, "stop": 11, "step": 2},
                "market.rate": {"start": 0.01, "stop": 0.03, "num": 3},
            }
        }
    )
    values = [sorted({c[j] for c in d.cells}) for j in range(3)]
    assert values == [[0.005, 0.01, 0.015], [7, 9, 11], [0.01, 0.02, 0.03]]
    assert all(isinstance(v, int) for v in values[1])


def test_explicit_cells_keep_their_order_and_must_name_the_same_keys():
    d = parse_sweep(
        {
            "cells": [
                {"market.rate": 0.04, "rider_period": 8},
                {"rider_period": 7, "market.rate": 0.03},
            ]
        }
    )
    assert d.keys == ("market.rate", "rider_period") and d.cells == ((0.04, 8), (0.03, 7))
    with pytest.raises(ConfigError, match=r"sweep axis rider_period: sweep.cells\[1\]"):
        parse_sweep({"cells": [{"market.rate": 0.04, "rider_period": 8}, {"market.rate": 0.03}]})


# --------------------------------------------------------------------------- Must show 1


def test_each_cell_equals_abrsim_price_run_alone_with_the_same_overrides(block, tmp_path):
    config = load_config(block / "config.toml")
    axes = {"market.indices.0.volatility": [0.15, 0.25], "rider_period": [7, 9]}
    frame = sweep(config, axes)
    assert len(frame) == 4
    for _, row in frame.iterrows():
        # the inforce column as a file of its own, the market key with --set
        inforce = pd.read_csv(block / "inforce.csv")
        inforce["rider_period"] = int(row["rider_period"])
        inforce.to_csv(tmp_path / "cell.csv", index=False)
        alone = _cli(
            "price",
            block / "config.toml",
            "--json",
            "--set",
            f"market.indices.0.volatility={float(row['market.indices.0.volatility'])!r}",
            "--set",
            f"inforce.file={json.dumps(str(tmp_path / 'cell.csv'))}",
        )
        assert alone.exit_code == 0, (alone.stderr, alone.exception)
        block_alone = json.loads(alone.stdout)["block"]
        for name in RESULT_COLUMNS:  # bit for bit: the same seed, the same scenarios
            assert row[name] == block_alone[name], (row["cell"], name)
    assert frame["breakeven_fee"].nunique() == 4  # both axes reach the engine


def test_a_market_axis_changes_the_scenarios_so_zero_volatility_leaves_no_standard_error(block):
    # With both indices' volatility at 0 every scenario is the same path (expected
    # decrements), so the standard errors vanish up to the rounding of the mean; at 0.2 not.
    config = load_config(block / "config.toml", ["market.indices.1.volatility=0.0"])
    frame = sweep(config, {"market.indices.0.volatility": [0.0, 0.2]})
    assert frame.loc[0, "pv_fees_se"] <= 1e-12 * frame.loc[0, "pv_fees"]
    assert frame.loc[1, "pv_fees_se"] > 1e-6 * frame.loc[1, "pv_fees"]


def test_writing_the_plots_leaves_the_matplotlib_backend_and_pyplot_figures_as_they_were(
    svg_backend, tmp_path
):
    # a notebook's inline backend stands in as svg: forcing Agg (as write_plots once did)
    # would silently stop a notebook's plots from showing
    import matplotlib
    import matplotlib.pyplot as plt

    frame = pd.DataFrame(
        {
            "rider_period": [10, 10, 20, 20],
            "ab_factor": [1.0, 1.1, 1.0, 1.1],
            "breakeven_fee": [0.004, 0.006, 0.003, 0.005],
            "breakeven_fee_se": [0.0002, 0.0002, 0.0003, 0.0003],
        }
    )
    written = write_plots(frame, ("rider_period", "ab_factor"), tmp_path)
    assert {p.name for p in written} == {
        "breakeven_fee_by_rider_period.png",
        "breakeven_fee_by_ab_factor.png",
        "breakeven_fee_heatmap.png",
    }
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in written)
    assert matplotlib.get_backend() == "svg"
    assert plt.get_fignums() == svg_backend  # no figure left open in pyplot


# --------------------------------------------------------------------------- Must show 2


def test_sweep_parquet_is_the_same_serial_on_two_local_workers_and_on_one(
    block, reference, tmp_path
):
    expected = pd.read_parquet(reference / "sweep.parquet")
    assert list(expected.columns) == ["cell", *AXES, *RESULT_COLUMNS, "seconds"]
    for name in (
        "breakeven_fee_heatmap.png",
        "breakeven_fee_by_rider_period.png",
        "breakeven_fee_by_market_indices_0_volatility.png",
        "sweep.json",
    ):
        assert (reference / name).stat().st_size > 0
    for workers in (2, 1):
        out = tmp_path / f"workers{workers}"
        result = _cli("sweep", block / "config.toml", "--output", out, "--workers", workers)
        assert result.exit_code == 0, (result.stderr, result.exception)
        pd.testing.assert_frame_equal(
            _results(pd.read_parquet(out / "sweep.parquet")), _results(expected), check_exact=True
        )


def test_sweep_on_a_running_scheduler_gives_the_same_parquet(block, reference, client, tmp_path):
    result = _cli(
        "sweep",
        block / "config.toml",
        "--output",
        tmp_path / "out",
        "--scheduler",
        client.scheduler.address,
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    pd.testing.assert_frame_equal(
        _results(pd.read_parquet(tmp_path / "out" / "sweep.parquet")),
        _results(pd.read_parquet(reference / "sweep.parquet")),
        check_exact=True,
    )


def test_price_with_a_scheduler_equals_price_on_one_machine_bit_for_bit(block, client, tmp_path):
    # 4 contracts on 2 single-thread workers: one contract per task, so the client adds
    # four chunks into the per-scenario totals in contract order
    local = _cli("price", block / "config.toml", "--json", "--output", tmp_path / "local")
    remote = _cli(
        "price",
        block / "config.toml",
        "--json",
        "--output",
        tmp_path / "remote",
        "--scheduler",
        client.scheduler.address,
    )
    assert local.exit_code == 0 and remote.exit_code == 0, (local.stderr, remote.stderr)
    assert json.loads(remote.stdout)["block"] == json.loads(local.stdout)["block"]
    for name in ("contracts.parquet", "scenarios.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "remote" / name),
            pd.read_parquet(tmp_path / "local" / name),
            check_exact=True,
        )


def test_price_with_an_unreachable_scheduler_is_one_line_and_exit_2(block):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = _cli("price", block / "config.toml", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == EXIT_BAD_INPUT
    assert len(result.stderr.splitlines()) == 1 and "--scheduler tcp://127.0.0.1:9" in result.stderr


# --------------------------------------------------------------------------- Must show 3


def test_a_sweep_killed_part_way_resumes_with_only_the_missing_cells(block, reference, tmp_path):
    out = tmp_path / "out"
    cells = out / "cells"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "sweep",
            str(block / "config.toml"),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (cells.exists() and any(cells.glob("*.json"))):
        assert proc.poll() is None and time.monotonic() < deadline, (
            "the sweep ended before a cell was saved"
        )
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in cells.glob("*.json")}
    n_cells = len(AXES["market.indices.0.volatility"]) * len(AXES["rider_period"])
    assert 1 <= len(finished) < n_cells, "the kill did not land part-way"
    assert not (out / "sweep.parquet").exists()

    computed = []
    frame = sweep(
        load_config(block / "config.toml"), output=out, on_cell=lambda i, row: computed.append(i)
    )
    # only the missing cells ran, and the finished cells' files were not rewritten
    assert sorted(computed) == sorted(set(range(n_cells)) - {int(name[:5]) for name in finished})
    assert {
        name: (f.stat().st_ino, f.stat().st_mtime_ns) for name in finished for f in [cells / name]
    } == finished
    expected = _results(pd.read_parquet(reference / "sweep.parquet"))
    pd.testing.assert_frame_equal(_results(frame), expected, check_exact=True)
    pd.testing.assert_frame_equal(
        _results(pd.read_parquet(out / "sweep.parquet")), expected, check_exact=True
    )


def test_a_finished_sweep_rerun_on_its_folder_computes_nothing(block, reference):
    computed = []
    frame = sweep(
        load_config(block / "config.toml"),
        output=reference,
        on_cell=lambda i, row: computed.append(i),
    )
    assert computed == []
    pd.testing.assert_frame_equal(
        frame, pd.read_parquet(reference / "sweep.parquet"), check_exact=True
    )


# --------------------------------------------------------------------------- Must show 4


def _sweep_file(tmp_path, axes) -> str:
    path = tmp_path / "grid.toml"
    path.write_text(dump_toml({"sweep": {"axes": axes}}))
    return str(path)


@pytest.mark.parametrize(
    "axes, expected",
    [
        ({"rider.fee": [0.01]}, "sweep axis rider.fee = 0.01: config: rider.fee: unknown key"),
        ({"rider.fee_rate": []}, "sweep axis rider.fee_rate: no values"),
        (
            {"rider.fee_rate": {"start": 0.02, "stop": 0.01, "step": 0.005}},
            "sweep axis rider.fee_rate: no values",
        ),
        (
            {"market.rate": ["high"]},
            'sweep axis market.rate = "high": a number is expected (the config has 0.035)',
        ),
        (
            {"lapse.dynamic.slope": [1.0, True]},
            "sweep axis lapse.dynamic.slope = true: a number is expected",
        ),
        (
            {"market.curve": [0.03]},
            "sweep axis market.curve = 0.03: config: market.curve: Input should be",
        ),
        (
            {"market.indices.3.volatility": [0.2]},
            "sweep axis market.indices.3.volatility: '3' is not a position",
        ),
        ({"rider_term": [7]}, "sweep axis rider_term: not an inforce column"),
        ({"rider_period": ["seven"]}, 'sweep axis rider_period = "seven": '),
        ({"rider_period": [7, 30]}, "sweep axis rider_period = 30: "),
    ],
)
def test_a_bad_sweep_definition_is_one_line_naming_the_axis_exit_2_and_writes_nothing(
    block, tmp_path, axes, expected
):
    out = tmp_path / "out"
    result = _cli(
        "sweep", block / "config.toml", "--sweep", _sweep_file(tmp_path, axes), "--output", out
    )
    assert result.exit_code == EXIT_BAD_INPUT, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), lines
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(
    "axes, overrides, expected",
    [
        ({"rider_period": [8]}, [], "sweep axis rider_period: its values changed since"),
        ({"rider.fee_rate": [0.01]}, [], "sweep axis rider.fee_rate: added since"),
        ({"rider_period": [7]}, ["--set", "run.seed=7"], "the config or its inforce changed since"),
    ],
)
def test_a_changed_definition_or_config_on_resume_is_refused_and_touches_nothing(
    block, tmp_path, axes, overrides, expected
):
    out = tmp_path / "out"
    first = _cli(
        "sweep",
        block / "config.toml",
        "--sweep",
        _sweep_file(tmp_path, {"rider_period": [7]}),
        "--output",
        out,
    )
    assert first.exit_code == 0, first.stderr
    before = {f: f.stat().st_mtime_ns for f in out.rglob("*")}
    again = _cli(
        "sweep",
        block / "config.toml",
        "--sweep",
        _sweep_file(tmp_path, axes),
        *overrides,
        "--output",
        out,
    )
    assert again.exit_code == EXIT_BAD_INPUT
    lines = again.stderr.splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert {f: f.stat().st_mtime_ns for f in out.rglob("*")} == before


# --------------------------------------------------------------------------- Must show 3 (Dask)


def test_a_dask_worker_killed_mid_sweep_changes_no_number(block, reference, client):
    # Runs last: the nanny restarts the killed worker, but the cluster is not the same after.
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(i, row):
        if not killed:  # after the first finished cell, while the others are queued or running
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    frame = sweep(load_config(block / "config.toml"), client=client, on_cell=kill_one_worker)
    assert killed and killed[0] not in client.run(os.getpid).values()
    pd.testing.assert_frame_equal(
        _results(frame), _results(pd.read_parquet(reference / "sweep.parquet")), check_exact=True
    )
    assert not any(math.isnan(x) for x in frame["breakeven_fee"])
    assert np.all(frame["pv_claims_se"] > 0)
