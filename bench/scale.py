"""Scaling benchmark: the demo company at several scales on the laptop profile (DuckDB warehouse, SQLite Dagster
and MLflow, in-process training), one process per step so each step's cost is its own.

Steps per scale, in a fresh LODESTAR_HOME: generate, land (every source group), dbt build (seeds, staging,
intermediate, marts), train (challenger and champion), forecast (predictions, levels, runs), dbt_forecast (the
dbt models over the forecast), scenario re-forecast (`lodestar scenario`). For each step: wall seconds, CPU
seconds of the step's process tree, peak RSS of that tree (sampled every 0.25 s). For each step across the
scales that finished: the growth exponent k of wall and CPU time in the landed raw rows (least squares of log t on log rows: t ∝ rows^k).

    nice -n 10 .venv/bin/python bench/scale.py --scales 1 10 30     # writes bench/results/scale.json
    .venv/bin/python bench/scale.py --scales 0.05 0.1 --out /tmp/s.json  # a quick smoke run

Results are written after every step, so a run stopped part way keeps what finished; `--deadline HH:MM` (UTC)
stops before starting a scale that cannot begin by then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
LODESTAR = str(Path(sys.executable).with_name("lodestar"))

LAND = " or ".join(f"group:{g}" for g in ("erp", "crm", "pos", "distributor", "complaints", "ecommerce",
                                            "value_tracking"))
DBT_MODEL_GROUPS = " or ".join(f"group:{g}" for g in ("staging", "intermediate", "marts"))
DBT = f"group:seeds or {DBT_MODEL_GROUPS}"
TRAIN = 'key:"forecast/challenger_model" or key:"forecast/champion_model"'
FORECAST = 'key:"raw/forecast_predictions" or key:"raw/forecast_levels" or key:"raw/forecast_runs"'
# The dbt models over the new forecast: a staging model over a raw table that did not exist at its first build is
# the typed empty relation (source_or_empty), so the scenario engine's frame is empty until this rebuild.
DBT_FORECAST = f'key:"raw/forecast_predictions"+ and ({DBT_MODEL_GROUPS})'


def steps(home: Path, scale: float) -> list[tuple[str, list[str]]]:
    company = str(home / "demo" / "lodestar.yaml")
    run = [LODESTAR, "run", "--company", company, "--select"]
    return [
        ("generate", [LODESTAR, "generate", "--scale", str(scale), "--out", str(home / "demo")]),
        ("land", [*run, LAND]),
        ("dbt_build", [*run, DBT]),
        ("train", [*run, TRAIN]),
        ("forecast", [*run, FORECAST]),
        ("dbt_forecast", [*run, DBT_FORECAST]),
        ("scenario", [LODESTAR, "scenario", "--set", "delivery_delay_tolerance=3",
                      "--set", "material_price_sensitivity=1.5"]),
    ]


def measure(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, float | int]:
    """Run ``cmd``; wall, CPU (user+sys of the whole tree, including exited children) and peak tree RSS."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    ps = psutil.Process(proc.pid)
    peak = 0
    cpu_live: dict[int, float] = {}
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu_live[p.pid] = t.user + t.system
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.25)
    wall = time.perf_counter() - t0
    # RUSAGE_CHILDREN counts the step's process and every descendant it reaped; the live samples catch
    # descendants that were never reaped by it (the larger of the two is the better lower bound).
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_reaped = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    cpu = max(cpu_reaped, sum(cpu_live.values()))
    return {"exit": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "peak_rss_mb": round(peak / 2**20)}


def raw_rows(warehouse: Path) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_type = 'BASE TABLE' and table_name not like '\\_%' escape '\\'").fetchall()]
        return int(sum(con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables))
    finally:
        con.close()


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(t) on log(rows); None with fewer than two scales."""
    pts = [(math.log(r), math.log(t)) for r, t in points if r > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return round(sum((x - mx) * (y - my) for x, y in pts) / den, 3) if den else None


def summarise(results: dict) -> None:
    names = [name for name, _ in steps(Path("."), 1.0) if name != "generate"]
    exps: dict[str, dict[str, float | None]] = {}
    for name in names:
        done = [(s["raw_rows"], s["steps"][name]) for s in results["scales"].values()
                if name in s["steps"] and s["steps"][name]["exit"] == 0 and s.get("raw_rows")]
        exps[name] = {"wall": exponent([(r, st["wall_s"]) for r, st in done]),
                      "cpu": exponent([(r, st["cpu_s"]) for r, st in done]),
                      "peak_rss": exponent([(r, st["peak_rss_mb"]) for r, st in done])}
    results["exponents"] = exps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 10, 30])
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    ap.add_argument("--deadline", help="HH:MM UTC: do not start a scale after this time")
    ap.add_argument("--keep", type=Path, help="keep each scale's LODESTAR_HOME under this folder")
    args = ap.parse_args()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="lodestar-scale-"))
    results = {"profile": "laptop (DuckDB, SQLite Dagster and MLflow, in-process training)",
               "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                           "python": platform.python_version(), "load_at_start": os.getloadavg()},
               "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "scales": {}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for scale in args.scales:
        if args.deadline:
            hh, mm = map(int, args.deadline.split(":"))
            now = dt.datetime.now(dt.UTC)
            if (now.hour, now.minute) >= (hh, mm):
                results["stopped"] = f"scale {scale:g} not started: past the deadline {args.deadline} UTC"
                break
        home = scratch / f"scale{scale:g}"
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LODESTAR_HOME": str(home), "LODESTAR_DEMO_DIR": str(home / "demo"),
               "OMP_NUM_THREADS": "1", "DO_NOT_TRACK": "1", "DAGSTER_DISABLE_TELEMETRY": "1",
               "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
        entry: dict = {"steps": {}}
        results["scales"][f"{scale:g}"] = entry
        for name, cmd in steps(home, scale):
            print(f"scale {scale:g}: {name} ...", flush=True)
            fig = measure(cmd, env, home / f"{name}.log")
            entry["steps"][name] = fig
            print(f"scale {scale:g}: {name}: {fig}", flush=True)
            if name == "land" and fig["exit"] == 0:
                entry["raw_rows"] = raw_rows(home / "warehouse.duckdb")
            summarise(results)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
            if fig["exit"] != 0:
                entry["failed"] = f"{name} exited {fig['exit']} (log {home / (name + '.log')})"
                break
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    summarise(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["exponents"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
