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
