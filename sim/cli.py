"""The ``abrsim`` command line.

Bad input never gives a traceback: each problem is one line on stderr naming the file,
row or key, and the exit status is 2. Ctrl-C prints one line and exits with 130, leaving
nothing half-written. Every heavy import (the engine, scipy, pandas) happens inside the
command that needs it, so ``abrsim --help`` and ``abrsim --version`` start quickly.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Optional

import typer

# rich_markup_mode=None: plain help, where a flag (--json, --force) shows no value
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Monte Carlo pricing of the Accumulation Benefit Rider.",
)

EXIT_BAD_INPUT = 2
_SET_HELP = "override a config key (repeatable)"
EXIT_INTERRUPTED = 130
# A numpy scalar's repr, e.g. np.float64(-0.01): never shown to a user.
_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|bool|str)_?\d*\(([^()]*)\)")


def _clean(line: str) -> str:
    """One message line as the user sees it: numpy scalar reprs become their values."""
    return _NUMPY_REPR.sub(lambda m: m.group(1).strip("'\""), str(line)).replace("\n", " ")


def _fail(problems: list[str]) -> None:
    for line in problems:
        typer.echo(f"error: {_clean(line)}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _bad_input(err: Exception) -> list[str]:
    """The lines of a ConfigError, or the first line of another ValueError."""
    problems = getattr(err, "problems", None)
    if problems:
        return list(problems)
    return [str(err).splitlines()[0] if str(err) else type(err).__name__]


def _load(config: Path, overrides: list[str] | None):
    from .config import ConfigError, load_config

    try:
        return load_config(config, overrides)
    except ConfigError as err:
        _fail(err.problems)


def _interruptible(message: str = "interrupted: nothing written"):
    """Turn Ctrl-C (KeyboardInterrupt) inside a command into one line on stderr and exit
    status 130; the command's own ``with`` blocks have already removed partial files."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except KeyboardInterrupt:
                typer.echo(message, err=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None

        return wrapper

    return decorate


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"abrsim (sim) {version('sim')}")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            typer.echo("abrsim (sim) unknown version: the package is not installed")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_version_callback,
        help="print the package version and exit",
    ),
) -> None:
    """Monte Carlo pricing of the Accumulation Benefit Rider."""


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _table(result) -> str:
    b, r = result.block, result.run
    rows = [
        ("PV rider claims", _fmt(b["pv_claims"]), _fmt(b["pv_claims_se"])),
        ("PV rider fees", _fmt(b["pv_fees"]), _fmt(b["pv_fees_se"])),
        ("Net cost (claims - fees)", _fmt(b["net_cost"]), _fmt(b["net_cost_se"])),
        ("Net cost, bp of BB a year", _fmt(b["net_cost_bps"]), _fmt(b["net_cost_bps_se"])),
        (
            "PV spousal protection charge",
            _fmt(b["pv_spousal_charge"]),
            _fmt(b["pv_spousal_charge_se"]),
        ),
        ("PV death benefit excess over CV", _fmt(b["pv_db_excess"]), _fmt(b["pv_db_excess_se"])),
    ]
    if b.get("breakeven_fee") is not None:
        rows.append(
            (
                "Break-even rider fee, %",
                _fmt(100 * b["breakeven_fee"], 4),
                _fmt(100 * b["breakeven_fee_se"], 4),
            )
        )
    elif r.get("breakeven_evaluations"):
        rows.append(("Break-even rider fee, %", "none up to 25 %", ""))
    w = max(len(r[0]) for r in rows)
    lines = [f"{'':<{w}}  {'value':>18}  {'std. error':>14}"]
    lines += [f"{name:<{w}}  {val:>18}  {se:>14}" for name, val, se in rows]
    lines.append("")
    policies = b.get("policies", b["contracts"])
    block_size = (
        f"{b['contracts']} contracts"
        if policies == b["contracts"]
        else f"{b['contracts']} model points standing for {policies:,.10g} policies"
    )
    lines.append(
        f"{block_size} x {b['scenarios']} scenarios; benefit base "
        f"{_fmt(b['benefit_base'])}; contract value {_fmt(b['contract_value'])}"
    )
    if b.get("pv_claims_mc") is not None:
        lines.append(
            f"control variate (textbook GMAB): PV claims {_fmt(b['pv_claims_mc'])} "
            f"+/- {_fmt(b['pv_claims_mc_se'])} without it; beta {b['control_variate_beta']:.4f}, "
            f"correlation {b['control_variate_correlation']:.4f}"
        )
    if r.get("scenario_counts"):
        reached = "reached" if b.get("target_reached") else "NOT reached (run.max_scenarios)"
        lines.append(
            f"standard error target {reached}; scenarios run: "
            f"{' -> '.join(f'{n:,}' for n in r['scenario_counts'])}"
        )
    if r.get("scenario_note"):
        lines.append(f"scenarios from {r['scenario_file']}: {r['scenario_note']}")
    lines.append(
        f"{r['contract_scenario_steps']:,} contract·scenario·steps in "
        f"{r['kernel_seconds']:.2f} s of kernel time on {r['threads']} thread(s): "
        f"{r['contract_scenario_steps_per_second'] / 1e6:,.1f} M/s; total {r['seconds']:.2f} s"
    )
    return "\n".join(lines)


