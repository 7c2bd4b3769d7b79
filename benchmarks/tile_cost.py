"""The engine's cost split into a fixed cost per tile and step and a cost per lane.

The kernels project a contract's scenarios in tiles of up to ``TILE`` lanes with the time
loop outside (``sim/engine/kernels.py``). A step of a tile costs a fixed part (the calls
of the step's functions, numba's reference counting of the records they take, loop set-up)
plus a part per lane (the arithmetic of the lane loops). Timing the same block with
different tile sizes (``run_block(tile_size=...)``, which never changes the results)
separates the two by a least-squares fit of

    CPU seconds / (tile-steps) = fixed + per_lane x lanes a tile

The fixed part is what blocks with few scenarios a contract pay most (a tile is never
wider than the scenario count).

Usage::

    python benchmarks/tile_cost.py                        # 500 x 1,000 x 120, single life
    python benchmarks/tile_cost.py --contracts 200 --tiles 64,128,256,512,1000 --repeats 3

Single thread, CPU time (``time.process_time``), the best of ``--repeats`` a tile size;
compilation is excluded by a warm-up run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim._numba import set_threads
from sim.bench import EXAMPLE_CONFIG, benchmark_config, build_workload, new_business_inforce
from sim.engine.driver import run_block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=500)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--tiles", default="128,256,512,1000", help="lanes a tile, comma-separated")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG)
    args = parser.parse_args(argv)
    tiles = [int(x) for x in args.tiles.split(",")]
    if any(t < 1 for t in tiles) or args.contracts < 1 or args.scenarios < max(tiles):
        parser.error("tiles must be >= 1 and at most --scenarios; --contracts >= 1")
    if not 7 <= args.years <= 20:
        parser.error("--years is the rider period: a whole number of years in 7-20")

    config = benchmark_config(args.config, args.scenarios, [])
    inforce = new_business_inforce(args.contracts, 1, config, args.years, "single")
    work = build_workload(config, inforce, args.years)
    set_threads(1)
    run_block(work.head(2).model, threads=1, progress=False, contract_stats=False)  # compile
    steps = args.years * config.run.steps_per_year
    rows = []
    for tile in tiles:
        best = np.inf
        for _ in range(args.repeats):
            c0 = time.process_time()
            r = run_block(
                work.model, threads=1, progress=False, contract_stats=False, tile_size=tile
            )
            best = min(best, time.process_time() - c0)
        n_tiles = args.contracts * -(-args.scenarios // tile)
        lanes = args.scenarios / -(-args.scenarios // tile)  # mean lanes a tile
        rows.append((tile, lanes, best, best / (n_tiles * steps), r.path_steps / best / 1e6))
    lanes = np.array([r[1] for r in rows])
    per_tile_step = np.array([r[3] for r in rows])
    per_lane, fixed = np.polyfit(lanes, per_tile_step, 1)
    print(f"single life, {args.contracts} x {args.scenarios} x {steps}, 1 thread, CPU time")
    print("| lanes a tile | best CPU s | us a tile-step | M contract·scenario·steps / CPU s |")
    print("|---:|---:|---:|---:|")
    for _tile, mean_lanes, best, pts, rate in rows:
        print(f"| {mean_lanes:.0f} | {best:.2f} | {pts * 1e6:.2f} | {rate:.1f} |")
    print(f"fit: fixed {fixed * 1e6:.2f} us a tile-step + {per_lane * 1e9:.2f} ns a lane-step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
