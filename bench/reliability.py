"""Reliability table: every fault case of connectors/faults.py (the same cases the tests run), landed on
a fresh DuckDB warehouse each, and the killed runs of tests/kills.py (the same sequence
tests/reliability/test_killed_runs.py runs), summarised per fault class: cases, survived, rows lost, rows
duplicated, time to recover. Writes bench/results/reliability.json; not collected by pytest.

    .venv/bin/python bench/reliability.py [--markdown] [--no-killed]

"Survived": no exception escaped the landing, every good row landed, every bad file or row is the
named reject the case expects (or, for a feed that cannot be read, the error names feed and field),
and landing the same input again added nothing. "Time to recover": wall seconds of the landing that
met the fault, plus the re-run that recovered when the fault made the first one fail (server down).

Killed runs (scale 0.02, the forecast and everything upstream of it): a `lodestar demo` SIGKILLed while ERP's
landing batch is open, while dbt builds a mart, while the forecast is written, one after the other in one
home, then run again. "Survived": every guarantee of the test held (the kill point hit while open, nothing of
it visible, the next run ended the dead run and its batch record). Rows lost and duplicated: row by row
against the uninterrupted run, over the tables that must be whole right after the kill (for the re-run: every
raw and marts table). "Time to recover": seconds from the start of the next run until it had redone what the
kill cut (ERP landed; every dbt step done; the forecast written); for the re-run, its wall time.
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


def run_killed() -> list[dict]:
    """The killed-run class: the sequence of tests/kills.py on a fresh tiny company."""
    sys.path.insert(0, str(ROOT / "tests"))
    import kills

    root = Path(tempfile.mkdtemp(prefix="lodestar-rel-kills-"))
    seq = kills.kill_sequence(kills.tiny_company_at(root / "company" / "demo"), root)
    if problems := kills.baseline_problems(seq):
        raise SystemExit("\n".join(problems))
    checks = {"landing": (kills.landing_kill_problems, kills.landing_expected),
              "dbt": (kills.dbt_kill_problems, kills.dbt_expected),
              "forecast": (kills.forecast_kill_problems, kills.forecast_expected)}
    names = {"landing": "killed_while_erp_landing_batch_open", "dbt": "killed_while_dbt_builds_a_mart",
             "forecast": "killed_while_writing_the_forecast"}
    runs = [*(seq.kills.get(p) for p in kills.KILL_POINTS), seq.rerun]  # each kill is recovered by the next run
    rows = []
    for i, point in enumerate(kills.KILL_POINTS):
        after, recovery = runs[i], runs[i + 1]
        if after is None:
            rows.append(_killed_row(names[point], False, 0, 0, None, [seq.error or "not run"]))
            continue
        problems_of, expected = checks[point]
        problems = problems_of(seq)
        want = expected(seq)
        # Rows the forecast kill left in the forecast tables would be rows of the killed write: duplicated.
        extra = kills.FORECAST_TABLES if point == "forecast" else ()
        got = {n: after.state.tables[n] for n in [*want, *extra] if n in after.state.tables}
        lost, duplicated = kills.row_balance(got, want)
        recover = None if recovery is None else {
            "landing": recovery.run.done_at(kills.LANDING_STEP), "dbt": recovery.run.dbt_done_at(),
            "forecast": recovery.run.done_at(kills.FORECAST_STEP)}[point]
        rows.append(_killed_row(names[point], not problems and recover is not None, lost, duplicated, recover,
                                problems + ([] if recover is not None else ["the next run did not redo it"])))
    rerun_problems = kills.rerun_problems(seq)
    lost, duplicated = ((0, 0) if seq.rerun is None else
                        kills.row_balance(seq.rerun.state.tables, seq.baseline.state.tables))
    rows.append(_killed_row("rerun_after_the_three_kills", not rerun_problems, lost, duplicated,
                            None if seq.rerun is None else seq.rerun.run.seconds, rerun_problems))
    print(f"uninterrupted run {seq.baseline.run.seconds:.1f}s; "
          + ", ".join(f"{a.name} {a.run.seconds:.1f}s" for a in runs if a is not None), flush=True)
    return rows


def _killed_row(case: str, survived: bool, lost: int, duplicated: int, recover_s: float | None,
                problems: list[str]) -> dict:
    print(f"{'ok  ' if survived else 'FAIL'} {'killed run':18} {case} "
          f"({'-' if recover_s is None else f'{recover_s:.2f}s'})", flush=True)
    return {"case": case, "fault_class": "killed run", "survived": survived, "rows_lost": lost,
            "rows_duplicated": duplicated, "recover_s": None if recover_s is None else round(recover_s, 3),
            "problems": [p[:2000] for p in problems]}


def by_class(rows: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["fault_class"]].append(r)
    out = []
    for name, g in groups.items():
        times = [r["recover_s"] for r in g if r["recover_s"] is not None] or [float("nan")]
        out.append({"fault_class": name, "cases": len(g), "survived": sum(r["survived"] for r in g),
                    "rows_lost": sum(r["rows_lost"] for r in g), "rows_duplicated": sum(r["rows_duplicated"] for r in g),
                    "recover_s_median": round(statistics.median(times), 2), "recover_s_max": round(max(times), 2)})
    return out


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
    ap.add_argument("--no-killed", action="store_true", help="leave out the killed runs (about 5-15 minutes)")
    args = ap.parse_args(argv)
    rows = run_all() + ([] if args.no_killed else run_killed())
    table = by_class(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"machine": "2 shared cores", "load_average": os.getloadavg(), "classes": table, "cases": rows}
    (RESULTS / "reliability.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        print(markdown(table))
    return 0 if all(r["survived"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
