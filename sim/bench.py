"""Standard benchmark workloads and the machinery that times them.

``abrsim bench`` runs the named :data:`WORKLOADS`; ``benchmarks/throughput.py`` (not
installed) builds its own workloads from the same pieces. Both time, in the same process
and on the same contracts and scenarios:

- ``full``: the engine (:func:`sim.engine.driver.run_block`; shown as ``engine`` by
  ``abrsim bench``);
- ``minimal``: :func:`minimal_block`, the least a GMAB projection must do (one fund, a
  proportional and a fixed fee, the maturity claim), in path order: the scalar ceiling;
- ``blocked_minimal``: :func:`blocked_minimal_block`, the same arithmetic in the
  hardware-friendly shape (tiles of contracts as lanes, the time loop outside): the
  vectorised ceiling.

Only kernel time is measured: for the engine, the ``seconds`` that ``run_block`` reports
(``project_block`` plus the scenario-total reduction, chunk by chunk); for the minimal
kernels, the same chunks with an output buffer of the same shape, timed the same way.
Compilation is excluded by a warm-up on a tiny block. Each timing is repeated and the best
is kept, by wall time (``time.perf_counter``) and by CPU time of the process
(``time.process_time``, all threads). Throughput is contract·scenario·steps per second:
the sum over contracts of projected steps times the number of scenarios, divided by
seconds.

The standard workloads start from the package's example config, ``configs/example.toml``.
It is not installed with the package (``pyproject.toml`` packages ``sim`` only), so
:data:`EXAMPLE_CONFIG` is the file of the source checkout the package runs from (a
``pip install -e .`` or a ``PYTHONPATH`` checkout); an installed wheel must be given a copy
(``abrsim bench --config FILE``).
"""

from __future__ import annotations

import datetime as _dt
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

from . import __version__
from ._numba import jit, max_threads, prange, set_threads
from .boundary import market_inputs
from .config import Config, load_config
from .engine import kernels as K
from .engine.driver import auto_chunk_size, run_block
from .engine.layout import Assumptions, Model, build_model, contract_arrays, horizon_steps
from .inforce import synthetic_inforce, validate_inforce
from .market import Scenarios, generate_scenarios

#: The example config of the source checkout (see the module docstring).
EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "example.toml"

# --------------------------------------------------------------------------- minimal kernels


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
    LLVM vectorises the lane loops).

    Parameters
    ----------
    growth_t : ndarray(float64, (n_steps, n_scen))
        Gross growth of the single fund, time-major.
    discount_t : ndarray(float64, (n_steps + 1, n_scen))
    av0, guarantee : ndarray(float64, (n_c,))
    n_steps : ndarray(int64, (n_c,))
        Steps to maturity, in non-increasing order: the lanes of a tile that have matured
        are its last ones, so the lane loops run over the first ``live`` lanes (every lane
        when all contracts have the same horizon).
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
            live = n
            for t in range(n_steps[c0]):
                while n_steps[c0 + live - 1] <= t:  # lane 0 is live until the loop ends
                    live -= 1
                g = growth_t[t, s] * keep
                for j in range(live):
                    av[j] *= g
                if (t + 1) % m == 0:
                    d = discount_t[t + 1, s]
                    for j in range(live):
                        fee = min(av[j], fixed_fee)
                        av[j] -= fee
                        pv_fixed[j] += fee * d
            for j in range(n):
                d = discount_t[n_steps[c0 + j], s]
                out[0, c0 + j, s] = max(guarantee[c0 + j] - av[j], 0.0) * d
                out[1, c0 + j, s] = pv_fixed[j]
                out[2, c0 + j, s] = av[j]
                for k in range(3, n_k):
                    out[k, c0 + j, s] = 0.0


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Workload:
    """What the kernels run on: the config, the block, its scenarios and the engine's model.

    ``n_steps`` is the scenarios' length, the block's last maturity; each contract projects
    its own ``contract_steps`` (all ``n_steps`` for a new-business block).
    """

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
    def contract_steps(self) -> np.ndarray:
        """Steps to maturity of each contract (int64), as the engine projects them."""
        return self.model.contracts.maturity_step

    @property
    def path_steps(self) -> int:
        """Contract·scenario·steps of the workload: the sum over contracts of their steps,
        times the scenarios (nominal: spousal continuations add segments on top)."""
        return int(self.contract_steps.sum()) * self.n_scenarios

    def head(self, n_contracts: int = 4) -> Workload:
        """The first few contracts with the same scenarios (for the warm-up)."""
        inforce = self.inforce.iloc[:n_contracts].reset_index(drop=True)
        model = build_model(self.config, inforce, self.scenarios)
        return replace(self, inforce=inforce, model=model)


