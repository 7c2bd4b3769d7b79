"""Effect of spousal continuation (Option D) and of the Spousal Protection rider on the
example block: PV claims and the break-even Rider Fee, four ways.

    python scripts/spousal_effect.py [--config configs/example.toml] [--scenarios 200]

Prices ``configs/example.toml`` (every setting as in the file but ``run.scenarios`` when
``--scenarios`` is given) with

* spousal continuation on / off: ``behaviour.spousal_continuation`` = 1 (the example's
  setting) or 0 (every spouse beneficiary takes the death proceeds; the rider ends);
* Spousal Protection as in the inforce file / none (``spousal_protection`` false for every
  contract, so no charge and no co-annuitant continuation),

and prints a markdown table of PV claims and the break-even fee with their standard
errors. All four runs use the same scenarios (same seed and count).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.config import load_config  # noqa: E402
from sim.inforce import load_inforce  # noqa: E402
from sim.valuation import price  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "example.toml"))
    parser.add_argument(
        "--scenarios", type=int, default=None, help="override run.scenarios (default: the config's)"
    )
    args = parser.parse_args(argv)

    base_overrides = [] if args.scenarios is None else [f"run.scenarios={args.scenarios}"]
    rows = []
    started = time.perf_counter()
    for continuation in (1.0, 0.0):
        overrides = base_overrides + [f"behaviour.spousal_continuation={continuation}"]
        config = load_config(args.config, overrides)
        inforce = load_inforce(config)
        n_sp = int(inforce["spousal_protection"].sum())
        for protection in (True, False):
            frame = inforce.copy()
            if not protection:
                frame["spousal_protection"] = False
            t0 = time.perf_counter()
            result = price(config, inforce=frame)
            b = result.block
            rows.append(
                {
                    "continuation": "on (1.0)" if continuation else "off (0.0)",
                    "protection": f"as in the file ({n_sp} contracts)" if protection else "none",
                    "pv_claims": b["pv_claims"],
                    "pv_claims_se": b["pv_claims_se"],
                    "breakeven_fee": b["breakeven_fee"],
                    "breakeven_fee_se": b["breakeven_fee_se"],
                    "pv_db_excess": b.get("pv_db_excess"),
                    "continuation_weight": (
                        float(result.contracts["continuation_weight"].sum())
                        if "continuation_weight" in result.contracts
                        else None
                    ),
                    "pv_spousal_charge": b.get("pv_spousal_charge"),
                    "seconds": time.perf_counter() - t0,
                }
            )
            print(
                f"done: continuation {continuation}, protection {protection}: "
                f"{rows[-1]['seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        scenarios = config.run.scenarios

    def bps(x):
        return "n/a" if x is None else f"{1e4 * x:.1f}"

    command = "python scripts/spousal_effect.py" + (
        "" if args.scenarios is None else f" --scenarios {args.scenarios}"
    )
    print(
        f"Run {dt.date.today().isoformat()}, {scenarios} scenarios (antithetic as in the config), "
        f"`{command}`, {time.perf_counter() - started:.0f} s in all.\n"
    )
    print(
        "| spousal continuation | Spousal Protection | PV claims | SE | break-even fee (bp a year) "
        "| SE (bp) | PV DB excess | PV Spousal Protection charge | continued weight (contracts) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        db = "n/a" if r["pv_db_excess"] is None else f"{r['pv_db_excess']:,.0f}"
        sp = "n/a" if r["pv_spousal_charge"] is None else f"{r['pv_spousal_charge']:,.0f}"
        cw = "n/a" if r["continuation_weight"] is None else f"{r['continuation_weight']:.2f}"
        print(
            f"| {r['continuation']} | {r['protection']} | {r['pv_claims']:,.0f} | {r['pv_claims_se']:,.0f} "
            f"| {bps(r['breakeven_fee'])} | {bps(r['breakeven_fee_se'])} | {db} | {sp} | {cw} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