_KEY_FIRST = re.compile(r"^[a-z_]+(?:\.[A-Za-z0-9_]+)+: ")


def _config_problems(config: Path, problems: list[str]) -> list[str]:
    """Name the config file in front of a problem that starts with a config key
    (``mortality.table: ...``), as the config's own problems are named."""
    return [f"{config}: {p}" if _KEY_FIRST.match(p) else p for p in problems]


@app.command()
def price(
    config: Path = typer.Argument(..., metavar="CONFIG", help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY.PATH=VALUE", help=_SET_HELP
    ),
    as_json: bool = typer.Option(False, "--json", help="print the summary JSON only"),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        metavar="DIR",
        help=(
            "folder for the result set: contracts.parquet, scenarios.parquet, "
            "cashflows.parquet, summary.json (and paths.parquet with --paths)"
        ),
    ),
    force: bool = typer.Option(False, "--force", help="replace a previous result set in --output"),
    scheduler: Optional[str] = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://HOST:PORT): project contract chunks on the cluster",
    ),
    paths: bool = typer.Option(
        False,
        "--paths",
        help=(
            "with --output: also write paths.parquet, every contract's measures in every "
            "scenario (contract_id, scenario, one column per measure); refused for blocks "
            "of more than 50,000,000 contract-scenario rows"
        ),
    ),
) -> None:
    """Price the rider on the config's block and print PVs with standard errors."""
    from contextlib import ExitStack
    from datetime import UTC, datetime

    started = datetime.now(UTC)
    if paths and output is None:
        _fail(["--paths needs --output DIR: paths.parquet is written with the result set"])
    cfg = _load(config, set_)
    from .config import ConfigError
    from .outputs import PathsWriter, ResultSetWriter, check_paths_size, provenance

    writer = path_writer = None
    try:
        if output is not None:  # bad input is refused before the folder is locked
            from .validation import check_inputs

            checked = check_inputs(cfg)
            if paths:
                from .engine.lanes import MEASURES

                if cfg.run.targeted:
                    raise ConfigError(
                        [
                            "--paths: run.target_se / run.target_relative_se add scenarios "
                            "in rounds; per-path output needs a fixed number of scenarios "
                            "(run.scenarios)"
                        ]
                    )
                if cfg.market.model != "file":  # a file's scenarios are counted when read
                    check_paths_size(len(checked.inforce), cfg.run.scenarios, len(MEASURES))
        with ExitStack() as stack:
            if output is not None:
                writer = stack.enter_context(ResultSetWriter(output, force))
            if paths:
                path_writer = PathsWriter(
                    writer.stage("paths.parquet"),
                    MEASURES,
                    output,
                    len(checked.inforce),
                    writer.had_previous,
                )
                stack.callback(path_writer.abandon)  # closed before the folder is dropped
            try:
                command = ["abrsim", "price", str(config)]
                command += [f"--set={item}" for item in set_ or []]
                command += ["--json"] if as_json else []
                command += ["--output", str(output)] if output is not None else []
                command += ["--force"] if force else []
                command += ["--scheduler", scheduler] if scheduler else []
                command += ["--paths"] if paths else []
                origin = provenance(cfg, config, set_, started, command)
            except OSError:
                origin = None  # an unreadable inforce file: reported by the run below
            from .valuation import price as run_price

            if scheduler is None:
                result = run_price(cfg, path_sink=path_writer)
            else:  # the same price, bit for bit: contract chunks on the cluster
                from .distributed import cluster_client, price_on_cluster

                with cluster_client(scheduler=scheduler) as client:
                    result = price_on_cluster(cfg, client, path_sink=path_writer)
            if path_writer is not None:
                path_writer.close()
            summary = result.summary()
            summary["provenance"] = origin
            if writer is not None:
                text = json.dumps(summary, indent=2, allow_nan=False) + "\n"
                writer.write(
                    {
                        "contracts.parquet": lambda p: result.contracts.to_parquet(p, index=False),
                        "scenarios.parquet": lambda p: result.scenarios.to_parquet(p, index=False),
                        **(
                            {
                                "cashflows.parquet": lambda p: result.cashflows.to_parquet(
                                    p, index=False
                                )
                            }
                            if result.cashflows is not None
                            else {}
                        ),
                        "summary.json": lambda p: p.write_text(text, encoding="utf-8"),
                    }
                )
    except KeyboardInterrupt:
        if writer is not None and writer.swapped:
            typer.echo(f"interrupted after the results were written to {output}", err=True)
        elif writer is not None and writer.had_previous:
            typer.echo(
                f"interrupted: nothing written ({output} keeps the previous results)", err=True
            )
        else:
            typer.echo("interrupted: nothing written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ConfigError, ValueError) as err:
        _fail(_config_problems(config, _bad_input(err)))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(_table(result))
        if output is not None:
            typer.echo(f"results written to {output}/")


def _hedge_table(report) -> str:
    """The one-screen summary of ``abrsim hedge``."""
    b, g = report.block, report.greeks
    net = g[g.measure == "net_cost"]
    lines = [
        f"Net cost (claims - fees) {_fmt(b['net_cost'])} +/- {_fmt(b['net_cost_se'])}; "
        f"PV claims {_fmt(b['pv_claims'])} +/- {_fmt(b['pv_claims_se'])}; "
        f"PV fees {_fmt(b['pv_fees'])} +/- {_fmt(b['pv_fees_se'])}",
        "",
        f"{'greek of net cost':<24}  {'value':>16}  {'std. error':>12}  unit",
    ]
    for row in net.itertuples(index=False):
        lines.append(
            f"{row.greek + ' ' + str(row.factor):<24}  {_fmt(row.value):>16}  {_fmt(row.se):>12}  {row.unit}"
        )
    lines += ["", f"{'tail (real world)':<24}  {'value':>16}  {'std. error':>12}"]
    for row in report.tail.itertuples(index=False):
        lines.append(f"{row.metric:<24}  {_fmt(row.value):>16}  {_fmt(row.se):>12}")
    lines += ["", f"{'hedge position':<24}  {'notional':>16}  {'std. error':>12}  side"]
    for row in report.positions.itertuples(index=False):
        lines.append(
            f"{row.instrument + ' ' + str(row.factor):<24}  {_fmt(row.notional):>16}  "
            f"{_fmt(row.notional_se):>12}  {row.side}"
        )
    r = report.run
    lines += [
        "",
        f"{r['contracts']} contracts x {r['scenarios']} scenarios; {r['block_passes']} block passes "
        f"({r['real_world_scenarios']:,} real-world scenarios in the last) in {r['seconds']:.1f} s",
    ]
    return "\n".join(lines)


@app.command()
def hedge(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="override a key: key.path=value"),
    output: Optional[Path] = typer.Option(
        None, "--output", help="folder for the report and its files"
    ),
) -> None:
    """Greeks, shock grid, real-world CTE/VaR and hedge positions; an HTML report."""
    from .risk import build_hedge_report, write_hedge_report

    cfg = _load(config, set_)
    from .config import ConfigError

    if output is not None:
        if output.exists() and not output.is_dir():
            _fail([f"{output}: --output must be a folder, and this is a file"])
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            _fail([f"{output}: cannot create the output folder: {err.strerror}"])
    progress = cfg.run.progress if cfg.run.progress is not None else sys.stderr.isatty()
    try:
        report = build_hedge_report(cfg, progress=progress)
    except (ConfigError, ValueError) as err:
        _fail(err.problems if isinstance(err, ConfigError) else [str(err).splitlines()[0]])
    if output is not None:
        write_hedge_report(report, output)
    typer.echo(_hedge_table(report))
    if output is not None:
        typer.echo(f"report written to {output}/report.html")


