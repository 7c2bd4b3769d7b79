"""The hedging report: every revaluation, the files of ``abrsim hedge`` and a self-contained
HTML page with matplotlib figures embedded as PNG (no network needed to open it)."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..config import Config
from ..engine.layout import build_model
from ..valuation import block_inputs, package_version, price
from .bumps import base_inforce, mean_and_se, revalue
from .cashflows import cashflows_of, plot_cashflows, reconcile_with_block
from .greeks import GREEK_UNITS, passes_of_greeks
from .greeks import _frame as greeks_frame
from .greeks import _plan as greeks_plan
from .hedge import hedge_positions, residual_risks
from .shocks import grid_axes, grid_frame, grid_plan, shocked_indices
from .tail import real_world_scenarios, tail_table

__all__ = [
    "FIGURES",
    "OUTPUT_FILES",
    "SECTIONS",
    "HedgeReport",
    "build_hedge_report",
    "config_hash",
    "hedge_report",
    "write_hedge_report",
]

OUTPUT_FILES = (
    "greeks.parquet",
    "shocks.parquet",
    "cashflows.parquet",
    "tail.json",
    "summary.json",
    "report.html",
)
#: (id, title) of the report's sections, in order.
SECTIONS = (
    ("block-summary", "Block summary"),
    ("greeks", "Greeks"),
    ("shock-grid", "Shock grid"),
    ("pnl-profile", "P&L profile under equity shocks"),
    ("tail", "Real-world distribution of the PV net cost"),
    ("cash-flows", "Expected cash flows by projection year"),
    ("hedge-positions", "Hedge positions"),
    ("run-metadata", "Run metadata"),
)
#: Figure ids; ``fig-cash-flows`` only when the engine provides cash flows by year.
FIGURES = (
    "fig-greeks",
    "fig-key-rates",
    "fig-shock-grid",
    "fig-pnl-profile",
    "fig-tail",
    "fig-cash-flows",
)


def config_hash(config: Config) -> str:
    """SHA-256 of the validated config (every key with its default; ``base_dir`` left out)."""
    data = config.model_dump(mode="json")
    data.pop("base_dir", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class HedgeReport:
    """Everything ``abrsim hedge`` prints and writes.

    Attributes
    ----------
    block : dict
        Base run's block figures (``Result.block``; no break-even search).
    greeks, shocks, positions, residuals, tail : DataFrame
        See :func:`sim.risk.greeks`, :func:`sim.risk.shocks.grid_frame`,
        :func:`sim.risk.hedge.hedge_positions`, :func:`sim.risk.hedge.residual_risks`,
        :func:`sim.risk.tail.tail_table`.
    tail_sample : ndarray(float64, (n_real_world,))
        PV net cost in each real-world scenario.
    tail_basis : dict
    cashflows : DataFrame or None
        ``Result.cashflows`` of the base run, None until the engine provides it.
    run : dict
        Seed, scenarios, version, config hash, block passes, seconds.
    """

    block: dict
    greeks: pd.DataFrame
    shocks: pd.DataFrame
    positions: pd.DataFrame
    residuals: pd.DataFrame
    tail: pd.DataFrame
    tail_sample: np.ndarray
    tail_basis: dict
    cashflows: pd.DataFrame | None
    run: dict
    shocked_indices: list = field(default_factory=list)

    def tail_json(self) -> dict:
        mean, se = mean_and_se(self.tail_sample, 1)
        return {
            **self.tail_basis,
            "mean": mean,
            "mean_se": se,
            "metrics": self.tail.to_dict(orient="records"),
            "se_method": {
                "CTE": "influence function (Manistre and Hancock 2005)",
                "VaR": "asymptotic quantile variance, Hall-Sheather sparsity estimate",
            },
        }

    def summary(self) -> dict:
        return {
            "block": _plain(self.block),
            "greeks": _plain(self.greeks.to_dict(orient="records")),
            "hedge_positions": _plain(self.positions.to_dict(orient="records")),
            "residual_risks": _plain(self.residuals.to_dict(orient="records")),
            "tail": _plain(self.tail_json()),
            "run": _plain(self.run),
        }


def _plain(x):
    """JSON-ready copy (numpy scalars to Python, NaN to None)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _tail_run(config: Config, inforce: pd.DataFrame):
    """PV net cost of the block on the real-world scenarios of ``[hedge.real_world]``."""
    from .bumps import _replace, revaluation_config

    rw_config = _replace(revaluation_config(config), {"run.allow_real_world": True})
    inputs = block_inputs(rw_config, inforce)
    scenarios, basis = real_world_scenarios(rw_config, inputs.n_steps)
    model = build_model(rw_config, inputs.inforce, scenarios, inputs.assumptions)
    result = price(rw_config, inputs.inforce, model=model, scenarios=scenarios)
    sample = result.scenarios["net_cost"].to_numpy(float)
    return sample, basis


