"""price(): present values with standard errors and the break-even Rider Fee."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .config import Config
from .engine import kernels as K
from .engine.driver import BlockRun, path_standard_errors, run_block
from .engine.layout import Assumptions, Model, build_model, horizon_steps, contract_arrays
from .inforce import load_inforce
from .market import generate_scenarios

__all__ = ["Result", "price", "prepare", "breakeven_fee", "package_version"]

BREAKEVEN_TOL = 1e-7  # absolute tolerance on the fee rate (0.001 bp)
MAX_FEE = 0.25


def package_version() -> str:
    try:
        return version("sim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


@dataclass
class Result:
    """Outcome of :func:`price`.

    Attributes
    ----------
    block : dict
        Block figures (keys of the summary JSON and more), each with ``_se`` where random.
    contracts : DataFrame
        One row per contract: present values and their standard errors.
    scenarios : DataFrame
        One row per scenario: block totals.
    run : dict
        Seconds, throughput, seed, threads, version.
    """

    block: dict
    contracts: pd.DataFrame
    scenarios: pd.DataFrame
    run: dict
    raw: BlockRun | None = field(default=None, repr=False)

    def summary(self) -> dict:
        """The summary JSON of DESIGN.md (plus extra keys)."""
        return {"block": dict(self.block), "run": dict(self.run)}


def prepare(config: Config, inforce: pd.DataFrame | None = None) -> Model:
    """Load the inforce, generate scenarios over the block's horizon, lower everything."""
    assumptions = Assumptions.from_config(config)
    if inforce is None:
        inforce = load_inforce(config, assumptions.rider)
    names = sorted(set(inforce["allocation"]))
    n_steps = horizon_steps(contract_arrays(inforce, assumptions, names), assumptions)
    scenarios = generate_scenarios(config, n_steps)
    return build_model(config, inforce, scenarios, assumptions)


def _block_stat(x: np.ndarray, group: int) -> tuple[float, float]:
    mean, se = path_standard_errors(x, group)
    return float(mean), float(se)


def breakeven_fee(model: Model, threads: int = 0, chunk_size: int = 0) -> tuple[float, float, int]:
    """The single Rider Fee Percentage at which block PV fees = PV claims.

    A root search (scipy ``brentq``) over the fee with the same scenarios at every
    evaluation, so the fee's effect on the paths (lower CV, higher claims) is included.
    The standard error is the delta method: SE of (claims - fees) at the root divided by the
    slope of the mean, from a central difference.

    Returns
    -------
    fee, fee_se, evaluations
        ``fee`` and ``fee_se`` are None when no fee up to MAX_FEE breaks even.
    """
    calls = 0

    def totals(f: float) -> np.ndarray:
        nonlocal calls
        calls += 1
        r = run_block(model, threads, chunk_size, progress=False, fee_rate=f, contract_stats=False)
        return r.scenario_totals[0] - r.scenario_totals[1]

    def gap(f: float) -> float:
        return float(totals(f).mean())

    lo, g_lo = 0.0, gap(0.0)
    if g_lo <= 0.0:
        return 0.0, 0.0, calls
    hi = 0.02
    while gap(hi) > 0.0:
        if hi >= MAX_FEE:
            return None, None, calls
        lo, hi = hi, min(2.0 * hi, MAX_FEE)
    root = brentq(gap, lo, hi, xtol=BREAKEVEN_TOL)
    h = max(1e-5, 0.01 * root)
    slope = (gap(root + h) - gap(max(root - h, 0.0))) / (root + h - max(root - h, 0.0))
    _, se_gap = _block_stat(totals(root), model.sample_group)
    fee_se = se_gap / abs(slope) if slope != 0 else float("nan")
    return float(root), float(fee_se), calls


def price(config: Config, inforce: pd.DataFrame | None = None, model: Model | None = None) -> Result:
    """Price the block of the config: PVs, standard errors, net cost, break-even fee."""
    t_start = time.perf_counter()
    model = model or prepare(config, inforce)
    run = config.run
    raw = run_block(model, run.threads, run.chunk_size, run.progress)
    anti = model.sample_group
    tot = raw.scenario_totals
    idx = {name: k for k, name in enumerate(K.MEASURES)}
    block: dict = {}
    for name in ("pv_claims", "pv_fees", "pv_spousal_charge", "pv_db_excess", "pv_fee_base",
                 "pv_withdrawal_charges"):
        block[name], block[name + "_se"] = _block_stat(tot[idx[name]], anti)
    net = tot[idx["pv_claims"]] - tot[idx["pv_fees"]]
    block["net_cost"], block["net_cost_se"] = _block_stat(net, anti)
    fee_base = block["pv_fee_base"]
    if fee_base > 0:
        # a ratio of two means: its SE by the delta method, from the linearised paths
        ratio = block["net_cost"] / fee_base
        block["net_cost_bps"] = 1e4 * ratio
        linear = (net - ratio * tot[idx["pv_fee_base"]]) / fee_base
        block["net_cost_bps_se"] = 1e4 * _block_stat(linear, anti)[1]
    else:
        block["net_cost_bps"] = block["net_cost_bps_se"] = 0.0
    for name in ("pv_claims", "pv_fees", "net_cost"):
        block[name + "_ci95"] = [block[name] - 1.96 * block[name + "_se"],
                                 block[name] + 1.96 * block[name + "_se"]]
    c = model.contracts
    block["benefit_base"] = float(c.benefit_base.sum())
    block["contract_value"] = float((c.variable_value + c.fixed_value).sum())
    block["breakeven_fee"] = block["breakeven_fee_se"] = None
    evaluations = 0
    if run.breakeven:
        fee, fee_se, evaluations = breakeven_fee(model, run.threads, run.chunk_size)
        block["breakeven_fee"], block["breakeven_fee_se"] = fee, fee_se
    block["contracts"] = len(c)
    block["scenarios"] = model.n_scenarios

    contracts = pd.DataFrame({"contract_id": c.contract_id})
    for name in K.MEASURES:
        contracts[name] = raw.contract_mean[idx[name]]
        if name != "persistency_at_maturity":
            contracts[name + "_se"] = raw.contract_se[idx[name]]
    contracts["net_cost"] = contracts["pv_claims"] - contracts["pv_fees"]
    scen = pd.DataFrame({"scenario": np.arange(model.n_scenarios)})
    for name in K.MEASURES:
        scen[name] = tot[idx[name]]
    scen["net_cost"] = net
    seconds = time.perf_counter() - t_start
    run_info = {
        "seconds": seconds,
        "kernel_seconds": raw.seconds,
        "contract_scenario_steps": raw.path_steps,
        "contract_scenario_steps_per_second": raw.path_steps / raw.seconds if raw.seconds > 0 else 0.0,
        "seed": run.seed,
        "threads": raw.threads,
        "sample_group": anti,
        "breakeven_evaluations": evaluations,
        "version": package_version(),
    }
    return Result(block=block, contracts=contracts, scenarios=scen, run=run_info, raw=raw)