@app.command()
@_interruptible()
def validate(
    config: Path = typer.Argument(..., metavar="CONFIG", help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY.PATH=VALUE", help=_SET_HELP
    ),
) -> None:
    """Check the config, its inforce file, its tables and a run's memory; print every problem."""
    cfg = _load(config, set_)
    from .validation import check_inputs

    try:
        checked = check_inputs(cfg)
    except ValueError as err:  # ConfigError included
        _fail(_config_problems(config, _bad_input(err)))
    typer.echo(f"{config}: OK ({len(checked.inforce)} contracts)")


def _quantile_se(sample, pct: float, delta: float = 0.01) -> float:
    """Standard error of a sample percentile: ``sqrt(p (1 - p) / n) / f(x_p)``, the density
    from a symmetric difference of the sample quantile function over ``2 delta``."""
    import numpy as np

    p = pct / 100.0
    lo, hi = np.percentile(sample, [100 * max(p - delta, 0.0), 100 * min(p + delta, 1.0)])
    width = min(p + delta, 1.0) - max(p - delta, 0.0)
    return float(np.sqrt(p * (1 - p) / sample.size) * (hi - lo) / width) if hi > lo else 0.0


def _calibration_text(cfg, scen, index: str | None, tolerance_se: float) -> str:
    from .market.calibration import (
        LEFT_TAIL,
        calibration_table,
        wealth_ratio_percentiles,
        wealth_ratios,
    )

    names = list(scen.index_names)
    if index is None:
        index = names[0]
    if index not in names:
        raise ValueError(f"--index {index}: not an index of the scenarios ({', '.join(names)})")
    col = names.index(index)
    pct = wealth_ratio_percentiles(scen, index=col)
    if not pct:
        raise ValueError(
            f"the scenarios cover {scen.n_steps} steps, less than the 1-year horizon "
            "of the first criterion"
        )
    se = {}
    for h in sorted({h for h, _ in pct}):
        w = wealth_ratios(scen, h, col)
        se.update({(h, p): _quantile_se(w, p) for (hh, p) in pct if hh == h})
    rows = calibration_table(pct, tolerance={k: tolerance_se * v for k, v in se.items()})
    model = cfg.market.model
    lines = [
        f"Wealth ratio percentiles of index '{index}' (market.model = '{model}', basis {scen.basis}): "
        f"{scen.n_scenarios:,} scenarios x {scen.n_steps} steps of 1/{scen.steps_per_year} year",
        "against the American Academy of Actuaries' calibration points (C3 Phase II, 2005, Table 1).",
        "Left tail (2.5, 5, 10 %) at or below the point, right tail (90, 95, 97.5 %) at or above"
        + (
            f"; allowance {tolerance_se:g} x the percentile's standard error."
            if tolerance_se
            else " (strict)."
        ),
        "",
    ]
    header = f"{'horizon':>7}  {'pct':>5}  {'side':<4}  {'model':>8}  {'std.err':>8}  {'point':>6}  result"
    lines += [header, "-" * len(header)]
    for r in rows:
        side = "<=" if r.percentile in LEFT_TAIL else ">="
        lines.append(
            f"{str(r.horizon) + ' y':>7}  {r.percentile:>4g}%  {side:<4}  {r.model:>8.4f}  "
            f"{se[(r.horizon, r.percentile)]:>8.4f}  {r.criterion:>6.2f}  "
            f"{'met' if r.met else 'NOT MET'}"
        )
    n_met = sum(r.met for r in rows)
    lines.append(f"{n_met} of {len(rows)} points met")
    if scen.basis != "real_world":
        lines.append(
            "note: the criteria apply to real-world equity models; these scenarios are "
            f"{scen.basis}"
        )
    return "\n".join(lines)


