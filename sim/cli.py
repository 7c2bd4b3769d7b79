"""The ``abrsim`` command line.

Bad input never gives a traceback: each problem is one line on stderr naming the file,
row or key, and the exit status is 2.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from .config import ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Monte Carlo pricing of the Accumulation Benefit Rider.")

EXIT_BAD_INPUT = 2


def _fail(problems: list[str]) -> None:
    for line in problems:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _load(config: Path, overrides: list[str] | None):
    try:
        return load_config(config, overrides)
    except ConfigError as err:
        _fail(err.problems)


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _table(result) -> str:
    b, r = result.block, result.run
    rows = [
        ("PV rider claims", _fmt(b["pv_claims"]), _fmt(b["pv_claims_se"])),
        ("PV rider fees", _fmt(b["pv_fees"]), _fmt(b["pv_fees_se"])),
        ("Net cost (claims - fees)", _fmt(b["net_cost"]), _fmt(b["net_cost_se"])),
        ("Net cost, bp of BB a year", _fmt(b["net_cost_bps"]), _fmt(b["net_cost_bps_se"])),
        ("PV spousal protection charge", _fmt(b["pv_spousal_charge"]), _fmt(b["pv_spousal_charge_se"])),
        ("PV death benefit excess over CV", _fmt(b["pv_db_excess"]), _fmt(b["pv_db_excess_se"])),
    ]
    if b.get("breakeven_fee") is not None:
        rows.append(("Break-even rider fee, %", _fmt(100 * b["breakeven_fee"], 4),
                     _fmt(100 * b["breakeven_fee_se"], 4)))
    elif r.get("breakeven_evaluations"):
        rows.append(("Break-even rider fee, %", "none up to 25 %", ""))
    w = max(len(r[0]) for r in rows)
    lines = [f"{'':<{w}}  {'value':>18}  {'std. error':>14}"]
    lines += [f"{name:<{w}}  {val:>18}  {se:>14}" for name, val, se in rows]
    lines.append("")
    lines.append(f"{b['contracts']} contracts x {b['scenarios']} scenarios; benefit base "
                 f"{_fmt(b['benefit_base'])}; contract value {_fmt(b['contract_value'])}")
    if b.get("pv_claims_mc") is not None:
        lines.append(f"control variate (textbook GMAB): PV claims {_fmt(b['pv_claims_mc'])} "
                     f"+/- {_fmt(b['pv_claims_mc_se'])} without it; beta {b['control_variate_beta']:.4f}, "
                     f"correlation {b['control_variate_correlation']:.4f}")
    if r.get("scenario_counts"):
        reached = "reached" if b.get("target_reached") else "NOT reached (run.max_scenarios)"
        lines.append(f"standard error target {reached}; scenarios run: "
                     f"{' -> '.join(f'{n:,}' for n in r['scenario_counts'])}")
    if r.get("scenario_note"):
        lines.append(f"scenarios from {r['scenario_file']}: {r['scenario_note']}")
    lines.append(f"{r['contract_scenario_steps']:,} contract·scenario·steps in "
                 f"{r['kernel_seconds']:.2f} s of kernel time on {r['threads']} thread(s): "
                 f"{r['contract_scenario_steps_per_second'] / 1e6:,.1f} M/s; total {r['seconds']:.2f} s")
    return "\n".join(lines)


def _write_outputs(result, output: Path) -> None:
    """Write every file into a temporary folder first, then move them into ``output``."""
    with tempfile.TemporaryDirectory(dir=output, prefix=".partial-") as tmp:
        tmp = Path(tmp)
        result.contracts.to_parquet(tmp / "contracts.parquet", index=False)
        result.scenarios.to_parquet(tmp / "scenarios.parquet", index=False)
        (tmp / "summary.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
        if getattr(result, "cashflows", None) is not None:  # expected cash flows by projection year
            result.cashflows.to_parquet(tmp / "cashflows.parquet", index=False)
        for f in tmp.iterdir():
            shutil.move(str(f), output / f.name)


@app.command()
def price(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="override a key: key.path=value"),
    as_json: bool = typer.Option(False, "--json", help="print the summary JSON only"),
    output: Optional[Path] = typer.Option(None, "--output", help="folder for Parquet and JSON results"),
) -> None:
    """Price the rider on the config's block and print PVs with standard errors."""
    from .valuation import price as run_price

    cfg = _load(config, set_)
    if output is not None:
        if output.exists() and not output.is_dir():
            _fail([f"{output}: --output must be a folder, and this is a file"])
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            _fail([f"{output}: cannot create the output folder: {err.strerror}"])
    try:
        result = run_price(cfg)
    except (ConfigError, ValueError) as err:
        _fail(err.problems if isinstance(err, ConfigError) else [str(err).splitlines()[0]])
    if output is not None:
        _write_outputs(result, output)
    if as_json:
        typer.echo(json.dumps(result.summary()))
    else:
        typer.echo(_table(result))
        if output is not None:
            typer.echo(f"results written to {output}/")


