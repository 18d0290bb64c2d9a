"""Onboarding benchmark: from a CSV export Lodestar has never seen to rows in ``raw.*``, the way a user
does it, with the real CLI in fresh processes; not collected by pytest.

Per file: (1) ``lodestar contract infer`` writes a contract from the file, (2) ``lodestar contract check``
dry-runs the file against it, (3) the user writes a 5-line ``lodestar.yaml`` naming the contract folder
and the drop folder (the only edit; the bench writes exactly those lines), (4) ``lodestar run --company
... --select tag:layer=landing`` lands it. Counted: commands, edits, wall time of each step, rows landed
and rejected. The source and feed names are new ones, so no existing contract is reused.

    .venv/bin/python bench/onboarding.py --scratch /tmp/onboarding --json bench/results/onboarding.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (label, file under the shared data dir, source, feed) — real exports, not made for Lodestar.
CASES = [
    ("online_retail", "online_retail/online_retail_2010-12-01_to_2011-05-31.csv.gz", "giftshop", "invoice_lines"),
    ("superstore", "superstore/superstore_orders_2019-2021.csv", "officeco", "order_lines"),
]


def _cli(args: list[str], env: dict, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lodestar.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=1800)
    return time.perf_counter() - started, proc


def onboard(label: str, sample: Path, source: str, feed: str, scratch: Path) -> dict:
    work = scratch / label
    shutil.rmtree(work, ignore_errors=True)
    exports = work / "exports"  # where the user's system drops its files: any path
    (work / "contracts").mkdir(parents=True)
    exports.mkdir()
    shutil.copy(sample, exports / sample.name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LODESTAR_HOME": str(work / "home"),
           "DAGSTER_HOME": str(work / "dagster"), "COLUMNS": "200"}
    env.pop("LODESTAR_COMPANY", None)
    (work / "dagster").mkdir()
    shutil.copy(ROOT / ".dagster" / "dagster.yaml", work / "dagster" / "dagster.yaml")
    contract = work / "contracts" / f"{source}.yaml"
    steps = {}
    t, proc = _cli(["contract", "infer", str(exports / sample.name), "--source", source, "--feed", feed,
                    "--out", str(contract)], env, work)
    if proc.returncode:
        raise SystemExit(f"infer failed: {proc.stdout}{proc.stderr}")
    steps["contract infer"] = round(t, 1)
    unsure = [line.removeprefix("unsure: ") for line in proc.stderr.splitlines() if line.startswith("unsure:")]
    t, proc = _cli(["contract", "check", str(exports / sample.name), "--contract", str(contract)], env, work)
    steps["contract check"] = round(t, 1)
    check_line = next((line for line in proc.stdout.splitlines() if line.startswith("rows seen")), "")
    t0 = time.perf_counter()
    company = work / "lodestar.yaml"
    company.write_text(f"company: {label} onboarding\ncurrency: GBP\ncontracts_dir: contracts\n"
                       f"sources:\n  {source}: {{path: exports}}\n", encoding="utf-8")
    steps["write lodestar.yaml (5 lines)"] = round(time.perf_counter() - t0, 3)
    t, proc = _cli(["run", "--company", str(company), "--select", "tag:layer=landing"], env, work)
    steps["run --select tag:layer=landing"] = round(t, 1)
    if proc.returncode:
        raise SystemExit(f"run failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    import duckdb

    con = duckdb.connect(str(work / "home" / "warehouse.duckdb"), read_only=True)
    rows = con.execute(f'select count(*) from raw."{source}_{feed}"').fetchone()[0]
    rejected = con.execute(f'select count(*) from raw."{source}_rejects"').fetchone()[0] if con.execute(
        "select count(*) from information_schema.tables where table_schema='raw' and table_name=?",
        [f"{source}_rejects"]).fetchone()[0] else 0
    con.close()
    return {
        "file": sample.name,
        "bytes": sample.stat().st_size,
        "commands": 3,
        "edits": 1,
        "steps_seconds": steps,
        "total_seconds": round(sum(steps.values()), 1),
        "check": check_line,
        "rows_in_raw": int(rows),
        "rows_rejected": int(rejected),
        "unsure": unsure,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scratch", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from lodestar.settings import get_settings

    shared = get_settings().shared_data_dir
    out = {label: onboard(label, shared / rel, source, feed, args.scratch) for label, rel, source, feed in CASES}
    out["_machine"] = {"cores": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()]}
    text = json.dumps(out, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
