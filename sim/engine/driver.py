"""Chunked, threaded execution of the kernels with a deterministic reduction."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .._numba import set_threads
from . import kernels as K
from .layout import ContractArrays, Model

__all__ = [
    "BlockRun",
    "run_block",
    "auto_chunk_size",
    "path_standard_errors",
    "INTERRUPT_SLICE_SECONDS",
    "project_paths",
    "add_to_totals",
    "weigh_by_policies",
]

#: Memory budget of one chunk's per-path output buffer (bytes).
CHUNK_BYTES = 64 * 2**20
#: Kernel time aimed at for one chunk: the longest wait for a Ctrl-C to be honoured.
INTERRUPT_SLICE_SECONDS = 0.25
#: Contract·scenario·steps of the first chunk, before the run's own speed is known.
FIRST_CHUNK_WORK = 2**22


@dataclass(frozen=True)
class BlockRun:
    """Raw output of one run.

    Attributes
    ----------
    contract_mean, contract_se : ndarray(float64, (N_MEASURES, n_c))
        Mean over scenarios of each measure, and its Monte Carlo standard error: of the
        row, i.e. of all the ``policies`` it stands for.
    scenario_totals : ndarray(float64, (N_MEASURES, n_scen))
        Block total of each measure in each scenario (rows weighted by ``policies``).
    trace : ndarray(float64, (n_c, n_scen, n_steps, N_TRACE)) or None
        The state of one contract of each row (never multiplied by ``policies``).
    seconds : float
        Wall time of the kernels.
    cashflows : ndarray(float64, (FLOW_ROWS, n_years)) or None
        Expected block cash flows by projection year (mean over scenarios of the block
        totals; rows ``kernels.Flow``, their discounted twins, the in-force weight at year
        end), when asked for.
    path_steps : int
        Contract·scenario·steps projected.
    threads : int
    """

    contract_mean: np.ndarray
    contract_se: np.ndarray
    scenario_totals: np.ndarray
    trace: np.ndarray | None
    seconds: float
    path_steps: int
    threads: int
    cashflows: np.ndarray | None = None


def auto_chunk_size(n_scenarios: int, n_steps: int = 0) -> int:
    """Contracts per chunk so that the per-path buffer and the per-step death rates (three
    lives x ``n_steps`` a contract) stay within CHUNK_BYTES."""
    per_contract = 8 * (K.N_MEASURES * max(n_scenarios, 1) + 3 * max(n_steps, 0))
    return max(1, CHUNK_BYTES // per_contract)


def path_standard_errors(paths: np.ndarray, group: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over the last axis (scenarios).

    Consecutive blocks of ``group`` scenarios (antithetic pairs: 2; randomised QMC: one
    scramble) are averaged first: their means are the independent samples.
    """
    group = int(group)
    if group > 1:
        paths = paths.reshape(*paths.shape[:-1], paths.shape[-1] // group, group).mean(axis=-1)
    n = paths.shape[-1]
    mean = paths.mean(axis=-1)
    se = paths.std(axis=-1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    return mean, se


def _kernel_args(model: Model, c: ContractArrays):
    return (c.records(), model.terms, model.market, model.death_step_rates(c))


def weigh_by_policies(policies: np.ndarray, paths: np.ndarray, flows: np.ndarray | None = None):
    """Multiply each contract's per-path values (and cash flows) by the number of identical
    contracts its row stands for (inforce ``policies``), in place, before they reach any
    total: a model point then counts as that many contracts in every figure.

    Parameters
    ----------
    policies : ndarray(float64, (n_c,))
    paths : ndarray(float64, (n_measures, n_c, n_scen))
    flows : ndarray(float64, (n_c, FLOW_ROWS, n_years)), optional
    """
    if np.all(policies == 1.0):  # the seriatim block: nothing to do (and bit for bit)
        return
    paths *= policies[None, :, None]
    if flows is not None and flows.shape[0] > 0:
        flows *= policies[:, None, None]


def project_paths(model: Model, lo: int, hi: int, threads: int = 0) -> np.ndarray:
    """Per-path values of contracts ``lo:hi`` of the block (a chunk of :func:`run_block`;
    the unit of work a Dask worker runs for ``abrsim price --scheduler``).

    Returns
    -------
    ndarray(float64, (n_measures, hi - lo, n_scenarios))
        Each contract's values times its ``policies`` (:func:`weigh_by_policies`). Add them
        to block totals with :func:`add_to_totals`, in contract order.
    """
    set_threads(threads)
    part = model.contracts.slice(lo, hi)
    out = np.empty((K.N_MEASURES, hi - lo, model.n_scenarios))
    K.project_block(*_kernel_args(model, part), out, K.empty_trace(), K.empty_flows())
    weigh_by_policies(part.policies, out)
    return out


def add_to_totals(paths: np.ndarray, totals: np.ndarray) -> None:
    """Add a chunk's ``paths`` (n_measures, n_c, n_scen) into ``totals`` (n_measures,
    n_scen), contract by contract in order (in place), so totals never depend on chunking."""
    K.accumulate_scenario_totals(paths, totals)


def run_block(
    model: Model,
    threads: int = 0,
    chunk_size: int = 0,
    progress: bool | None = None,
    trace: bool = False,
    fee_rate: float | None = None,
    contract_stats: bool = True,
    cashflows: bool = False,
    tile_size: int = 0,
    path_sink: Callable[[int, np.ndarray], None] | None = None,
) -> BlockRun:
    """Project every contract of the model along every scenario.

    Parameters
    ----------
    threads : int
        Numba threads; 0 = all cores.
    chunk_size : int
        Contracts per chunk; 0 = sized from the run's speed (about
        :data:`INTERRUPT_SLICE_SECONDS` of kernel time a chunk) and memory. Results do not
        depend on it.
    progress : bool or None
        Show a progress bar; None = when there are several chunks and stderr is a terminal.
    trace : bool
        Record the state at every step (small blocks only: n_c x n_scen x n_steps x 15).
    fee_rate : float, optional
        One Rider Fee Percentage for every contract (the break-even search).
    contract_stats : bool
        Compute per-contract means and standard errors.
    cashflows : bool
        Also book the expected cash flows by projection year (``BlockRun.cashflows``).

    Every per-path value and cash flow of a row is multiplied by its ``policies`` (the
    inforce column, default 1) before it is added to any total: a model point standing for
    ``k`` identical contracts counts ``k`` times.
    tile_size : int
        Scenario lanes per kernel tile; 0 = the kernels' choice. Results do not depend on it.
    path_sink : callable, optional
        Called with ``(lo, paths)`` for each chunk of contracts ``lo:lo + n``, in contract
        order: ``paths`` ndarray(float64, (N_MEASURES, n, n_scen)), the chunk's per-path
        values (times ``policies``), valid during the call (``abrsim price --paths``).
    """
    n_threads = set_threads(threads)
    if fee_rate is not None:
        model = model.with_fee_rate(fee_rate)
    contracts = model.contracts
    n_c, n_s = len(contracts), model.n_scenarios
    n_t = model.discount.shape[1] - 1
    memory_cap = auto_chunk_size(n_s, n_t)
    per_contract = max(1, n_s * n_t)
    chunk = (
        chunk_size if chunk_size > 0 else max(1, min(memory_cap, FIRST_CHUNK_WORK // per_contract))
    )
    totals = np.zeros((K.N_MEASURES, n_s))
    c_mean = np.zeros((K.N_MEASURES, n_c))
    c_se = np.zeros((K.N_MEASURES, n_c))
    tr = np.zeros((n_c, n_s, n_t, K.N_TRACE)) if trace else K.empty_trace()
    n_years = -(-n_t // model.assumptions.steps_per_year)
    flow_totals = np.zeros((K.FLOW_ROWS, n_years))
    show = (
        progress if progress is not None else (n_c * per_contract > 2**28 and sys.stderr.isatty())
    )
    bar = tqdm(total=n_c, disable=not show, desc="contracts", unit="contract", leave=False)
    seconds = 0.0
    lo = 0
    try:  # the bar is cleared even on Ctrl-C, so a message after it starts a new line
        while lo < n_c:
            hi = min(lo + chunk, n_c)
            part = contracts.slice(lo, hi)
            out = np.empty((K.N_MEASURES, hi - lo, n_s))
            part_trace = tr[lo:hi] if trace else tr
            args = _kernel_args(model, part)
            t0 = time.perf_counter()
            part_flows = np.zeros((hi - lo, K.FLOW_ROWS, n_years)) if cashflows else K.empty_flows()
            K.project_block(*args, out, part_trace, part_flows, tile_size)
            weigh_by_policies(part.policies, out, part_flows if cashflows else None)
            K.accumulate_scenario_totals(out, totals)
            if cashflows:
                K.add_contract_flows(part_flows, flow_totals)
            seconds += time.perf_counter() - t0
            if contract_stats:
                c_mean[:, lo:hi], c_se[:, lo:hi] = path_standard_errors(out, model.sample_group)
            bar.update(hi - lo)
            elapsed = time.perf_counter() - t0
            if path_sink is not None:
                path_sink(lo, out)
            if chunk_size <= 0 and elapsed > 0:
                # aim each chunk at the interrupt slice, from the speed seen so far, so that a
                # Ctrl-C (KeyboardInterrupt, raised between chunks) is honoured within it
                chunk = max(1, min(memory_cap, int((hi - lo) / elapsed * INTERRUPT_SLICE_SECONDS)))
            lo = hi
    finally:
        bar.close()
    path_steps = int(contracts.maturity_step.sum()) * n_s
    return BlockRun(
        c_mean,
        c_se,
        totals,
        tr if trace else None,
        seconds,
        path_steps,
        n_threads,
        flow_totals / max(n_s, 1) if cashflows else None,
    )