def passes(config: Config) -> int:
    """Block passes of the report: greeks, the shock grid (its base cell is the greeks'
    base run) and one real-world pass of ``hedge.real_world.scenarios``."""
    equity, rates, vols = grid_axes(config)
    return passes_of_greeks(config) + len(equity) * len(rates) - 1 + len(vols) + 1


def build_hedge_report(
    config: Config, inforce: pd.DataFrame | None = None, *, progress: bool | None = None
) -> HedgeReport:
    """Run every revaluation of the report (one progress bar across them)."""
    t0 = time.perf_counter()
    if inforce is None:
        inforce = base_inforce(config)
    real_world_scenarios(config, 1)  # a bad [hedge.real_world] fails now, not after every pass
    tasks = greeks_plan(config, inforce, True)
    tasks += grid_plan(config, inforce)
    show = progress if progress is not None else sys.stderr.isatty()
    runs = {}
    with tqdm(total=len(tasks) + 1, disable=not show, desc="hedge", unit="pass") as bar:
        for label, cfg, frame in tasks:
            bar.set_postfix_str(label, refresh=False)
            runs[label] = revalue(label, cfg, frame)
            bar.update()
        bar.set_postfix_str("real world", refresh=False)
        sample, basis = _tail_run(config, inforce)
        bar.update()
    base = runs["base"].result
    table = greeks_frame(config, runs)
    shocks = grid_frame(config, runs)
    rw = config.hedge.real_world
    tail = tail_table(sample, rw.cte_levels, rw.var_levels)
    run = {
        "seed": config.run.seed,
        "scenarios": base.block["scenarios"],
        "contracts": base.block["contracts"],
        "sample_group": runs["base"].sample_group,
        "market_model": config.market.model,
        "basis": base.run.get("basis"),
        "threads": base.run.get("threads"),
        "version": package_version(),
        "config_hash": config_hash(config),
        "block_passes": len(tasks) + 1,
        "real_world_scenarios": int(sample.size),
        "seconds": time.perf_counter() - t0,
        "common_random_numbers": True,
        "hedge": config.hedge.model_dump(mode="json"),
    }
    return HedgeReport(
        block=dict(base.block),
        greeks=table,
        shocks=shocks,
        positions=hedge_positions(config, table),
        residuals=residual_risks(table),
        tail=tail,
        tail_sample=sample,
        tail_basis=basis,
        cashflows=cashflows_of(base),
        run=run,
        shocked_indices=shocked_indices(config),
    )


