"""Kernel throughput of the engine against a minimal GMAB kernel (the practical ceiling).

Usage::

    python benchmarks/throughput.py [--contracts 10000 --scenarios 1000 --years 10
                                     --threads-list 1,0 --lives single
                                     --output benchmarks/results/throughput.json]
    python benchmarks/throughput.py --contracts 1000 --scenarios 200 --variants "" \
        --threads-list 1 --lives-cases all          # issue #3: two lives vs single life

The workload is ``configs/example.toml`` with a synthetic block of new-business contracts
(rider period ``--years``, no rider years elapsed, 12 months to the first anniversary), so
every contract projects exactly ``years * steps_per_year`` steps along every scenario.

``--lives single`` (the default, the core figure) strips the second life from the
synthetic block: no spouse, beneficiary ``natural``, no Spousal Protection, no separate
annuitant (owners stay natural persons). ``--lives two`` keeps the synthetic spouses (60 %
of contracts, spouse beneficiary) and Spousal Protection (a third of those).
``--lives-cases`` times, in the same process and on the same contracts and scenarios,
single life against two lives with exact continuation (``continuation_grid_steps = 1``),
with the settlement grid of 12 steps, and without spousal continuation.

Only kernel time is measured: for the engine, the ``seconds`` that
:func:`sim.engine.driver.run_block` reports (``project_block`` plus the scenario-total
reduction, chunk by chunk); for the minimal kernel, the same chunks with an output buffer of
the same shape, timed the same way (it sums per contract inside the kernel).
Compilation is excluded by a warm-up on a tiny block. Each timing is repeated
``--repeats`` times and the best is kept.

Throughput is contract·scenario·steps per second: the sum over contracts of projected
steps times the number of scenarios, divided by kernel seconds.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numba
import numpy as np
import pandas as pd

import sim
import sim._numba
from sim._numba import jit, max_threads, prange, set_threads
from sim.config import Config, load_config
from sim.engine import kernels as K
from sim.engine.driver import auto_chunk_size, run_block
from sim.engine.layout import Assumptions, Model, build_model
from sim.inforce import synthetic_inforce, validate_inforce
from sim.market import Scenarios, generate_scenarios

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "configs" / "example.toml"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "throughput.json"
TARGET_RATIO = 0.25

#: Engine variants: name -> config overrides (``--set`` syntax) on top of the base run.
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "no_mortality": ["mortality.enabled=false"],
    "no_dynamic_lapse": ["lapse.dynamic.enabled=false"],
    "no_lapse": ["lapse.enabled=false"],
    "no_withdrawals": ["withdrawals.enabled=false"],
    "no_decrements": [
        "mortality.enabled=false",
        "lapse.enabled=false",
        "withdrawals.enabled=false",
    ],
}

#: Lives cases (issue #3): name -> (lives of the block, config overrides).
LIVES_CASES: dict[str, tuple[str, list[str]]] = {
    "single": ("single", []),
    "two_exact": ("two", ["behaviour.continuation_grid_steps=1"]),
    "two_grid12": ("two", ["behaviour.continuation_grid_steps=12"]),
    "two_no_continuation": ("two", ["behaviour.spousal_continuation=0"]),
}


# --------------------------------------------------------------------------- minimal kernel


@jit(parallel=True)
def minimal_block(
    growth, discount, av0, guarantee, n_steps, keep, fixed_fee, m, out, contract_total
):
    """The least a GMAB projection must do: one fund, a proportional and a fixed fee.

    Parameters
    ----------
    growth : ndarray(float64, (n_scen, n_steps))
        Gross growth of the single fund over each step.
    discount : ndarray(float64, (n_scen, n_steps + 1))
        Discount factor to the end of each step.
    av0, guarantee : ndarray(float64, (n_c,))
        Starting account value and guaranteed amount at maturity.
    n_steps : ndarray(int64, (n_c,))
        Steps to maturity.
    keep : float
        Share of the account value left after the proportional fee of one step.
    fixed_fee : float
        Dollar fee taken every ``m`` steps.
    m : int
        Steps per year.
    out : ndarray(float64, (n_measures, n_c, n_scen))
        Written, like the engine's per-path buffer: slot 0 the discounted claim
        ``max(G - AV, 0)``, 1 the PV of fixed fees, 2 the AV at maturity; the other slots
        are zeroed so the memory traffic matches the engine's.
    contract_total : ndarray(float64, (n_c,))
        Written: sum over scenarios of the discounted claim, per contract.
    """
    n_c = av0.shape[0]
    n_s = growth.shape[0]
    n_k = out.shape[0]
    for c in prange(n_c):
        t_mat = n_steps[c]
        g = guarantee[c]
        total = 0.0
        for s in range(n_s):
            av = av0[c]
            pv_fixed = 0.0
            for t in range(t_mat):
                av *= growth[s, t] * keep
                if (t + 1) % m == 0:
                    fee = min(av, fixed_fee)
                    av -= fee
                    pv_fixed += fee * discount[s, t + 1]
            claim = max(g - av, 0.0) * discount[s, t_mat]
            total += claim
            out[0, c, s] = claim
            out[1, c, s] = pv_fixed
            out[2, c, s] = av
            for k in range(3, n_k):
                out[k, c, s] = 0.0
        contract_total[c] = total


#: Contracts per tile of the blocked minimal kernel (a tile's state stays in L1).
BLOCKED_TILE = 512


@jit(parallel=True)
def blocked_minimal_block(growth_t, discount_t, av0, guarantee, n_steps, keep, fixed_fee, m, out):
    """The minimal kernel's arithmetic in the hardware-friendly shape: per scenario, tiles of
    :data:`BLOCKED_TILE` contracts as lanes, the time loop outside, contracts innermost (so
    LLVM vectorises the lane loops). Every contract projects ``n_steps`` steps.

    Parameters
    ----------
    growth_t : ndarray(float64, (n_steps, n_scen))
        Gross growth of the single fund, time-major.
    discount_t : ndarray(float64, (n_steps + 1, n_scen))
    av0, guarantee : ndarray(float64, (n_c,))
    out : ndarray(float64, (n_measures, n_c, n_scen))
        Written as by :func:`minimal_block` (slots 0-2; the others zeroed).
    """
    n_c = av0.shape[0]
    n_s = growth_t.shape[1]
    n_k = out.shape[0]
    for s in prange(n_s):
        av = np.empty(BLOCKED_TILE)
        pv_fixed = np.empty(BLOCKED_TILE)
        for c0 in range(0, n_c, BLOCKED_TILE):
            n = min(BLOCKED_TILE, n_c - c0)
            for j in range(n):
                av[j] = av0[c0 + j]
                pv_fixed[j] = 0.0
            for t in range(n_steps):
                g = growth_t[t, s] * keep
                for j in range(n):
                    av[j] *= g
                if (t + 1) % m == 0:
                    d = discount_t[t + 1, s]
                    for j in range(n):
                        fee = min(av[j], fixed_fee)
                        av[j] -= fee
                        pv_fixed[j] += fee * d
            d = discount_t[n_steps, s]
            for j in range(n):
                out[0, c0 + j, s] = max(guarantee[c0 + j] - av[j], 0.0) * d
                out[1, c0 + j, s] = pv_fixed[j]
                out[2, c0 + j, s] = av[j]
                for k in range(3, n_k):
                    out[k, c0 + j, s] = 0.0


@dataclass(frozen=True)
class Workload:
    """What both kernels run on: the config, the block, its scenarios and the engine's model."""

    config: Config
    inforce: pd.DataFrame
    scenarios: Scenarios
    model: Model
    n_steps: int

    @property
    def n_contracts(self) -> int:
        return len(self.inforce)

    @property
    def n_scenarios(self) -> int:
        return self.scenarios.n_scenarios

    @property
    def path_steps(self) -> int:
        """Contract·scenario·steps of the workload (every contract projects n_steps)."""
        return self.n_contracts * self.n_scenarios * self.n_steps

    def head(self, n_contracts: int = 4) -> Workload:
        """The first few contracts with the same scenarios (for the warm-up)."""
        inforce = self.inforce.iloc[:n_contracts].reset_index(drop=True)
        model = build_model(self.config, inforce, self.scenarios)
        return replace(self, inforce=inforce, model=model)