@app.command()
@_interruptible()
def scenarios(
    config: Path = typer.Argument(..., metavar="CONFIG", help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY.PATH=VALUE", help=_SET_HELP
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", metavar="FILE", help=".csv or .parquet scenario file to write"
    ),
    years: Optional[float] = typer.Option(
        None,
        "--years",
        min=0.0,
        help="horizon in years (default: the block's last Rider Maturity Date)",
    ),
    calibration: bool = typer.Option(
        False,
        "--calibration",
        help="print the wealth ratio percentiles against the Academy's calibration points",
    ),
    index: Optional[str] = typer.Option(
        None, "--index", help="index to calibrate (default: the first)"
    ),
    tolerance_se: float = typer.Option(
        0.0,
        "--tolerance-se",
        min=0.0,
        help="calibration allowance in standard errors of each percentile (default 0: strict)",
    ),
    force: bool = typer.Option(False, "--force", help="replace an existing --output file"),
) -> None:
    """Write the config's scenarios to a file, or check them against the calibration points."""
    import math

    from .boundary import market_inputs
    from .config import ConfigError
    from .market import generate_scenarios, read_market_file
    from .market.files import SUFFIXES, write_scenarios
    from .outputs import check_output_file, write_file_atomically

    if output is None and not calibration:
        _fail(["give --output FILE (.csv or .parquet), --calibration, or both"])
    if output is not None and output.suffix.lower() not in SUFFIXES:
        _fail([f"{output}: the output must end in .csv or .parquet"])
    if years is not None and years <= 0:
        _fail([f"--years {years:g}: must be positive"])
    cfg = _load(config, set_)
    market = market_inputs(cfg)
    spy = market.steps_per_year
    try:
        if output is not None:
            check_output_file(output, SUFFIXES, force)
        if years is not None:
            n_steps = max(1, math.ceil(years * spy - 1e-9))
        elif output is not None:
            from .valuation import block_inputs

            n_steps = block_inputs(cfg).n_steps
        else:
            n_steps = None
        if calibration:
            # the criteria go to 20 years; a file brings the steps it has
            steps = max(n_steps or 0, 20 * spy)
            cal = (
                read_market_file(market)
                if market.model == "file"
                else generate_scenarios(market, steps)
            )
            text = _calibration_text(cfg, cal, index, tolerance_se)
        if output is not None:
            scen = generate_scenarios(market, n_steps)
            write_file_atomically(output, lambda path: write_scenarios(scen, path))
    except (ConfigError, ValueError) as err:
        _fail(_config_problems(config, _bad_input(err)))
    if calibration:
        typer.echo(text)
    if output is not None:
        typer.echo(
            f"wrote {scen.n_scenarios:,} scenarios x {scen.n_steps} steps "
            f"({scen.n_steps / spy:g} years, {scen.basis}) to {output}"
        )


