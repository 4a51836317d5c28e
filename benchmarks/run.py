"""``make bench``: run every ``benchmarks/bench_*.py`` and print one table of ratios.

``python benchmarks/run.py [NAME ...] [--quick]`` runs only the named modules (``runtime``,
``images`` ...). Rows are also written as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks.common import Row  # noqa: E402


def discover() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in ROOT.glob("bench_*.py"))


def print_table(rows: list[Row]) -> None:
    headers = ["benchmark", "metric", "baseline", "baseline value", "ours", "unit", "ratio", "goal", "met"]
    table = [
        [
            r.benchmark,
            r.metric,
            r.baseline,
            f"{r.baseline_value:,.3f}",
            f"{r.ours_value:,.3f}",
            r.unit,
            f"{r.ratio:.2f}x",
            r.goal,
            "yes" if r.met else "NO",
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *table, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in table:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    for r in rows:
        if r.note:
            print(f"  note [{r.benchmark} / {r.metric}]: {r.note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(discover())})")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.names or discover():
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(quick=args.quick))
    print_table(rows)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