def run_minimal(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run :func:`minimal_block` on the workload, chunked like ``run_block``.

    The fund is the config's first index (its growth from the scenarios); the proportional
    fee is the M&E charge plus the first fund's fee, the fixed fee the maintenance fee, the
    guarantee ``ab_factor * benefit_base``. Inputs come from the inforce frame and the
    scenarios, not from the engine's lowered model, so the ceiling does not move with it.

    Returns
    -------
    seconds : float
        Kernel wall time.
    path_steps : int
        Contract·scenario·steps projected.
    mean_claim : float
        Mean discounted claim per path (a check that the work is not optimised away).
    """
    set_threads(threads)
    cfg = work.config
    n_c, n_s, m = work.n_contracts, work.n_scenarios, cfg.run.steps_per_year
    growth = np.ascontiguousarray(work.scenarios.index_growth[:, : work.n_steps, 0])
    discount = np.ascontiguousarray(work.scenarios.discount[:, : work.n_steps + 1])
    keep = float(np.exp(-(cfg.product.me_charge + cfg.market.funds[0].fee) / m))
    av0 = work.inforce["contract_value"].to_numpy(np.float64)
    guarantee = (work.inforce["ab_factor"] * work.inforce["benefit_base"]).to_numpy(np.float64)
    steps = np.full(n_c, work.n_steps, dtype=np.int64)
    chunk = auto_chunk_size(n_s)
    totals = np.zeros(n_c)
    seconds = 0.0
    for lo in range(0, n_c, chunk):
        hi = min(lo + chunk, n_c)
        out = np.empty((K.N_MEASURES, hi - lo, n_s))
        t0 = time.perf_counter()
        minimal_block(
            growth,
            discount,
            av0[lo:hi],
            guarantee[lo:hi],
            steps[lo:hi],
            keep,
            float(cfg.product.maintenance_fee),
            m,
            out,
            totals[lo:hi],
        )
        seconds += time.perf_counter() - t0
    return seconds, int(steps.sum()) * n_s, float(totals.sum() / (n_c * n_s))


def run_blocked_minimal(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run :func:`blocked_minimal_block` on the workload, chunked like ``run_block``; the
    time-major inputs are made before the clock starts. Returns as :func:`run_minimal`."""
    set_threads(threads)
    cfg = work.config
    n_c, n_s, m = work.n_contracts, work.n_scenarios, cfg.run.steps_per_year
    growth_t = np.ascontiguousarray(work.scenarios.index_growth[:, : work.n_steps, 0].T)
    discount_t = np.ascontiguousarray(work.scenarios.discount[:, : work.n_steps + 1].T)
    keep = float(np.exp(-(cfg.product.me_charge + cfg.market.funds[0].fee) / m))
    av0 = work.inforce["contract_value"].to_numpy(np.float64)
    guarantee = (work.inforce["ab_factor"] * work.inforce["benefit_base"]).to_numpy(np.float64)
    chunk = auto_chunk_size(n_s)
    total = 0.0
    seconds = 0.0
    for lo in range(0, n_c, chunk):
        hi = min(lo + chunk, n_c)
        out = np.empty((K.N_MEASURES, hi - lo, n_s))
        t0 = time.perf_counter()
        blocked_minimal_block(
            growth_t,
            discount_t,
            av0[lo:hi],
            guarantee[lo:hi],
            work.n_steps,
            keep,
            float(cfg.product.maintenance_fee),
            m,
            out,
        )
        total += float(out[0].sum())
        seconds += time.perf_counter() - t0
    return seconds, n_c * work.n_steps * n_s, total / (n_c * n_s)


def run_engine(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run the full engine (:func:`sim.engine.driver.run_block`); returns as :func:`run_minimal`."""
    r = run_block(work.model, threads=threads, progress=False, contract_stats=False)
    claims = r.scenario_totals[K.MEASURES.index("pv_claims")]
    return r.seconds, r.path_steps, float(claims.mean() / work.n_contracts)


KERNELS = {"full": run_engine, "minimal": run_minimal, "blocked_minimal": run_blocked_minimal}


# --------------------------------------------------------------------------- workload


def benchmark_config(config_path: Path, scenarios: int, overrides: list[str]) -> Config:
    """The example config with the scenario count and extra ``--set`` overrides."""
    return load_config(config_path, [f"run.scenarios={scenarios}", *overrides])


def single_life(frame: pd.DataFrame) -> pd.DataFrame:
    """The block with its second life stripped: no spouse, beneficiary ``natural``, no
    Spousal Protection, annuitant columns blank (the owner, who stays a natural person)."""
    frame = frame.copy()
    frame["spouse_age"] = np.nan
    frame["spouse_sex"] = ""
    frame["beneficiary"] = "natural"
    frame["spousal_protection"] = False
    frame["annuitant_age"] = np.nan
    frame["annuitant_sex"] = ""
    frame["owner_type"] = "natural"
    return frame


def new_business_inforce(
    n_contracts: int, seed: int, config: Config, years: int, lives: str = "single"
) -> pd.DataFrame:
    """A synthetic block where every contract is new business with rider period ``years``.

    Rider years elapsed 0, contract year 1, 12 months to the first anniversary, BB, premiums
    and death benefit base equal to the contract value: each contract projects exactly
    ``years * steps_per_year`` steps. ``lives='single'`` strips the second life
    (:func:`single_life`); ``'two'`` keeps the synthetic spouses and Spousal Protection.
    Returns the validated frame.
    """
    if lives not in ("single", "two"):
        raise ValueError(f"lives must be 'single' or 'two', not {lives!r}")
    frame = synthetic_inforce(n_contracts, seed, config)
    if lives == "single":
        frame = single_life(frame)
    frame["rider_period"] = years
    frame["rider_years_elapsed"] = 0
    frame["contract_year"] = 1
    frame["months_to_anniversary"] = 12
    for col in ("benefit_base", "premiums", "death_benefit_base"):
        frame[col] = frame["contract_value"]
    rider = Assumptions.from_config(config).rider
    clean, problems = validate_inforce(frame, config, rider, "benchmark inforce")
    if problems:
        raise ValueError("\n".join(problems))
    return clean


def build_workload(config: Config, inforce: pd.DataFrame, years: int) -> Workload:
    """Scenarios over ``years`` and the engine's lowered model."""
    n_steps = years * config.run.steps_per_year
    scenarios = generate_scenarios(config, n_steps)
    return Workload(config, inforce, scenarios, build_model(config, inforce, scenarios), n_steps)


def _busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def best_of(fn, work: Workload, threads: int, repeats: int) -> dict:
    """Time ``fn(work, threads)`` ``repeats`` times; keep every time and the best.

    Also records, for each repeat, the share of the machine's CPU that other processes used
    while it ran (``foreign_cpu_share``: busy CPU seconds of the machine minus this
    process's, over wall time x cores), since the machine may be shared.
    """
    times, cpu_times, foreign = [], [], []
    path_steps, check = 0, float("nan")
    cores = os.cpu_count() or 1
    for _ in range(repeats):
        busy0, own0, wall0 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
        seconds, path_steps, check = fn(work, threads)
        if path_steps != work.path_steps:
            raise AssertionError(
                f"{fn.__name__} projected {path_steps} steps, expected {work.path_steps}"
            )
        busy1, own1, wall1 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
        times.append(seconds)
        cpu_times.append(own1 - own0)
        if busy0 is not None and busy1 is not None:
            other = max(0.0, (busy1 - busy0) - (own1 - own0))
            foreign.append(round(other / ((wall1 - wall0) * cores), 3))
    best = min(times)
    best_cpu = min(cpu_times)
    return {
        "seconds_best": best,
        "seconds_all": times,
        "cpu_seconds_best": best_cpu,
        "cpu_seconds_all": cpu_times,
        "path_steps": path_steps,
        "rate": path_steps / best,
        "cpu_rate": path_steps / best_cpu if best_cpu > 0 else float("nan"),
        "mean_claim": check,
        "foreign_cpu_share": foreign,
    }


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sim_source() -> dict:
    """Where the measured ``sim`` package comes from: its path, git commit and whether
    ``sim/`` has uncommitted changes (None when it is not in a git checkout)."""
    pkg = Path(sim._numba.__file__).resolve().parent  # sim.__file__ is None if namespace
    version = getattr(sim, "__version__", None)
    if version is None:
        try:
            version = importlib.metadata.version("sim")
        except importlib.metadata.PackageNotFoundError:
            pass
    info = {"path": str(pkg), "version": version, "commit": None, "dirty": None}

    def git(*cmd):
        return subprocess.run(
            ["git", "-C", str(pkg.parent), *cmd],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        info["commit"] = git("rev-parse", "--short", "HEAD")
        info["dirty"] = bool(git("status", "--porcelain", "--", str(pkg)))
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    """CPU, cores, versions and threading layer."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not initialised"
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": max_threads(),
        "numba_threading_layer": layer,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": load_average(),
    }


# --------------------------------------------------------------------------- report


def fmt_rate(x: float) -> str:
    """A rate in millions, e.g. ``21.5 M`` (``0.31 M`` below one million)."""
    return f"{x / 1e6:,.1f} M" if x >= 1e6 else f"{x / 1e6:.2f} M"


def markdown_table(results: list[dict], threads_list: list[int]) -> str:
    """Main table: rate per (kernel, threads), full/minimal ratio and scaling."""
    by = {(r["kernel"], r["threads_requested"]): r for r in results}
    lines = [
        "| kernel | threads | best wall s | contract·scenario·steps / s (wall) | per thread "
        "| best CPU s | contract·scenario·steps / CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kernel in KERNELS:
        for th in threads_list:
            r = by[(kernel, th)]
            lines.append(
                f"| {kernel} | {r['threads']} | {r['seconds_best']:.3f} "
                f"| {fmt_rate(r['rate'])} | {fmt_rate(r['rate'] / r['threads'])} "
                f"| {r['cpu_seconds_best']:.3f} | {fmt_rate(r['cpu_rate'])} |"
            )
    lines.append("")
    lines.append(
        "| threads | full / minimal (wall) | full / minimal (CPU) | full / blocked minimal (CPU) |"
    )
    lines.append("|---:|---:|---:|---:|")
    for th in threads_list:
        full, minimal, blocked = by[("full", th)], by[("minimal", th)], by[("blocked_minimal", th)]
        lines.append(
            f"| {full['threads']} | {full['rate'] / minimal['rate']:.1%} "
            f"| {full['cpu_rate'] / minimal['cpu_rate']:.1%} "
            f"| {full['cpu_rate'] / blocked['cpu_rate']:.2%} |"
        )
    return "\n".join(lines)


def variants_table(variants: list[dict], minimal_rate: float) -> str:
    """Variants table: rate, relative to the baseline and to the minimal kernel."""
    lines = [
        "| variant | overrides | contract·scenario·steps / s | vs baseline | vs minimal |",
        "|---|---|---:|---:|---:|",
    ]
    base = next((v["rate"] for v in variants if v["variant"] == "baseline"), None)
    for v in variants:
        rel = f"{v['rate'] / base:.2f}x" if base else "-"
        overrides = ", ".join(v["overrides"]) or "-"
        lines.append(
            f"| {v['variant']} | {overrides} | {fmt_rate(v['rate'])} "
            f"| {rel} | {v['rate'] / minimal_rate:.1%} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def log(msg: str) -> None:
    """Progress on stderr (stdout carries the markdown report)."""
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--contracts", type=int, default=10_000, help="synthetic new-business contracts")
    p.add_argument(
        "--scenarios", type=int, default=1_000, help="economic scenarios (run.scenarios)"
    )
    p.add_argument("--years", type=int, default=10, help="rider period of every contract (7-20)")
    p.add_argument("--threads-list", default="1,0", help="comma-separated numba threads; 0 = all")
    p.add_argument("--repeats", type=int, default=3, help="timings per case; the best is reported")
    p.add_argument(
        "--minimal-repeats",
        type=int,
        default=0,
        help="timings per case of the minimal kernel (0 = --repeats); it is cheap, so "
        "it can be repeated more than a long engine run",
    )
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="TOML config of the run")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override applied to every run (repeatable)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic inforce")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="engine variants to time (comma-separated, '' = none); known: " + ", ".join(VARIANTS),
    )
    p.add_argument("--variant-threads", type=int, default=1, help="threads for the variant runs")
    p.add_argument(
        "--extra-variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="one more variant, e.g. 'no_cancel:behaviour.cancel.rate=0' (repeatable)",
    )
    p.add_argument(
        "--lives",
        choices=("single", "two"),
        default="single",
        help="single: second life stripped from the synthetic block; two: keep its "
        "spouses (60 %%) and Spousal Protection",
    )
    p.add_argument(
        "--lives-cases",
        default="",
        help="issue #3: lives cases timed in the same process at --variant-threads "
        "(comma-separated, 'all', '' = none); known: " + ", ".join(LIVES_CASES),
    )
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON report")
    p.add_argument(
        "--note", default="", help="free text stored with the results (e.g. what was measured)"
    )
    args = p.parse_args(argv)
    args.minimal_repeats = args.minimal_repeats or args.repeats
    args.threads_list = [int(x) for x in args.threads_list.split(",") if x.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s): {', '.join(unknown)}")
    args.variant_overrides = {name: VARIANTS[name] for name in args.variants}
    if args.lives_cases.strip() == "all":
        args.lives_cases = list(LIVES_CASES)
    else:
        args.lives_cases = [v.strip() for v in args.lives_cases.split(",") if v.strip()]
    unknown = [v for v in args.lives_cases if v not in LIVES_CASES]
    if unknown:
        p.error(f"unknown lives case(s): {', '.join(unknown)}")
    for item in args.extra_variant:
        name, sep, sets = item.partition(":")
        if not sep or not name.strip() or "=" not in sets:
            p.error(f"--extra-variant '{item}' is not of the form NAME:KEY=VALUE,...")
        args.variant_overrides[name.strip()] = [x.strip() for x in sets.split(",") if x.strip()]
    return args


def time_kernels(
    work: Workload, threads_list: list[int], repeats: int, minimal_repeats: int | None = None
) -> list[dict]:
    """Best-of timings of every kernel at every thread count (after a warm-up)."""
    small = work.head()
    for th in threads_list:
        for fn in KERNELS.values():
            fn(small, th)  # compile, or load from numba's cache
    results = []
    for th in threads_list:
        for name, fn in KERNELS.items():
            n = (minimal_repeats or repeats) if name == "minimal" else repeats
            r = best_of(fn, work, th, n)
            r.update(kernel=name, threads_requested=th, threads=set_threads(th))
            results.append(r)
            log(
                f"{name:8s} threads={r['threads']}: best {r['seconds_best']:.3f} s "
                f"of {[round(x, 3) for x in r['seconds_all']]}  {fmt_rate(r['rate'])}/s  "
                f"(other processes' CPU share {r['foreign_cpu_share']})"
            )
    return results


def time_variants(args: argparse.Namespace, work: Workload, results: list[dict]) -> list[dict]:
    """Best-of timings of the engine under each variant's config overrides.

    The baseline and the minimal kernel's rate are reused from ``results`` when they were
    timed at ``args.variant_threads``.
    """
    by = {(r["kernel"], r["threads_requested"]): r for r in results}
    th = args.variant_threads
    minimal = by.get(("minimal", th)) or best_of(run_minimal, work, th, args.minimal_repeats)
    variants = []
    for name, overrides in args.variant_overrides.items():
        if name == "baseline" and ("full", th) in by:
            r = by[("full", th)]
        else:
            cfg = benchmark_config(args.config, args.scenarios, args.overrides + overrides)
            vwork = build_workload(cfg, work.inforce, args.years)
            run_engine(vwork.head(), th)
            r = best_of(run_engine, vwork, th, args.repeats)
        ratio = r["rate"] / minimal["rate"]
        variants.append(
            {
                "variant": name,
                "overrides": overrides,
                "threads": set_threads(th),
                "seconds_best": r["seconds_best"],
                "seconds_all": r["seconds_all"],
                "rate": r["rate"],
                "ratio_to_minimal": ratio,
                "foreign_cpu_share": r["foreign_cpu_share"],
                "mean_claim": r["mean_claim"],
            }
        )
        log(f"variant {name:18s}: {fmt_rate(r['rate'])}/s ({ratio:.1%} of minimal)")
    return variants


def time_lives(args: argparse.Namespace, work: Workload, results: list[dict]) -> list[dict]:
    """Issue #3: the engine on single-life and two-life versions of the same block.

    Same contracts (the synthetic block with or without its second life), same scenarios,
    same process, ``--variant-threads`` threads; each case is compared with single life and
    with the minimal kernel (which ignores the lives, so one timing serves every case).
    The ``single`` case is reused from ``results`` when the main run was single life at
    these threads with no extra overrides.
    """
    by = {(r["kernel"], r["threads_requested"]): r for r in results}
    th = args.variant_threads
    minimal = by.get(("minimal", th)) or best_of(run_minimal, work, th, args.minimal_repeats)
    blocks = {args.lives: work.inforce}
    cases = []
    for name in args.lives_cases:
        lives, overrides = LIVES_CASES[name]
        if lives not in blocks:
            cfg0 = benchmark_config(args.config, args.scenarios, args.overrides)
            blocks[lives] = new_business_inforce(args.contracts, args.seed, cfg0, args.years, lives)
        if lives == args.lives and not overrides and ("full", th) in by:
            r = by[("full", th)]
        else:
            cfg = benchmark_config(args.config, args.scenarios, args.overrides + overrides)
            cwork = build_workload(cfg, blocks[lives], args.years)
            run_engine(cwork.head(), th)
            r = best_of(run_engine, cwork, th, args.repeats)
        inforce = blocks[lives]
        cases.append(
            {
                "case": name,
                "lives": lives,
                "overrides": overrides,
                "threads": set_threads(th),
                "with_spouse": int(inforce["spouse_age"].notna().sum()),
                "spousal_protection": int(inforce["spousal_protection"].astype(bool).sum()),
                "seconds_best": r["seconds_best"],
                "seconds_all": r["seconds_all"],
                "rate": r["rate"],
                "ratio_to_minimal": r["rate"] / minimal["rate"],
                "minimal_rate": minimal["rate"],
                "foreign_cpu_share": r["foreign_cpu_share"],
                "mean_claim": r["mean_claim"],
            }
        )
        log(
            f"lives {name:20s}: {fmt_rate(r['rate'])}/s ({r['rate'] / minimal['rate']:.2%} "
            f"of minimal; other processes' CPU share {r['foreign_cpu_share']})"
        )
    single = next((c["rate"] for c in cases if c["case"] == "single"), None)
    for c in cases:
        c["ratio_to_single"] = c["rate"] / single if single else None
    return cases


def lives_table(cases: list[dict]) -> str:
    """Lives table: rate, relative to single life and to the minimal kernel."""
    lines = [
        (
            "| case | lives | overrides | best s | contract·scenario·steps / s "
            "| vs single life | vs minimal | foreign CPU share |"
        ),
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for c in cases:
        rel = f"{c['ratio_to_single']:.3f}x" if c["ratio_to_single"] else "-"
        overrides = ", ".join(f"`{o}`" for o in c["overrides"]) or "-"
        lines.append(
            f"| {c['case']} | {c['lives']} | {overrides} | {c['seconds_best']:.2f} "
            f"| {fmt_rate(c['rate'])} | {rel} | {c['ratio_to_minimal']:.2%} "
            f"| {c['foreign_cpu_share']} |"
        )
    return "\n".join(lines)


def summarise(results: list[dict], threads_list: list[int]) -> tuple[dict, dict]:
    """Ratio full / minimal at each thread count, and the scaling from 1 thread."""
    by = {(r["kernel"], r["threads_requested"]): r for r in results}
    ratios = {
        str(by[("full", th)]["threads"]): by[("full", th)]["rate"] / by[("minimal", th)]["rate"]
        for th in threads_list
    }
    scaling = {}
    if 1 in threads_list:
        for name in KERNELS:
            for th in threads_list:
                if th != 1:
                    key = f"{name} 1->{by[(name, th)]['threads']}"
                    scaling[key] = by[(name, th)]["rate"] / by[(name, 1)]["rate"]
    return ratios, scaling


def print_report(report: dict, threads_list: list[int]) -> None:
    """The markdown tables on stdout."""
    w, m, src = report["workload"], report["machine"], report["sim"]
    print(f"## Throughput ({report['date'][:10]}, {report['timing']})\n")
    print(
        f"Workload: {w['contracts']:,} contracts x {w['scenarios']:,} scenarios "
        f"x {w['steps']} steps ({w['contract_scenario_steps']:,} contract·scenario·steps), "
        f"{'single life' if w['lives'] == 'single' else 'two lives'} ({w['with_spouse']:,} with a spouse, "
        f"{w['spousal_protection']:,} with Spousal Protection).  "
    )
    print(
        f"Machine: {m['cpu_model']}, {m['cores']} cores, numba {m['numba']} "
        f"({m['numba_threading_layer']}), Python {m['python']}; load average "
        f"{m['load_average_at_start']} at start, {m['load_average_at_end']} at end.  "
    )
    print(
        f"Engine: sim {src['version']} from {src['path']}, commit {src['commit']}"
        f"{' with uncommitted changes' if src['dirty'] else ''}.  "
    )
    if report["note"]:
        print(f"Note: {report['note']}  ")
    print()
    print(markdown_table(report["results"], threads_list))
    if report["scaling"]:
        scaling = ", ".join(f"{k}: {v:.2f}x" for k, v in report["scaling"].items())
        print(f"\nScaling 1 -> all threads: {scaling}")
    variants = report["variants"]
    if variants:
        print(f"\n### Engine variants ({variants[0]['threads']} thread(s))\n")
        print(variants_table(variants, variants[0]["rate"] / variants[0]["ratio_to_minimal"]))
    lives = report.get("lives_cases")
    if lives:
        print(
            f"\n### Lives (issue #3, {lives[0]['threads']} thread(s), minimal kernel "
            f"{fmt_rate(lives[0]['minimal_rate'])}/s)\n"
        )
        print(lives_table(lives))


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the markdown tables and write the JSON report."""
    args = parse_args(argv)
    config = benchmark_config(args.config, args.scenarios, args.overrides)
    inforce = new_business_inforce(args.contracts, args.seed, config, args.years, args.lives)
    work = build_workload(config, inforce, args.years)
    config_name = args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
    workload = {
        "config": str(config_name),
        "overrides": args.overrides,
        "contracts": work.n_contracts,
        "scenarios": work.n_scenarios,
        "steps": work.n_steps,
        "steps_per_year": config.run.steps_per_year,
        "contract_scenario_steps": work.path_steps,
        "chunk_size": auto_chunk_size(work.n_scenarios),
        "inforce_seed": args.seed,
        "lives": args.lives,
        "with_spouse": int(inforce["spouse_age"].notna().sum()),
        "spousal_protection": int(inforce["spousal_protection"].astype(bool).sum()),
        "allocations": int(inforce["allocation"].nunique()),
    }
    log(
        f"workload: {work.n_contracts} contracts x {work.n_scenarios} scenarios "
        f"x {work.n_steps} steps, {'single life' if args.lives == 'single' else 'two lives'}"
    )
    load_start = load_average()

    results = time_kernels(work, args.threads_list, args.repeats, args.minimal_repeats)
    ratios, scaling = summarise(results, args.threads_list)
    variants = time_variants(args, work, results) if args.variant_overrides else []
    lives_cases = time_lives(args, work, results) if args.lives_cases else []

    report = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "measure": "contract·scenario·steps per second = sum over contracts of projected steps "
        "x scenarios / kernel seconds",
        "timing": f"best of {args.repeats} runs (minimal kernel: {args.minimal_repeats}), "
        "compilation excluded (warm-up on a tiny block)",
        "workload": workload,
        "machine": {**machine_info(), "load_average_at_start": load_start},
        "sim": sim_source(),
        "note": args.note,
        "results": results,
        "ratio_full_to_minimal": ratios,
        "scaling": scaling,
        "target_ratio": TARGET_RATIO,
        "target_met": {k: v >= TARGET_RATIO for k, v in ratios.items()},
        "variants": variants,
        "lives_cases": lives_cases,
    }
    print_report(report, args.threads_list)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
