"""price(): present values with standard errors and the break-even Rider Fee."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .boundary import market_inputs
from .config import Config, ConfigError
from .control_variate import Control, control_estimate, gmab_control
from .engine import kernels as K
from .engine.driver import BlockRun, path_standard_errors, run_block
from .engine.layout import Assumptions, Model, build_model, contract_arrays, horizon_steps
from .inforce import load_inforce
from .market import Scenarios, generate_scenarios, market_basis, slice_scenarios

__all__ = [
    "BlockInputs",
    "Result",
    "block_inputs",
    "breakeven_fee",
    "check_basis",
    "package_version",
    "prepare",
    "price",
]

BREAKEVEN_TOL = 1e-7  # absolute tolerance on the fee rate (0.001 bp)
MAX_FEE = 0.25
SECANT_STEPS = 8  # secant steps of the break-even search before it falls back to Brent


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
    cashflows : DataFrame or None
        Expected block cash flows by projection year (one row per year; columns in
        docs/outputs.md), on the pricing basis; None when the block runner does not book
        them (a Dask cluster).
    """

    block: dict
    contracts: pd.DataFrame
    scenarios: pd.DataFrame
    run: dict
    raw: BlockRun | None = field(default=None, repr=False)
    cashflows: pd.DataFrame | None = None

    def summary(self) -> dict:
        """The summary JSON (docs/outputs.md)."""
        return {"block": dict(self.block), "run": dict(self.run)}


@dataclass(frozen=True)
class BlockInputs:
    """The block before scenarios: the validated inforce, the assumptions, the horizon."""

    inforce: pd.DataFrame
    assumptions: Assumptions
    n_steps: int  # steps to the block's last Rider Maturity Date
    allocation_names: list[str]  # the rows of Model.portfolio_growth


def block_inputs(config: Config, inforce: pd.DataFrame | None = None) -> BlockInputs:
    """Load (or take and validate) the inforce, build the assumptions and find the block's
    horizon.

    Raises
    ------
    ConfigError
        Every problem :func:`sim.validation.check_inputs` finds (the inforce rows, the
        mortality table's coverage, the memory the run needs), before any allocation.
    """
    from .validation import check_inputs

    inforce = check_inputs(config, inforce).inforce
    assumptions = Assumptions.from_config(config)
    names = sorted(set(inforce["allocation"]))
    n_steps = horizon_steps(contract_arrays(inforce, assumptions, names), assumptions)
    return BlockInputs(inforce, assumptions, n_steps, names)


def prepare(config: Config, inforce: pd.DataFrame | None = None) -> Model:
    """Load the inforce, generate scenarios over the block's horizon, lower everything."""
    inputs = block_inputs(config, inforce)
    scenarios = generate_scenarios(market_inputs(config), inputs.n_steps)
    return build_model(config, inputs.inforce, scenarios, inputs.assumptions)


def check_basis(config: Config, basis: str) -> None:
    """Refuse to price on real-world scenarios unless ``run.allow_real_world`` is true.

    Raises
    ------
    ConfigError
        One line naming the model and the override.
    """
    if basis == "real_world" and not config.run.allow_real_world:
        model = config.market.model
        source = (
            f"market.model = '{model}'"
            if model != "file"
            else f"the scenario file {config.market.file}"
        )
        raise ConfigError(
            [
                f"{source} gives real-world scenarios; prices need risk-neutral ones "
                "(set run.allow_real_world = true to price on them anyway)"
            ]
        )


def _block_stat(x: np.ndarray, group: int) -> tuple[float, float]:
    mean, se = path_standard_errors(x, group)
    return float(mean), float(se)


