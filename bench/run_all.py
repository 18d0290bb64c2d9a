"""Runs every benchmark as its own process, records wall time and peak memory of each, and writes
bench/results/summary.json. `make bench`; figures of each bench are in bench/results/<name>.json."""

from __future__ import annotations

import json
import os
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
        # the cockpit in a real browser on its own scale-1 demo company (runs `lodestar demo` first)
        "cockpit_latency": [PY, str(ROOT / "cockpit_latency.py"), "--scale", "1"],
    }
    # Benches that read a warehouse another bench built.
    homes = {"forecast_demo_scale1": scratch / "dbt1" / "home"}
    summary = {}
    for name, cmd in benches.items():
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        bench_env = {**env, "LODESTAR_HOME": str(homes[name])} if name in homes else env
        code, peak = _peak_rss(subprocess.Popen(cmd, cwd=ROOT.parent, env=bench_env))
        summary[name] = {"exit_code": code, "seconds": round(time.perf_counter() - started, 1),
                         "peak_rss_mib": round(peak, 1)}
        print(f"   -> {summary[name]}", flush=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(v["exit_code"] == 0 for v in summary.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
