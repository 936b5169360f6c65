"""Recall and extrapolation of Rhythmic Sharing on the Thomas reference task, over seeds.

For each seed: fit on ``thomas_kang2025("train")``; for b = 0.18 and b = 0.29 sense 650 fresh steps, select
phases automatically (astroglia.rhythmic.selection) and run the closed loop for 5,000 steps; then scan 32
frozen target phases after sensing b = 0.29 and count limit cycles whose period differs by more than 10 % from
the trained one. Prints a Markdown table (the one in BENCHMARKS.md) and, with --json, the raw records.

Usage: python benchmarks/rhythmic_recall.py [--seeds 0 1 2 3 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import time

from astroglia.rhythmic.experiments import recall_context, scan_context, train_on_task, true_attractor
from astroglia.runs import dumps


def _fmt_std(v: list) -> str:
    return "[" + ", ".join("nan" if x is None else f"{x:+.2f}" for x in v) + "]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--json", default=None, help="write the raw records to this file")
    args = ap.parse_args()
    trained_period = float(true_attractor(0.29)[1].period)
    records = []
    t0 = time.perf_counter()
    for seed in args.seeds:
        tr = train_on_task(seed, evaluate=False)
        rec = {"seed": seed}
        for b in (0.18, 0.29):
            rc = recall_context(tr.model, b)
            s = dict(rc.summary)
            s.pop("candidates")
            rec[str(b)] = s
        sc = scan_context(tr.model, 0.29, trained_period=trained_period)
        rec["scan"] = {k: v for k, v in sc.summary.items() if k != "entries"}
        records.append(rec)
    wall = time.perf_counter() - t0

    print("| seed | b | selected | regime (true) | std error x, y, z | period error |")
    print("|---|---|---|---|---|---|")
    ok = {"0.18": 0, "0.29": 0}
    want = {"0.18": "irregular", "0.29": "limit_cycle"}
    for r in records:
        for b in ("0.18", "0.29"):
            s = r[b]
            sel = (
                "evolving phases"
                if s["selected_target"] is None
                else f"target {s['selected_target']:+.3f} rad"
            )
            ok[b] += s["regime"] == want[b] and not s["diverged"]
            pe = "–" if s["period_error"] is None else f"{s['period_error']:+.3f}"
            reg = f"{s['regime']} ({s['true_regime']})"
            print(f"| {r['seed']} | {b} | {sel} | {reg} | {_fmt_std(s['std_error'])} | {pe} |")
    print()
    print("| seed | scan regimes (32 targets) | unseen limit-cycle periods (steps) |")
    print("|---|---|---|")
    n_unseen = 0
    for r in records:
        sc = r["scan"]
        n_unseen += sc["n_unseen_limit_cycles"] > 0
        print(f"| {r['seed']} | {sc['regime_counts']} | {sc['unseen_periods']} |")
    n = len(records)
    print()
    print(f"right regime: b = 0.18 {ok['0.18']}/{n}, b = 0.29 {ok['0.29']}/{n}; ")
    print(
        f"seeds with an unseen limit cycle (period off by > 10 % from {trained_period:.2f}): {n_unseen}/{n}"
    )
    print(f"wall time {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(dumps(records, indent=1))


if __name__ == "__main__":
    main()
