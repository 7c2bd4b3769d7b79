"""Benchmark 5 (issue 9): a 3 x 3 x 2 sweep of the example, serial against a local Dask
cluster, and the per-cell overhead of Dask (and of ``sim.sweep``) against a plain loop.

Usage::

    python benchmarks/sweep_overhead.py --set run.scenarios=100 --output benchmarks/results/sweep.json

Part 1 prices the grid ``market.indices.0.volatility`` x ``market.rate`` x ``ab_factor``
(3 x 3 x 2 = 18 cells, each a full price with the break-even search) twice: one cell after
another in this process (numba threads = ``--serial-threads``, 0 = all cores) and on a
``LocalCluster`` of ``--workers`` processes with one thread each. It checks that both give
the same results bit for bit.

Part 2 measures the overhead per cell on ``--overhead-cells`` tiny cells (the config's
first 4 contracts, 20 scenarios, no break-even search, one numba thread everywhere): a plain
``for`` loop calling ``sim.price``, ``sim.sweep`` in-process with an output folder
(validation, checkpoint files, Parquet, plots), and ``sim.sweep`` on a one-worker,
one-thread ``LocalCluster``. Overhead = (time - loop time) / cells.

Wall time and CPU time are reported: CPU = this process's CPU seconds plus, for Dask, the
workers' (``time.process_time`` on each worker before and after). The machine may be
shared: the load average is recorded before and after each timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import load_config, price  # noqa: E402
from sim.sweep import RESULT_COLUMNS, sweep  # noqa: E402

#: The grid of configs/example_sweep.toml: volatility x rate x AB factor, 3 x 3 x 2.
GRID = tomllib.loads((ROOT / "configs" / "example_sweep.toml").read_text())["sweep"]["axes"]


def _worker_cpu(client) -> float:
    return sum(client.run(time.process_time).values()) if client is not None else 0.0


def _timed(fn, client=None) -> dict:
    """Wall and CPU seconds of ``fn()``; CPU includes the Dask workers of ``client``."""
    load0 = os.getloadavg()[0]
    cpu0, wcpu0, t0 = time.process_time(), _worker_cpu(client), time.perf_counter()
    value = fn()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0 + _worker_cpu(client) - wcpu0
    return {
        "wall": wall,
        "cpu": cpu,
        "load_before": load0,
        "load_after": os.getloadavg()[0],
        "value": value,
    }


def _warm(client, config) -> None:
    """Load the numba cache on every worker (a tiny price), outside the timings."""
    small = config.model_copy(
        update={"run": config.run.model_copy(update={"scenarios": 4, "breakeven": False})}
    )
    inforce = _validated(config, _first_contracts(config, 2))
    workers = list(client.scheduler_info()["workers"])
    client.gather(
        [client.submit(_warm_price, small, inforce, workers=[w], pure=False) for w in workers]
    )


def _warm_price(config, inforce) -> None:
    price(config, inforce)


def _first_contracts(config, n: int) -> pd.DataFrame:
    """The first ``n`` model points of the config's inforce file, unvalidated."""
    from sim.inforce import read_inforce

    return read_inforce(config.resolve(config.inforce.file)).head(n)


