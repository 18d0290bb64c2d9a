"""Runs every benchmark as its own process, records wall time and peak memory of each, and writes
bench/results/summary.json. `make bench`; figures of each bench are in bench/results/<name>.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
PY = sys.executable


def _peak_rss(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for the process, polling the RSS of it and its children; (exit code, peak MiB)."""
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.5)
    return proc.returncode, peak / 2**20


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="lodestar-bench-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_THREAD_LIMIT": "1", "LODESTAR_HOME": str(scratch / "home")}
    demo = scratch / "demo"
    benches = {
        "generate_demo_scale1": [PY, "-m", "lodestar.demo.generator", "--out", str(demo), "--scale", "1"],
        "landing": [PY, str(ROOT / "landing.py"), "--demo", str(demo), "--home", str(scratch / "landing"),
                    "--shared", "--json", str(RESULTS / "landing.json")],
        # dbt build on DuckDB and PostgreSQL at scale 1 (its own demo company and warehouse, kept for the next)
        "dbt_build_scale1": [PY, str(ROOT / "dbt_build.py"), "--scale", "1", "--keep", str(scratch / "dbt1")],
        # the forecast models backtested on that warehouse's marts.forecast_training_features, the oracle beside them
        "forecast_demo_scale1": [PY, str(ROOT / "forecast_demo.py"), "--label", "scale1", "--truth",
                                 str(scratch / "dbt1" / "demo" / "truth")],
        "scenario_latency": [PY, str(ROOT / "scenario_latency.py"), "--retrain"],
        "nlp": [PY, str(ROOT / "nlp_bench.py")],
        "forecast_real": [PY, str(ROOT / "forecast_real.py")],
        "forecast_online_retail": [PY, str(ROOT / "forecast_online_retail.py")],
        "reliability": [PY, str(ROOT / "reliability.py")],
        # `lodestar demo --scale 1` once (the main job's wall time and peak memory), then two benches on that home:
        # the cockpit in a real browser, and the drop alerts' precision and recall against the planted events
        "main_job_scale1": [str(Path(PY).parent / "lodestar"), "demo", "--scale", "1"],
        "cockpit_latency": [PY, str(ROOT / "cockpit_latency.py"), "--scale", "1", "--home", str(scratch / "main1" / "home")],
        "alerts_precision_scale1": [PY, str(ROOT / "alerts_precision.py"), "--home", str(scratch / "main1" / "home"),
                                    "--truth", str(scratch / "main1" / "home" / "demo" / "truth"), "--label", "scale1"],
    }
    # Benches that read a warehouse another bench built.
    homes = {"forecast_demo_scale1": scratch / "dbt1" / "home", "main_job_scale1": scratch / "main1" / "home"}
    (scratch / "main1" / "dagster").mkdir(parents=True)
    shutil.copy(ROOT.parent / ".dagster" / "dagster.yaml", scratch / "main1" / "dagster" / "dagster.yaml")
    summary = {}
    for name, cmd in benches.items():
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        bench_env = {**env, "LODESTAR_HOME": str(homes[name])} if name in homes else env
        if name == "main_job_scale1":
            bench_env = {**bench_env, "DAGSTER_HOME": str(scratch / "main1" / "dagster")}
        code, peak = _peak_rss(subprocess.Popen(cmd, cwd=ROOT.parent, env=bench_env))
        summary[name] = {"exit_code": code, "seconds": round(time.perf_counter() - started, 1),
                         "peak_rss_mib": round(peak, 1)}
        print(f"   -> {summary[name]}", flush=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(v["exit_code"] == 0 for v in summary.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