def breakeven_fee(
    model: Model,
    threads: int = 0,
    chunk_size: int = 0,
    control: Control | None = None,
    block_runner: Callable[..., BlockRun] | None = None,
    known: BlockRun | None = None,
) -> tuple[float, float, int]:
    """The single Rider Fee Percentage at which block PV fees = PV claims.

    A root search over the fee with the same scenarios at every evaluation (a block pass
    each), so the fee's effect on the paths (lower CV, higher claims) is included. The gap
    claims - fees is nearly linear in the fee: secant steps from 0 and the first-order guess
    PV claims / PV fee base at a zero fee reach the root to ``BREAKEVEN_TOL`` in about four
    passes (:func:`_secant_root`); if an iterate leaves (0, MAX_FEE), a bracket widened
    from the guess and scipy's ``brentq`` take over. Every evaluation is kept. The standard
    error is the delta method: SE of (claims - fees) at the root divided by the slope of
    the mean between the two evaluations nearest the root. With a ``control``,
    the mean of claims - fees at each fee is the control-variate estimate (its beta
    refitted at each fee). ``block_runner`` (default :func:`run_block`, same signature)
    projects the block at each fee, e.g. on a Dask cluster (sim.distributed).

    ``known``: a block pass of ``model`` itself, already made (``price``'s base run). When
    every contract is on one fee rate (:meth:`Model.uniform_fee_rate`) it is the search's
    evaluation at that rate, and the secant starts from it and its first-order guess
    instead of from 0: one block pass fewer, and the starting pair is nearer the root
    (``price`` on the example: 4 block passes in all instead of 5). The zero fee is then
    evaluated only if the search needs it (no claims at the known rate, or the fallback).

    Returns
    -------
    fee, fee_se, evaluations
        ``fee`` and ``fee_se`` are None when no fee up to MAX_FEE breaks even;
        ``evaluations`` counts the block passes the search made (not ``known``).
    """
    group = model.sample_group
    runner = block_runner or run_block
    seen: dict[float, tuple[float, float, np.ndarray]] = {}  # fee -> (gap, fee base, paths)

    def stat(x: np.ndarray) -> tuple[float, float]:
        if control is None:
            return _block_stat(x, group)
        est = control_estimate(x, control, group)
        return est.mean, est.se

    passes = 0

    def keep(f: float, r: BlockRun) -> None:
        paths = r.scenario_totals[0] - r.scenario_totals[1]
        seen[f] = (stat(paths)[0], float(r.scenario_totals[4].mean()), paths)

    def evaluate(f: float) -> float:
        nonlocal passes
        f = float(f)
        if f not in seen:
            passes += 1
            keep(
                f,
                runner(
                    model, threads, chunk_size, progress=False, fee_rate=f, contract_stats=False
                ),
            )
        return seen[f][0]

    start = model.uniform_fee_rate() if known is not None else None
    if start is not None and start > 0.0:
        keep(start, known)
        claims_known = float(known.scenario_totals[0].mean())
        if claims_known <= 0.0 and evaluate(0.0) <= 0.0:
            return 0.0, 0.0, passes
    else:
        start = 0.0
        if evaluate(0.0) <= 0.0:
            return 0.0, 0.0, passes
    # first-order guess: the fee that the PV fee base at ``start`` needs to pay its claims
    gap, base = seen[start][0], seen[start][1]
    claims_start = gap + start * base  # gap = claims - fees, fees = fee x fee base
    guess = min(max(claims_start / base, 1e-4), MAX_FEE) if base > 0 else 0.02
    if guess == start:
        guess = start * (1.0 + 1e-3)
    root = _secant_root(evaluate, guess, start)
    if root is None:  # the secant left the plausible range: bracket and bisect (Brent)
        if evaluate(0.0) <= 0.0:
            return 0.0, 0.0, passes
        lo, hi = 0.0, guess
        while evaluate(hi) > 0.0:  # fees lower the CV and raise claims: the root lies above
            if hi >= MAX_FEE:
                return None, None, passes
            lo, hi = hi, min(1.5 * hi, MAX_FEE)
        root = float(brentq(evaluate, lo, hi, xtol=BREAKEVEN_TOL))
    # the slope of the mean gap near the root, from the two evaluations nearest to it that
    # are at least 1e-6 apart (the gap is nearly linear in the fee)
    near = sorted((f for f in seen if f != root), key=lambda f: abs(f - root))
    pair = next(((a, b) for a in near for b in near if abs(a - b) >= 1e-6), None)
    if pair is None:  # too close for a stable slope: widen symmetrically
        h = max(1e-5, 0.01 * root)
        pair = (max(root - h, 0.0), root + h)
    below, above = min(pair), max(pair)
    slope = (evaluate(above) - evaluate(below)) / (above - below)
    evaluate(root)
    _, se_gap = stat(seen[root][2])
    fee_se = se_gap / abs(slope) if slope != 0 else float("nan")
    return root, float(fee_se), passes