def _validated(config, raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` checked and completed with defaults, as ``sim.price`` takes it."""
    from sim.inforce import validate_inforce
    from sim.product.rider import AccumulationBenefitRider

    clean, problems = validate_inforce(raw, config, AccumulationBenefitRider.from_config(config))
    assert not problems, problems
    return clean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "example.toml"))
    ap.add_argument("--set", action="append", default=[], help="override a key (repeatable)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--serial-threads", type=int, default=0, help="numba threads of the serial run")
    ap.add_argument("--overhead-cells", type=int, default=18)
    ap.add_argument("--skip-grid", action="store_true", help="part 2 only")
    ap.add_argument("--output", default=None, help="JSON file for every figure")
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    config = load_config(args.config, args.set)
    report = {
        "config": args.config,
        "set": args.set,
        "grid": GRID,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
    }

    if not args.skip_grid:
        serial_cfg = load_config(args.config, [*args.set, f"run.threads={args.serial_threads}"])
        serial = _timed(lambda: sweep(serial_cfg, GRID))
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            _warm(client, config)
            dask = _timed(lambda: sweep(config, GRID, client=client), client)
        same = serial["value"][["cell", *GRID, *RESULT_COLUMNS]].equals(
            dask["value"][["cell", *GRID, *RESULT_COLUMNS]]
        )
        n = len(serial["value"])
        report["grid_result"] = {
            "cells": n,
            "serial": {k: v for k, v in serial.items() if k != "value"},
            "dask": {k: v for k, v in dask.items() if k != "value"},
            "identical_results": bool(same),
            "cell_seconds_serial": serial["value"]["seconds"].tolist(),
            "cell_seconds_dask": dask["value"]["seconds"].tolist(),
        }
        print(f"## 3 x 3 x 2 sweep ({n} cells), {' '.join(args.set) or 'the example as it is'}\n")
        print("| run | wall s | CPU s | s per cell (wall) | load avg before / after |")
        print("|---|---:|---:|---:|---|")
        for name, r in (
            (f"serial, {args.serial_threads or os.cpu_count()} numba threads", serial),
            (f"Dask LocalCluster, {args.workers} workers x 1 thread", dask),
        ):
            print(
                f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['wall'] / n:.2f} | "
                f"{r['load_before']:.2f} / {r['load_after']:.2f} |"
            )
        print(
            f"\nspeed-up (wall) {serial['wall'] / dask['wall']:.2f}x; results identical bit for bit: {same}\n"
        )

    # part 2: overhead per cell on tiny cells
    tiny = load_config(
        args.config, [*args.set, "run.scenarios=20", "run.breakeven=false", "run.threads=1"]
    )
    inforce = _first_contracts(tiny, 4)
    grid = {"market.rate": [0.02 + 0.001 * k for k in range(args.overhead_cells)]}
    configs = [
        load_config(
            args.config,
            [
                *args.set,
                "run.scenarios=20",
                "run.breakeven=false",
                "run.threads=1",
                f"market.rate={r!r}",
            ],
        )
        for r in grid["market.rate"]
    ]
    clean = _validated(tiny, inforce)
    price(configs[0], clean)  # warm
    loop = _timed(lambda: [price(c, clean).block["pv_claims"] for c in configs])
    bare = _timed(lambda: sweep(tiny, grid, inforce=inforce))
    with tempfile.TemporaryDirectory() as tmp:
        local = _timed(lambda: sweep(tiny, grid, inforce=inforce, output=Path(tmp) / "out"))
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        _warm(client, tiny)
        dask = _timed(lambda: sweep(tiny, grid, inforce=inforce, client=client), client)
    assert (
        list(loop["value"])
        == dask["value"]["pv_claims"].tolist()
        == local["value"]["pv_claims"].tolist()
    )
    n = args.overhead_cells
    report["overhead"] = {
        "cells": n,
        **{
            name: {k: v for k, v in r.items() if k != "value"}
            for name, r in (
                ("loop", loop),
                ("sweep_no_output", bare),
                ("sweep_local", local),
                ("sweep_dask", dask),
            )
        },
    }
    print(
        f"## Overhead per cell ({n} tiny cells: 4 contracts x 20 scenarios, no break-even, 1 thread)\n"
    )
    print("| run | wall s | CPU s | wall ms per cell | overhead ms per cell (wall) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in (
        ("plain loop of sim.price", loop),
        ("sim.sweep in-process, no output folder", bare),
        ("sim.sweep in-process, output folder (cell files, Parquet, plot)", local),
        ("sim.sweep on a 1-worker LocalCluster", dask),
    ):
        print(
            f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {1e3 * r['wall'] / n:.0f} | "
            f"{1e3 * (r['wall'] - loop['wall']) / n:.0f} |"
        )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
