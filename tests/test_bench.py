"""``abrsim bench``: the standard workloads run at a tiny scale, the JSON report has the
documented keys, the work counted is the workload's, results do not depend on the thread
count, and bad options are refused in one line with exit status 2. No speed is asserted
(speeds are measured in benchmarks/, never asserted)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from sim._numba import max_threads
from sim.bench import WORKLOADS
from sim.cli import BENCH_WORKLOADS, app
from tests.test_cli_startup import modules_loaded_by

EXIT_BAD_INPUT = 2
SCALE = 0.005  # 10 contracts a workload (1,900 x 0.005 = 9.5, rounded to 10)
THREADS = [1, 2] if max_threads() >= 2 else [1]
#: Standard contracts of each workload (benchmarks/README.md), scenarios 1,000.
SIZES = {"single-life": 2_000, "two-lives": 2_000, "simulated": 2_000, "gan-valdez": 1_900}

TOP_KEYS = {
    "date",
    "measure",
    "timing",
    "config",
    "scale",
    "repeats",
    "threads",
    "machine",
    "sim",
    "workloads",
    "command",
}
MACHINE_KEYS = {
    "cpu_model",
    "cores",
    "cpus_available",
    "simd",
    "numba_threads",
    "numba_threading_layer",
    "numba",
    "numpy",
    "python",
    "platform",
    "load_average_at_start",
    "load_average_at_end",
}
SIMD_KEYS = {"widest", "vector_bits", "float64_lanes", "source", "cpu_flags", "llvm_cpu"}
WORKLOAD_KEYS = {
    "name",
    "description",
    "block",
    "years",
    "contracts",
    "scenarios",
    "steps",
    "steps_per_year",
    "contract_steps",
    "path_steps",
    "same_horizon",
    "decrements",
    "overrides",
    "inforce_seed",
    "with_spouse",
    "spousal_protection",
    "chunk_size",
    "results",
}
RESULT_KEYS = {
    "kernel",
    "threads",
    "seconds_best",
    "seconds_all",
    "cpu_seconds_best",
    "cpu_seconds_all",
    "path_steps",
    "rate",
    "cpu_rate",
    "rate_per_thread",
    "mean_claim",
    "foreign_cpu_share",
    "ratio_to_minimal",
    "ratio_to_minimal_cpu",
    "ratio_to_blocked_minimal",
    "ratio_to_blocked_minimal_cpu",
    "speedup",
    "efficiency",
}
KERNELS = ("engine", "minimal", "blocked_minimal")


def run(*args):
    return CliRunner().invoke(app, ["bench", *map(str, args)])


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One run of every workload at SCALE: (the JSON report, stdout)."""
    target = tmp_path_factory.mktemp("bench") / "bench.json"
    threads = ",".join(map(str, THREADS))
    result = run(
        "--workload", "all", "--scale", SCALE, "--repeats", 1, "--threads", threads,
        "--json", target,
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(target.read_text()), result.stdout


def test_the_report_has_the_documented_keys(bench):
    report, stdout = bench
    assert set(report) == TOP_KEYS
    assert set(report["machine"]) == MACHINE_KEYS
    assert set(report["machine"]["simd"]) == SIMD_KEYS
    assert set(report["sim"]) == {"path", "version", "commit", "dirty"}
    assert report["threads"] == THREADS and report["scale"] == SCALE and report["repeats"] == 1
    assert [w["name"] for w in report["workloads"]] == list(SIZES)
    for w in report["workloads"]:
        assert set(w) == WORKLOAD_KEYS
        assert [(r["kernel"], r["threads"]) for r in w["results"]] == [
            (k, th) for th in THREADS for k in KERNELS
        ]
        for r in w["results"]:
            assert set(r) == RESULT_KEYS
            assert len(r["seconds_all"]) == len(r["cpu_seconds_all"]) == 1
        # the table on stdout: one line a kernel and thread count under each workload
        assert f"{w['name']}: {w['contracts']:,} contracts" in stdout
    assert stdout.count("\nblocked_minimal ") == len(SIZES) * len(THREADS)


def test_ratios_and_scaling_are_against_the_same_run(bench):
    for w in bench[0]["workloads"]:
        by = {(r["kernel"], r["threads"]): r for r in w["results"]}
        for (kernel, th), r in by.items():
            assert r["ratio_to_minimal"] == r["rate"] / by[("minimal", th)]["rate"]
            assert r["ratio_to_blocked_minimal_cpu"] == (
                r["cpu_rate"] / by[("blocked_minimal", th)]["cpu_rate"]
            )
            assert r["speedup"] == r["rate"] / by[(kernel, 1)]["rate"]
            assert r["efficiency"] == pytest.approx(r["speedup"] / th)


def test_path_steps_are_contracts_x_scenarios_x_steps(bench):
    for w in bench[0]["workloads"]:
        assert w["contracts"] == max(1, round(SIZES[w["name"]] * SCALE)) == 10
        assert w["scenarios"] == 1_000
        assert w["path_steps"] == w["contract_steps"] * w["scenarios"]
        assert all(r["path_steps"] == w["path_steps"] for r in w["results"])
        if w["name"] == "gan-valdez":  # the in-force mix: each contract to its own maturity
            assert not w["same_horizon"] and w["years"] is None
            assert w["contracts"] <= w["contract_steps"] < w["contracts"] * w["steps"]
            assert w["steps"] <= 20 * 12
        else:  # new business, rider period 10: 120 monthly steps each
            assert w["same_horizon"] and w["steps"] == 120
            assert w["path_steps"] == w["contracts"] * w["scenarios"] * 120


def test_the_workloads_are_what_they_say(bench):
    by = {w["name"]: w for w in bench[0]["workloads"]}
    assert by["single-life"]["with_spouse"] == by["simulated"]["with_spouse"] == 0
    assert by["two-lives"]["with_spouse"] > 0
    assert by["two-lives"]["overrides"] == ["behaviour.continuation_grid_steps=12"]
    assert by["simulated"]["decrements"] == "simulated"
    assert by["single-life"]["decrements"] == by["gan-valdez"]["decrements"] == "expected"


@pytest.mark.skipif(len(THREADS) < 2, reason="needs 2 numba threads")
def test_results_do_not_depend_on_the_thread_count(bench):
    for w in bench[0]["workloads"]:
        for kernel in KERNELS:
            one, two = (
                r["mean_claim"] for r in w["results"] if r["kernel"] == kernel
            )  # threads 1, 2
            assert one == two, (w["name"], kernel)


def test_the_blocked_minimal_kernel_equals_the_scalar_one_on_mixed_horizons(bench):
    """The blocked kernel retires a tile's lanes at their own maturities (gan-valdez)."""
    for w in bench[0]["workloads"]:
        claims = {r["kernel"]: r["mean_claim"] for r in w["results"] if r["threads"] == 1}
        assert math.isclose(claims["blocked_minimal"], claims["minimal"], rel_tol=1e-12)


def test_the_help_lists_every_workload_and_loads_no_engine():
    assert list(BENCH_WORKLOADS) == list(WORKLOADS) == list(SIZES)
    text = CliRunner().invoke(app, ["bench", "--help"]).stdout
    for name in WORKLOADS:
        assert f"{name}: " in text
    assert modules_loaded_by("bench", "--help") == set()


@pytest.mark.parametrize(
    "args, named",
    [
        (["--workload", "fast"], "--workload"),
        (["--workload", "single-life,nope"], "--workload"),
        (["--workload", ","], "--workload"),
        (["--threads", "0"], "--threads"),
        (["--threads", "-2"], "--threads"),
        (["--threads", "1,2.5"], "--threads"),
        (["--threads", "one"], "--threads"),
        (["--threads", "1,,2"], "--threads"),
        (["--threads", str(max_threads() + 1)], "--threads"),
        (["--scale", "0"], "--scale"),
        (["--scale", "-1"], "--scale"),
        (["--scale", "nan"], "--scale"),
        (["--scale", "inf"], "--scale"),
        (["--scale", "big"], "--scale"),
        (["--repeats", "0"], "--repeats"),
        (["--repeats", "1.5"], "--repeats"),
        (["--json", "bench.txt"], "bench.txt"),
        (["--config", "no/such/config.toml"], "config.toml"),
    ],
)
def test_bad_options_are_refused_in_one_line(args, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == EXIT_BAD_INPUT, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and named in line
    assert not list(tmp_path.iterdir())  # nothing written


def test_the_tile_cost_script_splits_the_time_into_a_fixed_and_a_per_lane_cost(capsys):
    # benchmarks/tile_cost.py (not installed) on a tiny block: it runs through the public
    # pieces it imports, prints a row per tile size and the fit; no speed is asserted
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "tile_cost.py"
    spec = importlib.util.spec_from_file_location("tile_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--contracts", "2", "--scenarios", "16", "--tiles", "8,16", "--repeats", "1"]
    assert module.main([*args, "--years", "7"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| 8 |") == 1 and out.count("\n| 16 |") == 1
    assert "fit: fixed" in out
    for bad_args in (["--tiles", "0"], ["--years", "3"]):
        with pytest.raises(SystemExit) as bad:
            module.main(bad_args)
        assert bad.value.code == EXIT_BAD_INPUT