def _secant_root(
    evaluate: Callable[[float], float], guess: float, start: float = 0.0
) -> float | None:
    """The break-even fee from ``start`` and ``guess``: a secant step, then inverse
    quadratic interpolation through the last three evaluations (the mean gap, claims -
    fees, is nearly linear in the fee, with a little curvature from the fee's effect on the
    paths, so this reaches :data:`BREAKEVEN_TOL` in one or two block passes fewer than
    secant steps alone). Returns the last evaluated fee once the next step is shorter than
    the tolerance, or None if an iterate leaves (0, MAX_FEE) or it does not settle in
    :data:`SECANT_STEPS`."""
    xs = [start, guess]
    for _ in range(SECANT_STEPS):
        fs = [evaluate(x) for x in xs[-3:]]
        x1, f1 = xs[-1], fs[-1]
        x0, f0 = xs[-2], fs[-2]
        if f1 == f0:
            return None
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)  # secant
        if len(fs) == 3 and len({*fs}) == 3:  # inverse quadratic through the last three
            (xa, xb, xc), (fa, fb, fc) = xs[-3:], fs
            x2 = (
                xa * fb * fc / ((fa - fb) * (fa - fc))
                + xb * fa * fc / ((fb - fa) * (fb - fc))
                + xc * fa * fb / ((fc - fa) * (fc - fb))
            )
        if not 0.0 < x2 < MAX_FEE:
            return None
        if abs(x2 - x1) < BREAKEVEN_TOL:
            return x1
        xs.append(x2)
    return None


def _block_figures(raw: BlockRun, model: Model, control: Control | None) -> dict:
    """Block means and standard errors from the per-scenario totals (CV-adjusted claims and
    net cost when a control is given; the plain figures then keep the suffix ``_mc``)."""
    group = model.sample_group
    tot = raw.scenario_totals
    idx = {name: k for k, name in enumerate(K.MEASURES)}
    block: dict = {}
    for name in (
        "pv_claims",
        "pv_fees",
        "pv_spousal_charge",
        "pv_db_excess",
        "pv_fee_base",
        "pv_withdrawal_charges",
    ):
        block[name], block[name + "_se"] = _block_stat(tot[idx[name]], group)
    claims = tot[idx["pv_claims"]]
    net = claims - tot[idx["pv_fees"]]
    block["net_cost"], block["net_cost_se"] = _block_stat(net, group)
    if control is not None:
        for name, series in (("pv_claims", claims), ("net_cost", net)):
            est = control_estimate(series, control, group)
            block[name + "_mc"], block[name + "_mc_se"] = est.plain_mean, est.plain_se
            block[name] = block[name + "_cv"] = est.mean
            block[name + "_se"] = block[name + "_cv_se"] = est.se
            suffix = "" if name == "pv_claims" else "_net_cost"
            block["control_variate_beta" + suffix] = est.beta
            block["control_variate_correlation" + suffix] = est.correlation
        block["control_variate_mean"] = float(control.values.mean())
        block["control_variate_expectation"] = control.expectation
    fee_base = block["pv_fee_base"]
    if fee_base > 0:
        # a ratio of two means: its SE by the delta method, from the linearised paths
        ratio = block["net_cost"] / fee_base
        block["net_cost_bps"] = 1e4 * ratio
        linear = (net - ratio * tot[idx["pv_fee_base"]]) / fee_base
        se = (
            control_estimate(linear, control, group).se
            if control is not None
            else _block_stat(linear, group)[1]
        )
        block["net_cost_bps_se"] = 1e4 * se
    else:
        block["net_cost_bps"] = block["net_cost_bps_se"] = 0.0
    for name in ("pv_claims", "pv_fees", "net_cost"):
        block[name + "_ci95"] = [
            block[name] - 1.96 * block[name + "_se"],
            block[name] + 1.96 * block[name + "_se"],
        ]
    return block


