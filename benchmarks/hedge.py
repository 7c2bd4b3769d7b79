"""Time of ``abrsim hedge`` on a config, its block passes, and (``--crn``) the greeks'
standard errors with common random numbers against independent scenarios.

Usage::

    python benchmarks/hedge.py [--config configs/example.toml] [--set key.path=value ...]
                               [--crn] [--output benchmarks/results/hedge.json]

Prints a markdown table: block passes, wall time of the whole report (greeks, grid,
real-world tail), seconds per pass; with ``--crn`` one row per greek of net cost with the
SE of both methods and their ratio (the independent run costs the greeks' passes again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from sim import load_config
from sim.risk import build_hedge_report, greeks
from sim.risk.report import passes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", default="configs/example.toml")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--crn", action="store_true", help="compare CRN and independent-scenario SEs")
    ap.add_argument("--output", default="benchmarks/results/hedge.json")
    args = ap.parse_args(argv)
    config = load_config(args.config, args.overrides)
    t0 = time.perf_counter()
    report = build_hedge_report(config, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - t0
    out = {
        "config": args.config,
        "overrides": args.overrides,
        "block_passes": report.run["block_passes"],
        "planned_passes": passes(config),
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "scenarios": report.run["scenarios"],
        "contracts": report.run["contracts"],
    }
    print("| config | contracts x scenarios | block passes | wall time, s | s per pass |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.config} {' '.join(args.overrides)} | {out['contracts']} x {out['scenarios']} | "
        f"{out['block_passes']} | {seconds:.1f} | {seconds / out['block_passes']:.2f} |"
    )
    if args.crn:
        crn = report.greeks
        independent = greeks(config, common_random_numbers=False, progress=sys.stderr.isatty())
        merged = crn.merge(
            independent, on=["greek", "factor", "measure"], suffixes=("_crn", "_independent")
        )
        merged = merged[merged.measure == "net_cost"]
        print("\n| greek of net cost | value (CRN) | SE, CRN | SE, independent | ratio |")
        print("|---|---|---|---|---|")
        for r in merged.itertuples(index=False):
            ratio = r.se_independent / r.se_crn if r.se_crn > 0 else float("inf")
            print(
                f"| {r.greek} {r.factor} | {r.value_crn:,.2f} | {r.se_crn:,.2f} | {r.se_independent:,.2f} | "
                f"{ratio:,.0f} |"
            )
        out["crn"] = merged.to_dict(orient="records")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
