"""dbt benchmark: generate the demo company at a scale, land it, then time `dbt build` on DuckDB and on a
throwaway PostgreSQL cluster (copy of the raw schema + the same build), check both engines give the same row
count in every mart, and score the CRM<->POS reconciliation flags against the generator's recorded
discrepancies. Figures go to bench/results/dbt_build.json under the key ``scale<S>``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/dbt_build.py --scale 1
    OMP_NUM_THREADS=1 .venv/bin/python bench/dbt_build.py --scale 10 --keep /tmp/scale10   # keep the warehouse

The PostgreSQL part needs the server binaries (`scripts/install_system.sh` installs them); without them it is
skipped and says so in the JSON.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PY = sys.executable
sys.path.insert(0, str(ROOT))


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


CPU: dict[str, float] = {}  # CPU seconds (user + sys) of each step's process tree: comparable on a shared box


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd: list[str], env: dict[str, str], label: str) -> float:
    t0, c0 = time.perf_counter(), _cpu_children()
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    CPU[label] = round(_cpu_children() - c0, 1)
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-6000:] + out.stderr[-6000:])
        raise SystemExit(f"{label} failed (exit {out.returncode})")
    print(f"{label}: {dt:.1f} s wall, {CPU[label]:.1f} s CPU", flush=True)
    return dt


def _dbt_cmd(args: list[str], target_path: Path) -> list[str]:
    from orchestration.lib.dbt import dbt_executable

    return [dbt_executable(), *args, "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir",
            str(ROOT / "dbt_project"), "--target-path", str(target_path)]


def _node_counts(run_results: Path) -> dict[str, int]:
    res = json.loads(run_results.read_text())["results"]
    counts: dict[str, int] = {}
    for r in res:
        kind = r["unique_id"].split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1
        if r["status"] not in ("success", "pass"):
            counts[f"{kind}_{r['status']}"] = counts.get(f"{kind}_{r['status']}", 0) + 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--keep", type=Path, help="work dir to keep (default: a temp dir, removed at the end)")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="lodestar-dbtbench-"))
    work.mkdir(parents=True, exist_ok=True)
    home, demo = work / "home", work / "demo"
    env = dict(os.environ, OMP_NUM_THREADS="1", LODESTAR_HOME=str(home), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DO_NOT_TRACK="1", LODESTAR_WAREHOUSE=str(home / "warehouse.duckdb"))
    fig: dict = {"scale": args.scale, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                   "dbt_threads": {"duckdb": 1, "postgres": 2}}}  # as in dbt_project/profiles.yml
    if not (demo / "truth").exists():
        fig["generate_seconds"] = _run([PY, "-m", "lodestar.demo.generator", "--out", str(demo), "--scale",
                                        str(args.scale)], env, "generate")
    fig["land_seconds"] = _run([PY, str(ROOT / "bench" / "landing.py"), "--demo", str(demo), "--home", str(home),
                                "--json", str(work / "landing.json")], env, "land")
    landing = json.loads((work / "landing.json").read_text())
    fig["raw_rows_landed"] = landing["total"]["first"]["rows"]
    fig["duckdb_build_seconds"] = _run(_dbt_cmd(["build"], work / "target_duckdb"), env, "dbt build (duckdb)")
    fig["duckdb_nodes"] = _node_counts(work / "target_duckdb" / "run_results.json")

    import duckdb
    import pandas as pd

    from lodestar.pgcopy import copy_raw_to_postgres
    from lodestar.pgroles import create_roles

    duck = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    marts = [r[0] for r in duck.execute("select table_name from information_schema.tables "
                                        "where table_schema='marts' order by 1").fetchall()]
    duck_counts = {m: duck.execute(f'select count(*) from marts."{m}"').fetchone()[0] for m in marts}
    flagged = duck.execute("select store_id, sku_id, cast(week_start as varchar) from marts.crm_pos_reconciliation "
                           "where is_flagged").fetchall()
    duck.close()
    truth = pd.read_csv(demo / "truth" / "crm_pos_discrepancies.csv", dtype=str)
    want = set(zip(truth.store_id, truth.sku_id, truth.week_start, strict=True))
    got = set(flagged)
    fig["reconciliation"] = {"flagged": len(got), "recorded": len(want),
                             "precision": len(got & want) / len(got) if got else None,
                             "recall": len(got & want) / len(want) if want else None}
    fig["mart_rows_duckdb"] = duck_counts

    pg_bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if args.skip_postgres or not pg_bins:
        fig["postgres"] = "skipped: " + ("--skip-postgres" if args.skip_postgres else "no PostgreSQL binaries")
    else:
        import psycopg2

        data_dir = Path(tempfile.mkdtemp(prefix="lodestar-pgbench-"))
        data_dir.chmod(0o755)
        out = subprocess.run([str(ROOT / "scripts" / "pg_start.sh"), str(data_dir)], capture_output=True, text=True,
                             check=True)
        pg_env = dict(kv.split("=", 1) for kv in out.stdout.strip().removeprefix("export ").split())
        try:
            dsn = (f"host={pg_env['LODESTAR_PG_HOST']} port={pg_env['LODESTAR_PG_PORT']} "
                   f"user={pg_env['LODESTAR_PG_USER']} dbname={pg_env['LODESTAR_PG_DATABASE']}")
            # the warehouse's roles must exist before dbt builds (dbt_project/macros/pg_security.sql)
            create_roles(dsn)
            t0 = time.perf_counter()
            copied = copy_raw_to_postgres(home / "warehouse.duckdb", dsn)
            fig["postgres_copy_seconds"] = time.perf_counter() - t0
            fig["postgres_copy_rows"] = sum(copied.values())
            print(f"copy to postgres: {fig['postgres_copy_seconds']:.1f} s", flush=True)
            fig["postgres_build_seconds"] = _run(_dbt_cmd(["build", "--target", "postgres"], work / "target_pg"),
                                                 {**env, **pg_env}, "dbt build (postgres)")
            fig["postgres_nodes"] = _node_counts(work / "target_pg" / "run_results.json")
            pg = psycopg2.connect(dsn)
            with pg.cursor() as cur:
                pg_counts = {}
                for m in marts:
                    cur.execute(f'select count(*) from marts."{m}"')
                    pg_counts[m] = cur.fetchone()[0]
            pg.close()
            fig["mart_rows_postgres"] = pg_counts
            fig["mart_row_parity"] = {m: duck_counts[m] == pg_counts[m] for m in marts}
            fig["all_marts_equal"] = all(fig["mart_row_parity"].values())
        finally:
            subprocess.run([str(ROOT / "scripts" / "pg_stop.sh"), str(data_dir), "--rm"], capture_output=True)
    fig["cpu_seconds"] = CPU  # the PostgreSQL server's own CPU is not in it (a daemon, not our child)
    fig["load_average_at_end"] = os.getloadavg()
    fig["peak_rss_mb_children"] = _children_peak_mb()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "dbt_build.json"
    allres = json.loads(path.read_text()) if path.exists() else {}
    allres[f"scale{args.scale:g}"] = fig
    path.write_text(json.dumps(allres, indent=1, default=str))
    print(json.dumps({k: v for k, v in fig.items() if not k.startswith("mart_rows")}, indent=1, default=str))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