def _target_reached(block: dict, run) -> bool:
    se = block["pv_claims_se"]
    if run.target_se is not None:
        return se <= run.target_se
    return se <= run.target_relative_se * abs(block["pv_claims"])


def _next_count(n: int, run) -> int:
    """Double ``n`` within ``run.max_scenarios``, keeping whole sample groups."""
    unit = run.qmc_scrambles if run.qmc else 2 if run.antithetic else 1
    cap = (run.max_scenarios // unit) * unit
    return max(n, min(2 * n, cap))


def _pooled(mean_a, se_a, groups_a, mean_b, se_b, groups_b):
    """Mean and SE over the union of two sets of independent group means (exact pooling)."""
    g = groups_a + groups_b
    mean = (groups_a * mean_a + groups_b * mean_b) / g
    ss = (
        (groups_a - 1) * groups_a * se_a**2
        + (groups_b - 1) * groups_b * se_b**2
        + groups_a * groups_b / g * (mean_a - mean_b) ** 2
    )
    return mean, np.sqrt(ss / (g - 1) / g)


def _concat_runs(a: BlockRun, b: BlockRun, n_a: int, n_b: int, group: int) -> BlockRun:
    """One run over the scenarios of ``a`` followed by those of ``b``."""
    mean, se = _pooled(
        a.contract_mean, a.contract_se, n_a // group, b.contract_mean, b.contract_se, n_b // group
    )
    flows = None
    if a.cashflows is not None and b.cashflows is not None:
        flows = (a.cashflows * n_a + b.cashflows * n_b) / (n_a + n_b)
    return BlockRun(
        mean,
        se,
        np.concatenate([a.scenario_totals, b.scenario_totals], axis=1),
        None,
        a.seconds + b.seconds,
        a.path_steps + b.path_steps,
        a.threads,
        flows,
    )


def cashflow_frame(flows: np.ndarray | None) -> pd.DataFrame | None:
    """The expected cash flows of a run (``BlockRun.cashflows``, (FLOW_ROWS, n_years)) as a
    frame: ``year`` 1..n, each flow, ``inforce_year_end``, each flow's discounted twin
    ``<flow>_pv`` (the layout :mod:`sim.risk.cashflows` checks)."""
    if flows is None:
        return None
    names = [f.name.lower() for f in K.Flow]
    frame = pd.DataFrame({"year": np.arange(1, flows.shape[1] + 1)})
    for k, name in enumerate(names):
        frame[name] = flows[k]
    frame["inforce_year_end"] = flows[2 * K.N_FLOWS]
    for k, name in enumerate(names):
        frame[name + "_pv"] = flows[K.N_FLOWS + k]
    return frame


def _allocation_names(config: Config, inforce: pd.DataFrame | None) -> list[str]:
    if inforce is None:
        inforce = load_inforce(config, Assumptions.from_config(config).rider)
    return sorted(set(inforce["allocation"]))


def price(
    config: Config,
    inforce: pd.DataFrame | None = None,
    model: Model | None = None,
    scenarios: Scenarios | None = None,
    block_runner: Callable[..., BlockRun] | None = None,
    path_sink: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Result:
    """Price the block of the config: PVs, standard errors, net cost, break-even fee.

    Parameters
    ----------
    config : Config
    inforce : DataFrame, optional
        Model points (raw, as read from a file, or validated); they are validated like the
        CLI's inforce file. Default: the config's ``[inforce]``. With ``model`` and the
        control variate, the inforce the model was built from (its allocation names).
    model : Model, optional
        An already lowered block to run as it is (``run.target_se`` is then refused).
    scenarios : Scenarios, optional
        The scenarios ``model`` was built from: their basis is checked, and the control
        variate reads their index paths. Default: generated again from the config.
    block_runner : callable, optional
        Projects a lowered block; same signature and result as
        :func:`sim.engine.driver.run_block` (the default). ``sim.distributed`` passes one
        that runs contract chunks on a Dask cluster; the figures are the same bit for bit.
    path_sink : callable, optional
        Given every contract's value of every measure in every scenario of the pricing run
        (not the break-even search's), chunk by chunk in contract order:
        ``path_sink(contract_id, paths)`` with ``contract_id`` ndarray(int64, (n,)) and
        ``paths`` ndarray(float64, (N_MEASURES, n, n_scen)) (times ``policies``), valid
        during the call. ``sim.outputs.PathsWriter`` writes them to ``paths.parquet``. Not
        with a standard error target (its scenarios come in rounds).

    Raises
    ------
    ConfigError
        Every problem of the inputs, one line each, as ``abrsim validate`` prints them (an
        invalid inforce frame, a mortality table that does not cover the block, more memory
        than available); real-world scenarios without ``run.allow_real_world``; an
        unusable scenario file.
    """
    t_start = time.perf_counter()
    run = config.run
    market = market_inputs(config)
    run_block_ = block_runner or run_block
    if path_sink is not None and run.targeted:
        raise ConfigError(
            [
                "--paths: run.target_se / run.target_relative_se add scenarios in rounds; "
                "per-path output needs a fixed number of scenarios (run.scenarios)"
            ]
        )
    inputs = None
    if model is None:
        inputs = block_inputs(config, inforce)
        scenarios = generate_scenarios(market, inputs.n_steps)
        basis = scenarios.basis
        check_basis(config, basis)
        model = build_model(config, inputs.inforce, scenarios, inputs.assumptions)
    else:
        if run.targeted:
            raise ValueError(
                "run.target_se / run.target_relative_se add scenarios, so price() must "
                "build the model itself: call it without model="
            )
        basis = scenarios.basis if scenarios is not None else market_basis(market)
        check_basis(config, basis)

    def control_for(model: Model, scenarios: Scenarios | None) -> Control | None:
        if not run.control_variate:
            return None
        if scenarios is None:
            scenarios = generate_scenarios(market, model.discount.shape[1] - 1, model.n_scenarios)
        names = (
            inputs.allocation_names if inputs is not None else _allocation_names(config, inforce)
        )
        if len(names) != model.portfolio_growth.shape[0]:
            raise ValueError(
                "the control variate needs the inforce the model was built from: "
                "pass it as price(config, inforce, model=...)"
            )
        return gmab_control(config, model, scenarios, names)

    sink = {}
    if path_sink is not None:
        ids = model.contracts.contract_id
        sink["path_sink"] = lambda lo, paths: path_sink(ids[lo : lo + paths.shape[1]], paths)
    raw = run_block_(model, run.threads, run.chunk_size, run.progress, cashflows=True, **sink)
    control = control_for(model, scenarios)
    block = _block_figures(raw, model, control)
    counts = [model.n_scenarios]
    if run.targeted:
        # Expected decrements make each scenario's cash flows independent of the others, so
        # only the new scenarios are projected; QMC (its points regroup when a scramble grows)
        # and simulated decrements (hashed by scenario number) run the whole block again.
        by_batch = not run.qmc and run.decrements == "expected"
        n = model.n_scenarios
        while not _target_reached(block, run) and _next_count(n, run) > n:
            n_new = _next_count(n, run)
            scenarios = generate_scenarios(market, inputs.n_steps, n_new)
            if by_batch:
                part = build_model(
                    config, inputs.inforce, slice_scenarios(scenarios, n, n_new), inputs.assumptions
                )
                raw = _concat_runs(
                    raw,
                    run_block_(part, run.threads, run.chunk_size, run.progress, cashflows=True),
                    n,
                    n_new - n,
                    model.sample_group,
                )
                model = build_model(config, inputs.inforce, scenarios, inputs.assumptions)
            else:
                model = build_model(config, inputs.inforce, scenarios, inputs.assumptions)
                raw = run_block_(model, run.threads, run.chunk_size, run.progress, cashflows=True)
            n = n_new
            counts.append(n)
            control = control_for(model, scenarios)
            block = _block_figures(raw, model, control)
        block["target_reached"] = _target_reached(block, run)
    c = model.contracts
    block["benefit_base"] = float((c.benefit_base * c.policies).sum())
    block["contract_value"] = float(((c.variable_value + c.fixed_value) * c.policies).sum())
    block["breakeven_fee"] = block["breakeven_fee_se"] = None
    evaluations = 0
    if run.breakeven:
        fee, fee_se, evaluations = breakeven_fee(
            model, run.threads, run.chunk_size, control, run_block_, known=raw
        )
        block["breakeven_fee"], block["breakeven_fee_se"] = fee, fee_se
    block["contracts"] = len(c)
    block["policies"] = float(c.policies.sum())
    block["scenarios"] = model.n_scenarios

    tot = raw.scenario_totals
    idx = {name: k for k, name in enumerate(K.MEASURES)}
    contracts = pd.DataFrame({"contract_id": c.contract_id})
    for name in K.MEASURES:
        contracts[name] = raw.contract_mean[idx[name]]
        if name != "inforce_at_maturity":
            contracts[name + "_se"] = raw.contract_se[idx[name]]
    contracts["net_cost"] = contracts["pv_claims"] - contracts["pv_fees"]
    scen = pd.DataFrame({"scenario": np.arange(model.n_scenarios)})
    for name in K.MEASURES:
        scen[name] = tot[idx[name]]
    scen["net_cost"] = tot[idx["pv_claims"]] - tot[idx["pv_fees"]]
    if control is not None:
        scen["control_variate"] = control.values
    seconds = time.perf_counter() - t_start
    run_info = {
        "seconds": seconds,
        "kernel_seconds": raw.seconds,
        "contract_scenario_steps": raw.path_steps,
        "contract_scenario_steps_per_second": raw.path_steps / raw.seconds
        if raw.seconds > 0
        else 0.0,
        "seed": run.seed,
        "threads": raw.threads,
        "sample_group": model.sample_group,
        "breakeven_evaluations": evaluations,
        "market_model": config.market.model,
        "basis": basis,
        "shock_method": run.shock_method
        if config.market.model in ("gbm", "hull_white")
        else "pseudo",
        "control_variate": bool(run.control_variate),
        "version": package_version(),
    }
    if run.qmc:
        run_info["qmc_scrambles"] = run.qmc_scrambles
    if run.targeted:
        run_info["scenario_counts"] = counts
        run_info["target_se"] = run.target_se
        run_info["target_relative_se"] = run.target_relative_se
    if config.market.model == "file":
        run_info["scenario_file"] = str(config.resolve(config.market.file))
        run_info["scenario_note"] = (
            f"all {model.n_scenarios} scenarios of the file are used "
            f"(run.scenarios = {run.scenarios} does not apply)"
        )
    return Result(
        block=block,
        contracts=contracts,
        scenarios=scen,
        run=run_info,
        raw=raw,
        cashflows=cashflow_frame(raw.cashflows),
    )
