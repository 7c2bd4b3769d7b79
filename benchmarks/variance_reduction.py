"""Scenarios (and wall time) each variance reduction needs for a target standard error.

Usage::

    python benchmarks/variance_reduction.py [--config configs/example.toml --target 0.005
                                             --pilot 1024 --output benchmarks/results/variance_reduction.json]

For the example block (by default only its contracts without a spouse, to keep the runs
short; ``--spouses`` keeps them all) and each method (plain Monte Carlo, antithetic pairs,
the control variate, randomised QMC, and combinations), the script

1. prices the block with ``--pilot`` scenarios and reads the standard error ``SE(n0)`` of
   PV claims;
2. predicts the scenarios needed for ``SE = target x PV claims`` as
   ``n = n0 (SE(n0) / target SE)**2`` (the Monte Carlo rate ``SE ~ n**-0.5``), rounded up to
   whole sample groups (pairs, scrambles; with QMC a power of 2 of points a scramble) and
   at least ``--min-scenarios``;
3. verifies by pricing at that size with a fresh seed. When the verification misses the
   target (the standard error is itself an estimate, and randomised QMC does not follow
   ``n**-0.5``), it predicts again from the verification run (with a 5 % margin, at least
   one sample group more; with RQMC it doubles the points of each scramble) and retries,
   up to ``--rounds`` times.

The wall time is that of the verifying ``sim.valuation.price`` call (scenario generation,
control, kernels; no break-even search), best of ``--repeats``. Everything, with every
trial, goes to the JSON file; the script prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

# run from a source tree: this checkout's package, whatever the current folder
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sim
from sim.config import load_config
from sim.engine.layout import Assumptions
from sim.inforce import load_inforce
from sim.valuation import price

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "configs" / "example.toml"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "variance_reduction.json"

#: method -> run settings (``--set`` syntax) on top of the config.
METHODS: dict[str, list[str]] = {
    "plain": ["run.antithetic=false", "run.qmc=false", "run.control_variate=false"],
    "antithetic": ["run.antithetic=true", "run.qmc=false", "run.control_variate=false"],
    "control_variate": ["run.antithetic=false", "run.qmc=false", "run.control_variate=true"],
    "rqmc": ["run.antithetic=false", "run.qmc=true", "run.control_variate=false"],
    "antithetic+control_variate": [
        "run.antithetic=true",
        "run.qmc=false",
        "run.control_variate=true",
    ],
    "rqmc+control_variate": ["run.antithetic=false", "run.qmc=true", "run.control_variate=true"],
}


def _unit(config, settings: list[str]) -> int:
    """Scenarios per sample group of a method: scrambles, pairs or 1."""
    if "run.qmc=true" in settings:
        return config.run.qmc_scrambles
    return 2 if "run.antithetic=true" in settings else 1


def _round_up(n: float, unit: int, floor: int, qmc: bool = False) -> int:
    """Whole sample groups, at least ``floor``; with QMC a power of 2 of points a scramble
    (Sobol points are balanced at powers of 2)."""
    groups = math.ceil(max(n, floor, 1.0) / unit)
    if qmc:
        groups = 2 ** math.ceil(math.log2(groups))
    return unit * groups


def _price(config_path, overrides, inforce, repeats=1):
    config = load_config(config_path, overrides)
    best, result = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = price(config, inforce)
        best = min(best, time.perf_counter() - t0)
    b = result.block
    return {
        "scenarios": b["scenarios"],
        "pv_claims": b["pv_claims"],
        "pv_claims_se": b["pv_claims_se"],
        "relative_se": b["pv_claims_se"] / abs(b["pv_claims"]),
        "seconds": best,
        "seed": result.run["seed"],
        "correlation": b.get("control_variate_correlation"),
    }


def run_method(name, config_path, base, inforce, args) -> dict:
    sets = base + METHODS[name]
    unit = _unit(
        load_config(config_path, base + ["run.qmc=false", "run.antithetic=false"]), METHODS[name]
    )
    qmc = "run.qmc=true" in METHODS[name]
    pilot_n = _round_up(args.pilot, unit, unit, qmc)
    pilot = _price(
        config_path, sets + [f"run.scenarios={pilot_n}", f"run.seed={args.seed}"], inforce
    )
    target_se = args.target * abs(pilot["pv_claims"])
    predicted = _round_up(
        pilot_n * (pilot["pv_claims_se"] / target_se) ** 2, unit, args.min_scenarios, qmc
    )
    trials, n = [], predicted
    for k in range(args.rounds):
        seed = args.seed + 1 + k
        trial = _price(
            config_path, sets + [f"run.scenarios={n}", f"run.seed={seed}"], inforce, args.repeats
        )
        trial["met"] = trial["relative_se"] <= args.target
        trials.append(trial)
        print(
            f"  {name}: n = {n:,}, SE = {100 * trial['relative_se']:.3f} % of PV claims "
            f"({'met' if trial['met'] else 'missed'}), {trial['seconds']:.2f} s",
            file=sys.stderr,
        )
        if trial["met"]:
            break
        if qmc:  # QMC does not follow n**-0.5: the next power of 2 a scramble
            n = 2 * n
        else:  # predict again from this run (5 % margin), at least one group more
            n = _round_up(1.05 * n * (trial["relative_se"] / args.target) ** 2, unit, n + unit)
    return {
        "method": name,
        "settings": METHODS[name],
        "pilot": pilot,
        "predicted_scenarios": predicted,
        "trials": trials,
        "scenarios": trials[-1]["scenarios"],
        "met": trials[-1]["met"],
        "seconds": trials[-1]["seconds"],
        "relative_se": trials[-1]["relative_se"],
    }


def _machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "sim"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "commit": commit,
        "sim_modified": dirty,
        "sim_path": str(Path(sim.__file__).parent),
    }


def table(results: list[dict], target: float) -> str:
    plain = next((r for r in results if r["method"] == "plain"), None)
    base_var = plain["pilot"]["relative_se"] ** 2 if plain else None
    lines = [
        f"| method | pilot SE, % of PV claims | variance vs plain (same n) | predicted n | "
        f"verified n | SE at n, % | target {100 * target:g} % | wall time (s) | fewer scenarios than plain |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        p = r["pilot"]
        ratio = f"{base_var / p['relative_se'] ** 2:,.1f}x" if base_var else "-"
        fewer = f"{plain['scenarios'] / r['scenarios']:,.1f}x" if plain else "-"
        lines.append(
            f"| {r['method']} | {100 * p['relative_se']:.3f} ({p['scenarios']:,}) | {ratio} | "
            f"{r['predicted_scenarios']:,} | {r['scenarios']:,} | {100 * r['relative_se']:.3f} | "
            f"{'met' if r['met'] else 'NOT met'} | {r['seconds']:.2f} | {fewer} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(DEFAULT_CONFIG))
    ap.add_argument(
        "--set", dest="sets", action="append", default=[], help="key.path=value, repeatable"
    )
    ap.add_argument("--target", type=float, default=0.005, help="SE of PV claims as a share of it")
    ap.add_argument("--pilot", type=int, default=1024, help="pilot scenarios")
    ap.add_argument("--min-scenarios", type=int, default=64, help="smallest verification run")
    ap.add_argument("--rounds", type=int, default=4, help="verification attempts per method")
    ap.add_argument(
        "--repeats", type=int, default=1, help="timings of the verifying run (best kept)"
    )
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--spouses", action="store_true", help="keep contracts with a spouse (slow)")
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset of: " + ", ".join(METHODS),
    )
    ap.add_argument("--output", default=str(DEFAULT_OUTPUT))
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}")
    base = list(args.sets) + [
        "run.breakeven=false",
        f"run.threads={args.threads}",
        "run.progress=false",
    ]
    config = load_config(args.config, base)
    inforce = load_inforce(config, Assumptions.from_config(config).rider)
    all_contracts = len(inforce)
    if not args.spouses and "spouse_age" in inforce:
        inforce = inforce[inforce["spouse_age"].isna()].reset_index(drop=True)
    print(
        f"block: {len(inforce)} of {all_contracts} contracts of {args.config}; target SE "
        f"{100 * args.target:g} % of PV claims",
        file=sys.stderr,
    )
    # warm-up: compile the kernels outside the timings
    _price(
        args.config,
        base + ["run.scenarios=16", "run.antithetic=false", "run.qmc=false"],
        inforce.head(2),
    )
    results = [run_method(m, args.config, base, inforce, args) for m in methods]

    text = table(results, args.target)
    print(text)
    out = {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": str(args.config),
        "overrides": args.sets,
        "contracts": len(inforce),
        "contracts_in_config": all_contracts,
        "spouses": args.spouses,
        "target_relative_se": args.target,
        "pilot_scenarios": args.pilot,
        "seed": args.seed,
        "threads": args.threads,
        "machine": _machine(),
        "note": args.note,
        "results": results,
        "table": text,
    }
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"\nwritten to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