def _hedge_table(report) -> str:
    """The one-screen summary of ``abrsim hedge``."""
    b, g = report.block, report.greeks
    net = g[g.measure == "net_cost"]
    lines = [f"Net cost (claims - fees) {_fmt(b['net_cost'])} +/- {_fmt(b['net_cost_se'])}; "
             f"PV claims {_fmt(b['pv_claims'])} +/- {_fmt(b['pv_claims_se'])}; "
             f"PV fees {_fmt(b['pv_fees'])} +/- {_fmt(b['pv_fees_se'])}", "",
             f"{'greek of net cost':<24}  {'value':>16}  {'std. error':>12}  unit"]
    for row in net.itertuples(index=False):
        lines.append(f"{row.greek + ' ' + str(row.factor):<24}  {_fmt(row.value):>16}  {_fmt(row.se):>12}  {row.unit}")
    lines += ["", f"{'tail (real world)':<24}  {'value':>16}  {'std. error':>12}"]
    for row in report.tail.itertuples(index=False):
        lines.append(f"{row.metric:<24}  {_fmt(row.value):>16}  {_fmt(row.se):>12}")
    lines += ["", f"{'hedge position':<24}  {'notional':>16}  {'std. error':>12}  side"]
    for row in report.positions.itertuples(index=False):
        lines.append(f"{row.instrument + ' ' + str(row.factor):<24}  {_fmt(row.notional):>16}  "
                     f"{_fmt(row.notional_se):>12}  {row.side}")
    r = report.run
    lines += ["", f"{r['contracts']} contracts x {r['scenarios']} scenarios; {r['block_passes']} block passes "
              f"({r['real_world_scenarios']:,} real-world scenarios in the last) in {r['seconds']:.1f} s"]
    return "\n".join(lines)


@app.command()
def hedge(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="override a key: key.path=value"),
    output: Optional[Path] = typer.Option(None, "--output", help="folder for the report and its files"),
) -> None:
    """Greeks, shock grid, real-world CTE/VaR and hedge positions; an HTML report."""
    from .risk import build_hedge_report, write_hedge_report

    cfg = _load(config, set_)
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
def validate(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="override a key: key.path=value"),
) -> None:
    """Check the config and its inforce file; print every problem."""
    from .inforce import load_inforce
    from .product.rider import AccumulationBenefitRider

    cfg = _load(config, set_)
    try:
        rider = AccumulationBenefitRider.from_config(cfg)
        frame = load_inforce(cfg, rider)
        from .engine.layout import Assumptions

        Assumptions.from_config(cfg)  # mortality table and other files
    except ConfigError as err:
        _fail(err.problems)
    except ValueError as err:
        _fail([str(err).splitlines()[0]])
    typer.echo(f"{config}: OK ({len(frame)} contracts)")


