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

The kernels, the workload builders and the timing are in :mod:`sim.bench`, which
``abrsim bench`` runs on its named standard workloads; this script adds the engine
variants, the lives cases and the markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

from sim._numba import set_threads
from sim.bench import (
    KERNELS,
    Workload,
    benchmark_config,
    best_of,
    build_workload,
    fmt_rate,
    load_average,
    log,
    machine_info,
    new_business_inforce,
    run_engine,
    run_minimal,
    sim_source,
    time_kernels,
)
from sim.engine.driver import auto_chunk_size

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


# --------------------------------------------------------------------------- report


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