def _minimal_inputs(work: Workload):
    """The minimal kernels' inputs from the inforce frame and the scenarios (not from the
    engine's lowered model, so the ceiling does not move with it): the proportional fee
    (M&E plus the first fund's fee) as the share kept a step, the guarantee
    ``ab_factor * benefit_base``, the starting account value."""
    cfg = work.config
    keep = float(
        np.exp(-(cfg.product.me_charge + cfg.market.funds[0].fee) / cfg.run.steps_per_year)
    )
    av0 = work.inforce["contract_value"].to_numpy(np.float64)
    guarantee = (work.inforce["ab_factor"] * work.inforce["benefit_base"]).to_numpy(np.float64)
    return keep, av0, guarantee


def _run_chunks(kernel, n_s, market, per_contract, scalars, extra=(), reduce=False):
    """Call ``kernel(*market, *per_contract[lo:hi], *scalars, out, *extra[lo:hi])`` on
    chunks of contracts as ``run_block`` does, with ``out`` of the engine's per-path shape,
    timing the calls only. ``reduce``: also sum the discounted claims (``out[0]``) inside
    the timing, as the engine times its scenario-total reduction.

    Returns
    -------
    seconds : float
    claims : float
        The sum of ``out[0]`` over every chunk (0 unless ``reduce``).
    """
    n_c = len(per_contract[0])
    chunk = auto_chunk_size(n_s)
    seconds, claims = 0.0, 0.0
    for lo in range(0, n_c, chunk):
        hi = min(lo + chunk, n_c)
        out = np.empty((K.N_MEASURES, hi - lo, n_s))
        args = [a[lo:hi] for a in per_contract]
        more = [a[lo:hi] for a in extra]
        t0 = time.perf_counter()
        kernel(*market, *args, *scalars, out, *more)
        if reduce:
            claims += float(out[0].sum())
        seconds += time.perf_counter() - t0
    return seconds, claims