def _quantile_se(sample, pct: float, delta: float = 0.01) -> float:
    """Standard error of a sample percentile: ``sqrt(p (1 - p) / n) / f(x_p)``, the density
    from a symmetric difference of the sample quantile function over ``2 delta``."""
    import numpy as np

    p = pct / 100.0
    lo, hi = np.percentile(sample, [100 * max(p - delta, 0.0), 100 * min(p + delta, 1.0)])
    width = (min(p + delta, 1.0) - max(p - delta, 0.0))
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
        raise ValueError(f"the scenarios cover {scen.n_steps} steps, less than the 1-year horizon "
                         "of the first criterion")
    se = {}
    for h in sorted({h for h, _ in pct}):
        w = wealth_ratios(scen, h, col)
        se.update({(h, p): _quantile_se(w, p) for (hh, p) in pct if hh == h})
    rows = calibration_table(pct, tolerance={k: tolerance_se * v for k, v in se.items()})
    model = cfg.market.model
    lines = [f"Wealth ratio percentiles of index '{index}' (market.model = '{model}', basis {scen.basis}): "
             f"{scen.n_scenarios:,} scenarios x {scen.n_steps} steps of 1/{scen.steps_per_year} year",
             "against the American Academy of Actuaries' calibration points (C3 Phase II, 2005, Table 1).",
             "Left tail (2.5, 5, 10 %) at or below the point, right tail (90, 95, 97.5 %) at or above"
             + (f"; allowance {tolerance_se:g} x the percentile's standard error." if tolerance_se else
                " (strict)."),
             ""]
    header = f"{'horizon':>7}  {'pct':>5}  {'side':<4}  {'model':>8}  {'std.err':>8}  {'point':>6}  result"
    lines += [header, "-" * len(header)]
    for r in rows:
        side = "<=" if r.percentile in LEFT_TAIL else ">="
        lines.append(f"{str(r.horizon) + ' y':>7}  {r.percentile:>4g}%  {side:<4}  {r.model:>8.4f}  "
                     f"{se[(r.horizon, r.percentile)]:>8.4f}  {r.criterion:>6.2f}  "
                     f"{'met' if r.met else 'NOT MET'}")
    n_met = sum(r.met for r in rows)
    lines.append(f"{n_met} of {len(rows)} points met")
    if scen.basis != "real_world":
        lines.append("note: the criteria apply to real-world equity models; these scenarios are "
                     f"{scen.basis}")
    return "\n".join(lines)


@app.command()
def scenarios(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="override a key: key.path=value"),
    output: Optional[Path] = typer.Option(None, "--output", help=".csv or .parquet scenario file to write"),
    years: Optional[float] = typer.Option(None, "--years", min=0.0, help="horizon in years "
                                          "(default: the block's last Rider Maturity Date)"),
    calibration: bool = typer.Option(False, "--calibration", help="print the wealth ratio "
                                     "percentiles against the Academy's calibration points"),
    index: Optional[str] = typer.Option(None, "--index", help="index to calibrate (default: the first)"),
    tolerance_se: float = typer.Option(0.0, "--tolerance-se", min=0.0, help="calibration allowance "
                                       "in standard errors of each percentile (default 0: strict)"),
) -> None:
    """Write the config's scenarios to a file, or check them against the calibration points."""
    import math

    from .market import generate_scenarios, read_market_file
    from .market.files import SUFFIXES, write_scenarios

    if output is None and not calibration:
        _fail(["give --output FILE (.csv or .parquet), --calibration, or both"])
    if output is not None and output.suffix.lower() not in SUFFIXES:
        _fail([f"{output}: the output must end in .csv or .parquet"])
    if years is not None and years <= 0:
        _fail([f"--years {years:g}: must be positive"])
    cfg = _load(config, set_)
    spy = cfg.run.steps_per_year
    try:
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
            cal = read_market_file(cfg) if cfg.market.model == "file" else generate_scenarios(cfg, steps)
            text = _calibration_text(cfg, cal, index, tolerance_se)
        if output is not None:
            scen = generate_scenarios(cfg, n_steps)
            try:
                output.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                _fail([f"{output}: cannot create its folder: {err.strerror}"])
            write_scenarios(scen, output)
    except (ConfigError, ValueError) as err:
        _fail(err.problems if isinstance(err, ConfigError) else [str(err).splitlines()[0]])
    if calibration:
        typer.echo(text)
    if output is not None:
        typer.echo(f"wrote {scen.n_scenarios:,} scenarios x {scen.n_steps} steps "
                   f"({scen.n_steps / spy:g} years, {scen.basis}) to {output}")


@app.command()
def inforce(
    contracts: int = typer.Option(..., "--contracts", min=1, help="number of contracts"),
    seed: int = typer.Option(0, "--seed", min=0, help="random seed"),
    output: Path = typer.Option(..., "--output", help=".csv or .parquet file to write"),
    config: Optional[Path] = typer.Option(None, "--config", help="take allocation models and options from this config"),
) -> None:
    """Write a synthetic portfolio of model points."""
    from .inforce import synthetic_inforce

    cfg = _load(config, None) if config is not None else None
    if output.suffix.lower() not in (".csv", ".parquet"):
        _fail([f"{output}: the output must end in .csv or .parquet"])
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _fail([f"{output}: cannot create its folder: {err.strerror}"])
    frame = synthetic_inforce(contracts, seed, cfg)
    tmp = output.with_name(f".{output.name}.partial")
    if output.suffix.lower() == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(output)
    typer.echo(f"wrote {len(frame)} contracts to {output}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
