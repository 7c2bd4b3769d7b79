"""A million contracts priced in one run: time, throughput and peak memory.

Usage::

    python benchmarks/million.py [--contracts 1000000 --scenarios 100 --threads 0]

The block is ``sim.inforce.synthetic_inforce(n, seed=1, config)`` turned into new business
with rider period 10 (120 monthly steps for every contract, as in ``throughput.py``), priced
with ``configs/example.toml`` at ``--scenarios`` scenarios, without the break-even search
(one block pass), through the Python API ``sim.price``. Reported: the wall and CPU time of
the whole ``price`` call and of its kernels, contract·scenario·steps per second, and the
process's peak resident memory (``ru_maxrss``) after building the inforce and after pricing.
Run it with a smaller ``--contracts`` as well to see that the cost is linear in contracts.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from throughput import new_business_inforce  # noqa: E402

from sim.config import load_config  # noqa: E402
from sim.valuation import price  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contracts", type=int, default=1_000_000)
    p.add_argument("--scenarios", type=int, default=100)
    p.add_argument("--threads", type=int, default=0, help="numba threads; 0 = all")
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "example.toml")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    config = load_config(
        args.config,
        [
            f"run.scenarios={args.scenarios}",
            "run.breakeven=false",
            f"run.threads={args.threads}",
            "run.progress=false",
        ],
    )
    t0 = time.perf_counter()
    inforce = new_business_inforce(args.contracts, 1, config, 10)
    build_s = time.perf_counter() - t0
    rss_inforce = peak_rss_mib()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = price(config, inforce)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    run = result.run
    figures = {
        "contracts": args.contracts,
        "scenarios": args.scenarios,
        "steps": 120,
        "contract_scenario_steps": run["contract_scenario_steps"],
        "threads": run["threads"],
        "inforce_build_seconds": round(build_s, 1),
        "price_wall_seconds": round(wall, 1),
        "price_cpu_seconds": round(cpu, 1),
        "kernel_wall_seconds": round(run["kernel_seconds"], 1),
        "rate_kernel_wall": run["contract_scenario_steps_per_second"],
        "rate_price_cpu": run["contract_scenario_steps"] / cpu,
        "peak_rss_mib_after_inforce": round(rss_inforce),
        "peak_rss_mib": round(peak_rss_mib()),
        "pv_claims": result.block["pv_claims"],
    }
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}" if isinstance(value, float) else f"{key}: {value:,}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