def run_minimal(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run :func:`minimal_block` on the workload, chunked like ``run_block``.

    The fund is the config's first index (its growth from the scenarios); the proportional
    fee is the M&E charge plus the first fund's fee, the fixed fee the maintenance fee, the
    guarantee ``ab_factor * benefit_base``; each contract runs to its own maturity.

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
    n_c, n_s = work.n_contracts, work.n_scenarios
    growth = np.ascontiguousarray(work.scenarios.index_growth[:, : work.n_steps, 0])
    discount = np.ascontiguousarray(work.scenarios.discount[:, : work.n_steps + 1])
    keep, av0, guarantee = _minimal_inputs(work)
    steps = np.ascontiguousarray(work.contract_steps, dtype=np.int64)
    totals = np.zeros(n_c)
    fee, m = float(cfg.product.maintenance_fee), cfg.run.steps_per_year
    seconds, _ = _run_chunks(
        minimal_block, n_s, (growth, discount), (av0, guarantee, steps), (keep, fee, m), (totals,)
    )
    return seconds, int(steps.sum()) * n_s, float(totals.sum() / (n_c * n_s))


def run_blocked_minimal(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run :func:`blocked_minimal_block` on the workload, chunked like ``run_block``; the
    time-major inputs (and, for mixed horizons, the contracts sorted longest first) are
    made before the clock starts. Returns as :func:`run_minimal`."""
    set_threads(threads)
    cfg = work.config
    n_c, n_s = work.n_contracts, work.n_scenarios
    growth_t = np.ascontiguousarray(work.scenarios.index_growth[:, : work.n_steps, 0].T)
    discount_t = np.ascontiguousarray(work.scenarios.discount[:, : work.n_steps + 1].T)
    keep, av0, guarantee = _minimal_inputs(work)
    order = np.argsort(-work.contract_steps, kind="stable")  # the identity for one horizon
    steps = np.ascontiguousarray(work.contract_steps[order], dtype=np.int64)
    fee, m = float(cfg.product.maintenance_fee), cfg.run.steps_per_year
    seconds, total = _run_chunks(
        blocked_minimal_block,
        n_s,
        (growth_t, discount_t),
        (av0[order], guarantee[order], steps),
        (keep, fee, m),
        reduce=True,
    )
    return seconds, int(steps.sum()) * n_s, total / (n_c * n_s)


def run_engine(work: Workload, threads: int) -> tuple[float, int, float]:
    """Run the full engine (:func:`sim.engine.driver.run_block`); returns as :func:`run_minimal`."""
    r = run_block(work.model, threads=threads, progress=False, contract_stats=False)
    claims = r.scenario_totals[K.MEASURES.index("pv_claims")]
    return r.seconds, r.path_steps, float(claims.mean() / work.n_contracts)


KERNELS = {"full": run_engine, "minimal": run_minimal, "blocked_minimal": run_blocked_minimal}


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


def _validated(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The frame validated as an inforce file is (defaults filled in); raises ValueError
    with every problem."""
    rider = Assumptions.from_config(config).rider
    clean, problems = validate_inforce(frame, config, rider, "benchmark inforce")
    if problems:
        raise ValueError("\n".join(problems))
    return clean


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
    return _validated(frame, config)


def build_workload(config: Config, inforce: pd.DataFrame, years: int | None) -> Workload:
    """Scenarios over ``years`` (None: to the block's last Rider Maturity Date) and the
    engine's lowered model."""
    if years is None:
        assumptions = Assumptions.from_config(config)
        names = sorted(set(inforce["allocation"]))
        n_steps = horizon_steps(contract_arrays(inforce, assumptions, names), assumptions)
    else:
        n_steps = years * config.run.steps_per_year
    scenarios = generate_scenarios(market_inputs(config), n_steps)
    return Workload(config, inforce, scenarios, build_model(config, inforce, scenarios), n_steps)


# --------------------------------------------------------------------------- the named workloads


@dataclass(frozen=True)
class StandardWorkload:
    """A named workload of ``abrsim bench``: the example config with ``overrides``,
    ``contracts`` synthetic contracts (times ``--scale``), ``scenarios`` scenarios.

    ``block`` is ``"single"`` or ``"two"`` (new business with rider period ``years``:
    :func:`new_business_inforce`) or ``"mix"`` (the package's synthetic in-force mix,
    :func:`sim.inforce.synthetic_inforce` as it is, each contract to its own maturity).
    """

    name: str
    contracts: int
    scenarios: int
    block: str
    years: int | None = 10
    overrides: tuple[str, ...] = ()

    def contracts_at(self, scale: float) -> int:
        """Contracts at ``scale`` (at least one)."""
        return max(1, round(self.contracts * scale))

    def build(self, scale: float = 1.0, config_path: Path = EXAMPLE_CONFIG, seed: int = 1):
        """The :class:`Workload` at ``scale`` (inforce seed ``seed``)."""
        config = benchmark_config(config_path, self.scenarios, list(self.overrides))
        n = self.contracts_at(scale)
        if self.block == "mix":
            inforce = _validated(synthetic_inforce(n, seed, config), config)
        else:
            inforce = new_business_inforce(n, seed, config, self.years, self.block)
        return build_workload(config, inforce, self.years if self.block != "mix" else None)


#: The workloads of ``abrsim bench`` (``sim.cli.BENCH_WORKLOADS`` describes them in its help
#: and benchmarks/README.md in full).
WORKLOADS: dict[str, StandardWorkload] = {
    w.name: w
    for w in (
        StandardWorkload("single-life", 2_000, 1_000, "single"),
        StandardWorkload(
            "two-lives", 2_000, 1_000, "two", overrides=("behaviour.continuation_grid_steps=12",)
        ),
        StandardWorkload(
            "simulated", 2_000, 1_000, "single", overrides=("run.decrements=simulated",)
        ),
        StandardWorkload("gan-valdez", 1_900, 1_000, "mix", years=None),
    )
}


# --------------------------------------------------------------------------- timing


def log(msg: str) -> None:
    """Progress on stderr (stdout carries the report)."""
    print(msg, file=sys.stderr, flush=True)


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


def fmt_rate(x: float) -> str:
    """A rate in millions, e.g. ``21.5 M`` (``0.31 M`` below one million)."""
    return f"{x / 1e6:,.1f} M" if x >= 1e6 else f"{x / 1e6:.2f} M"


def time_kernels(
    work: Workload,
    threads_list: list[int],
    repeats: int,
    minimal_repeats: int | None = None,
    labels: dict[str, str] | None = None,
) -> list[dict]:
    """Best-of timings of every kernel at every thread count (after a warm-up); ``labels``
    renames kernels in the progress lines."""
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
                f"{(labels or {}).get(name, name):8s} threads={r['threads']}: best {r['seconds_best']:.3f} s "
                f"of {[round(x, 3) for x in r['seconds_all']]}  {fmt_rate(r['rate'])}/s  "
                f"(other processes' CPU share {r['foreign_cpu_share']})"
            )
    return results


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


#: SIMD instruction sets, widest first: (name in /proc/cpuinfo, name in LLVM, vector bits).
SIMD_LEVELS = (
    ("avx512f", "avx512f", 512),
    ("avx2", "avx2", 256),
    ("avx", "avx", 256),
    ("sse2", "sse2", 128),
    ("asimd", "neon", 128),
    ("neon", "neon", 128),
)


def simd_info() -> dict:
    """The widest SIMD instruction set of the CPU and its vector width.

    From the ``flags`` (x86) or ``Features`` (ARM) line of /proc/cpuinfo, else from the host
    CPU features LLVM (llvmlite) reports; also LLVM's name of the host CPU, which numba
    compiles for. ``float64_lanes`` is how many doubles one vector register holds.
    """
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key = line.split(":", 1)[0].strip().lower()
            if key in ("flags", "features"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    llvm_cpu, llvm_features = None, set()
    try:
        import llvmlite.binding as ll

        llvm_cpu = ll.get_host_cpu_name()
        llvm_features = {k for k, on in ll.get_host_cpu_features().items() if on}
    except Exception:  # a record, not a requirement
        pass
    widest, bits, source = None, None, None
    for flag, feature, width in SIMD_LEVELS:
        if flag in flags or feature in llvm_features:
            widest, bits = flag, width
            source = "/proc/cpuinfo" if flag in flags else "llvmlite host CPU features"
            break
    names = ("sse", "avx", "fma", "neon", "asimd", "sve")
    return {
        "widest": widest,
        "vector_bits": bits,
        "float64_lanes": bits // 64 if bits else None,
        "source": source,
        "cpu_flags": sorted(f for f in flags if f.startswith(names)),
        "llvm_cpu": llvm_cpu,
    }


def sim_source() -> dict:
    """Where the measured ``sim`` package comes from: its path, git commit and whether
    ``sim/`` has uncommitted changes (None when it is not in a git checkout)."""
    pkg = Path(__file__).resolve().parent
    info = {"path": str(pkg), "version": __version__, "commit": None, "dirty": None}

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
    """CPU, cores, SIMD width, versions and threading layer (call it after a parallel
    kernel has run, or the threading layer is not known yet)."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not initialised"
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = None
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cpus_available": available,
        "simd": simd_info(),
        "numba_threads": max_threads(),
        "numba_threading_layer": layer,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": load_average(),
    }


# --------------------------------------------------------------------------- abrsim bench

#: How ``abrsim bench`` names the kernels of :data:`KERNELS`.
KERNEL_NAMES = {"full": "engine", "minimal": "minimal", "blocked_minimal": "blocked_minimal"}


def _compare(results: list[dict]) -> None:
    """Add to each row its ratios to the minimal kernels at the same thread count (by wall
    and by CPU time) and its speed-up and parallel efficiency against 1 thread (wall)."""
    by = {(r["kernel"], r["threads"]): r for r in results}
    for r in results:
        r["rate_per_thread"] = r["rate"] / r["threads"]
        for ref in ("minimal", "blocked_minimal"):
            base = by[(ref, r["threads"])]
            r[f"ratio_to_{ref}"] = r["rate"] / base["rate"]
            r[f"ratio_to_{ref}_cpu"] = r["cpu_rate"] / base["cpu_rate"]
        one = by.get((r["kernel"], 1))
        r["speedup"] = r["rate"] / one["rate"] if one else None
        r["efficiency"] = r["speedup"] / r["threads"] if one else None


def run_bench(
    names: list[str],
    threads_list: list[int],
    scale: float = 1.0,
    repeats: int = 3,
    config_path: Path = EXAMPLE_CONFIG,
    seed: int = 1,
) -> dict:
    """Time the engine and the minimal kernels on each named workload at each thread count.

    Returns the report ``abrsim bench --json`` writes (keys in benchmarks/README.md).
    """
    load_start = load_average()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    workloads = []
    for name in names:
        spec = WORKLOADS[name]
        work = spec.build(scale, config_path, seed)
        inforce = work.inforce
        log(
            f"{name}: {work.n_contracts:,} contracts x {work.n_scenarios:,} scenarios "
            f"({work.path_steps:,} contract·scenario·steps)"
        )
        results = time_kernels(work, threads_list, repeats, labels=KERNEL_NAMES)
        for r in results:
            r["kernel"] = KERNEL_NAMES[r.pop("kernel")]
            del r["threads_requested"]
        _compare(results)
        workloads.append(
            {
                "name": name,
                "block": spec.block,
                "years": spec.years,
                "contracts": work.n_contracts,
                "scenarios": work.n_scenarios,
                "steps": work.n_steps,
                "steps_per_year": work.config.run.steps_per_year,
                "contract_steps": int(work.contract_steps.sum()),
                "path_steps": work.path_steps,
                "same_horizon": bool((work.contract_steps == work.n_steps).all()),
                "decrements": work.config.run.decrements,
                "overrides": list(spec.overrides),
                "inforce_seed": seed,
                "with_spouse": int(inforce["spouse_age"].notna().sum()),
                "spousal_protection": int(inforce["spousal_protection"].astype(bool).sum()),
                "chunk_size": auto_chunk_size(work.n_scenarios),
                "results": results,
            }
        )
    return {
        "date": started,
        "measure": "contract·scenario·steps per second = sum over contracts of projected "
        "steps x scenarios / kernel seconds (wall: time.perf_counter; CPU: "
        "time.process_time of the process, all threads)",
        "timing": f"best of {repeats} run(s) a case, compilation excluded (warm-up on a "
        "tiny block)",
        "config": str(config_path),
        "scale": scale,
        "repeats": repeats,
        "threads": threads_list,
        "machine": {**machine_info(), "load_average_at_start": load_start},
        "sim": sim_source(),
        "workloads": workloads,
    }


def _pct(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" if x >= 0.1 else f"{x:.2%}"


def format_report(report: dict) -> str:
    """The readable report of ``abrsim bench``: the machine, then one table a workload."""
    m, src = report["machine"], report["sim"]
    simd = m["simd"]
    width = f"{simd['widest']} ({simd['vector_bits']}-bit)" if simd["widest"] else "unknown"
    commit = src["commit"] or "not a git checkout"
    lines = [
        f"Machine: {m['cpu_model']}, {m['cores']} cores ({m['cpus_available']} available), "
        f"SIMD {width}, LLVM CPU {simd['llvm_cpu']}; numba {m['numba']} "
        f"({m['numba_threading_layer']}), numpy {m['numpy']}, Python {m['python']}",
        f"sim {src['version']} at commit {commit}"
        f"{' with uncommitted changes' if src['dirty'] else ''}; load average "
        f"{m['load_average_at_start']} at start, {m['load_average_at_end']} at end; "
        f"{report['timing']}",
        "M/s: million contract·scenario·steps per second. vs minimal, vs blocked: rate over "
        "the minimal kernel's at the same threads (CPU time). speed-up, efficiency: against "
        "1 thread (wall time). other CPU: most of the machine's CPU other processes took "
        "during a timing.",
    ]
    head = (
        f"{'kernel':<16}{'threads':>8}{'wall s':>10}{'CPU s':>10}{'M/s wall':>10}"
        f"{'M/s CPU':>10}{'/thread':>9}{'vs minimal':>12}{'vs blocked':>12}"
        f"{'speed-up':>10}{'effic.':>8}{'other CPU':>11}"
    )
    for w in report["workloads"]:
        horizon = (
            f"{w['steps']} steps"
            if w["same_horizon"]
            else f"own horizons (mean {w['contract_steps'] / w['contracts']:.1f}, "
            f"max {w['steps']} steps)"
        )
        lines += [
            "",
            f"{w['name']}: {w['contracts']:,} contracts x {w['scenarios']:,} scenarios x "
            f"{horizon} = {w['path_steps']:,} contract·scenario·steps; {w['with_spouse']:,} "
            f"with a spouse, {w['decrements']} decrements",
            head,
            "-" * len(head),
        ]
        for r in w["results"]:
            speedup = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
            other = max(r["foreign_cpu_share"]) if r["foreign_cpu_share"] else None
            lines.append(
                f"{r['kernel']:<16}{r['threads']:>8}{r['seconds_best']:>10.3f}"
                f"{r['cpu_seconds_best']:>10.3f}{r['rate'] / 1e6:>10,.1f}"
                f"{r['cpu_rate'] / 1e6:>10,.1f}{r['rate_per_thread'] / 1e6:>9,.1f}"
                f"{_pct(r['ratio_to_minimal_cpu']):>12}{_pct(r['ratio_to_blocked_minimal_cpu']):>12}"
                f"{speedup:>10}{_pct(r['efficiency']):>8}"
                f"{'-' if other is None else f'{other:.2f}':>11}"
            )
    return "\n".join(lines)