@app.command()
@_interruptible()
def inforce(
    contracts: int = typer.Option(..., "--contracts", min=1, help="number of contracts"),
    seed: int = typer.Option(0, "--seed", min=0, help="random seed"),
    output: Path = typer.Option(
        ..., "--output", metavar="FILE", help=".csv or .parquet file to write"
    ),
    config: Optional[Path] = typer.Option(
        None,
        "--config",
        metavar="CONFIG",
        help="take allocation models and "
        "options from this config (default: the allocation "
        "models conservative, balanced, growth; options 1-3)",
    ),
    force: bool = typer.Option(False, "--force", help="replace an existing --output file"),
) -> None:
    """Write a synthetic portfolio of model points."""
    from .config import ConfigError
    from .inforce import synthetic_inforce
    from .outputs import check_output_file, write_file_atomically

    cfg = _load(config, None) if config is not None else None
    try:
        check_output_file(output, (".csv", ".parquet"), force)
        frame = synthetic_inforce(contracts, seed, cfg)
        if output.suffix.lower() == ".parquet":
            write_file_atomically(output, lambda path: frame.to_parquet(path, index=False))
        else:
            write_file_atomically(output, lambda path: frame.to_csv(path, index=False))
    except (ConfigError, ValueError) as err:
        _fail(_bad_input(err))
    typer.echo(f"wrote {len(frame)} contracts to {output}")