# ----------------------------------------------------------------------------- figures


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(report: HedgeReport) -> dict[str, str]:
    """The report's figures as base64 PNG by element id.

    Drawn on :class:`matplotlib.figure.Figure` objects (no pyplot, no backend switch), so a
    notebook that writes the report keeps its inline plots.
    """
    from matplotlib.figure import Figure

    def new_figure(figsize, ncols=1):
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(1, ncols)

    figs: dict[str, str] = {}
    g = report.greeks[report.greeks.measure == "net_cost"]

    fig, axes = new_figure((12, 3.4), ncols=3)
    for ax, greek in zip(axes, ("delta", "gamma", "vega"), strict=False):
        part = g[g.greek == greek]
        ax.bar(part.factor, part.value, yerr=2 * part.se, color="#2c7fb8", capsize=4)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(f"{greek} of net cost (±2 SE)", fontsize=9)
        ax.set_ylabel(GREEK_UNITS[greek], fontsize=7)
    figs["fig-greeks"] = _png(fig)

    fig, ax = new_figure((7, 3.2))
    key = g[g.greek == "key_rate_rho"]
    if len(key):
        ax.bar(key.factor, key.value, yerr=2 * key.se, color="#7b3294", capsize=4)
        ax.set_ylabel(GREEK_UNITS["key_rate_rho"], fontsize=7)
    else:
        ax.text(0.5, 0.5, "no rate greeks for a scenario file", ha="center", va="center")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title("key-rate rho of net cost (±2 SE)", fontsize=9)
    figs["fig-key-rates"] = _png(fig)

    grid = report.shocks[report.shocks.kind == "equity_rate"]
    pivot = grid.pivot(index="rate_shock_bp", columns="equity_shock", values="net_cost")
    fig, ax = new_figure((7, 3.6))
    im = ax.imshow(pivot.to_numpy(), cmap="RdYlGn_r", aspect="auto", origin="lower")
    ax.set_xticks(range(pivot.shape[1]), [f"{100 * e:+g}%" for e in pivot.columns])
    ax.set_yticks(range(pivot.shape[0]), [f"{r:+g} bp" for r in pivot.index])
    for (i, j), v in np.ndenumerate(pivot.to_numpy()):
        ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=7)
    ax.set_xlabel(f"equity shock ({', '.join(report.shocked_indices)})")
    ax.set_ylabel("parallel rate shock")
    ax.set_title("net cost (PV claims - PV fees) under shocks", fontsize=9)
    fig.colorbar(im, ax=ax)
    figs["fig-shock-grid"] = _png(fig)

    row = grid[grid.rate_shock_bp == 0.0].sort_values("equity_shock")
    shocks = row.equity_shock.to_numpy()
    unhedged = -row.net_cost_change.to_numpy()  # the insurer's P&L: minus the liability's change
    shocked = report.shocked_indices
    delta_total = g[(g.greek == "delta") & g.factor.isin(shocked)].value.sum()
    hedged = (
        unhedged + 100.0 * delta_total * shocks
    )  # futures on each shocked index, notional 100 x delta
    fig, ax = new_figure((7, 3.4))
    ax.errorbar(
        100 * shocks, unhedged, yerr=2 * row.net_cost_change_se, marker="o", label="unhedged"
    )
    ax.plot(100 * shocks, hedged, marker="s", label="with the delta hedge (index futures)")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel(f"equity shock, % ({', '.join(shocked)})")
    ax.set_ylabel("insurer P&L (currency)")
    ax.set_title("P&L of the rider under instantaneous equity shocks (±2 SE)", fontsize=9)
    ax.legend(fontsize=8)
    figs["fig-pnl-profile"] = _png(fig)

    fig, ax = new_figure((7, 3.4))
    ax.hist(report.tail_sample, bins=60, color="#999999")
    colours = ["#1a9641", "#fdae61", "#d7191c", "#2b83ba", "#5e3c99", "#e66101", "#b2abd2"]
    for (_, t), colour in zip(report.tail.iterrows(), colours * 3, strict=False):
        ax.axvline(
            t.value,
            color=colour,
            linestyle="--" if t.metric.startswith("VaR") else "-",
            label=f"{t.metric} {t.value:,.0f}",
        )
    ax.set_xlabel("PV net cost per real-world scenario")
    ax.set_ylabel("scenarios")
    ax.set_title(
        f"{report.tail_basis['generator'].upper()} on '{report.tail_basis['index']}', "
        f"{report.tail_basis['scenarios']:,} scenarios",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    figs["fig-tail"] = _png(fig)

    if report.cashflows is not None:
        fig, ax = new_figure((9, 4))
        plot_cashflows(report.cashflows, ax)
        ax.set_title("expected cash flows by projection year (pricing basis)", fontsize=9)
        figs["fig-cash-flows"] = _png(fig)
    return figs


# ----------------------------------------------------------------------------- HTML


def _num(x, digits=2):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return ""
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if isinstance(x, (float, np.floating)):
        return f"{x:,.{digits}f}"
    return html.escape(str(x))


def _table(frame: pd.DataFrame, digits=2) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_num(v, digits)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(figs, fig_id, alt):
    return (
        f'<img id="{fig_id}" alt="{html.escape(alt)}" src="data:image/png;base64,{figs[fig_id]}">'
    )


def render_html(report: HedgeReport) -> str:
    """The report page: every section of :data:`SECTIONS`, figures inline."""
    figs = _figures(report)
    b = report.block
    parts = {}
    summary = pd.DataFrame(
        [
            ("PV rider claims", b["pv_claims"], b["pv_claims_se"]),
            ("PV rider fees", b["pv_fees"], b["pv_fees_se"]),
            ("Net cost (claims - fees)", b["net_cost"], b["net_cost_se"]),
            ("Net cost, bp of BB a year", b["net_cost_bps"], b["net_cost_bps_se"]),
            ("PV death benefit excess over CV", b["pv_db_excess"], b["pv_db_excess_se"]),
            ("Benefit base", b["benefit_base"], None),
            ("Contract value", b["contract_value"], None),
        ],
        columns=["figure", "value", "std. error"],
    )
    parts["block-summary"] = (
        f"<p>{b['contracts']:,} contracts x {b['scenarios']:,} risk-neutral scenarios "
        "(the pricing basis). The break-even search is off in the report's runs.</p>"
        + _table(summary)
    )
    wide = report.greeks.pivot_table(
        index=["greek", "factor"], columns="measure", values=["value", "se"], sort=False
    )
    wide.columns = [f"{m} {'SE' if k == 'se' else ''}".strip() for k, m in wide.columns]
    order = [
        c for m in ("net_cost", "pv_claims", "pv_fees", "pv_db_excess") for c in (m, f"{m} SE")
    ]
    wide = wide[order].reset_index()
    parts["greeks"] = (
        "<p>Bump and revalue on the base run's scenarios (common random numbers); each "
        "standard error from the per-scenario differences. Units: delta per +1 % of the "
        "index level, gamma the change of that delta per +1 %, vega per +1 volatility "
        "point, rho per +1 bp of the zero curve (parallel, and key-rate tents). Positive "
        "= the liability grows. See docs/risk.md.</p>"
        + _table(wide)
        + _img(figs, "fig-greeks", "delta, gamma and vega of net cost by index")
        + _img(figs, "fig-key-rates", "key-rate rho of net cost")
    )
    cols = [
        "kind",
        "equity_shock",
        "rate_shock_bp",
        "vol_shock",
        "net_cost",
        "net_cost_se",
        "net_cost_change",
        "net_cost_change_se",
        "pv_claims",
        "pv_fees",
    ]
    parts["shock-grid"] = (
        "<p>Instantaneous relative shocks of the index levels at the valuation date "
        f"({html.escape(', '.join(report.shocked_indices))} together); rate "
        "shocks are parallel shifts of the zero curve; volatility shocks add points to "
        "every index's volatility. Same scenarios as the base run.</p>"
        + _img(figs, "fig-shock-grid", "heatmap of net cost by equity and rate shock")
        + _table(report.shocks[cols])
    )
    parts["pnl-profile"] = (
        "<p>Insurer P&L = minus the change of the net cost, without and with index "
        "futures of notional 100 x delta on each index.</p>"
        + _img(figs, "fig-pnl-profile", "P&L under equity shocks")
    )
    basis = report.tail_basis
    parts["tail"] = (
        f"<p>{basis['scenarios']:,} real-world scenarios: {html.escape(basis['generator'])} on "
        f"index '{html.escape(basis['index'])}' (seed {basis['seed']}); "
        f"discounting: {html.escape(basis['discounting'])}. CTE standard errors by the "
        "influence function, VaR by the quantile's asymptotic variance.</p>"
        + _img(figs, "fig-tail", "distribution of real-world PV net cost with CTE and VaR")
        + _table(report.tail, 4)
    )
    if report.cashflows is not None:
        recon = reconcile_with_block(report.cashflows, b)
        parts["cash-flows"] = (
            "<p>Expected block cash flows (mean over the pricing scenarios, "
            "undiscounted) by projection year; the discounted columns add up to the "
            "block PVs (table below the flows).</p>"
            + _img(figs, "fig-cash-flows", "expected cash flows by projection year")
            + _table(report.cashflows)
            + _table(recon, 10)
        )
    else:
        parts["cash-flows"] = (
            "<p>Not available: this engine version does not report cash flows by "
            "projection year (Result.cashflows).</p>"
        )
    parts["hedge-positions"] = (
        "<p>Index futures notional that neutralises each index's delta and payer "
        "swap notional (annual fixed leg) that neutralises each key-rate rho; "
        "negative = short futures / receive fixed. What they leave:</p>"
        + _table(report.positions)
        + _table(report.residuals)
    )
    meta = pd.DataFrame(
        [(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in report.run.items()],
        columns=["key", "value"],
    )
    parts["run-metadata"] = _table(meta, 3)
    sections = "".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>{parts[sid]}</section>'
        for sid, title in SECTIONS
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}"
        "table{border-collapse:collapse;margin:0.6em 0;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        "img{max-width:100%;display:block;margin:0.5em 0}h2{border-bottom:1px solid #999}"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Rider hedging report'
        f"</title><style>{style}</style></head><body><h1>Accumulation Benefit Rider: risk and hedging "
        f"report</h1>{sections}</body></html>\n"
    )


def write_hedge_report(report: HedgeReport, output_dir) -> list[Path]:
    """Write the report's files into ``output_dir`` (through a temporary folder, so a
    failure leaves nothing half-written). ``cashflows.parquet`` only when the engine
    provides cash flows by year."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    page = render_html(report)
    written = []
    with tempfile.TemporaryDirectory(dir=output, prefix=".partial-") as tmp:
        tmp = Path(tmp)
        report.greeks.to_parquet(tmp / "greeks.parquet", index=False)
        report.shocks.to_parquet(tmp / "shocks.parquet", index=False)
        if report.cashflows is not None:
            report.cashflows.to_parquet(tmp / "cashflows.parquet", index=False)
        (tmp / "tail.json").write_text(json.dumps(_plain(report.tail_json()), indent=2) + "\n")
        (tmp / "summary.json").write_text(json.dumps(report.summary(), indent=2) + "\n")
        (tmp / "report.html").write_text(page, encoding="utf-8")
        for f in sorted(tmp.iterdir()):
            shutil.move(str(f), output / f.name)
            written.append(output / f.name)
    return written


def hedge_report(
    config: Config, output_dir, inforce: pd.DataFrame | None = None, *, progress: bool | None = None
) -> HedgeReport:
    """Run the report and write it to ``output_dir``: ``greeks.parquet``, ``shocks.parquet``,
    ``cashflows.parquet`` (when the engine provides it), ``tail.json``, ``summary.json`` and
    ``report.html``."""
    report = build_hedge_report(config, inforce, progress=progress)
    write_hedge_report(report, output_dir)
    return report
