"""Reliability table: every fault case of connectors/faults.py (the same cases the tests run), landed on
a fresh DuckDB warehouse each, summarised per fault class: cases, survived, rows lost, rows
duplicated, time to recover. Writes bench/results/reliability.json; not collected by pytest.

    .venv/bin/python bench/reliability.py [--markdown]

"Survived": no exception escaped the landing, every good row landed, every bad file or row is the
named reject the case expects (or, for a feed that cannot be read, the error names feed and field),
and landing the same input again added nothing. "Time to recover": wall seconds of the landing that
met the fault, plus the re-run that recovered when the fault made the first one fail (server down).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def run_all() -> list[dict]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("LODESTAR_LOADER", "duckdb")
    from connectors.faults import CASES, HTTP_CASES, run_case, run_http_case

    rows = []
    for case in [*CASES, *HTTP_CASES]:
        home = Path(tempfile.mkdtemp(prefix="lodestar-rel-")) / "home"
        os.environ["LODESTAR_HOME"] = str(home)
        runner = run_case if case in CASES else run_http_case
        out = runner(case, home)
        rows.append({"case": out.name, "fault_class": out.fault_class, "survived": out.survived,
                     "rows_lost": out.rows_lost, "rows_duplicated": out.rows_duplicated,
                     "recover_s": round(out.recover_s, 3), "problems": out.problems})
        print(f"{'ok  ' if out.survived else 'FAIL'} {out.fault_class:18} {out.name} ({out.recover_s:.2f}s)",
              flush=True)
    return rows


def by_class(rows: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["fault_class"]].append(r)
    return [{"fault_class": name, "cases": len(g), "survived": sum(r["survived"] for r in g),
             "rows_lost": sum(r["rows_lost"] for r in g), "rows_duplicated": sum(r["rows_duplicated"] for r in g),
             "recover_s_median": round(statistics.median(r["recover_s"] for r in g), 2),
             "recover_s_max": round(max(r["recover_s"] for r in g), 2)} for name, g in groups.items()]


def markdown(table: list[dict]) -> str:
    lines = ["| fault class | cases | survived | rows lost | rows duplicated | time to recover (median / max) |",
             "|---|---|---|---|---|---|"]
    for t in table:
        lines.append(f"| {t['fault_class']} | {t['cases']} | {t['survived']} | {t['rows_lost']} | "
                     f"{t['rows_duplicated']} | {t['recover_s_median']:.2f} s / {t['recover_s_max']:.2f} s |")
    total = {k: sum(t[k] for t in table) for k in ("cases", "survived", "rows_lost", "rows_duplicated")}
    lines.append(f"| **all** | {total['cases']} | {total['survived']} | {total['rows_lost']} | "
                 f"{total['rows_duplicated']} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="also print the README table")
    args = ap.parse_args(argv)
    rows = run_all()
    table = by_class(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"machine": "2 shared cores", "load_average": os.getloadavg(), "classes": table, "cases": rows}
    (RESULTS / "reliability.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        print(markdown(table))
    return 0 if all(r["survived"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