def _sweep_table(frame, keys) -> str:
    """The summary table of a sweep: axes, net cost in bp and break-even fee in %."""

    def pm(value, se, scale, digits):
        if value != value:  # NaN: no break-even fee
            return "n/a"
        return f"{scale * value:.{digits}f} ± {scale * se:.{digits}f}"

    table = frame[["cell", *keys]].copy()
    table["net cost, bp"] = [
        pm(v, e, 1, 2)
        for v, e in zip(frame["net_cost_bps"], frame["net_cost_bps_se"], strict=False)
    ]
    table["break-even fee, %"] = [
        pm(v, e, 100, 4)
        for v, e in zip(frame["breakeven_fee"], frame["breakeven_fee_se"], strict=False)
    ]
    table["seconds"] = frame["seconds"].map(lambda x: f"{x:.1f}")
    return table.to_string(index=False)


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="TOML config file (its [sweep] section is the grid)"),
    sweep_file: Optional[Path] = typer.Option(
        None, "--sweep", help="TOML file with the [sweep] section"
    ),
    set_: Optional[list[str]] = typer.Option(
        None, "--set", help="override a key of the base config"
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        help="results folder (default: sweep-<config name>); rerun on it to resume",
    ),
    scheduler: Optional[str] = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://HOST:PORT): run the cells on that cluster",
    ),
    workers: Optional[int] = typer.Option(
        None,
        "--workers",
        min=1,
        help="start a local Dask cluster of N worker processes (one thread each)",
    ),
) -> None:
    """Price a grid of cells: axes over config keys and inforce columns (docs/sweeps.md)."""
    from .sweep import parse_sweep, prepare_sweep, read_sweep_file

    if scheduler is not None and workers is not None:
        _fail(["give --scheduler ADDRESS or --workers N, not both"])
    cfg = _load(config, set_)
    from .config import ConfigError

    output = output if output is not None else Path(f"sweep-{config.stem}")
    try:
        if sweep_file is not None:
            definition = parse_sweep(read_sweep_file(sweep_file), source=str(sweep_file))
        elif cfg.sweep is not None:
            definition = parse_sweep(cfg.sweep, source=str(config))
        else:
            _fail([f"{config}: no [sweep] section; give one or --sweep FILE"])
        prepared = prepare_sweep(
            cfg, definition=definition, output=output
        )  # checks, writes nothing
        if scheduler is None and workers is None:
            frame = prepared.run(progress=None)  # a progress bar when stderr is a terminal
        else:
            from .distributed import cluster_client

            with cluster_client(scheduler=scheduler, workers=workers) as client:
                frame = prepared.run(client=client, progress=None)
    except (ConfigError, ValueError) as err:
        _fail(err.problems if isinstance(err, ConfigError) else [str(err).splitlines()[0]])
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: finished cells are saved in {output}/; rerun the same command "
            "to compute the rest",
            err=True,
        )
        raise typer.Exit(130) from None
    typer.echo(_sweep_table(frame, definition.keys))
    typer.echo(f"{len(frame)} cells; results in {output}/sweep.parquet, plots in {output}/")


#: The workloads of ``abrsim bench``, as its help describes them (their sizes and settings
#: are ``sim.bench.WORKLOADS``; the help is built here so that it loads no numba).
BENCH_WORKLOADS = {
    "single-life": "the core figure: 2,000 new-business single-life contracts x 1,000 "
    "scenarios x 120 monthly steps, the example config's full feature set, expected decrements",
    "two-lives": "the same block with the synthetic spouses (60 %) and Spousal Protection, "
    "continuation grid of 12 steps",
    "simulated": "single-life with simulated decrements (run.decrements = simulated)",
    "gan-valdez": "a Gan-Valdez-shaped block: 1,900 contracts (1 % of Gan & Valdez's "
    "190,000; --scale 100 gives them all) of the synthetic in-force mix (ages 45-80, half in "
    "force part-way, rider periods 7-20, 60 % with a spouse) x 1,000 scenarios, each "
    "contract to its own maturity",
}

_BENCH_HELP = (
    "Time the engine against the minimal kernels on standard workloads.\n\n"
    "Prints, for each workload, kernel and thread count, contract·scenario·steps per second "
    "by wall and by CPU time, the ratio to the scalar and the blocked minimal kernels "
    "measured in the same run, and the speed-up and parallel efficiency against 1 thread; "
    "records the machine (CPU, cores, SIMD width, numba threading layer, versions, git "
    "commit, load and other processes' CPU share). Compilation is excluded; each case is "
    "timed --repeats times and the best is kept.\n\n"
    "Workloads (--workload NAME[,NAME...], or all):\n\n\b\n"
    + "\n".join(
        textwrap.fill(f"{name}: {text}", width=78, subsequent_indent="    ")
        for name, text in BENCH_WORKLOADS.items()
    )
)


def _bench_workloads(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if "all" in names:
        return list(BENCH_WORKLOADS)
    unknown = [n for n in names if n not in BENCH_WORKLOADS]
    if unknown or not names:
        _fail(
            [
                f"--workload {text!r}: unknown workload {', '.join(unknown) or '(none given)'}; "
                f"known: {', '.join(BENCH_WORKLOADS)}, all"
            ]
        )
    return list(dict.fromkeys(names))


def _bench_number(option: str, text: str, kind: type, must: str):
    """``text`` as a ``kind`` (int or float) that is finite and at least 1 (int) or
    positive (float); else one line naming ``option``."""
    import math

    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        _fail([f"{option} {text}: must be {must}"])
    return value


def _bench_threads(text: str | None, most: int) -> list[int]:
    if text is None:
        return sorted({1, most})
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or any(v < 1 or v > most for v in values):
        _fail(
            [
                f"--threads {text}: give whole numbers of threads from 1 to {most} (numba's "
                f"threads on this machine), separated by commas, e.g. 1,{most}"
            ]
        )
    return sorted(set(values))


@app.command(help=_BENCH_HELP)
@_interruptible()
def bench(
    workload: str = typer.Option(
        "single-life",
        "--workload",
        metavar="NAME[,NAME...]",
        help="workloads to run, or all (listed above)",
    ),
    threads: Optional[str] = typer.Option(
        None, "--threads", metavar="1,2,4,...", help="numba thread counts (default: 1 and all)"
    ),
    json_file: Optional[Path] = typer.Option(
        None,
        "--json",
        metavar="FILE",
        help="also write everything, with the machine record, to FILE (.json)",
    ),
    scale: str = typer.Option(
        "1", "--scale", metavar="F", help="multiply the contracts of every workload by F"
    ),
    repeats: str = typer.Option(
        "3", "--repeats", metavar="N", help="timings of each case; the best is kept"
    ),
    config: Optional[Path] = typer.Option(
        None,
        "--config",
        metavar="CONFIG",
        help="config the workloads start from (default: configs/example.toml of the "
        "source checkout; give a copy when sim is installed from a wheel)",
    ),
) -> None:
    names = _bench_workloads(workload)
    factor = _bench_number("--scale", scale, float, "a positive number (1 = the standard sizes)")
    n_repeats = _bench_number("--repeats", repeats, int, "a whole number of at least 1")
    from ._numba import max_threads

    threads_list = _bench_threads(threads, max_threads())
    from .config import ConfigError
    from .outputs import check_output_file, write_file_atomically

    try:
        if json_file is not None:
            check_output_file(json_file, (".json",), force=True)
    except ConfigError as err:
        _fail(err.problems)
    from . import bench as B

    config = config if config is not None else B.EXAMPLE_CONFIG
    if not config.is_file():
        _fail([f"{config}: no such config file; give --config CONFIG (configs/example.toml)"])
    try:
        report = B.run_bench(names, threads_list, factor, n_repeats, config)
    except (ConfigError, ValueError) as err:
        _fail(_config_problems(config, _bad_input(err)))
    except MemoryError:
        _fail([f"--scale {scale}: the workloads do not fit in this machine's memory"])
    for w in report["workloads"]:
        w["description"] = BENCH_WORKLOADS[w["name"]]
    report["command"] = [
        "abrsim",
        "bench",
        f"--workload={','.join(names)}",
        f"--threads={','.join(map(str, threads_list))}",
        f"--scale={factor:g}",
        f"--repeats={n_repeats}",
        *([f"--json={json_file}"] if json_file is not None else []),
        *([f"--config={config}"] if config != B.EXAMPLE_CONFIG else []),
    ]
    typer.echo(B.format_report(report))
    if json_file is not None:
        text = json.dumps(report, indent=2) + "\n"
        try:
            write_file_atomically(json_file, lambda p: p.write_text(text, encoding="utf-8"))
        except ConfigError as err:
            _fail(err.problems)
        typer.echo(f"wrote {json_file}")


def main() -> None:
    """The ``abrsim`` console script."""
    try:
        app()
    except KeyboardInterrupt:  # outside a command (e.g. while importing): still one line
        print("interrupted: nothing written", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
